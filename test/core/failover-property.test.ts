import test from 'ava';
import fc from 'fast-check';
import { ms } from '../../src/core/failover-types.js';
import { IFACES, TwoNodes } from '../helpers/two-nodes.js';

type Action =
  | { kind: 'cut' | 'restore'; node: 0 | 1; iface: number; gapMs: number }
  | { kind: 'drop' | 'undrop'; iface: number; gapMs: number }
  | { kind: 'freeze' | 'thaw'; node: 0 | 1; gapMs: number }
  | { kind: 'connections'; node: 0 | 1; count: number; gapMs: number }
  | { kind: 'failover'; node: 0 | 1; gapMs: number };

const gap = fc.integer({ min: 0, max: 1500 });
const nodeIx = fc.constantFrom<0 | 1>(0, 1);
const iface = fc.integer({ min: 0, max: IFACES.length - 1 });
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constantFrom<'cut' | 'restore'>('cut', 'restore'), node: nodeIx, iface, gapMs: gap }),
  fc.record({ kind: fc.constantFrom<'drop' | 'undrop'>('drop', 'undrop'), iface, gapMs: gap }),
  fc.record({ kind: fc.constantFrom<'freeze' | 'thaw'>('freeze', 'thaw'), node: nodeIx, gapMs: gap }),
  fc.record({ kind: fc.constant<'connections'>('connections'), node: nodeIx, count: fc.integer({ min: 0, max: 1000 }), gapMs: gap }),
  fc.record({ kind: fc.constant<'failover'>('failover'), node: nodeIx, gapMs: gap }),
);

/**
 * Seed 001 / DESIGN.md: two nodes that can hear each other are never both
 * active and never both inactive for longer than the failover time.
 */
test('two nodes that hear each other are never both active or both inactive for longer than the failover time', (t) => {
  const failoverMs = 300;
  const intervalMs = 50;
  // Detection needs the failover time; one more heartbeat interval carries the news to the peer.
  const allowance = ms(failoverMs + 2 * intervalMs);
  fc.assert(
    fc.property(fc.array(action, { minLength: 1, maxLength: 25 }), fc.integer({ min: 0, max: 1200 }), (actions, startOffset) => {
      const sim = new TwoNodes(intervalMs, undefined, startOffset);
      let badSince: bigint | undefined;
      let worst = 0n;
      const check = () => {
        const [a, b] = sim.roles();
        const bad = sim.canHear() && a === b && a !== 'starting';
        if (!bad) badSince = undefined;
        else {
          badSince ??= sim.now;
          if (sim.now - badSince > worst) worst = sim.now - badSince;
        }
      };
      sim.run(3000, check);
      let clock = 3000;
      for (const act of actions) {
        clock += act.gapMs;
        sim.run(clock, check);
        switch (act.kind) {
          case 'cut':
            if (sim.nodes[act.node].cable[IFACES[act.iface]!]) sim.cut(act.node, IFACES[act.iface]!);
            break;
          case 'restore':
            if (!sim.nodes[act.node].cable[IFACES[act.iface]!]) sim.restore(act.node, IFACES[act.iface]!);
            break;
          case 'drop':
            sim.dropped.add(IFACES[act.iface]!);
            break;
          case 'undrop':
            sim.dropped.delete(IFACES[act.iface]!);
            break;
          case 'freeze':
            sim.nodes[act.node].frozen = true;
            break;
          case 'thaw':
            sim.nodes[act.node].frozen = false;
            break;
          case 'connections':
            sim.feed(act.node, { type: 'connections', now: sim.now, count: act.count });
            break;
          case 'failover':
            sim.feed(act.node, { type: 'failover', now: sim.now });
            break;
        }
      }
      // Heal everything and let it settle: afterwards exactly one is active.
      for (const n of [0, 1] as const) {
        sim.nodes[n].frozen = false;
        for (const i of IFACES) if (!sim.nodes[n].cable[i]) sim.restore(n, i);
      }
      sim.dropped.clear();
      clock += 3000;
      sim.run(clock, check);
      const [a, b] = sim.roles();
      const settled = (a === 'active') !== (b === 'active') && a !== 'starting' && b !== 'starting';
      if (!settled || worst > allowance) {
        throw new Error(`roles ${a}/${b}, worst both-same ${Number(worst) / 1e6} ms`);
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});
