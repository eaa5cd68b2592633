/**
 * DOC: the heartbeat receiver of one node
 *
 * One packet socket per heartbeat interface (kernel-filtered to heartbeats),
 * read either as frames arrive (start), on the caller's tick (drain), or by
 * the heartbeat thread and handed over (onFrame), each frame run down the full drop ladder (src/wire/heartbeat-verify.ts)
 * with that interface's context. Keeps the per-interface counters the
 * heartbeat matrix shows (received, accepted, rejected by reason, last seen)
 * and hands every verdict to the caller, which turns it into core events.
 */
import type { DecodedHeartbeat } from '../wire/heartbeat-frame.js';
import { peekSender, type HeartbeatAuth } from '../wire/heartbeat-frame.js';
import { ReplayMemory, verifyHeartbeat, type RejectionReason } from '../wire/heartbeat-verify.js';
import type { ErrorHandler, FrameLink } from './packet-link.js';

export interface ReceiveIface {
  link: FrameLink;
  nn: number;
  isSync: boolean;
}

export interface ReceiveCounters {
  received: number;
  accepted: number;
  /** Read, not examined: an accepted newer frame of the same sender came in the same read (src/io/newest-first.ts). */
  superseded: number;
  /** Frames the kernel dropped before anyone read them: the socket's queue was full (PACKET_STATISTICS). */
  kernelDrops: number;
  /** Read by the heartbeat thread, then lost when its ring overflowed (the main loop stalled for seconds). */
  ringDrops?: number;
  rejected: Partial<Record<RejectionReason, number>>;
  lastAcceptedNs?: bigint;
  lastPeerSequence?: bigint;
}

export interface ReceiverEvents {
  accepted(ifname: string, frame: DecodedHeartbeat, stampNs: bigint): void;
  rejected(ifname: string, reason: RejectionReason, stampNs: bigint, nodeId?: number): void;
  error(ifname: string, err: Error): void;
}

export class HeartbeatReceiver {
  private readonly replay = new ReplayMemory();
  private readonly counters = new Map<string, ReceiveCounters>();

  constructor(
    private readonly ifaces: ReadonlyMap<string, ReceiveIface>,
    private readonly identity: { clusterId: number; nodeId: number; auth: HeartbeatAuth },
    private readonly events: Partial<ReceiverEvents> = {},
  ) {
    for (const name of ifaces.keys()) this.counters.set(name, { received: 0, accepted: 0, superseded: 0, kernelDrops: 0, rejected: {} });
  }

  private readonly handlers = new Map<string, { frame: (frame: Buffer, stampNs: bigint, truncated?: boolean) => boolean; error: ErrorHandler }>();

  /** Receives as frames arrive: one wakeup per frame burst. */
  start(): void {
    for (const [name, iface] of this.ifaces) {
      const h = this.handler(name, iface);
      iface.link.receive(h.frame, h.error);
    }
  }

  /** Reads what every interface has queued now (for a caller that drains on its own tick). */
  drain(): number {
    let n = 0;
    for (const [name, iface] of this.ifaces) {
      const h = this.handler(name, iface);
      n += iface.link.drain(h.frame, h.error);
    }
    return n;
  }

  /** One frame read elsewhere (the pacer's thread) on interface `ifname`, down the same ladder; true if accepted. */
  readonly onFrame = (ifname: string, frame: Buffer, stampNs: bigint, truncated: boolean): boolean => {
    const iface = this.ifaces.get(ifname);
    if (!iface) return false;
    const h = this.handler(ifname, iface);
    try {
      return h.frame(frame, stampNs, truncated);
    } catch (e) {
      h.error(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
  };

  /**
   * Frames read elsewhere on `ifname` and left unverified: `accepted`, newer and of the same sender, was accepted.
   * Their sequence numbers go into the replay window (a later copy of one is a replay); one already there is a
   * replay now, counted and reported as such even while its sender lives.
   */
  readonly onSuperseded = (ifname: string, older: readonly Buffer[], accepted: Buffer): void => {
    const c = this.counters.get(ifname);
    if (!c) return;
    const sender = peekSender(accepted);
    for (const frame of older) {
      c.received++;
      const f = peekSender(frame);
      const verdict =
        sender && f && f.nodeId === sender.nodeId && f.sequence < sender.sequence ? this.replay.record(f.nodeId, f.bootId, f.sequence) : 'too_old';
      if (verdict === 'seen') {
        c.rejected.replayed = (c.rejected.replayed ?? 0) + 1;
        this.events.rejected?.(ifname, 'replayed', 0n, f!.nodeId);
      } else c.superseded++;
    }
  };

  private handler(name: string, iface: ReceiveIface): { frame: (frame: Buffer, stampNs: bigint, truncated?: boolean) => boolean; error: ErrorHandler } {
    const known = this.handlers.get(name);
    if (known) return known;
    const ctx = { clusterId: this.identity.clusterId, auth: this.identity.auth, selfNodeId: this.identity.nodeId, nn: iface.nn, isSync: iface.isSync };
    const c = this.counters.get(name)!;
    const h = {
      frame: (frame: Buffer, stampNs: bigint) => {
        c.received++;
        const v = verifyHeartbeat(frame, ctx, this.replay);
        if (v.ok) {
          c.accepted++;
          c.lastAcceptedNs = stampNs;
          c.lastPeerSequence = v.frame.fields.sequence;
          this.events.accepted?.(name, v.frame, stampNs);
          return true;
        }
        c.rejected[v.reason] = (c.rejected[v.reason] ?? 0) + 1;
        this.events.rejected?.(name, v.reason, stampNs, v.nodeId);
        return false;
      },
      error: (err: Error) => this.events.error?.(name, err),
    };
    this.handlers.set(name, h);
    return h;
  }

  stats(): ReadonlyMap<string, ReceiveCounters> {
    // The kernel's counters reset as they are read: this is their only reader, and adds them up.
    for (const [name, iface] of this.ifaces) {
      if (iface.link.closed || !iface.link.stats) continue;
      try {
        this.counters.get(name)!.kernelDrops += iface.link.stats().drops;
      } catch {
        // a socket closing under us: its last counts are lost with it
      }
    }
    return this.counters;
  }
}
