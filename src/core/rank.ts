/**
 * DOC: who should be active: the total order between two nodes
 *
 * Both nodes evaluate the same predicate on the same facts (each node's own
 * values and what the other advertises in its heartbeats), so while
 * heartbeats flow exactly one of them concludes it should be active. The
 * rules, first difference wins:
 *
 * 1. yielding: a node handing over (planned failover, stopping) loses;
 * 2. health: more monitored interfaces with link and reachable targets wins
 *    (seed 001/003 and keepalived's tracking: a node that lost a link the
 *    peer still has hands over);
 * 3. connections, only while the sync link is down: more wins (seed 001:
 *    "the one with the most connections will be the active node");
 * 4. took over: of two active nodes, the one that took over from the other
 *    when it went silent wins: it has the fresher state, and the other was
 *    stalled (SIGSTOP, a starved CPU, seed 001) or cut off;
 * 5. incumbency: the node already active stays active (no flapping);
 * 6. node type: master wins (seed 001: at a simultaneous start);
 * 7. node ID: the lower wins (a total order even for two masters).
 */
import type { HeartbeatInfo } from './failover-types.js';

/** What the order looks at: the facts a node advertises in its heartbeats. */
export type Contender = Pick<HeartbeatInfo, 'nodeId' | 'nodeType' | 'role' | 'connections' | 'health' | 'yielding' | 'tookOver'>;

export type RankRule = 'yielding' | 'health' | 'connections' | 'took_over' | 'incumbent' | 'type' | 'node_id';

export interface Verdict {
  /** True when `a` should be active rather than `b`. */
  aWins: boolean;
  rule: RankRule;
}

export function rank(a: Contender, b: Contender, syncLinkUp: boolean): Verdict {
  if (a.yielding !== b.yielding) return { aWins: !a.yielding, rule: 'yielding' };
  if (a.health !== b.health) return { aWins: a.health > b.health, rule: 'health' };
  if (!syncLinkUp && a.connections !== b.connections) return { aWins: a.connections > b.connections, rule: 'connections' };
  const aActive = a.role === 'active';
  const bActive = b.role === 'active';
  if (aActive && bActive && a.tookOver !== b.tookOver) return { aWins: a.tookOver, rule: 'took_over' };
  if (aActive !== bActive) return { aWins: aActive, rule: 'incumbent' };
  if (a.nodeType !== b.nodeType) return { aWins: a.nodeType === 'master', rule: 'type' };
  return { aWins: a.nodeId < b.nodeId, rule: 'node_id' };
}

/** Named predicate for the core's cases. */
export function weOutrankPeer(us: Contender, peer: Contender, syncLinkUp: boolean): Verdict {
  return rank(us, peer, syncLinkUp);
}
