/**
 * The takeover term in the failover core (issue 30): who wins between two active nodes, the stall rule, the
 * term an active node raises, a term no run of takeovers could reach, a peer of the previous heartbeat format.
 */
import test from 'ava';
import { initialState, step, syncLinkUp } from '../../src/core/failover.js';
import { ms, type CoreState, type HeartbeatInfo, type Input } from '../../src/core/failover-types.js';
import { TERM_JUMP_MAX } from '../../src/core/term.js';
import { config, TwoNodes } from '../helpers/two-nodes.js';

const IFACE = 'eth0';
let seq = 1000n;
const peer = (over: Partial<HeartbeatInfo> = {}): HeartbeatInfo => ({
  nodeId: 2,
  name: 'n2',
  nodeType: 'slave',
  role: 'inactive',
  connections: 0,
  health: 3,
  yielding: false,
  term: 0,
  holdsShared: false,
  bootId: 1n,
  sequence: ++seq,
  ...over,
});

/** Node 1 alone, active after the initial silence (term 1, or the one after `persisted`). */
function activeAlone(persisted = 0): { s: CoreState; now: bigint } {
  let s = step(initialState(config(1, { term: persisted, stateSync: true }), 0n), { type: 'start', now: 0n }).state;
  s = step(s, { type: 'timer', now: ms(1000), name: 'initial-silence' }).state;
  return { s, now: ms(1000) };
}

function feed(s: CoreState, ...inputs: Input[]) {
  const effects = [];
  for (const i of inputs) {
    const r = step(s, i);
    s = r.state;
    effects.push(...r.effects);
  }
  return { s, effects };
}

test('a takeover takes the term after the highest seen, and says so in the evidence', (t) => {
  const { s } = activeAlone();
  t.is(s.term, 1);
  t.is(s.lastChange?.evidence.ourTerm, 1);
  const heardHigher = feed(initialState(config(1, { term: 41 }), 0n), { type: 'start', now: 0n }, { type: 'timer', now: ms(1000), name: 'initial-silence' });
  t.is(heardHigher.s.term, 42, 'a restarted node starts above the term it persisted');
});

test('of two active nodes the lower term hands over at once and commits nothing', (t) => {
  const { s, now } = activeAlone();
  const r = feed(s, { type: 'heartbeat', now: now + ms(10), iface: IFACE, from: peer({ role: 'active', term: 2, holdsShared: true }) });
  t.is(r.s.role, 'inactive');
  t.is(r.s.lastChange?.reason, 'peer_took_over');
  t.like(r.s.lastChange?.evidence, { ourTerm: 1, peerTerm: 2, rule: 'newer_term' });
  t.false(
    r.effects.some((e) => e.type === 'commit-state' || e.type === 'claim-shared'),
    'the loser commits and claims nothing',
  );
  t.true(r.effects.some((e) => e.type === 'release-shared'));
});

test('of two active nodes the higher term stays, whatever its connection count with the sync link down', (t) => {
  let { s, now } = activeAlone(1);
  s = feed(s, { type: 'heartbeat', now: now + ms(1), iface: IFACE, from: peer({ term: 1 }) }).s;
  s = feed(s, { type: 'connections', now: now + ms(2), count: 3 }).s;
  t.false(syncLinkUp(s, now + ms(100)), 'never heard on the sync interface');
  // The peer (frozen while active at term 1, now back) advertises more connections from its stale table.
  const r = feed(s, { type: 'heartbeat', now: now + ms(100), iface: IFACE, from: peer({ role: 'active', term: 1, connections: 500, holdsShared: true }) });
  t.is(r.s.role, 'active', 'term 2 against term 1');
  t.is(r.s.term, 2);
});

test('a node back from a stall, active, says so for a failover time, and of two active nodes it loses whatever the terms', (t) => {
  let { s, now } = activeAlone(5);
  t.is(s.term, 6);
  s = feed(s, { type: 'heartbeat', now: now + ms(1), iface: IFACE, from: peer({ term: 0 }) }).s;
  // Nothing ran for 2 s; the first input afterwards finds the stall.
  const later = now + ms(2000);
  let r = feed(s, { type: 'timer', now: later, name: 'stall-check' });
  t.true(r.effects.some((e) => e.type === 'log' && e.event === 'stall_detected'));
  t.true(
    r.effects.some((e) => e.type === 'advertise' && e.stalled),
    'the heartbeats say so at once',
  );
  // The peer took over meanwhile in a partition that hid our term from it: its term is older than ours.
  r = feed(r.s, { type: 'heartbeat', now: later + ms(1), iface: IFACE, from: peer({ role: 'active', term: 3, holdsShared: true }) });
  t.is(r.s.role, 'inactive');
  t.is(r.s.lastChange?.reason, 'stalled_peer_active');
  t.is(r.s.lastChange?.evidence.rule, 'stalled');
  t.is(r.s.stalledUntil, undefined, 'the stall ends with the role');
});

