/**
 * DOC: one AF_PACKET socket on one interface
 *
 * Owns the addon's packet handle and its lifecycle (open -> receiving ->
 * closed). The kernel filters with a classic BPF program before anything
 * reaches us; frames arrive in batches into one ring buffer that is reused,
 * so a receive handler sees a view valid only during its call. Runs on the
 * Node main loop. Decisions about what a frame means are not made here.
 */
import type { NativeError, PacketHandle } from './native.js';
import { IFF_RUNNING, IFF_UP, netnsPath, sys, wrapNativeError, SystemError } from './native.js';

export interface PacketLinkOptions {
  ifname: string;
  /** Network namespace name (from `ip netns`); the socket lives there for its life. */
  netns?: string;
  /** Classic BPF program (struct sock_filter[] bytes), attached before bind. */
  filter?: Uint8Array;
  /** Multicast MACs to join (heartbeat destinations). */
  multicast?: Uint8Array[];
  /** Frames per batch read (1..64). */
  batch?: number;
  /** Bytes per ring slot; longer frames are reported truncated. */
  slotSize?: number;
}

export type FrameHandler = (frame: Buffer, stampNs: bigint, truncated: boolean) => void;
export type ErrorHandler = (err: Error) => void;

/** The port the heartbeat I/O needs; PacketLink is the real one, test/ has a fake. */
export interface FrameLink {
  readonly ifname: string;
  send(frame: Uint8Array): void;
  hasCarrier(): boolean;
  receive(onFrame: FrameHandler, onError: ErrorHandler): void;
  drain(onFrame: FrameHandler, onError: ErrorHandler): number;
  close(): void;
  readonly closed: boolean;
}

export class PacketLink implements FrameLink {
  readonly ifname: string;
  readonly netns: string | undefined;
  readonly ifindex: number;
  private readonly handle: PacketHandle = {};
  private state: 'open' | 'receiving' | 'closed' = 'open';
  private drainRing: { ring: Buffer; lens: Uint32Array; stamps: BigInt64Array; slotSize: number } | undefined;
  private readonly where: string;

  private constructor(opts: PacketLinkOptions) {
    this.ifname = opts.ifname;
    this.netns = opts.netns;
    this.where = `interface ${opts.ifname}${opts.netns ? ` (netns ${opts.netns})` : ''}`;
    this.ifindex = sys(this.where, (b) =>
      b.tandem_packet_open(opts.ifname, opts.filter ?? null, netnsPath(opts.netns), this.handle),
    );
    try {
      for (const mac of opts.multicast ?? []) sys(this.where, (b) => b.tandem_packet_membership(this.handle, mac, true));
    } catch (e) {
      this.close();
      throw e;
    }
  }

  static open(opts: PacketLinkOptions): PacketLink {
    return new PacketLink(opts);
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  send(frame: Uint8Array): void {
    if (this.state === 'closed') throw new Error(`${this.where}: send after close`);
    sys(this.where, (b) => b.tandem_packet_send(this.handle, frame));
  }

  /**
   * Starts delivering frames. A handler that throws does not stop the socket:
   * the error goes to onError and the next frame is delivered as usual.
   */
  receive(onFrame: FrameHandler, onError: ErrorHandler, batch = 32, slotSize = 2048): void {
    if (this.state === 'closed') throw new Error(`${this.where}: receive after close`);
    if (this.state === 'receiving') throw new Error(`${this.where}: already receiving`);
    const ring = Buffer.alloc(batch * slotSize);
    const lens = new Uint32Array(batch);
    const stamps = new BigInt64Array(batch);
    sys(this.where, (b) =>
      b.tandem_packet_start(this.handle, ring, lens, stamps, (err: NativeError | null, count: number) => {
        if (err) onError(wrapNativeError(err, this.where));
        else this.deliver(ring, lens, stamps, slotSize, count, onFrame, onError);
      }),
    );
    this.state = 'receiving';
  }

  /**
   * Reads every frame queued now, without waiting (the alternative to
   * receive(): a caller with its own tick drains its sockets on that tick
   * instead of waking for every frame; kernel stamps keep arrival times
   * exact). Bounded per call so a flood cannot hold the loop. Returns the
   * number of frames delivered.
   */
  drain(onFrame: FrameHandler, onError: ErrorHandler, maxBatches = 8): number {
    if (this.state === 'closed') throw new Error(`${this.where}: drain after close`);
    if (this.state === 'receiving') throw new Error(`${this.where}: drain while receive() is polling`);
    const batch = 16;
    const slotSize = 2048;
    this.drainRing ??= { ring: Buffer.alloc(batch * slotSize), lens: new Uint32Array(batch), stamps: new BigInt64Array(batch), slotSize };
    const { ring, lens, stamps } = this.drainRing;
    let total = 0;
    for (let round = 0; round < maxBatches; round++) {
      let count: number;
      try {
        count = sys(this.where, (b) => b.tandem_packet_read(this.handle, ring, lens, stamps));
      } catch (e) {
        onError(e as Error);
        return total;
      }
      this.deliver(ring, lens, stamps, slotSize, count, onFrame, onError);
      total += count;
      if (count < batch) break;
    }
    return total;
  }

  private deliver(ring: Buffer, lens: Uint32Array, stamps: BigInt64Array, slotSize: number, count: number, onFrame: FrameHandler, onError: ErrorHandler): void {
    for (let i = 0; i < count; i++) {
      const len = lens[i]!;
      const frame = ring.subarray(i * slotSize, i * slotSize + Math.min(len, slotSize));
      try {
        onFrame(frame, stamps[i]!, len > slotSize);
      } catch (e) {
        onError(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /** IFF_* flags of the interface now (one ioctl on this socket). */
  ifflags(): number {
    if (this.state === 'closed') throw new Error(`${this.where}: ifflags after close`);
    return sys(this.where, (b) => b.tandem_packet_ifflags(this.handle));
  }

  /** Administratively up and with carrier. */
  hasCarrier(): boolean {
    const f = this.ifflags();
    return (f & IFF_UP) !== 0 && (f & IFF_RUNNING) !== 0;
  }

  /** Kernel counters since the last call: frames queued to us and frames dropped. */
  stats(): { packets: number; drops: number } {
    if (this.state === 'closed') throw new Error(`${this.where}: stats after close`);
    return sys(this.where, (b) => b.tandem_packet_stats(this.handle));
  }

  /** Idempotent. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    sys(this.where, (b) => b.tandem_packet_close(this.handle));
  }
}

export { SystemError };
