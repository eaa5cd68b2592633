import test from 'ava';
import { ANNOUNCE_AGAIN_MS, initialState, step } from '../../src/core/failover.js';
import { ms, type Change } from '../../src/core/failover-types.js';
import { config, TwoNodes } from '../helpers/two-nodes.js';

const lastChange = (sim: TwoNodes, i: number): Change | undefined => sim.nodes[i]!.state.lastChange;

test('a lone node goes active only after the initial silence', (t) => {
  const s0 = initialState(config(1), 0n);
  let r = step(s0, { type: 'start', now: 0n });
  t.deepEqual(
    r.effects.find((e) => e.type === 'arm-timer' && e.name === 'initial-silence'),
    { type: 'arm-timer', name: 'initial-silence', at: ms(1000) },
  );
  r = step(r.state, { type: 'timer', now: ms(999), name: 'initial-silence' });
  t.is(r.state.role, 'starting');
  r = step(r.state, { type: 'timer', now: ms(1000), name: 'initial-silence' });
  t.is(r.state.role, 'active');
  t.is(r.state.lastChange?.reason, 'initial_silence_over_no_peer');
  t.true(r.effects.some((e) => e.type === 'claim-shared'));
});

test('simultaneous start: the master wins and the slave stays inactive', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  t.deepEqual(sim.roles(), ['active', 'inactive']);
  t.is(lastChange(sim, 0)?.reason, 'outranks_peer');
  t.is(lastChange(sim, 0)?.evidence.rule, 'type');
  t.deepEqual(sim.sharedOwners(), [0]);
});

test('a node starting next to an active peer goes inactive at once, even if it is the master', (t) => {
  // The slave (node 2) starts alone and goes active; the master (node 1) starts 5 s later.
  const sim = new TwoNodes(50, [config(2), config(1)], 5000);
  sim.run(8000);
  t.deepEqual(sim.roles(), ['active', 'inactive'], 'no preemption by the master');
  t.is(lastChange(sim, 1)?.reason, 'peer_active_at_start');
  t.true(Number(lastChange(sim, 1)!.at) / 1e6 < 5000 + 100, 'at the first heartbeat, not after the initial silence');
});

test('the active node powered off: the inactive takes over after the failover time, with evidence', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.cut(0, i);
  const cutAt = sim.now;
  sim.run(4000);
  t.is(sim.nodes[1].state.role, 'active');
  const c = lastChange(sim, 1)!;
  t.is(c.reason, 'peer_dead');
  const took = Number(c.at - cutAt) / 1e6;
  t.true(took >= 250 && took <= 350, `took over ${took} ms after the cut (failover time 300, heartbeat 50)`);
  t.true((c.evidence.peerLastHeardMsAgo ?? 0) >= 300);
  t.deepEqual(Object.keys(c.evidence.heardOnMsAgo ?? {}), ['eth0', 'eth1', 'eth2', 'eth3']);
});

test('links down one at a time and all but sync: no failover while any interface carries heartbeats', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  for (const iface of ['eth0', 'eth1', 'eth2']) {
    sim.cut(1, iface); // on the inactive node: no health change for the active one
    sim.run(Number(sim.now / 1_000_000n) + 1000);
    t.deepEqual(sim.roles(), ['active', 'inactive'], `after cutting ${iface}`);
  }
});

test('only the sync link down: no failover; with more connections on the inactive node, it becomes active', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  sim.feed(0, { type: 'connections', now: sim.now, count: 500 });
  sim.feed(1, { type: 'connections', now: sim.now, count: 10 });
  sim.cut(0, 'eth3');
  sim.run(5000);
  t.deepEqual(sim.roles(), ['active', 'inactive'], 'the node with more connections stays active');
  // The inactive node now reports more connections (seed 001: the one with the most connections is active).
  sim.feed(1, { type: 'connections', now: sim.now, count: 900 });
  sim.run(7000);
  t.deepEqual(sim.roles(), ['inactive', 'active']);
  t.is(lastChange(sim, 1)?.reason, 'more_connections_sync_down');
  // Both active for a moment: the standby's takeover is the newer term, so the old active hands over at once.
  t.is(lastChange(sim, 0)?.reason, 'peer_took_over');
  t.deepEqual(sim.sharedOwners(), [1]);
});