test('of two active nodes the one the peer says is back from a stall loses, both sides agree', (t) => {
  let { s, now } = activeAlone(5);
  s = feed(s, { type: 'heartbeat', now: now + ms(1), iface: IFACE, from: peer({ term: 0 }) }).s;
  const r = feed(s, { type: 'heartbeat', now: now + ms(20), iface: IFACE, from: peer({ role: 'active', term: 9, stalled: true, holdsShared: true }) });
  t.is(r.s.role, 'active', 'term 9 is newer, but its node did not run: ours is the fresher table');
});

test('a stall with the peer still inactive changes nothing, and the stall rule lapses after a failover time', (t) => {
  let { s, now } = activeAlone();
  s = feed(s, { type: 'heartbeat', now: now + ms(1), iface: IFACE, from: peer() }).s;
  const later = now + ms(2000);
  let r = feed(s, { type: 'timer', now: later, name: 'stall-check' }, { type: 'heartbeat', now: later + ms(1), iface: IFACE, from: peer() });
  t.is(r.s.role, 'active');
  t.false(r.s.yielding);
  r = feed(r.s, { type: 'timer', now: later + ms(301), name: 'stall-check' });
  t.is(r.s.stalledUntil, undefined);
  r = feed(r.s, { type: 'heartbeat', now: later + ms(302), iface: IFACE, from: peer({ role: 'active', term: 1, holdsShared: true }) });
  t.is(r.s.role, 'active', 'without the stall, the equal terms go to the master (rule type)');
});

test('an active node that hears a newer term from a peer that is not active takes the next term', (t) => {
  const { s, now } = activeAlone();
  const r = feed(s, { type: 'heartbeat', now: now + ms(1), iface: IFACE, from: peer({ term: 7 }) });
  t.is(r.s.role, 'active');
  t.is(r.s.term, 8);
  t.true(r.effects.some((e) => e.type === 'log' && e.event === 'term_raised'));
  t.true(r.effects.some((e) => e.type === 'advertise' && e.term === 8));
  t.true(r.effects.some((e) => e.type === 'persist-term' && e.term === 8));
});

test('a term no run of takeovers could reach is logged once, never adopted, and moves nothing', (t) => {
  let { s, now } = activeAlone();
  const far = 1 + TERM_JUMP_MAX + 1;
  let r = feed(s, { type: 'heartbeat', now: now + ms(1), iface: IFACE, from: peer({ term: far }) });
  t.is(r.s.highestTerm, 1);
  t.is(r.s.term, 1, 'not raised either');
  t.is(r.effects.filter((e) => e.type === 'log' && e.event === 'term_implausible').length, 1);
  r = feed(r.s, { type: 'heartbeat', now: now + ms(2), iface: IFACE, from: peer({ term: far }) });
  t.false(
    r.effects.some((e) => e.type === 'log' && e.event === 'term_implausible'),
    'logged once per value',
  );
  s = r.s;
  t.is(s.implausibleLogged, far);
  t.is(s.role, 'active');
});

test('a peer of the previous heartbeat format is deferred to: it cannot hear us', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  t.deepEqual(sim.roles(), ['active', 'inactive']);
  // Node 1 is told of an active peer speaking the previous format (no term): it hands over rather than compete.
  const r = step(sim.nodes[0].state, {
    type: 'heartbeat',
    now: sim.now + 1n,
    iface: IFACE,
    from: peer({ role: 'active', term: 0, previousFormat: true, holdsShared: true, sequence: 10n ** 9n }),
  });
  t.is(r.state.role, 'inactive');
  t.is(r.state.lastChange?.evidence.rule, 'previous_format');
});

test("the frozen node's return, repeated (issue 30): every time, the node that took over keeps the role", (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  let clock = 3000;
  for (let round = 0; round < 12; round++) {
    const active = sim.roles().indexOf('active');
    t.not(active, -1);
    sim.nodes[active]!.frozen = true;
    clock += 1500;
    sim.run(clock);
    t.is(sim.nodes[1 - active]!.state.role, 'active', `round ${round}: the other took over`);
    sim.nodes[active]!.frozen = false;
    const thawed = sim.now;
    clock += 1500;
    sim.run(clock);
    t.is(sim.nodes[active]!.state.role, 'inactive', `round ${round}: the returning node yields`);
    t.is(sim.nodes[1 - active]!.state.role, 'active', `round ${round}: the newer takeover keeps serving`);
    const ch = sim.nodes[active]!.state.lastChange!;
    t.true(ch.at - thawed <= ms(350), `round ${round}: within a failover time of the return`);
    t.true(sim.nodes[1 - active]!.state.term > sim.nodes[active]!.state.term);
  }
});
