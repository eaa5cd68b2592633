/**
 * DOC: what the failover runtime is given (its adapters) and what it shows (the snapshot)
 *
 * The ports of src/runtime/pair/failover-runtime.ts: each adapter is swappable in tests.
 */
import type { Change, Role, Standing } from '../../core/failover-types.js';
import type { ClaimReport } from '../../io/shared-address.js';
import type { HeartbeatSender } from '../../io/heartbeat-sender.js';
import type { SyncStatus } from '../../wire/heartbeat-frame.js';
import type { SyncStatusView } from '../../sync/sync-types.js';
import type { Logger } from '../logging/log.js';
import type { FlightRecorder } from '../explain/flight-recorder.js';
import type { LeaseView, MatrixRow } from './heartbeat-node.js';

/** The state synchronisation as the runtime sees it (src/sync/engine.ts). */
export interface RuntimeSync {
  /** Makes the synchronised state live here; runs before the shared addresses are claimed. */
  commitForTakeover(peerSequence: number): Promise<unknown>;
  /** Active: this node becomes the source of state; inactive: the sink. */
  setRole(active: boolean): Promise<void>;
  heartbeatFields(): { syncStatus: SyncStatus; syncSequence: bigint };
  status(): SyncStatusView;
}

/** What the runtime needs of the heartbeat service (HeartbeatNode; a fake in unit tests). */
export interface RuntimeHeartbeats {
  sender: Pick<HeartbeatSender, 'update' | 'sendNow' | 'leaseMs' | 'lease' | 'loopDelay'>;
  matrix(): MatrixRow[];
  /** Reads the heartbeats queued in the kernel now (before any deadline is judged). */
  drain(): void;
  /** The service tick (once an interval), on which far-off core deadlines wait without a timer of their own. */
  every?(ms: number, fn: () => void): () => void;
  readonly serviceTickNs?: bigint;
}

/** The adapters the runtime drives; each is swappable in tests. */
export interface RuntimeDeps {
  heartbeats: RuntimeHeartbeats;
  shared: { claim(): Promise<ClaimReport>; release(): Promise<void>; announce(): void; refresh(): void };
  fence?: (peer: { nodeId: number; name: string }) => Promise<string>;
  /** What a failed fence means: take over anyway, or stay inactive (the core is told). */
  fenceOnFailure?: 'take-over' | 'stay-inactive';
  sync?: RuntimeSync;
  /** Told every role change (the bypass goes inline once the node has decided). */
  onRole?: (role: Role) => void;
  /** Drives a bypass segment for an administrator (the core recorded the change first). */
  bypass?: { setByAdmin(segment: string, mode: string): void };
  /** The revision of the cluster definition now (it changes while the node runs: joins, enable, drain ...). */
  generation?: () => number;
  /** Keeps the highest takeover term seen across restarts (src/runtime/pair/term-file.ts). */
  persistTerm?: (term: number) => void;
  /** Sees every input, and freezes what it saw at every role change (tandem why). */
  recorder?: FlightRecorder;
  log: Logger;
}

export interface Snapshot {
  node: { name: string; id: number; type: string };
  role: Role;
  roleSinceMsAgo: number;
  health: number;
  connections: number;
  yielding: boolean;
  syncLinkUp: boolean;
  /** Our takeover term (0: never active since start) and the highest seen, ours and the peer's (src/core/term.ts). */
  term: number;
  highestTerm: number;
  /** A peer's term that ran impossibly far ahead (logged as term_implausible), if one was heard. */
  implausiblePeerTerm?: number;
  peer: null | {
    name: string;
    id: number;
    type: string;
    role: Role;
    alive: boolean;
    connections: number;
    health: number;
    lastHeardMsAgo: number;
    /** What the peer's heartbeats say of its copy of the state. */
    syncStatus: SyncStatus;
    syncSequence: string;
    /** The flags of its newest heartbeat (disabled, draining, leader ...). */
    flags: number;
    configGeneration: number;
    softwareVersion: string;
    term: number;
    /** The heartbeat format it speaks: the previous one means it is not upgraded yet (we defer to it). */
    heartbeatFormat: number;
  };
  disabled: boolean;
  /** Leader, draining, and the bypass modes an administrator set (core: Standing). */
  standing: Standing;
  /** Carrier and monitor targets per heartbeat interface (status bits 0x800/0x1000, 0x20000/0x40000). */
  links: { name: string; up: boolean; targetsReachable: boolean; monitored: boolean }[];
  lastChange: (Omit<Change, 'at'> & { msAgo: number; wallTime: string }) | null;
  matrix: MatrixRow[];
  sharedAddresses: 'held' | 'released';
  /** The heartbeat thread's lease and how late the main loop ran over the last minute. */
  heartbeats: LeaseView;
  sync: SyncStatusView | { enabled: false };
  /** Bypass segments (added by the daemon; absent on boards without bypass hardware). */
  bypass?: Record<string, { mode: string; failureMode: string; ports: [string, string] }>;
}
