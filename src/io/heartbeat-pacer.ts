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
 * Once receive() is called the same thread also reads the heartbeat sockets
 * (native/pacer_rx.c): frames wait in its ring, with their kernel stamps,
 * until the main loop drains them; the thread rings the main loop's doorbell
 * only when a frame is news (it differs from the last one on its socket
 * outside the masked bytes, or follows a silence, or the ring is half full).
 *
 * This module only carries bytes and counters across; src/io/heartbeat-sender.ts
 * decides what to load and when, the heartbeat node what to do with frames.
 * Runs on the Node main loop; the thread runs no JavaScript.
 */
import { sys, type PacerHandle } from './native.js';
import type { PacketLink } from './packet-link.js';
import { examineNewestFirst, type BatchFrame, type SupersededFrames } from './newest-first.js';

/** Bytes per slot: a heartbeat frame (134 bytes) fits with room for growth. */
export const PACER_SLOT_BYTES = 256;

export interface PacerIfaceCounters {
  sent: number;
  errors: number;
  /** errno of the last failed send, 0 if none. */
  lastErrno: number;
  /** Frames the thread read on this socket (receive()). */
  received: number;
  rxErrors: number;
  /** errno of the last receive error (ENETDOWN when the link went down), 0 if none. */
  rxErrno: number;
  /** Times a frame on this socket woke the main loop. */
  doorbells: number;
  /** Frames read on this socket that the thread's full ring let go before the main loop saw them. */
  ringDrops: number;
}

/** Slot bytes of a drained frame (native/pacer_rx.c keeps at most this much of one). */
export const PACER_RX_SLOT = 256;
const DRAIN_BATCH = 64;

/** A received frame, valid only during the call; `sock` indexes the pacer's sockets. */
export type PacedFrameHandler = (sock: number, frame: Buffer, stampNs: bigint, truncated: boolean) => void;

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
  /** Received frames lost because the ring was full (the main loop did not drain for seconds): the oldest go. */
  rxDropped: number;
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
  /** Optional: the thread reads the sockets too (see receive below). */
  receive?(onDoorbell: () => void, mask: readonly (readonly [number, number])[], gapNs: bigint): void;
  drain?(onFrame: PacedFrameHandler): number;
  drainNewest?(examine: (f: BatchFrame) => boolean, superseded: SupersededFrames): number;
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
    sys('heartbeat pacer', (b) =>
      b.tandem_pacer_open(
        this.handle,
        links.map((l) => l.nativeHandle()),
        startNs,
        tickNs,
        perTick,
        rtPriority,
      ),
    );
    this.out = new BigInt64Array(7 + 8 * links.length);
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
        if (f.frame.length > PACER_SLOT_BYTES)
          throw new Error(`heartbeat pacer: a frame of ${f.frame.length} bytes does not fit a slot of ${PACER_SLOT_BYTES}`);
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
    for (let k = 7; k + 7 < n; k += 8) {
      ifaces.push({
        sent: Number(o[k]),
        errors: Number(o[k + 1]),
        lastErrno: Number(o[k + 2]),
        received: Number(o[k + 3]),
        rxErrors: Number(o[k + 4]),
        rxErrno: Number(o[k + 5]),
        doorbells: Number(o[k + 6]),
        ringDrops: Number(o[k + 7]),
      });
    }
    return {
      nextTick: o[0]!,
      windowEnd: o[1]!,
      ticksSent: Number(o[2]),
      ticksMissed: Number(o[3]),
      leaseExpiries: Number(o[4]),
      maxLateNs: Number(o[5]),
      rxDropped: Number(o[6]),
      ifaces,
    };
  }

  /**
   * From now on the thread reads the heartbeat sockets (nothing else may):
   * `onDoorbell` runs on the main loop when a frame is news. `mask` names the
   * byte ranges [offset, length] that change from one heartbeat to the next
   * (sorted); a frame after more than `gapNs` of silence on its socket is news.
   */
  receive(onDoorbell: () => void, mask: readonly (readonly [number, number])[], gapNs: bigint): void {
    if (this.isClosed) throw new Error('heartbeat pacer: receive after close');
    sys('heartbeat pacer', (b) => b.tandem_pacer_receive(this.handle, onDoorbell, Uint16Array.from(mask.flat()), gapNs));
  }

  private rx: { ring: Buffer; lens: Uint32Array; stamps: BigInt64Array; socks: Uint8Array } | undefined;

  /** Hands every frame the thread holds to `onFrame`, oldest first; returns how many. */
  drain(onFrame: PacedFrameHandler): number {
    return this.readRing((r, n) => {
      for (let i = 0; i < n; i++) {
        const len = r.lens[i]!;
        onFrame(r.socks[i]!, r.ring.subarray(i * PACER_RX_SLOT, i * PACER_RX_SLOT + Math.min(len, PACER_RX_SLOT)), r.stamps[i]!, len > PACER_RX_SLOT);
      }
    });
  }

  /**
   * Like drain, but each sender's frames are examined newest first until `examine` accepts one; the older ones are
   * handed to `superseded` unexamined (src/io/newest-first.ts). Returns how many frames were read.
   */
  drainNewest(examine: (f: BatchFrame) => boolean, superseded: SupersededFrames): number {
    return this.readRing((r, n) => {
      const batch: BatchFrame[] = [];
      for (let i = 0; i < n; i++) {
        const len = r.lens[i]!;
        batch.push({
          sock: r.socks[i]!,
          frame: r.ring.subarray(i * PACER_RX_SLOT, i * PACER_RX_SLOT + Math.min(len, PACER_RX_SLOT)),
          stampNs: r.stamps[i]!,
          truncated: len > PACER_RX_SLOT,
        });
      }
      examineNewestFirst(batch, examine, superseded);
    });
  }

  /** Reads the ring a batch at a time; each batch's bytes are valid until the next read. */
  private readRing(onBatch: (r: NonNullable<HeartbeatPacer['rx']>, n: number) => void): number {
    if (this.isClosed) return 0;
    const r = (this.rx ??= {
      ring: Buffer.alloc(DRAIN_BATCH * PACER_RX_SLOT),
      lens: new Uint32Array(DRAIN_BATCH),
      stamps: new BigInt64Array(DRAIN_BATCH),
      socks: new Uint8Array(DRAIN_BATCH),
    });
    let total = 0;
    // The thread holds at most 512 frames: bounded even while it keeps adding.
    for (let round = 0; round < 512 / DRAIN_BATCH + 1; round++) {
      const n = sys('heartbeat pacer', (b) => b.tandem_pacer_drain(this.handle, r.ring, r.lens, r.stamps, r.socks));
      onBatch(r, n);
      total += n;
      if (n < DRAIN_BATCH) break;
    }
    return total;
  }

  /** Stops and joins the thread: no frame leaves after this returns. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    sys('heartbeat pacer', (b) => b.tandem_pacer_close(this.handle));
  }
}