test('with the sync link up, connection counts never move the role', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  sim.feed(1, { type: 'connections', now: sim.now, count: 900 });
  sim.run(6000);
  t.deepEqual(sim.roles(), ['active', 'inactive']);
});

test('a monitored link lost by the active node only: the peer takes over, make before break', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  sim.cut(0, 'eth1');
  sim.run(5000);
  t.deepEqual(sim.roles(), ['inactive', 'active']);
  t.is(lastChange(sim, 1)?.reason, 'health_higher_than_peer');
  t.is(lastChange(sim, 0)?.reason, 'health_lower_than_peer');
  // The new active claimed before the old one released.
  const claims = sim.log.filter((l) => l.effect.type === 'claim-shared' && l.node === 1);
  const releases = sim.log.filter((l) => l.effect.type === 'release-shared' && l.node === 0);
  t.true(claims.at(-1)!.at <= releases.at(-1)!.at);
});

test('planned failover hands over without waiting for a failover time', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  sim.feed(0, { type: 'failover', now: sim.now });
  const asked = sim.now;
  sim.run(3500);
  t.deepEqual(sim.roles(), ['inactive', 'active']);
  t.is(lastChange(sim, 1)?.reason, 'peer_yielded');
  t.is(lastChange(sim, 0)?.reason, 'planned_failover');
  t.true(Number(lastChange(sim, 0)!.at - asked) / 1e6 <= 150, 'within a few heartbeats');
  t.false(sim.nodes[0].state.yielding);
  sim.run(8000);
  t.deepEqual(sim.roles(), ['inactive', 'active'], 'and it stays that way');
});

test('planned failover is refused on an inactive node and without a live peer', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  sim.feed(1, { type: 'failover', now: sim.now });
  t.true(sim.nodes[1].effects.some((e) => e.effect.type === 'log' && e.effect.event === 'failover_refused'));
  const lone = step(step(initialState(config(1), 0n), { type: 'start', now: 0n }).state, { type: 'timer', now: ms(1000), name: 'initial-silence' }).state;
  const r = step(lone, { type: 'failover', now: ms(1100) });
  t.false(r.state.yielding);
  t.true(r.effects.some((e) => e.type === 'log' && e.event === 'failover_refused' && String(e.fields['why']).includes('no live peer')));
});

test('stop releases the shared addresses and the peer takes over at once', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  sim.feed(0, { type: 'stop', now: sim.now });
  t.is(sim.nodes[0].state.role, 'inactive');
  sim.run(3200);
  t.is(sim.nodes[1].state.role, 'active');
  t.is(lastChange(sim, 1)?.reason, 'peer_yielded');
  t.deepEqual(sim.sharedOwners(), [1]);
});

test('fencing is requested before the claim when taking over from a dead peer', (t) => {
  const sim = new TwoNodes(50, [config(1), config(2, { fence: true })]);
  sim.run(3000);
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.cut(0, i);
  sim.run(4000);
  const mine = sim.log.filter((l) => l.node === 1).map((l) => l.effect.type);
  const fence = mine.lastIndexOf('fence');
  t.true(fence >= 0);
  t.true(mine.indexOf('claim-shared', fence) > fence);
});

test('every takeover commits the synchronised state before it claims the shared addresses', (t) => {
  const sim = new TwoNodes(50, [config(1), config(2, { fence: true })]);
  sim.run(3000);
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.cut(0, i);
  sim.run(4000);
  for (const node of [0, 1]) {
    const mine = sim.log.filter((l) => l.node === node).map((l) => l.effect.type);
    const claims = mine.flatMap((e, i) => (e === 'claim-shared' ? [i] : []));
    t.true(claims.length >= 1, `node ${node} claimed`);
    for (const c of claims) {
      const commit = mine.lastIndexOf('commit-state', c);
      t.true(commit >= 0 && commit < c, `node ${node}: commit-state before claim at ${c}`);
      t.true(mine.lastIndexOf('fence', c) < commit, 'fence, then commit, then claim');
    }
  }
});

