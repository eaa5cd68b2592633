/**
 * DOC: who should be active: the total order between two nodes
 *
 * Both nodes evaluate the same predicate on the same facts (each node's own
 * values and what the other advertises in its heartbeats), so while
 * heartbeats flow exactly one of them concludes it should be active. The
 * rules, first difference wins:
 *
 * 0. a peer heard in the previous heartbeat format wins: it cannot hear us
 *    (it drops our format), so it serves whatever we decide; deferring is
 *    the only way not to be a second active node until it is upgraded;
 * 1. yielding: a node handing over (planned failover, stopping, a node that
 *    knows it stalled while the peer took over) loses;
 * 2. health: more monitored interfaces with link and reachable targets wins
 *    (seed 001/003 and keepalived's tracking: a node that lost a link the
 *    peer still has hands over);
 * 3. stalled, then newer takeover, between two active nodes: one just back
 *    from a stall longer than the failover time loses (seed 001's CPU
 *    stalls: while it did not run only the other could serve, whatever the
 *    terms say, as a partition may have hidden a takeover from it); else the
 *    higher term wins (term.ts): it became active last, when the other went
 *    silent, and that one was frozen, starved or cut off: its table is stale;
 * 4. running: a node past its start outranks one still in its initial
 *    silence (just booted, or a restarted worker: it holds no state yet, or
 *    an old one; the running standby holds the synchronised copy);
 * 5. connections, only while the sync link is down, and only between tables
 *    that can be compared (seed 001: "the one with the most connections will
 *    be the active node"): with state sync off each node's table is its own;
 *    with it on, only between two nodes of the same term (two takeovers made
 *    apart, neither knowing the other's, or nodes never active). A higher term
 *    is the fresher state, whatever its count: a standby's copy or a loser's
 *    table never wins by size;
 * 6. incumbency: the node already active stays active (no flapping);
 * 7. the last one active: of two nodes that are not active, the higher term
 *    held the role last, so its table is the freshest;
 * 8. node type: master wins (seed 001: at a simultaneous start);
 * 9. node ID: the lower wins (a total order even for two masters).
 */
import type { HeartbeatInfo } from './failover-types.js';
import { newerTerm } from './term.js';

/** What the order looks at: the facts a node advertises in its heartbeats. */
export type Contender = Pick<HeartbeatInfo, 'nodeId' | 'nodeType' | 'role' | 'connections' | 'health' | 'yielding' | 'term' | 'previousFormat' | 'stalled'>;

export type RankRule =
  'previous_format' | 'yielding' | 'health' | 'stalled' | 'newer_term' | 'connections' | 'incumbent' | 'running' | 'last_active' | 'type' | 'node_id';

export interface Verdict {
  /** True when `a` should be active rather than `b`. */
  aWins: boolean;
  rule: RankRule;
}

/** What both nodes know alike: the sync link's state, and whether state sync is configured (cluster-wide). */
export interface RankFacts {
  syncLinkUp: boolean;
  stateSync: boolean;
}

export function rank(a: Contender, b: Contender, facts: RankFacts): Verdict {
  if ((a.previousFormat === true) !== (b.previousFormat === true)) return { aWins: a.previousFormat === true, rule: 'previous_format' };
  if (a.yielding !== b.yielding) return { aWins: !a.yielding, rule: 'yielding' };
  if (a.health !== b.health) return { aWins: a.health > b.health, rule: 'health' };
  const aActive = a.role === 'active';
  const bActive = b.role === 'active';
  if (aActive && bActive && (a.stalled === true) !== (b.stalled === true)) return { aWins: b.stalled === true, rule: 'stalled' };
  if (aActive && bActive && a.term !== b.term) return { aWins: newerTerm(a.term, b.term), rule: 'newer_term' };
  const aStarting = a.role === 'starting';
  if (aStarting !== (b.role === 'starting')) return { aWins: !aStarting, rule: 'running' };
  const comparable = !facts.stateSync || a.term === b.term;
  if (!facts.syncLinkUp && comparable && a.connections !== b.connections) return { aWins: a.connections > b.connections, rule: 'connections' };
  if (aActive !== bActive) return { aWins: aActive, rule: 'incumbent' };
  if (a.term !== b.term) return { aWins: newerTerm(a.term, b.term), rule: 'last_active' };
  if (a.nodeType !== b.nodeType) return { aWins: a.nodeType === 'master', rule: 'type' };
  return { aWins: a.nodeId < b.nodeId, rule: 'node_id' };
}

/** Named predicate for the core's cases. */
export function weOutrankPeer(us: Contender, peer: Contender, facts: RankFacts): Verdict {
  return rank(us, peer, facts);
}
