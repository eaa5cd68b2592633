import test from 'ava';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Change, HeartbeatInfo, Input } from '../../src/core/failover-types.js';
import { FlightRecorder, readRecords, RECORDS_KEPT, type FlightRecord } from '../../src/runtime/explain/flight-recorder.js';
import { aftermath, clock, explain } from '../../src/runtime/explain/why.js';

const IFACES = [
  { name: 'eth0', isSync: false, monitored: true },
  { name: 'eth1', isSync: false, monitored: true },
  { name: 'eth2', isSync: false, monitored: true },
  { name: 'eth3', isSync: true, monitored: false },
];
/** Wall time 12:03:00.000 UTC at monotonic 0. */
const BASE = Date.parse('2026-11-22T12:03:00.000Z');
const ms = (n: number) => BigInt(Math.round(n * 1e6));

function recorder(t: { teardown(f: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'tdmfr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = { now: 0n };
  const rec = new FlightRecorder({
    node: 'fw-b',
    dir,
    failoverTimeMs: 200,
    heartbeatIntervalMs: 50,
    holdDownMs: 2000,
    ifaces: IFACES,
    mono: () => clock.now,
    wall: () => BASE + Number(clock.now) / 1e6,
    afterMs: 30,
  });
  return { dir, clock, rec };
}

const from = (over: Partial<HeartbeatInfo> = {}): HeartbeatInfo => ({
  nodeId: 1,
  name: 'fw-a',
  nodeType: 'master',
  role: 'active',
  connections: 1198,
  health: 4,
  yielding: false,
  term: 1,
  bootId: 1n,
  sequence: 0n,
  ...over,
});
const hb = (atMs: number, iface: string, over: Partial<HeartbeatInfo> = {}): Input => ({ type: 'heartbeat', now: ms(atMs), iface, from: from(over) });
const change = (atMs: number, c: Partial<Change>): Change => ({ from: 'inactive', to: 'active', at: ms(atMs), reason: 'peer_dead', evidence: {}, ...c });

/** Heartbeats every 50 ms on the given interfaces from `start` up to `end`. */
function beats(rec: FlightRecorder, clock: { now: bigint }, ifaces: string[], start: number, end: number, over: Partial<HeartbeatInfo> = {}) {
  for (let t = start; t <= end; t += 50) {
    for (const [k, i] of ifaces.entries()) {
      clock.now = ms(t + k);
      rec.input(hb(t + k, i, over));
    }
  }
}

test('the rings are bounded: the newest 40 arrivals per interface and 120 happenings are frozen', async (t) => {
  const { clock, rec } = recorder(t);
  beats(rec, clock, ['eth0'], 0, 50 * 999);
  for (let i = 0; i < 500; i++) rec.input({ type: 'link', now: ms(50_000 + i), iface: 'eth1', up: i % 2 === 0 });
  clock.now = ms(60_000);
  const r = rec.freeze(change(60_000, {}));
  t.is(r.heartbeats['eth0']!.length, 40);
  t.is(r.heartbeats['eth0']!.at(-1)!.atMs, BASE + 50 * 999, 'the newest arrival last');
  t.deepEqual(r.heartbeats['eth3'], [], 'an interface that heard nothing');
  t.is(r.before.length, 120);
  t.is(r.before.at(-1)!.what, 'eth1 lost carrier', 'the newest happening last');
  await rec.flushed();
});

test('records are written atomically, the newest 20 kept, numbered on across a restart; a damaged one is named', async (t) => {
  const { dir, clock, rec } = recorder(t);
  for (let i = 1; i <= 25; i++) {
    clock.now = ms(i * 1000);
    rec.freeze(change(i * 1000, { reason: 'planned_failover', from: 'active', to: 'inactive' }));
  }
  await rec.flushed();
  t.is(readdirSync(dir).filter((f) => f.endsWith('.json')).length, RECORDS_KEPT);
  t.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
  const again = new FlightRecorder({
    node: 'fw-b',
    dir,
    failoverTimeMs: 200,
    heartbeatIntervalMs: 50,
    holdDownMs: 2000,
    ifaces: IFACES,
    mono: () => clock.now,
  });
  again.freeze(change(30_000, {}));
  await again.flushed();
  const records = (await readRecords(dir)) as FlightRecord[];
  t.is(records.length, RECORDS_KEPT);
  t.deepEqual(
    records.slice(0, 3).map((r) => r.seq),
    [26, 25, 24],
    'newest first, numbered on',
  );
  writeFileSync(join(dir, '00000026.json'), '{"cut in the mid');
  const [damaged] = await readRecords(dir, 1);
  t.regex((damaged as { damaged: string }).damaged, /00000026\.json: .*JSON/);
});

test('why, peer dead: when it stopped hearing the peer on every interface, the sync silence before, the counts, the decision', (t) => {
  const { clock, rec } = recorder(t);
  beats(rec, clock, ['eth0', 'eth1', 'eth2', 'eth3'], 6000, 6950);
  beats(rec, clock, ['eth0', 'eth1', 'eth2'], 7000, 7400);
  clock.now = ms(7612);
  const r = rec.freeze(change(7612, { evidence: { ourConnections: 1203, peerConnections: 1198, peerLastHeardMsAgo: 210 } }));
  const x = explain(r);
  t.is(
    x.text,
    'fw-b stopped hearing fw-a on all 4 interfaces at 12:03:07.402 (last heartbeat: eth0 12:03:07.400, eth1 12:03:07.401, eth2 12:03:07.402, eth3 12:03:06.953); ' +
      'the sync interface eth3 had been silent since 12:03:06.953; fw-b had 1203 connections, fw-a 1198; fw-b took over at 12:03:07.612, 210 ms after the last heartbeat (failover time 200 ms).',
  );
  t.is(x.facts.lastHeardAtMs, BASE + 7402);
  t.is(x.facts.syncSilentSinceMs, BASE + 6953);
  t.regex(x.headline, /^#0 2026-11-22 12:03:07\.612 UTC fw-b: inactive -> active \(peer_dead\)$/);
});

test('why, peer dead with every interface silent at once: no sync sentence', (t) => {
  const { clock, rec } = recorder(t);
  beats(rec, clock, ['eth0', 'eth1', 'eth2', 'eth3'], 6000, 7400);
  clock.now = ms(7610);
  const x = explain(rec.freeze(change(7610, { evidence: { ourConnections: 0, peerConnections: 5 } })));
  t.notRegex(x.text, /silent since/);
  t.is(x.facts.syncSilentSinceMs, undefined);
});

test('why, sync link down: the silence, the carrier lost here, the peer still heard, the two counts', (t) => {
  const { clock, rec } = recorder(t);
  beats(rec, clock, ['eth0', 'eth1', 'eth2', 'eth3'], 0, 2000, { connections: 3 });
  rec.input({ type: 'link', now: ms(2020), iface: 'eth3', up: false });
  beats(rec, clock, ['eth0', 'eth1', 'eth2'], 2050, 5000, { connections: 3 });
  clock.now = ms(5010);
  const x = explain(
    rec.freeze(change(5010, { reason: 'more_connections_sync_down', evidence: { ourConnections: 60, peerConnections: 3, syncLinkUp: false } })),
  );
  t.regex(
    x.text,
    new RegExp(
      [
        /^the sync interface eth3 had been silent since 12:03:02\.003 \(eth3 lost carrier here at 12:03:02\.020\); /.source,
        /fw-a was still heard on eth0 \(last 12:03:05\.000\), eth1 \(last 12:03:05\.001\), eth2 \(last 12:03:05\.002\); /.source,
        /with the sync link down, the node carrying more connections serves: fw-b had 60 connections, fw-a 3; /.source,
        /fw-b took over at 12:03:05\.010\.$/.source,
      ].join(''),
    ),
  );
  t.is(x.facts.lostAtMs, BASE + 2020);
});

test("why, link-loss demotion on one side and the peer's view of it on the other", (t) => {
  const a = recorder(t);
  beats(a.rec, a.clock, ['eth0', 'eth1', 'eth2', 'eth3'], 0, 1000, { name: 'fw-b', role: 'inactive' });
  a.rec.input({ type: 'link', now: ms(1010), iface: 'eth1', up: false });
  a.clock.now = ms(1100);
  const demoted = explain({
    ...a.rec.freeze(change(1100, { from: 'active', to: 'inactive', reason: 'health_lower_than_peer', evidence: { ourHealth: 3, peerHealth: 4 } })),
    node: 'fw-a',
  });
  t.is(
    demoted.text,
    "eth1 lost carrier at 12:03:01.010 (a monitored interface); fw-a's health was 3, fw-b's 4: the healthier node serves; fw-a handed over at 12:03:01.100.",
  );
  t.is(demoted.facts.lostIface, 'eth1');

  const b = recorder(t);
  beats(b.rec, b.clock, ['eth0', 'eth2', 'eth3'], 0, 1000);
  beats(b.rec, b.clock, ['eth0', 'eth2', 'eth3'], 1050, 1100, { health: 3 });
  b.clock.now = ms(1102);
  const x = explain(b.rec.freeze(change(1102, { reason: 'health_higher_than_peer', evidence: { ourHealth: 4, peerHealth: 3 } })));
  t.is(x.facts.peerHealthFellAtMs, BASE + 1050);
  t.regex(x.text, /^fw-a's heartbeats reported a lower health \(3\) from 12:03:01\.050; fw-b's health was 4, fw-a's 3/);
});

test("why, on the member that took over from a peer with a lower health: the link the peer lost, from the record's aftermath", async (t) => {
  // The peer loses eth1: it sends nothing there from 1001 on, and says health 3 on the others.
  const a = recorder(t);
  beats(a.rec, a.clock, ['eth0', 'eth1', 'eth2', 'eth3'], 0, 1000);
  beats(a.rec, a.clock, ['eth0', 'eth2', 'eth3'], 1050, 1100, { health: 3 });
  a.clock.now = ms(1102);
  const record = a.rec.freeze(change(1102, { reason: 'health_higher_than_peer', evidence: { ourHealth: 4, peerHealth: 3 } }));
  t.false(explain(record).text.includes('lost its link'), 'nothing said before the aftermath is in');
  beats(a.rec, a.clock, ['eth0', 'eth2', 'eth3'], 1150, 1400, { health: 3 });
  await new Promise((r) => setTimeout(r, 80));
  const x = explain(record);
  t.deepEqual(x.facts.peerSilentOn, ['eth1']);
  t.regex(x.text, /its heartbeats stopped on eth1 \(last 12:03:01\.001\) and went on elsewhere: fw-a lost its link there/);

  // A monitor target lost instead: the peer goes on everywhere with the lower health.
  const b = recorder(t);
  beats(b.rec, b.clock, ['eth0', 'eth1', 'eth2', 'eth3'], 0, 1000);
  beats(b.rec, b.clock, ['eth0', 'eth1', 'eth2', 'eth3'], 1050, 1100, { health: 3 });
  b.clock.now = ms(1102);
  const other = b.rec.freeze(change(1102, { reason: 'health_higher_than_peer', evidence: { ourHealth: 4, peerHealth: 3 } }));
  beats(b.rec, b.clock, ['eth0', 'eth1', 'eth2', 'eth3'], 1150, 1400, { health: 3 });
  await new Promise((r) => setTimeout(r, 80));
  t.deepEqual(explain(other).facts.peerSilentOn, []);
  t.regex(explain(other).text, /fw-a was still heard on every interface: it lost a monitor target, not a link/);
});

test('what follows a change is added to its record, and told', async (t) => {
  const { dir, clock: c, rec } = recorder(t);
  const log = rec.tap({ log: () => undefined });
  c.now = ms(1000);
  rec.freeze(change(1000, {}));
  c.now = ms(1050);
  log.log('info', 'takeover', { sharedUpAt: new Date(BASE + 1040).toISOString(), firstGarpAt: new Date(BASE + 1045).toISOString() });
  // What follows is added once afterMs has passed: wait for that write, not for a fixed time.
  let r: FlightRecord | undefined;
  for (const end = Date.now() + 3000; Date.now() < end && !r?.after.length; await new Promise((res) => setTimeout(res, 10))) {
    await rec.flushed();
    [r] = (await readRecords(dir)) as FlightRecord[];
  }
  t.deepEqual(aftermath(r!), [`the shared addresses were up at ${clock(BASE + 1040)} and announced at ${clock(BASE + 1045)}`]);
});

test('why: a comparison held back by the hold-down says so, with the previous change', (t) => {
  const { clock: c, rec } = recorder(t);
  c.now = ms(100);
  rec.freeze(change(100, { from: 'starting', to: 'active', reason: 'outranks_peer' }));
  beats(rec, c, ['eth0', 'eth1', 'eth2', 'eth3'], 100, 2100, { name: 'fw-b', role: 'inactive' });
  rec.input({ type: 'link', now: ms(500), iface: 'eth1', up: false });
  c.now = ms(2101);
  const x = explain(rec.freeze(change(2101, { from: 'active', to: 'inactive', reason: 'health_lower_than_peer', evidence: { ourHealth: 2, peerHealth: 3 } })));
  t.regex(
    x.text,
    /the healthier node serves; the change waited for the hold-down: no comparison moves the role within 2000 ms of the previous change \(at 12:03:00\.100\); fw-b handed over at 12:03:02\.101\.$/,
  );
});

test('why, fencing: the peer fenced then taken over from; a failed fence returns to inactive without a takeover', (t) => {
  const { clock, rec } = recorder(t);
  const log = rec.tap({ log: () => undefined });
  beats(rec, clock, ['eth0', 'eth1', 'eth2', 'eth3'], 6000, 7400);
  clock.now = ms(7610);
  const began = explain(rec.freeze(change(7610, { to: 'fencing', evidence: { ourConnections: 0, peerConnections: 5 } })));
  t.regex(began.text, /fw-b began fencing fw-a at 12:03:07\.610, \d+ ms after the last heartbeat/);
  t.regex(began.headline, /fw-b: inactive -> fencing \(peer_dead\)$/);
  clock.now = ms(7700);
  log.log('info', 'peer_fenced', { peer: 'fw-a', how: 'command /sbin/stonith', tookMs: 90 });
  const done = explain(rec.freeze(change(7701, { from: 'fencing', to: 'active', reason: 'peer_fenced' })));
  t.is(done.text, 'fw-a was fenced (command /sbin/stonith) after 90 ms; fw-b took over at 12:03:07.701.');
  clock.now = ms(9000);
  log.log('error', 'fence_failed', { peer: 'fw-a', error: 'fence command failed (exit 3)', policy: 'stay-inactive', tookMs: 40 });
  const failed = explain(rec.freeze(change(9001, { from: 'fencing', to: 'inactive', reason: 'fence_failed' })));
  t.is(
    failed.text,
    'fencing fw-a failed after 40 ms: fence command failed (exit 3); the policy (fence.onFailure stay-inactive) forbids a takeover without the fence: ' +
      'fw-b went inactive at 12:03:09.001 without ever holding the shared addresses, and takes over only once fw-a is heard again.',
  );
});

test("why, standing: the leader role, draining and an administrator's bypass mode are explained like role changes", (t) => {
  const { clock, rec } = recorder(t);
  beats(rec, clock, ['eth0', 'eth3'], 0, 500);
  clock.now = ms(600);
  const standing = (c: object) => ({ at: ms(600), evidence: {}, ...c }) as never;
  const leader = explain(
    rec.freeze(standing({ what: 'leader', subject: '2', from: 'leader', to: 'member', reason: 'peer_better_placed', evidence: { rule: 'state_complete' } })),
  );
  t.is(
    leader.text,
    'fw-b gave up the leader role at 12:03:00.600: fw-a is better placed (first difference: a complete copy of the state (the source, or in sync) against one that is not).',
  );
  t.regex(leader.headline, /fw-b: leader leader -> member \(peer_better_placed\)$/);
  const drain = explain(rec.freeze(standing({ what: 'drain', subject: '2', from: 'serving', to: 'draining', reason: 'drain_requested' })));
  t.regex(drain.text, /^fw-b started draining at 12:03:00\.600: an administrator asked \(tandem cluster drain\)/);
  const bypass = explain(rec.freeze(standing({ what: 'bypass', subject: 'wan-lan', from: 'as the node set it', to: 'disconnect', reason: 'set_by_admin' })));
  t.is(
    bypass.text,
    'bypass segment wan-lan was put in disconnect at 12:03:00.600 by an administrator (tandem bypass; before: as the node set it); it holds until the service stops or starts.',
  );
  t.regex(bypass.headline, /fw-b: bypass wan-lan as the node set it -> disconnect \(set_by_admin\)$/);
});