test('a frozen active node (SIGSTOP) is replaced; when it thaws exactly one stays active', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  sim.nodes[0].frozen = true;
  sim.run(4000);
  t.is(sim.nodes[1].state.role, 'active');
  sim.nodes[0].frozen = false;
  const thawed = sim.now;
  sim.run(4500);
  t.deepEqual(sim.roles(), ['inactive', 'active'], 'the node that took over keeps it: it has the fresher state');
  // Back from a stall longer than the failover time: its heartbeats say so, and of two active nodes it loses.
  t.is(lastChange(sim, 0)?.reason, 'stalled_peer_active');
  t.true(sim.nodes[1].state.term > sim.nodes[0].state.term, 'the node that took over also holds the newer term');
  t.true(lastChange(sim, 0)!.at - thawed <= ms(300), 'within one failover time of the thaw');
  t.deepEqual(sim.sharedOwners(), [1]);
  t.true(sim.nodes[0].effects.some((e) => e.effect.type === 'log' && e.effect.event === 'stall_detected'));
});

test('a heartbeat from a third node does not replace a live peer', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  sim.feed(1, {
    type: 'heartbeat',
    now: sim.now,
    iface: 'eth0',
    from: { nodeId: 77, name: 'x', nodeType: 'master', role: 'active', connections: 0, health: 3, yielding: false, term: 1, bootId: 1n, sequence: 1n },
  });
  t.is(sim.nodes[1].state.peer?.nodeId, 1);
  t.true(sim.nodes[1].effects.some((e) => e.effect.type === 'log' && e.effect.event === 'foreign_node_heartbeat'));
});

test('a node with every cable out does not take over: it is the one cut off', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.cut(1, i);
  sim.run(5000);
  t.deepEqual(sim.roles(), ['active', 'inactive']);
  t.true(sim.nodes[1].effects.some((e) => e.effect.type === 'log' && e.effect.event === 'all_heartbeat_links_down'));
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.restore(1, i);
  sim.run(6000);
  t.deepEqual(sim.roles(), ['active', 'inactive']);
});

test('an active node that loses every cable steps down and, back, stays inactive next to the new active', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.cut(0, i);
  sim.run(4000);
  t.deepEqual(sim.roles(), ['inactive', 'active']);
  t.is(lastChange(sim, 0)?.reason, 'isolated');
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.restore(0, i);
  sim.run(6000);
  t.deepEqual(sim.roles(), ['inactive', 'active']);
  t.deepEqual(sim.sharedOwners(), [1]);
});

test('an older frame (a replay, or one overtaken on another interface) is no sign of life and rolls nothing back', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  const peer = { nodeId: 1, name: 'n1', nodeType: 'master' as const, connections: 0, health: 3, yielding: false, term: 1, bootId: 1n };
  const now = sim.now + 1_000_000n;
  sim.feed(1, { type: 'heartbeat', now, iface: 'eth0', from: { ...peer, role: 'active', sequence: 1_000_000n } });
  const before = sim.nodes[1].state.peer!;
  const older = step(sim.nodes[1].state, { type: 'heartbeat', now: now + 1n, iface: 'eth1', from: { ...peer, role: 'inactive', sequence: 999_999n } });
  t.is(older.state.peer?.role, 'active', 'the newer frame wins');
  t.is(older.state.peer?.lastHeard, before.lastHeard, 'the older frame is not a sign of life');
  t.is(older.state.peer?.heardOn['eth1'], before.heardOn['eth1'], 'not even on its own interface');
  t.false(
    older.effects.some((e) => e.type === 'arm-timer' && e.name === 'peer-dead'),
    'the peer-dead deadline is not pushed out',
  );
  // The same frame again, later: a replay of the newest one is just as old.
  const replay = step(sim.nodes[1].state, {
    type: 'heartbeat',
    now: now + 500_000_000n,
    iface: 'eth0',
    from: { ...peer, role: 'active', sequence: 1_000_000n },
  });
  t.is(replay.state.peer?.lastHeard, before.lastHeard);
  t.is(sim.nodes[1].state.role, 'inactive', 'no flap');
});

