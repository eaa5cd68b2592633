/**
 * DOC: the heartbeat lease's timing: how far ahead frames are signed, and how often the main loop refills them
 *
 * Constants of src/io/heartbeat-sender.ts, with the reasons they have their values.
 */

export const DEFAULT_LEASE_MS = 1000;

/**
 * What a rebuild signs at once (about 3 ms of CPU): the whole lease at the default timers, 420 ms of it at the
 * fastest (5 ms heartbeats); the rest follows CHUNK_TICKS a turn, starting CHUNK_DELAY_MS later. What is signed at
 * once is all the lease there is until the chunks run: a rebuild comes every 100 ms when counts change, so a
 * smaller head (100 ms was tried) let a main-loop stall right after one silence the heartbeats within 100 ms.
 */
export const HEAD_FRAMES = 512;
export const CHUNK_TICKS = 64;
export const CHUNK_DELAY_MS = 25;
/** The lease is topped up once this much of it has gone (or every service tick at longer intervals). */
export const TOP_UP_MS = 50;
/** The soonest a lazy change is rebuilt after the previous rebuild. */
export const LAZY_REBUILD_MS = 100;
/**
 * The service tick's period when heartbeats are faster: every wakeup of the main loop costs more CPU than the
 * work it does, and nothing on the tick needs to run more often (the thread paces the frames; a core deadline
 * within reach gets a precise timeout of its own, src/runtime/pair/core-timers.ts). A quarter of a short lease
 * at most, so that a refill always comes with three quarters of it left.
 */
export const SERVICE_TICK_MS = 100;

/** Between two service ticks: the heartbeat interval, or SERVICE_TICK_MS if that is longer (at most a lease's quarter). */
export function serviceTickMs(intervalMs: number, leaseMs: number): number {
  return Math.max(intervalMs, Math.min(SERVICE_TICK_MS, Math.floor(leaseMs / 4)));
}
