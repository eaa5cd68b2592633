/**
 * DOC: the heartbeat pacer: frames leave on time from a native thread
 *
 * Owns one pacer of the addon (native/pacer.c): a thread that sleeps to
 * absolute CLOCK_MONOTONIC deadlines and sends the frames loaded for each
 * tick, through duplicates of the heartbeat sockets. Tick k is due at
 * startNs + k * tickNs. What is loaded is a lease: the thread sends only
 * the ticks it holds frames for, so a runtime that stops loading (a hung
 * event loop) falls silent when its last loaded tick has gone.
 *
 * This module only carries bytes and counters across; src/io/heartbeat-sender.ts
 * decides what to load and when. Runs on the Node main loop; the thread
 * runs no JavaScript.
 */
import { sys, type PacerHandle } from './native.js';
import type { PacketLink } from './packet-link.js';

/** Bytes per slot: a heartbeat frame (130 bytes) fits with room for growth. */
export const PACER_SLOT_BYTES = 256;

export interface PacerIfaceCounters {
  sent: number;
  errors: number;
  /** errno of the last failed send, 0 if none. */
  lastErrno: number;
}

export interface PacerStats {
  /** The tick the thread sends next. */
  nextTick: bigint;
  /** One past the last tick loaded: the lease ends at that tick's deadline. */
  windowEnd: bigint;
  ticksSent: number;
  /** Ticks skipped because the thread woke a whole tick or more late. */
  ticksMissed: number;
  /** Times the loaded frames ran out (the runtime did not load in time). */
  leaseExpiries: number;
  /** The latest the thread has woken after a deadline, in ns. */
  maxLateNs: number;
  ifaces: PacerIfaceCounters[];
}

/** One frame to send: on which of the pacer's sockets, and its bytes (empty: nothing). */
export interface PacedFrame {
  sock: number;
  frame: Uint8Array | undefined;
}

/** The port the sender drives; HeartbeatPacer is the real one. */
export interface Pacer {
  readonly startNs: bigint;
  readonly tickNs: bigint;
  load(fromTick: bigint, rows: readonly (readonly PacedFrame[])[], now?: readonly PacedFrame[]): bigint;
  stats(): PacerStats;
  close(): void;
  readonly closed: boolean;
}

export class HeartbeatPacer implements Pacer {
  private readonly handle: PacerHandle = {};
  private readonly out: BigInt64Array;
  private isClosed = false;

  /**
   * `links` in the order the frames name them (PacedFrame.sock); `perTick`
   * is the most frames any tick sends; `rtPriority` 0 leaves the thread on
   * the default scheduler, 1..99 asks for SCHED_FIFO (an error if refused).
   */
  constructor(
    links: readonly PacketLink[],
    readonly startNs: bigint,
    readonly tickNs: bigint,
    private readonly perTick: number,
    rtPriority = 0,
  ) {
    sys('heartbeat pacer', (b) => b.tandem_pacer_open(this.handle, links.map((l) => l.nativeHandle()), startNs, tickNs, perTick, rtPriority));
    this.out = new BigInt64Array(6 + 3 * links.length);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Replaces the frames from `fromTick` on with `rows` (one per tick, each at
   * most perTick frames) after sending `now` at once. Returns the tick the
   * thread sends next.
   */
  load(fromTick: bigint, rows: readonly (readonly PacedFrame[])[], now: readonly PacedFrame[] = []): bigint {
    if (this.isClosed) throw new Error('heartbeat pacer: load after close');
    const slots = now.length + rows.length * this.perTick;
    const frames = Buffer.alloc(Math.max(1, slots) * PACER_SLOT_BYTES);
    const lens = new Uint16Array(Math.max(1, slots));
    const ifidx = new Uint8Array(Math.max(1, slots));
    let i = 0;
    const put = (f: PacedFrame | undefined) => {
      if (f?.frame) {
        if (f.frame.length > PACER_SLOT_BYTES) throw new Error(`heartbeat pacer: a frame of ${f.frame.length} bytes does not fit a slot of ${PACER_SLOT_BYTES}`);
        frames.set(f.frame, i * PACER_SLOT_BYTES);
        lens[i] = f.frame.length;
        ifidx[i] = f.sock;
      }
      i++;
    };
    for (const f of now) put(f);
    for (const row of rows) {
      if (row.length > this.perTick) throw new Error(`heartbeat pacer: a tick of ${row.length} frames (at most ${this.perTick})`);
      for (let k = 0; k < this.perTick; k++) put(row[k]);
    }
    if (slots === 0) return this.stats().nextTick;
    return sys('heartbeat pacer', (b) => b.tandem_pacer_load(this.handle, fromTick, frames, lens, ifidx, now.length));
  }

  stats(): PacerStats {
    const n = sys('heartbeat pacer', (b) => b.tandem_pacer_stats(this.handle, this.out));
    const o = this.out;
    const ifaces: PacerIfaceCounters[] = [];
    for (let k = 6; k + 2 < n; k += 3) ifaces.push({ sent: Number(o[k]), errors: Number(o[k + 1]), lastErrno: Number(o[k + 2]) });
    return {
      nextTick: o[0]!, windowEnd: o[1]!, ticksSent: Number(o[2]), ticksMissed: Number(o[3]), leaseExpiries: Number(o[4]), maxLateNs: Number(o[5]), ifaces,
    };
  }

  /** Stops and joins the thread: no frame leaves after this returns. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    sys('heartbeat pacer', (b) => b.tandem_pacer_close(this.handle));
  }
}