test('a dead peer whose captured frames are replayed is taken over from within the failover time', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  t.deepEqual(sim.roles(), ['active', 'inactive']);
  // What n1 said last, as a foreign host on the segment captured it.
  const last = sim.nodes[1].state.peer!;
  sim.nodes[0].frozen = true; // dead: it sends nothing more
  const killedAt = sim.now;
  const frames = [0n, 1n, 2n, 3n].map((k) => ({ ...last, sequence: last.sequence - k }));
  let tookOverAt: bigint | undefined;
  for (let t1 = 3000; t1 < 4000; t1 += 50) {
    sim.run(t1);
    for (const f of frames) sim.feed(1, { type: 'heartbeat', now: sim.now, iface: 'eth0', from: f });
    if (tookOverAt === undefined && sim.nodes[1].state.role === 'active') tookOverAt = sim.now;
  }
  t.not(tookOverAt, undefined, 'the survivor took over while the replays ran');
  t.true(tookOverAt! - killedAt <= ms(300 + 50), `took over ${Number(tookOverAt! - killedAt) / 1e6} ms after the peer died`);
});

test('a yielding active node steps down only once the peer holds the shared addresses (make before break)', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  t.deepEqual(sim.roles(), ['active', 'inactive']);
  sim.feed(0, { type: 'failover', now: sim.now });
  t.true(sim.nodes[0].state.yielding);
  const peer = { nodeId: 2, name: 'n2', nodeType: 'slave' as const, connections: 0, health: 3, yielding: false, term: 2, bootId: 1n };
  // The peer decided to be active, but its commit and claim are still running.
  sim.feed(0, { type: 'heartbeat', now: sim.now + 1n, iface: 'eth0', from: { ...peer, role: 'active', holdsShared: false, sequence: 10_000_000n } });
  t.is(sim.nodes[0].state.role, 'active', 'still holding: nobody else does yet');
  sim.feed(0, { type: 'heartbeat', now: sim.now + 2n, iface: 'eth1', from: { ...peer, role: 'active', holdsShared: true, sequence: 10_000_001n } });
  t.is(sim.nodes[0].state.role, 'inactive');
  t.is(lastChange(sim, 0)?.reason, 'planned_failover');
});

test('a failed fence with policy stay-inactive: back to inactive, and no new takeover until the peer is heard again', (t) => {
  const sim = new TwoNodes(50, [config(1), config(2, { fence: true })]);
  sim.fenceOutcome[1] = 'hold';
  sim.run(3000);
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.cut(0, i);
  sim.run(4000);
  t.is(sim.nodes[1].state.role, 'fencing');
  sim.feed(1, { type: 'fence-failed', now: sim.now });
  t.is(sim.nodes[1].state.role, 'inactive');
  t.is(lastChange(sim, 1)?.reason, 'fence_failed');
  t.is(lastChange(sim, 1)?.from, 'fencing');
  t.true(sim.nodes[1].effects.some((e) => e.effect.type === 'log' && e.effect.event === 'takeover_withheld'));
  sim.run(7000); // (run takes the absolute time)
  t.is(sim.nodes[1].state.role, 'inactive', 'the silent peer is not taken over from again');
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.restore(0, i);
  sim.run(11000);
  t.false(sim.nodes[1].state.fenceFailed, 'heard again: the refusal is over');
  t.is(sim.roles().filter((r) => r === 'active').length, 1, 'exactly one active');
});

