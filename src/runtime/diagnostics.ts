/**
 * DOC: diagnostics an administrator (or a test) runs on purpose
 *
 * `diag-stall`: blocks the main thread for N ms, as a long garbage
 * collection or a starved CPU would, so the heartbeat lease can be seen at
 * work: a stall shorter than timers.heartbeatLeaseMs leaves the heartbeats
 * running from their thread and changes no role; a longer one stops them and
 * the peer takes over. Root only (the control socket is 0600); logged before
 * and after. The block is Atomics.wait, which sleeps without burning a CPU.
 */
import type { Logger } from './logging/log.js';

export const MAX_STALL_MS = 60_000;

export function stallMainThread(log: Logger, ms: unknown): { stalledMs: number } {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > MAX_STALL_MS) {
    throw new Error(`diag-stall needs ms, an integer 1..${MAX_STALL_MS} (got ${JSON.stringify(ms)})`);
  }
  log.log('warn', 'diag_stall', { ms });
  const t0 = performance.now();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const stalledMs = Math.round(performance.now() - t0);
  log.log('info', 'diag_stall_ended', { stalledMs });
  return { stalledMs };
}
