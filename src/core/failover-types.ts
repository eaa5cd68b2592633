/**
 * DOC: the failover core's vocabulary: configuration, state, inputs, effects
 *
 * The core (failover.ts) is a pure function (state, input) -> {state,
 * effects}. Time is monotonic nanoseconds (bigint) carried by every input;
 * the core asks for timers as effects and the shell (src/runtime/) feeds
 * them back as `timer` inputs. Nothing here performs I/O.
 */
import type { NodeType, SyncStatus } from '../wire/heartbeat-frame.js';

export type Ns = bigint;
/**
 * fencing: the peer went silent and is being fenced (relay or STONITH) before this node takes over; it
 * holds nothing yet, and a failed fence (policy stay-inactive) returns it to inactive without a takeover.
 */
export type Role = 'starting' | 'inactive' | 'fencing' | 'active';

export interface FailoverConfig {
  nodeId: number;
  nodeType: NodeType;
  /** The peer is dead when no valid heartbeat arrived on any interface for this long. */
  failoverTimeMs: number;
  /** At start, listen this long before going active (two booting nodes never both go active). */
  initialSilenceMs: number;
  /** After a role change, comparisons (health, connections) may not change the role again for this long. */
  holdDownMs: number;
  /** Heartbeat interfaces; `monitored` ones count towards health. */
  ifaces: readonly { name: string; isSync: boolean; monitored: boolean }[];
  /** Fence the peer when taking over from it after it died (bypass relay or STONITH command). */
  fence: boolean;
  /**
   * active-passive (default): one node active, the rules below. active-active: every enabled member
   * with a link serves (an external load balancer spreads the load); there is nothing to take over.
   */
  groupMode?: 'active-passive' | 'active-active';
  /** Disabled in the cluster at start (seed 000): the node never goes active. */
  disabled?: boolean;
  /** Draining in the cluster at start (seed 000). */
  draining?: boolean;
  /**
   * State sync configured (cluster-wide): a standby's table is a copy of the active node's, so connection counts
   * compare only between tables of the same term (rank.ts rule 5). Off: each node's table is its own (seed 001).
   */
  stateSync?: boolean;
  /** The highest takeover term this node knew before it (re)started, from its state directory (0: none). */
  term?: number;
}

/** What the peer last said about itself (its newest heartbeat), and when we heard it where. */
export interface PeerView extends HeartbeatInfo {
  lastHeard: Ns;
  /** Last valid heartbeat per interface (ours), for the evidence of a takeover. */
  heardOn: Record<string, Ns>;
}

export interface Change {
  from: Role;
  to: Role;
  at: Ns;
  reason: Reason;
  evidence: Evidence;
}

export type Reason =
  | 'initial_silence_over_no_peer'
  | 'initial_silence_over_peer_active'
  | 'peer_active_at_start'
  | 'outranks_peer'
  | 'peer_outranks_us'
  | 'peer_dead'
  | 'peer_yielded'
  | 'planned_failover'
  | 'both_active_resolved'
  | 'health_lower_than_peer'
  | 'health_higher_than_peer'
  | 'more_connections_sync_down'
  | 'fewer_connections_sync_down'
  | 'peer_took_over'
  | 'isolated'
  | 'fence_failed'
  | 'peer_fenced'
  | 'fence_failed_taking_over'
  | 'disabled'
  | 'enabled_active_active'
  | 'stalled_peer_active'
  | 'stopping';

export interface Evidence {
  peerLastHeardMsAgo?: number | null;
  heardOnMsAgo?: Record<string, number | null>;
  ourConnections?: number;
  peerConnections?: number;
  ourHealth?: number;
  peerHealth?: number;
  syncLinkUp?: boolean;
  peerRole?: Role;
  peerType?: NodeType;
  ourTerm?: number;
  peerTerm?: number;
  rule?: string;
}

export interface CoreState {
  config: FailoverConfig;
  role: Role;
  startedAt: Ns;
  roleSince: Ns;
  /** Our own carrier per interface. */
  links: Record<string, boolean>;
  /** Monitor targets reachable per interface (true when none are configured). */
  targets: Record<string, boolean>;
  connections: number;
  /** Planned failover or stop in progress: heartbeats carry the yielding flag. */
  yielding: boolean;
  stopping: boolean;
  peer: PeerView | undefined;
  lastChange: Change | undefined;
  /** When the stall check is due; an input much later means this process was stopped or starved. */
  stallCheckDue: Ns | undefined;
  /** When this node last ran: the newest time of any input, a heartbeat's read time rather than its kernel stamp. */
  clock: Ns;
  /**
   * The term of our last takeover (core/term.ts; 0: never active), advertised: of two active nodes the higher
   * term took over last and wins. It only grows.
   */
  term: number;
  /** The highest term seen, ours and every authentic heartbeat's (bounded): a takeover takes the next one. Persisted. */
  highestTerm: number;
  /**
   * Set when this node finds, while active, that it did not run for longer than the failover time: until then its
   * heartbeats say so, and of two active nodes it loses (rank.ts rule 3; seed 001's CPU stalls).
   */
  stalledUntil: Ns | undefined;
  /** The peer's term last logged as implausible (logged once per value). */
  implausibleLogged: number | undefined;
  /** After reconnecting from isolation, silence proves nothing until this time: listen first. */
  listenUntil: Ns | undefined;
  /** A fence failed (policy: stay inactive): no takeover from the silent peer until it is heard again. */
  fenceFailed: boolean;
  /** Disabled by the administrator: never active, and heartbeats say yielding so the peer serves. */
  disabled: boolean;
  /** The member's standing beside its role: leader, draining, and the bypass modes an administrator set. */
  standing: Standing;
}