test('fencing is a role of its own: nothing is claimed or committed until the fence is done, and a failed fence releases nothing', (t) => {
  const sim = new TwoNodes(50, [config(1), config(2, { fence: true })]);
  sim.fenceOutcome[1] = 'hold';
  sim.run(3000);
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.cut(0, i);
  sim.run(4000);
  const s = sim.nodes[1].state;
  t.is(s.role, 'fencing');
  t.like(s.lastChange, { from: 'inactive', to: 'fencing', reason: 'peer_dead' });
  const types = () => sim.log.filter((l) => l.node === 1).map((l) => l.effect.type);
  t.true(types().includes('fence'));
  t.false(types().includes('commit-state'), 'no commit while fencing');
  t.false(types().includes('claim-shared'), 'no claim while fencing');
  // Heartbeats advertise the fencing role (the advertise effect follows every role change).
  t.true(sim.log.some((l) => l.node === 1 && l.effect.type === 'advertise' && l.at === s.lastChange!.at));
  const failed = step(s, { type: 'fence-failed', now: sim.now });
  t.is(failed.state.role, 'inactive');
  t.false(
    failed.effects.some((e) => e.type === 'release-shared'),
    'nothing was held, nothing is released',
  );
  const done = step(s, { type: 'fence-done', now: sim.now, fenced: true });
  t.is(done.state.role, 'active');
  t.like(done.state.lastChange, { from: 'fencing', to: 'active', reason: 'peer_fenced' });
  t.is(done.state.term, s.highestTerm + 1, 'a takeover takes the term after the highest seen');
  t.true(done.state.term > sim.nodes[0].state.term, "and so outranks the dead peer's term when it comes back");
  t.true(
    done.effects.some((e) => e.type === 'persist-term' && e.term === done.state.term),
    'and keeps it across a restart',
  );
  t.deepEqual(
    done.effects.filter((e) => e.type === 'commit-state' || e.type === 'claim-shared').map((e) => e.type),
    ['commit-state', 'claim-shared'],
  );
  const anyway = step(s, { type: 'fence-done', now: sim.now, fenced: false });
  t.like(anyway.state.lastChange, { to: 'active', reason: 'fence_failed_taking_over' });
  // A stop while fencing ends it without a takeover.
  const stopped = step(s, { type: 'stop', now: sim.now });
  t.is(stopped.state.role, 'inactive');
  t.false(stopped.effects.some((e) => e.type === 'claim-shared' || e.type === 'release-shared'));
});

test('a new connection count is advertised at once (the peer ranks on it while the sync link is down); the same count is not', (t) => {
  const s0 = initialState(config(1), 0n);
  const a = step(s0, { type: 'connections', now: 1n, count: 20 });
  t.true(a.effects.some((e) => e.type === 'advertise'));
  const b = step(a.state, { type: 'connections', now: 2n, count: 20 });
  t.false(b.effects.some((e) => e.type === 'advertise'));
});

test('the peer stepping down while this node serves: the shared addresses are announced again, and once more a second later (its last frames may have pulled the switches back)', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  const before = sim.log.length;
  sim.feed(0, { type: 'failover', now: sim.now });
  sim.run(5000);
  t.deepEqual(sim.roles(), ['inactive', 'active']);
  const after = sim.log.slice(before);
  const announced = after.filter((l) => l.node === 1 && l.effect.type === 'announce-shared');
  t.is(announced.length, 2, 'twice, by the node that took over');
  const steppedDown = after.find((l) => l.node === 0 && l.effect.type === 'role' && l.effect.role === 'inactive')!;
  t.true(announced[0]!.at >= steppedDown.at, 'after the peer stepped down');
  t.is(announced[1]!.at - announced[0]!.at, ms(ANNOUNCE_AGAIN_MS), 'and again a second later, when the peer has surely released the shared links');
  t.false(
    after.some((l) => l.node === 0 && l.effect.type === 'announce-shared'),
    'never by the one stepping down',
  );
});
