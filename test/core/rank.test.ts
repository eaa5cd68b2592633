import test from 'ava';
import { rank, type Contender } from '../../src/core/rank.js';

const node = (over: Partial<Contender> = {}): Contender => ({
  nodeId: 1,
  nodeType: 'master',
  role: 'active',
  connections: 0,
  health: 3,
  yielding: false,
  tookOver: false,
  ...over,
});

const cases: [string, Contender, Contender, boolean, boolean, string][] = [
  // name, a, b, syncLinkUp, a wins, rule
  ['yielding loses even with better health', node({ yielding: true, health: 5 }), node({ nodeId: 2, health: 1 }), true, false, 'yielding'],
  ['more health wins over master type', node({ nodeType: 'slave', nodeId: 2, health: 3 }), node({ health: 2 }), true, true, 'health'],
  [
    'connections decide while sync is down',
    node({ nodeType: 'slave', nodeId: 2, role: 'inactive', connections: 10 }),
    node({ connections: 5 }),
    false,
    true,
    'connections',
  ],
  [
    'connections ignored while sync is up',
    node({ nodeType: 'slave', nodeId: 2, role: 'inactive', connections: 10 }),
    node({ connections: 5 }),
    true,
    false,
    'incumbent',
  ],
  ['of two active nodes the one that took over wins', node({ nodeType: 'slave', nodeId: 2, tookOver: true }), node(), true, true, 'took_over'],
  [
    'took-over does not matter against an inactive node',
    node({ nodeType: 'slave', nodeId: 2, role: 'inactive' }),
    node({ tookOver: true }),
    true,
    false,
    'incumbent',
  ],
  ['the incumbent stays', node({ nodeType: 'slave', nodeId: 2 }), node({ role: 'inactive' }), true, true, 'incumbent'],
  ['master wins between equals', node({ role: 'starting' }), node({ nodeType: 'slave', nodeId: 2, role: 'starting' }), true, true, 'type'],
  ['lower node id wins between two masters', node({ nodeId: 9, role: 'inactive' }), node({ nodeId: 4, role: 'inactive' }), true, false, 'node_id'],
];

for (const [name, a, b, sync, aWins, rule] of cases) {
  test(`rank: ${name}`, (t) => {
    t.deepEqual(rank(a, b, sync), { aWins, rule });
    // A total order: exactly one side wins, by the same rule.
    t.deepEqual(rank(b, a, sync), { aWins: !aWins, rule });
  });
}