/**
 * What a member is beside its role, each changed only through step() so that the flight recorder and
 * `tandem why` see it like a role change: the cluster leader (core/leader.ts decides, the runtime feeds the
 * verdict), draining (the administrator), and the bypass mode an administrator put a segment in.
 */
export interface Standing {
  leader: boolean;
  draining: boolean;
  /** Segment -> mode, only for segments an administrator set (the relays' own life is bypass-control's). */
  bypass: Record<string, string>;
}

export type StandingWhat = 'leader' | 'drain' | 'bypass';

export interface StandingChange {
  what: StandingWhat;
  /** The segment, for bypass; the member otherwise. */
  subject: string;
  from: string;
  to: string;
  at: Ns;
  reason: string;
  evidence: Evidence;
}

export interface HeartbeatInfo {
  nodeId: number;
  name: string;
  nodeType: NodeType;
  role: Role;
  connections: number;
  health: number;
  yielding: boolean;
  /** The sender's takeover term (core/term.ts): of two active nodes the higher took over last. */
  term: number;
  /** The sender, active, has just come back from a stall longer than the failover time (for a failover time). */
  stalled?: boolean;
  /**
   * Heard in the previous heartbeat format (a node not yet upgraded): it cannot read ours, so it serves whatever we
   * decide; rank.ts defers to it rather than be a second active node.
   */
  previousFormat?: boolean;
  /** The sender's claim of the shared addresses has finished (absent: taken to follow its role). */
  holdsShared?: boolean;
  bootId: bigint;
  /** The sender's node-wide heartbeat sequence: frames reach us over several interfaces out of order. */
  sequence: bigint;
  /** What else the sender says of itself (no rule reads it; it is kept, like the rest, only from a newer frame). */
  facts?: PeerFacts;
}

/** The peer's advertised state beyond what the rules read: its copy of the synchronised state, flags, versions. */
export interface PeerFacts {
  syncStatus: SyncStatus;
  syncSequence: bigint;
  flags: number;
  configGeneration: number;
  softwareVersion: { major: number; minor: number; patch: number };
}

export type Input =
  | { type: 'start'; now: Ns }
  /**
   * `now` is the frame's kernel stamp (when it arrived); `readAt` when the runtime read it (later after a stall:
   * the stall check runs on it, never on a stamp). Absent: read at once.
   */
  | { type: 'heartbeat'; now: Ns; iface: string; from: HeartbeatInfo; readAt?: Ns }
  | { type: 'timer'; now: Ns; name: TimerName }
  | { type: 'link'; now: Ns; iface: string; up: boolean }
  | { type: 'targets'; now: Ns; iface: string; reachable: boolean }
  | { type: 'connections'; now: Ns; count: number }
  | { type: 'failover'; now: Ns }
  /** The fence of a dead peer is done: fenced, or it failed and the policy is to take over anyway. */
  | { type: 'fence-done'; now: Ns; fenced: boolean }
  /** The fence of a dead peer failed and the policy is to stay inactive rather than risk two active nodes. */
  | { type: 'fence-failed'; now: Ns }
  /** `tandem cluster enable|disable` of this node. */
  | { type: 'enable'; now: Ns; enabled: boolean }
  /** The leader verdict (core/leader.ts) with its reason. */
  | { type: 'leader'; now: Ns; holding: boolean; reason: string; rule?: string }
  /** `tandem cluster drain|undrain` of this node. */
  | { type: 'drain'; now: Ns; draining: boolean }
  /** `tandem bypass MODE SEGMENT` by an administrator. */
  | { type: 'bypass'; now: Ns; segment: string; mode: string }
  | { type: 'stop'; now: Ns };

export type TimerName = 'initial-silence' | 'peer-dead' | 'hold-down' | 'sync-silence' | 'stall-check' | 'listen' | 'announce-again';

export type Effect =
  | { type: 'role'; role: Role; change: Change }
  /** A change of standing (leader, drain, an administrator's bypass mode): logged and recorded like a role change. */
  | { type: 'standing'; change: StandingChange }
  /** Put a bypass segment in a mode (an administrator's choice, recorded by a standing change first). */
  | { type: 'set-bypass'; segment: string; mode: string }
  | { type: 'commit-state' }
  | { type: 'claim-shared' }
  | { type: 'release-shared' }
  /** Announce the shared addresses again (gratuitous ARPs): the peer just stepped down, and frames it sent from the shared MAC may have pulled the switches back to its port. */
  | { type: 'announce-shared' }
  | { type: 'fence'; peerNodeId: number; peerName: string }
  | { type: 'advertise'; yielding: boolean; health: number; term: number; stalled: boolean }
  /** The highest term seen moved: write it to the state directory, so a restarted node never takes an older one. */
  | { type: 'persist-term'; term: number }
  | { type: 'arm-timer'; name: TimerName; at: Ns }
  | { type: 'log'; level: 'info' | 'warn'; event: CoreEvent; fields: Record<string, unknown> };

/** The events the core logs (the runtime's catalogue must hold each: src/runtime/logging/events.ts checks it). */
export type CoreEvent =
  | 'all_heartbeat_links_down'
  | 'failover_refused'
  | 'foreign_node_heartbeat'
  | 'link_down'
  | 'link_up'
  | 'member_disabled'
  | 'member_enabled'
  | 'monitor_targets_lost'
  | 'monitor_targets_reachable'
  | 'peer_found'
  | 'peer_restarted'
  | 'planned_failover_abandoned'
  | 'planned_failover_started'
  | 'stall_detected'
  | 'stall_yielding'
  | 'takeover_withheld'
  | 'term_implausible'
  | 'term_raised'
  | 'term_wrapped';

export interface Transition {
  state: CoreState;
  effects: Effect[];
}

export const MS = 1_000_000n;

export function ms(n: number): Ns {
  return BigInt(Math.round(n * 1e6));
}
