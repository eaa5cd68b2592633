/**
 * DOC: the boot id carried in every heartbeat
 *
 * Strictly greater at every start so that a peer's replay window
 * (src/wire/replay-window.ts) rejects frames of an earlier run: the wall
 * clock in microseconds, or the last boot id + 1 when the clock is behind
 * (a box without RTC after a power cut). Persisted atomically when a state
 * directory is given.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function nextBootId(stateDir?: string, nowMs: number = Date.now()): bigint {
  const fromClock = BigInt(Math.floor(nowMs)) * 1000n;
  if (!stateDir) return fromClock;
  const file = join(stateDir, 'boot-id');
  let last = 0n;
  try {
    last = BigInt(readFileSync(file, 'utf8').trim());
  } catch {
    // first start, or unreadable: the clock decides
  }
  const id = fromClock > last ? fromClock : last + 1n;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, `${id}\n`);
  renameSync(`${file}.tmp`, file);
  return id;
}
