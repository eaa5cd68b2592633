import test from 'ava';
import { initialState, step } from '../../src/core/failover.js';
import { ms } from '../../src/core/failover-types.js';
import { config, TwoNodes } from '../helpers/two-nodes.js';

test('disabling the active member hands over as a planned failover; it stays inactive and advertises yielding until enabled', (t) => {
  const sim = new TwoNodes();
  sim.run(3000);
  t.deepEqual(sim.roles(), ['active', 'inactive']);
  sim.feed(0, { type: 'enable', now: sim.now, enabled: false });
  sim.run(4000);
  t.deepEqual(sim.roles(), ['inactive', 'active'], 'the peer serves, the disabled member does not');
  t.is(sim.nodes[0]!.state.lastChange?.reason, 'disabled');
  t.is(sim.nodes[1]!.state.lastChange?.reason, 'peer_yielded');
  t.true(sim.nodes[0]!.state.yielding, 'a disabled member keeps saying "take over from me"');
  // Its peer dies: a disabled member still does not take over.
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.cut(1, i);
  sim.run(6000);
  t.is(sim.nodes[0]!.state.role, 'inactive');
  sim.feed(0, { type: 'enable', now: sim.now, enabled: true });
  sim.run(7000);
  t.is(sim.nodes[0]!.state.role, 'active', 'enabled again, alone: it serves');
});

test('disabling the only serving member stops it (the administrator asked); a member started disabled never goes active', (t) => {
  let s = step(initialState(config(1), 0n), { type: 'start', now: 0n }).state;
  s = step(s, { type: 'timer', now: ms(1000), name: 'initial-silence' }).state;
  t.is(s.role, 'active');
  const r = step(s, { type: 'enable', now: ms(1100), enabled: false });
  t.is(r.state.role, 'inactive');
  t.is(r.state.lastChange?.reason, 'disabled');
  t.true(r.effects.some((e) => e.type === 'release-shared'));
  let d = step(initialState(config(1, { disabled: true }), 0n), { type: 'start', now: 0n }).state;
  t.is(d.role, 'inactive');
  d = step(d, { type: 'timer', now: ms(5000), name: 'initial-silence' }).state;
  t.is(d.role, 'inactive');
});

test('Active/Active: both members serve at once from the start; a disabled one stops, an enabled one serves again; no takeover', (t) => {
  const aa = { groupMode: 'active-active' as const };
  const sim = new TwoNodes(50, [config(1, aa), config(2, aa)]);
  sim.run(200);
  t.deepEqual(sim.roles(), ['active', 'active'], 'no initial silence needed: there is nothing to take over');
  t.is(sim.nodes[1]!.state.lastChange?.reason, 'enabled_active_active');
  sim.feed(1, { type: 'enable', now: sim.now, enabled: false });
  sim.run(500);
  t.deepEqual(sim.roles(), ['active', 'inactive']);
  for (const i of ['eth0', 'eth1', 'eth2', 'eth3']) sim.cut(0, i);
  sim.run(2000);
  t.is(sim.nodes[1]!.state.role, 'inactive', 'a disabled member does not start serving because the other went silent');
  sim.feed(1, { type: 'enable', now: sim.now, enabled: true });
  sim.run(2500);
  t.is(sim.nodes[1]!.state.role, 'active');
});
