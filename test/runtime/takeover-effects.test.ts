/**
 * The shell's effect order and failure paths at a takeover, with fakes of the heartbeat service, the shared
 * addresses, the fence and the sync client: fence, then commit, then claim; a failed fence (stay-inactive)
 * claims nothing; a commit that fails or passes its deadline costs the synchronised state, never the claim.
 */
import test from 'ava';
import type { FailoverConfig } from '../../src/core/failover-types.js';
import { LoopDelay } from '../../src/io/loop-delay.js';
import { monotonicNs } from '../../src/io/native.js';
import { FailoverRuntime, type RuntimeDeps, type RuntimeSync } from '../../src/runtime/pair/failover-runtime.js';
import type { SyncStatusView } from '../../src/sync/sync-types.js';
import { fields } from '../helpers/frames.js';
import { MemoryLog } from '../helpers/lab.js';

const CONFIG: FailoverConfig = {
  nodeId: 2,
  nodeType: 'slave',
  failoverTimeMs: 40,
  initialSilenceMs: 20,
  holdDownMs: 0,
  ifaces: [
    { name: 'eth0', isSync: false, monitored: false },
    { name: 'eth3', isSync: true, monitored: false },
  ],
  fence: true,
};

function harness(o: { fence?: () => Promise<string>; commit?: () => Promise<unknown>; fenceOnFailure?: 'take-over' | 'stay-inactive' } = {}) {
  const order: string[] = [];
  const log = new MemoryLog();
  const sync: RuntimeSync = {
    commitForTakeover: async () => {
      order.push('commit');
      return o.commit?.();
    },
    setRole: async (active) => void order.push(active ? 'source' : 'sink'),
    heartbeatFields: () => ({ syncStatus: 'in-sync', syncSequence: 0n }),
    status: () => ({}) as SyncStatusView,
  };
  const deps: RuntimeDeps = {
    log,
    heartbeats: {
      sender: { update: () => undefined, sendNow: () => undefined, leaseMs: 1000, lease: () => null, loopDelay: new LoopDelay(60_000) },
      matrix: () => [],
      drain: () => undefined,
    },
    shared: {
      claim: async () => (order.push('claim'), { upAt: 0n, firstGarpAt: 0n, ifaces: [], ipv6Failed: [] }),
      release: async () => void order.push('release'),
      announce: () => undefined,
      refresh: () => void order.push('refresh'),
    },
    fence: async () => {
      order.push('fence');
      return o.fence ? o.fence() : 'command /bin/true';
    },
    fenceOnFailure: o.fenceOnFailure ?? 'stay-inactive',
    sync,
  };
  const rt = new FailoverRuntime(CONFIG, 'n2', deps);
  return { rt, order, log };
}

/** The peer heard once, then silent: the runtime's own timers declare it dead after the failover time. */
async function peerDies(rt: FailoverRuntime, done = () => rt.snapshot(false).role !== 'inactive' && rt.snapshot(false).role !== 'starting'): Promise<void> {
  rt.start();
  rt.heartbeat(
    'eth0',
    {
      fields: fields({ nodeId: 1, nodeName: 'n1', state: 'active', sequence: 1n }),
      srcMac: new Uint8Array(6),
      dstMac: new Uint8Array(6),
      srcIp: 0,
      dstIp: 0,
      ttl: 255,
      macNn: 0,
      macCluster: 7,
    },
    monotonicNs(),
  );
  const deadline = Date.now() + 2000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`no takeover: ${rt.snapshot(false).role}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('fence, then commit, then claim; the role is fencing until the fence is done', async (t) => {
  let release!: () => void;
  const { rt, order } = harness({ fence: () => new Promise((r) => (release = () => r('command /bin/true'))) });
  t.teardown(() => rt.stop());
  await peerDies(rt);
  t.is(rt.snapshot(false).role, 'fencing');
  t.is(rt.snapshot(false).sharedAddresses, 'released');
  release();
  await new Promise((r) => setTimeout(r, 20));
  await rt.settled();
  t.is(rt.snapshot(false).role, 'active');
  t.deepEqual(
    order.filter((o) => o !== 'sink'),
    ['fence', 'commit', 'claim', 'source'],
  );
});

test('a failed fence with stay-inactive: no commit, no claim, no release', async (t) => {
  const { rt, order, log } = harness({ fence: async () => Promise.reject(new Error('no power switch answered')) });
  t.teardown(() => rt.stop());
  await peerDies(rt, () => log.events('fence_failed').length > 0); // fencing, then back to inactive
  await rt.settled();
  t.is(rt.snapshot(false).role, 'inactive');
  t.deepEqual(
    order.filter((o) => o !== 'sink'),
    ['fence'],
  );
  t.like(log.events('fence_failed')[0]?.fields, { error: 'no power switch answered', policy: 'stay-inactive' });
});

test('a commit that fails (a sync worker past its deadline) costs the state, not the claim', async (t) => {
  const { rt, order, log } = harness({ commit: async () => Promise.reject(new Error('the sync worker did not answer commit within 2000 ms')) });
  t.teardown(() => rt.stop());
  await peerDies(rt);
  await new Promise((r) => setTimeout(r, 20));
  await rt.settled();
  t.is(rt.snapshot(false).role, 'active');
  t.is(rt.snapshot(false).sharedAddresses, 'held');
  t.deepEqual(
    order.filter((o) => o !== 'sink'),
    ['fence', 'commit', 'claim', 'source'],
  );
  t.like(log.events('effect_failed')[0]?.fields, { effect: 'commit synchronised state', error: 'the sync worker did not answer commit within 2000 ms' });
});

test('the periodic ARP refresh sends only while the shared addresses are held', async (t) => {
  const { rt, order } = harness({ fence: async () => 'command /bin/true' });
  t.teardown(() => rt.stop());
  rt.refreshShared(1000, 1e12);
  t.false(order.includes('refresh'), 'nothing held before the takeover: nothing refreshed');
  await peerDies(rt, () => rt.snapshot(false).sharedAddresses === 'held');
  const claimedAt = Number(monotonicNs()) / 1e6;
  rt.refreshShared(1000, claimedAt + 500);
  t.false(order.includes('refresh'), 'the claim just announced them: the first refresh is a whole refresh later');
  rt.refreshShared(1000, claimedAt + 1000);
  rt.refreshShared(1000, claimedAt + 1250);
  rt.refreshShared(1000, claimedAt + 2000);
  t.deepEqual(
    order.filter((o) => o === 'claim' || o === 'refresh'),
    ['claim', 'refresh', 'refresh'],
  );
});
