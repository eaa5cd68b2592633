import test from 'ava';
import { heartbeatSlots, heartbeatTicks, type PlannedIface } from '../../src/core/heartbeat-plan.js';

const iface = (name: string, isSync = false, heartbeats = true): PlannedIface => ({ name, isSync, heartbeats });

test('seed 001 order: G1, Sync, G2, Sync, G3, Sync', (t) => {
  t.deepEqual(heartbeatSlots([iface('g1'), iface('g2'), iface('g3'), iface('s', true)]), ['g1', 's', 'g2', 's', 'g3', 's']);
});

for (let n = 0; n <= 8; n++) {
  test(`with ${n} data interfaces the sync interface sends more than twice as often as any other`, (t) => {
    const data = Array.from({ length: n }, (_, i) => iface(`g${i}`));
    const slots = heartbeatSlots([...data, iface('sync', true)]);
    const count = (name: string) => slots.filter((s) => s === name).length;
    for (const d of data) t.is(count(d.name), 1, `${d.name} once a cycle`);
    if (n > 0) t.true(count('sync') > 2 * 1, `sync ${count('sync')} a cycle`);
    else t.deepEqual(slots, ['sync']);
    // Interleaved: no two data interfaces back to back.
    for (let i = 1; i < slots.length; i++) t.false(slots[i] !== 'sync' && slots[i - 1] !== 'sync', `slots ${slots.join(',')}`);
  });
}

test('interfaces with heartbeats disabled do not exist for the plan', (t) => {
  t.deepEqual(heartbeatSlots([iface('g1'), iface('g2', false, false), iface('s', true)]), ['g1', 's', 's', 's']);
  t.deepEqual(heartbeatSlots([iface('g1'), iface('s', true, false)]), ['g1']);
  t.deepEqual(heartbeatSlots([]), []);
});

test('ticks group each run of data slots with the sync slot after it, so sync frames stay evenly spaced', (t) => {
  t.deepEqual(heartbeatTicks(['g1', 's', 'g2', 's', 'g3', 's'], 's'), [
    ['g1', 's'],
    ['g2', 's'],
    ['g3', 's'],
  ]);
  t.deepEqual(heartbeatTicks(['g1', 's', 's', 's'], 's'), [['g1', 's'], ['s'], ['s']]);
  t.deepEqual(heartbeatTicks(['g1', 'g2'], undefined), [['g1'], ['g2']]);
  t.deepEqual(heartbeatTicks([], 's'), []);
  const slots = heartbeatSlots([iface('a'), iface('b'), iface('s', true)]);
  t.deepEqual(heartbeatTicks(slots, 's').flat(), slots, 'every slot exactly once, in order');
});
