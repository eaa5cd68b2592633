/**
 * DOC: the cluster leader (seed 000: the member expected to have the most recent state)
 *
 * Pure. Each member decides from its own facts and the peer's last
 * heartbeat whether it holds the leader role, and says so in its
 * heartbeats (FLAG_LEADER). The handover is a lease: a member claims only
 * while the live peer does not claim, and the holder lets go first when the
 * peer is better placed, so while heartbeats flow no two members claim at
 * once. A member claims alone only after it has listened for a failover
 * time (a member just started has not heard a live leader yet). The leader
 * is the log-server leader (seed 000) and is shown as status bit 0x8000.
 *
 * Better placed, first difference wins: a complete copy of the state (not
 * receiving a transfer, not out of sync); the newer cluster definition;
 * then, for the first claim only, the lower node ID. The holder keeps the
 * role on a tie, so leadership moves only for a reason.
 */

export interface LeaderCandidate {
  nodeId: number;
  /** Its state is complete: the source of state, or a copy in sync. */
  stateComplete: boolean;
  /** Revision of its cluster definition. */
  generation: number;
  /** Disabled members do not lead while an enabled one is alive. */
  enabled: boolean;
}

export interface LeaderFacts {
  me: LeaderCandidate;
  /** Whether this member holds the role now. */
  holding: boolean;
  /** The member has run (listened) for at least a failover time. */
  listened: boolean;
  peer: null | (LeaderCandidate & { alive: boolean; holding: boolean });
}

/** >0: a is better placed; <0: b; 0: a tie (the holder keeps it). */
export function compareCandidates(a: LeaderCandidate, b: LeaderCandidate): number {
  if (a.enabled !== b.enabled) return a.enabled ? 1 : -1;
  if (a.stateComplete !== b.stateComplete) return a.stateComplete ? 1 : -1;
  if (a.generation !== b.generation) return a.generation - b.generation;
  return 0;
}

/** Why a member holds the role or not (what `tandem why` says of a leader change). */
export type LeaderReason =
  'no_live_peer' | 'listening' | 'better_placed' | 'peer_better_placed' | 'tie_lower_node_id' | 'tie_higher_node_id' | 'peer_holds' | 'holder_keeps';

/** The first difference compareCandidates found, for the explanation. */
export function placementRule(a: LeaderCandidate, b: LeaderCandidate): 'enabled' | 'state_complete' | 'generation' | 'tie' {
  if (a.enabled !== b.enabled) return 'enabled';
  if (a.stateComplete !== b.stateComplete) return 'state_complete';
  if (a.generation !== b.generation) return 'generation';
  return 'tie';
}

export function decideLeader(f: LeaderFacts): { lead: boolean; reason: LeaderReason } {
  const p = f.peer;
  if (!p || !p.alive) return f.holding || f.listened ? { lead: true, reason: 'no_live_peer' } : { lead: false, reason: 'listening' };
  const cmp = compareCandidates(f.me, p);
  const tie = (): { lead: boolean; reason: LeaderReason } =>
    f.me.nodeId < p.nodeId ? { lead: true, reason: 'tie_lower_node_id' } : { lead: false, reason: 'tie_higher_node_id' };
  if (cmp !== 0)
    return cmp > 0
      ? { lead: f.holding || !p.holding, reason: f.holding || !p.holding ? 'better_placed' : 'peer_holds' }
      : { lead: false, reason: 'peer_better_placed' };
  // Both claim (they decided in the same instant): on a tie the higher ID lets go.
  if (f.holding) return p.holding ? tie() : { lead: true, reason: 'holder_keeps' };
  return p.holding ? { lead: false, reason: 'peer_holds' } : tie();
}

export function shouldLead(f: LeaderFacts): boolean {
  return decideLeader(f).lead;
}
