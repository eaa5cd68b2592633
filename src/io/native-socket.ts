/**
 * DOC: the lifecycle and I/O every addon socket shares (packet, netlink)
 *
 * Owns the addon's handle: open -> receiving (uv_poll) or drained on the
 * caller's tick -> closed; refuses calls out of order with a plain message;
 * close() is idempotent. Messages arrive in batches into one reused ring, so
 * a handler sees a view valid only during its call; a handler that throws
 * does not stop the socket (the error goes to onError). Runs on the Node
 * main loop and decides nothing about what a message means.
 */
import type { NativeError, SockHandle } from './native.js';
import { sys, wrapNativeError } from './native.js';

export type FrameHandler = (frame: Buffer, stampNs: bigint, truncated: boolean) => void;
export type ErrorHandler = (err: Error) => void;

interface Ring {
  ring: Buffer;
  lens: Uint32Array;
  stamps: BigInt64Array;
  slotSize: number;
}

function makeRing(batch: number, slotSize: number): Ring {
  return { ring: Buffer.alloc(batch * slotSize), lens: new Uint32Array(batch), stamps: new BigInt64Array(batch), slotSize };
}

export abstract class NativeSocket {
  protected readonly handle: SockHandle = {};
  private state: 'open' | 'receiving' | 'closed' = 'open';
  private drainRing: Ring | undefined;

  protected constructor(
    protected readonly where: string,
    /** Bytes per ring slot: a frame, or a netlink datagram (dumps fill pages). */
    private readonly slotSize: number,
  ) {}

  get closed(): boolean {
    return this.state === 'closed';
  }

  protected ensureOpen(what: string): void {
    if (this.state === 'closed') throw new Error(`${this.where}: ${what} after close`);
  }

  send(data: Uint8Array): void {
    this.ensureOpen('send');
    sys(this.where, (b) => b.tandem_sock_send(this.handle, data));
  }

  /** Starts delivering messages as they arrive. */
  receive(onFrame: FrameHandler, onError: ErrorHandler, batch = 32): void {
    this.ensureOpen('receive');
    if (this.state === 'receiving') throw new Error(`${this.where}: already receiving`);
    const r = makeRing(batch, this.slotSize);
    sys(this.where, (b) =>
      b.tandem_sock_start(this.handle, r.ring, r.lens, r.stamps, (err: NativeError | null, count: number) => {
        if (err) onError(wrapNativeError(err, this.where));
        else this.deliver(r, count, onFrame, onError);
      }),
    );
    this.state = 'receiving';
  }

  /**
   * Reads every message queued now, without waiting: for a caller that
   * drains its sockets on its own tick instead of waking for every message,
   * or one that must see what is queued before it judges a deadline (a poll
   * callback not yet run after a stall). Kernel stamps keep arrival times
   * exact. Both run on the main loop, each with its own ring, so it may be
   * mixed with receive(). Bounded per call so a flood cannot hold the loop.
   * Returns the number of messages delivered.
   */
  drain(onFrame: FrameHandler, onError: ErrorHandler, maxBatches = 8): number {
    this.ensureOpen('drain');
    const batch = 16;
    const r = (this.drainRing ??= makeRing(batch, this.slotSize));
    let total = 0;
    for (let round = 0; round < maxBatches; round++) {
      let count: number;
      try {
        count = sys(this.where, (b) => b.tandem_sock_read(this.handle, r.ring, r.lens, r.stamps));
      } catch (e) {
        onError(e as Error);
        return total;
      }
      this.deliver(r, count, onFrame, onError);
      total += count;
      if (count < batch) break;
    }
    return total;
  }

  private deliver(r: Ring, count: number, onFrame: FrameHandler, onError: ErrorHandler): void {
    for (let i = 0; i < count; i++) {
      const len = r.lens[i]!;
      const frame = r.ring.subarray(i * r.slotSize, i * r.slotSize + Math.min(len, r.slotSize));
      try {
        onFrame(frame, r.stamps[i]!, len > r.slotSize);
      } catch (e) {
        onError(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /** Idempotent. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    sys(this.where, (b) => b.tandem_sock_close(this.handle));
  }
}
