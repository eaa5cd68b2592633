import test from 'ava';
import type { FailoverConfig } from '../../src/core/failover-types.js';
import { LoopDelay } from '../../src/io/loop-delay.js';
import { monotonicNs } from '../../src/io/native.js';
import { FailoverRuntime, type RuntimeHeartbeats } from '../../src/runtime/pair/failover-runtime.js';
import { FLAG_DRAINING, FLAG_LEADER, type DecodedHeartbeat, type HeartbeatFields } from '../../src/wire/heartbeat-frame.js';
import { fields } from '../helpers/frames.js';
import { MemoryLog } from '../helpers/lab.js';

const CONFIG: FailoverConfig = {
  nodeId: 2,
  nodeType: 'slave',
  failoverTimeMs: 60,
  initialSilenceMs: 0,
  holdDownMs: 0,
  ifaces: [
    { name: 'eth0', isSync: false, monitored: false },
    { name: 'eth3', isSync: true, monitored: false },
  ],
  fence: false,
};

/** The heartbeat service as the runtime sees it: drain() delivers whatever the test queued "in the kernel". */
class FakeHeartbeats implements RuntimeHeartbeats {
  queued: (() => void)[] = [];
  drains = 0;
  readonly sender = {
    update: () => undefined,
    sendNow: () => undefined,
    leaseMs: 1000,
    lease: () => null,
    loopDelay: new LoopDelay(60_000),
  };
  matrix() {
    return [];
  }
  drain() {
    this.drains++;
    for (const deliver of this.queued.splice(0)) deliver();
  }
}

const peerFrame = (over: Partial<HeartbeatFields>): DecodedHeartbeat => ({
  fields: fields({ nodeId: 1, nodeName: 'n1', nodeType: 'master', state: 'active', ...over }),
  srcMac: new Uint8Array(6),
  dstMac: new Uint8Array(6),
  srcIp: 0,
  dstIp: 0,
  ttl: 255,
  macNn: 0,
  macCluster: 7,
});

function runtime() {
  const hb = new FakeHeartbeats();
  const log = new MemoryLog();
  const rt = new FailoverRuntime(CONFIG, 'n2', {
    heartbeats: hb,
    shared: {
      claim: async () => ({ upAt: 0n, firstGarpAt: 0n, ifaces: [], ipv6Failed: [] }),
      release: async () => undefined,
      announce: () => undefined,
      refresh: () => undefined,
    },
    log,
  });
  return { hb, log, rt };
}

test("a late frame on another interface rolls none of the peer's facts back (leader flag, sync sequence)", (t) => {
  const { rt } = runtime();
  rt.start();
  const now = monotonicNs();
  rt.heartbeat('eth0', peerFrame({ sequence: 10n, flags: FLAG_LEADER, syncSequence: 500n, syncStatus: 'in-sync', configGeneration: 4 }), now);
  rt.heartbeat('eth3', peerFrame({ sequence: 9n, flags: 0, syncSequence: 400n, syncStatus: 'syncing', configGeneration: 3 }), now);
  const p = rt.snapshot().peer!;
  t.is(p.flags & FLAG_LEADER, FLAG_LEADER, 'still the leader');
  t.is(p.syncSequence, '500');
  t.is(p.syncStatus, 'in-sync');
  t.is(p.configGeneration, 4);
  rt.heartbeat('eth3', peerFrame({ sequence: 11n, flags: 0, syncSequence: 600n }), now);
  t.is(rt.snapshot().peer!.flags & FLAG_LEADER, 0, 'a newer frame does change them');
  t.is(rt.snapshot().peer!.syncSequence, '600');
  void rt.stop();
});

test('before judging the peer dead, the runtime reads the frames queued meanwhile: frames that arrived in time keep the peer alive', async (t) => {
  const { hb, log, rt } = runtime();
  rt.start();
  rt.heartbeat('eth0', peerFrame({ sequence: 1n }), monotonicNs());
  // A stalled reader: the peer's frames sit in the kernel, stamped on arrival, until drained.
  let seq = 2n;
  const feeder = setInterval(() => {
    const stamp = monotonicNs();
    const s = seq++;
    hb.queued.push(() => rt.heartbeat('eth0', peerFrame({ sequence: s }), stamp));
  }, 10);
  await new Promise((r) => setTimeout(r, 400)); // more than six failover times, nothing drained but by the runtime
  clearInterval(feeder);
  t.true(hb.drains >= 3, `the runtime drained before its deadlines (${hb.drains} times)`);
  t.deepEqual(
    log.events('role_change').filter((e) => e.fields['reason'] === 'peer_dead'),
    [],
    'never judged dead',
  );
  // Nothing arrives any more: now it does take over.
  await new Promise((r) => setTimeout(r, 200));
  t.true(
    log.events('role_change').some((e) => e.fields['reason'] === 'peer_dead'),
    'a peer that really went silent is declared dead',
  );
  await rt.stop();
});

test("leader, drain and an administrator's bypass mode change through the core: logged, recorded for tandem why, in the heartbeats", async (t) => {
  const hb = new FakeHeartbeats();
  let flags = 0;
  hb.sender.update = ((u: { flags?: number }) => void (u.flags !== undefined && (flags = u.flags))) as never;
  const log = new MemoryLog();
  const frozen: { what?: string; from: string; to: string; reason: string; subject?: string }[] = [];
  const recorder = { input: () => undefined, freeze: (c: never) => void frozen.push(c) } as never;
  const relays: string[] = [];
  const rt = new FailoverRuntime(CONFIG, 'n2', {
    heartbeats: hb,
    log,
    recorder,
    bypass: { setByAdmin: (segment, mode) => void relays.push(`${segment} ${mode}`) },
    shared: {
      claim: async () => ({ upAt: 0n, firstGarpAt: 0n, ifaces: [], ipv6Failed: [] }),
      release: async () => undefined,
      announce: () => undefined,
      refresh: () => undefined,
    },
  });
  rt.start();
  t.teardown(() => rt.stop());
  const now = monotonicNs();
  rt.feed({ type: 'leader', now, holding: true, reason: 'no_live_peer', rule: 'no_live_peer' });
  rt.feed({ type: 'leader', now, holding: true, reason: 'no_live_peer' }); // no change: nothing
  rt.feed({ type: 'drain', now, draining: true });
  rt.feed({ type: 'bypass', now, segment: 'wan-lan', mode: 'bypass' });
  t.deepEqual(
    frozen.filter((c) => c.what).map((c) => `${c.what} ${c.from}->${c.to} ${c.reason}`),
    ['leader member->leader no_live_peer', 'drain serving->draining drain_requested', 'bypass as the node set it->bypass set_by_admin'],
  );
  t.deepEqual(
    log.lines.filter((l) => /leader_role|member_drain|bypass_set/.test(l.event)).map((l) => l.event),
    ['leader_role_taken', 'member_draining', 'bypass_set_by_admin'],
  );
  t.deepEqual(relays, ['wan-lan bypass'], 'the relay was set after the change was recorded');
  t.is(flags & FLAG_LEADER, FLAG_LEADER, 'the heartbeats say leader');
  t.is(flags & FLAG_DRAINING, FLAG_DRAINING, 'and draining');
  t.like(rt.snapshot().standing, { leader: true, draining: true, bypass: { 'wan-lan': 'bypass' } });
  rt.feed({ type: 'leader', now, holding: false, reason: 'peer_better_placed', rule: 'state_complete' });
  t.is(flags & FLAG_LEADER, 0);
  t.like(log.events('leader_role_released')[0]?.fields, { member: 'n2', reason: 'peer_better_placed', rule: 'state_complete' });
});
