/**
 * DOC: reading the GPIO/watchdog simulator's state as the kernel would report it
 *
 * The simulator (test/sim/hw-sim.c, preloaded into a node's daemon) keeps
 * each line and watchdog in a file of its directory. Read here with the
 * kernel's rules: a line held by a dead process is released; an armed
 * watchdog not fed within its timeout has fired; and a bypass segment's
 * relays are where its lines put them while held, and where the board's
 * `whenReleased` puts them once released or once the watchdog fired (as
 * bypass boards do on a watchdog expiry). Used by the lab to put relay
 * states on its wire, and by tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modeOfLines } from '../core/bypass-modes.js';
import { monotonicNs } from '../io/native.js';

export interface SimLine {
  held: boolean;
  pid: number | null;
  consumer: string | null;
  value: number;
}

export type SimWatchdog = { state: 'disarmed' | 'armed' | 'fired' | 'absent'; pid?: number; timeout?: number };

export interface SegmentLines {
  gpio: { chip: string; line: number };
  disconnectGpio?: { chip: string; line: number } | null;
  whenReleased: string;
}

function read(dir: string, name: string): string | null {
  try {
    return readFileSync(join(dir, name), 'utf8').trim();
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function simLine(dir: string, chip: number, offset: number): SimLine | null {
  const s = read(dir, `gpiochip${chip}.line${offset}`);
  if (s === null) return null;
  const held = /^requested (\d+) (\S+) (\d)/.exec(s);
  const exported = /^exported (\d)/.exec(s);
  // Through sysfs a line has no owner: exported is held, whoever exported it and whether it still lives.
  if (exported) return { held: true, pid: null, consumer: 'sysfs', value: Number(exported[1]) };
  if (held) {
    const pid = Number(held[1]);
    return alive(pid) ? { held: true, pid, consumer: held[2]!, value: Number(held[3]) } : { held: false, pid: null, consumer: null, value: Number(held[3]) };
  }
  return { held: false, pid: null, consumer: null, value: Number(/^released (\d)/.exec(s)?.[1] ?? 0) };
}

export function simWatchdog(dir: string, n: number): SimWatchdog {
  const s = read(dir, `watchdog${n}.state`);
  if (s === null) return { state: 'absent' };
  const m = /^armed (\d+) (\d+) (\d+)/.exec(s);
  if (!m) return { state: 'disarmed' };
  const timeout = Number(m[2]);
  const fired = monotonicNs() - BigInt(m[3]!) > BigInt(timeout) * 1_000_000_000n;
  return { state: fired ? 'fired' : 'armed', pid: Number(m[1]), timeout };
}

const chipNo = (path: string) => Number(/gpiochip(\d+)$/.exec(path)?.[1]);

/** What a segment's relays do now. `watchdog`: the board's watchdog number, when its expiry releases the relays. */
export function simSegmentMode(dir: string, seg: SegmentLines, watchdog?: number): string {
  if (watchdog !== undefined && simWatchdog(dir, watchdog).state === 'fired') return seg.whenReleased;
  const main = simLine(dir, chipNo(seg.gpio.chip), seg.gpio.line);
  const disc = seg.disconnectGpio ? simLine(dir, chipNo(seg.disconnectGpio.chip), seg.disconnectGpio.line) : null;
  if (!main?.held) return seg.whenReleased;
  return modeOfLines(disc?.held ? [main.value, disc.value] : [main.value]);
}
