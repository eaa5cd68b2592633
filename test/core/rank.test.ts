import test from 'ava';
import { rank, type Contender, type RankFacts } from '../../src/core/rank.js';

const node = (over: Partial<Contender> = {}): Contender => ({
  nodeId: 1,
  nodeType: 'master',
  role: 'active',
  connections: 0,
  health: 3,
  yielding: false,
  term: 1,
  ...over,
});

const SYNC_UP: RankFacts = { syncLinkUp: true, stateSync: true };
const SYNC_DOWN: RankFacts = { syncLinkUp: false, stateSync: true };
const NO_STATE_SYNC: RankFacts = { syncLinkUp: false, stateSync: false };

const cases: [string, Contender, Contender, RankFacts, boolean, string][] = [
  // name, a, b, facts, a wins, rule
  [
    'a peer of the previous heartbeat format wins: it cannot hear us',
    node({ previousFormat: true, health: 1 }),
    node({ nodeId: 2, term: 9 }),
    SYNC_UP,
    true,
    'previous_format',
  ],
  ['yielding loses even with better health', node({ yielding: true, health: 5 }), node({ nodeId: 2, health: 1 }), SYNC_UP, false, 'yielding'],
  ['more health wins over master type', node({ nodeType: 'slave', nodeId: 2, health: 3 }), node({ health: 2 }), SYNC_UP, true, 'health'],
  [
    'of two active nodes the one back from a stall loses, whatever its term',
    node({ nodeType: 'slave', nodeId: 2, term: 3 }),
    node({ term: 7, stalled: true }),
    SYNC_UP,
    true,
    'stalled',
  ],
  [
    'a stall does not matter against an inactive node',
    node({ nodeType: 'slave', nodeId: 2, role: 'inactive' }),
    node({ stalled: true }),
    SYNC_UP,
    false,
    'incumbent',
  ],
  ['of two active nodes the newer takeover wins', node({ nodeType: 'slave', nodeId: 2, term: 7 }), node({ term: 6 }), SYNC_UP, true, 'newer_term'],
  [
    'of two active nodes the newer takeover wins, whatever the counts with the sync link down',
    node({ nodeType: 'slave', nodeId: 2, term: 7, connections: 3 }),
    node({ term: 6, connections: 500 }),
    SYNC_DOWN,
    true,
    'newer_term',
  ],
  ['the newer takeover across the wrap of the counter', node({ nodeId: 2, term: 2 }), node({ term: 0xfffffffe }), SYNC_UP, true, 'newer_term'],
  [
    'seed 001: connections decide between two takeovers of the same term while sync is down',
    node({ nodeType: 'slave', nodeId: 2, connections: 10, term: 4 }),
    node({ connections: 5, term: 4 }),
    SYNC_DOWN,
    true,
    'connections',
  ],
  [
    "a standby's copy never wins by size: with state sync the counts of two terms do not compare",
    node({ nodeType: 'slave', nodeId: 2, role: 'inactive', connections: 40, term: 6 }),
    node({ connections: 20, term: 7 }),
    SYNC_DOWN,
    false,
    'incumbent',
  ],
  [
    'seed 001 as written without state sync: each table is its own, the inactive node with more connections wins',
    node({ nodeType: 'slave', nodeId: 2, role: 'inactive', connections: 10, term: 0 }),
    node({ connections: 5, term: 1 }),
    NO_STATE_SYNC,
    true,
    'connections',
  ],
  [
    'connections ignored while sync is up',
    node({ nodeType: 'slave', nodeId: 2, role: 'inactive', connections: 10 }),
    node({ connections: 5 }),
    SYNC_UP,
    false,
    'incumbent',
  ],
  [
    'a newer term does not matter against the active node',
    node({ nodeType: 'slave', nodeId: 2, role: 'inactive', term: 9 }),
    node({ term: 3 }),
    SYNC_UP,
    false,
    'incumbent',
  ],
  ['the incumbent stays', node({ nodeType: 'slave', nodeId: 2 }), node({ role: 'inactive' }), SYNC_UP, true, 'incumbent'],
  [
    'a running standby outranks a node still in its initial silence (a rebooted master holds no table yet)',
    node({ nodeType: 'slave', nodeId: 2, role: 'inactive', term: 0 }),
    node({ role: 'starting', term: 0 }),
    SYNC_UP,
    true,
    'running',
  ],
  [
    'of two nodes not active, the last one active holds the freshest table',
    node({ nodeType: 'slave', nodeId: 2, role: 'inactive', term: 5 }),
    node({ role: 'inactive', term: 4 }),
    SYNC_UP,
    true,
    'last_active',
  ],
  ['master wins between equals', node({ role: 'starting', term: 0 }), node({ nodeType: 'slave', nodeId: 2, role: 'starting', term: 0 }), SYNC_UP, true, 'type'],
  ['lower node id wins between two masters', node({ nodeId: 9, role: 'inactive' }), node({ nodeId: 4, role: 'inactive' }), SYNC_UP, false, 'node_id'],
];

for (const [name, a, b, facts, aWins, rule] of cases) {
  test(`rank: ${name}`, (t) => {
    t.deepEqual(rank(a, b, facts), { aWins, rule });
    // A total order: exactly one side wins, by the same rule.
    t.deepEqual(rank(b, a, facts), { aWins: !aWins, rule });
  });
}
