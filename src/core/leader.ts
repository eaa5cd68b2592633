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

export function shouldLead(f: LeaderFacts): boolean {
  const p = f.peer;
  if (!p || !p.alive) return f.holding || f.listened;
  const cmp = compareCandidates(f.me, p);
  if (f.holding) {
    // Both claim (they decided in the same instant): the worse placed, or on a tie the higher ID, lets go.
    if (p.holding) return cmp > 0 || (cmp === 0 && f.me.nodeId < p.nodeId);
    return cmp >= 0;
  }
  if (p.holding) return false;
  return cmp > 0 || (cmp === 0 && f.me.nodeId < p.nodeId);
}
