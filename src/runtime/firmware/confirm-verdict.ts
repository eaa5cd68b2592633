/**
 * The verdict on a trial boot of a new firmware version (firmware.ts): healthy, still waiting, or failed. Pure: from
 * what the status document says of the node, the time since the boot, and the deadline.
 */
export interface HealthFacts {
  /** tandemd's worker runs and answers (the status document exists). */
  up: boolean;
  standalone: boolean;
  role: string;
  /** A pair's: the peer heard on any heartbeat interface within the failover time. */
  peerHeard: boolean | null;
  /** A pair's state sync: in-sync, syncing, down ... (null: no sync, or a cluster on Corosync). */
  sync: string | null;
  /** A cluster on Corosync: the member serves (its group has quorum and it holds the state). */
  serving: boolean | null;
}

export type Verdict = { state: 'confirmed'; why: string } | { state: 'waiting'; what: string } | { state: 'failed'; reason: string };

/** What is still missing, or null when the node is healthy. */
function missing(h: HealthFacts): string | null {
  if (!h.up) return 'tandemd is not running';
  if (h.standalone) return null;
  if (h.peerHeard !== null) {
    if (!h.peerHeard) return 'the peer was not heard on any heartbeat interface';
    if (h.sync !== null && h.sync !== 'in-sync' && h.role !== 'active') return `the state is not in sync (sync ${h.sync})`;
    return null;
  }
  if (h.serving === false) return 'the member does not serve in its group (no quorum, or no state)';
  return null;
}

export function confirmVerdict(h: HealthFacts, sinceBootMs: number, deadlineMs: number): Verdict {
  const what = missing(h);
  if (what === null)
    return {
      state: 'confirmed',
      why: h.standalone
        ? 'tandemd up (a standalone node: no peer to wait for)'
        : h.peerHeard !== null
          ? `tandemd up, the peer heard, role ${h.role}, sync ${h.sync ?? 'none'}`
          : 'tandemd up, serving in its group',
    };
  if (sinceBootMs >= deadlineMs)
    return { state: 'failed', reason: `${what} ${Math.round(sinceBootMs / 1000)} s after the boot (deadline ${Math.round(deadlineMs / 1000)} s)` };
  return { state: 'waiting', what };
}
