/**
 * DOC: the receiver's rungs of the heartbeat drop ladder
 *
 * After decodeHeartbeat() has authenticated a frame, the receiver still drops
 * it when it is its own (heartbeat_from_myself: a mirrored port, or a second
 * cluster configured with our identity), when it was sent for another
 * interface position (nn_mismatch: the boards of the two nodes differ, so
 * their shared MACs differ), when it arrives on the sync interface from a
 * data interface or the other way round (disallowed_on_sync_iface,
 * sync_heartbeat_on_data_iface: mis-cabling), or when it is a replay.
 *
 * Pure; the caller owns the ReplayWindow (one per peer node).
 */
import type { DecodeContext, DecodedHeartbeat, FrameRejection } from './heartbeat-frame.js';
import { decodeHeartbeat } from './heartbeat-frame.js';
import { ReplayWindow } from './replay-window.js';

export type VerifyRejection = 'heartbeat_from_myself' | 'nn_mismatch' | 'disallowed_on_sync_iface' | 'sync_heartbeat_on_data_iface' | 'replayed';

export type RejectionReason = FrameRejection | VerifyRejection;

/** Every reason, in ladder order: the counters in status use this order. */
export const REJECTION_REASONS: readonly RejectionReason[] = [
  'truncated',
  'not_heartbeat',
  'bad_magic',
  'bad_version',
  'malformed',
  'ttl_too_low',
  'wrong_cluster',
  'bad_tag',
  'heartbeat_from_myself',
  'nn_mismatch',
  'disallowed_on_sync_iface',
  'sync_heartbeat_on_data_iface',
  'replayed',
];

/** What the receiving interface is. */
export interface ReceiverContext extends DecodeContext {
  selfNodeId: number;
  /** NN of the receiving interface on this node's board. */
  nn: number;
  isSync: boolean;
}

export type VerifyResult = { ok: true; frame: DecodedHeartbeat } | { ok: false; reason: RejectionReason; nodeId?: number };

/** Replay windows of every peer seen, keyed by node id. */
export class ReplayMemory {
  private readonly windows = new Map<number, ReplayWindow>();

  /** A frame read but not verified (a newer one of its sender was accepted): see ReplayWindow.record. */
  record(nodeId: number, bootId: bigint, sequence: bigint): 'recorded' | 'seen' | 'too_old' {
    return this.windows.get(nodeId)?.record(bootId, sequence) ?? 'too_old';
  }

  check(nodeId: number, bootId: bigint, sequence: bigint): boolean {
    let w = this.windows.get(nodeId);
    if (!w) {
      w = new ReplayWindow();
      this.windows.set(nodeId, w);
    }
    return w.accept(bootId, sequence);
  }
}

export function verifyHeartbeat(buf: Uint8Array, ctx: ReceiverContext, replay: ReplayMemory): VerifyResult {
  const decoded = decodeHeartbeat(buf, ctx);
  if (!decoded.ok) {
    const out: VerifyResult = { ok: false, reason: decoded.reason };
    if (decoded.partial?.nodeId !== undefined) out.nodeId = decoded.partial.nodeId;
    return out;
  }
  const { frame } = decoded;
  const f = frame.fields;
  // Seed 001: a node that hears itself (mirrored port, duplicate identity) must not count it as the peer.
  if (f.nodeId === ctx.selfNodeId) return { ok: false, reason: 'heartbeat_from_myself', nodeId: f.nodeId };
  // Seed 001: the shared MAC is derived from bus/slot/port; a different position means different hardware settings.
  if (frame.macNn !== ctx.nn || f.nn !== ctx.nn) return { ok: false, reason: 'nn_mismatch', nodeId: f.nodeId };
  if (ctx.isSync && !f.fromSync) return { ok: false, reason: 'disallowed_on_sync_iface', nodeId: f.nodeId };
  if (!ctx.isSync && f.fromSync) return { ok: false, reason: 'sync_heartbeat_on_data_iface', nodeId: f.nodeId };
  if (!replay.check(f.nodeId, f.bootId, f.sequence)) return { ok: false, reason: 'replayed', nodeId: f.nodeId };
  return { ok: true, frame };
}
