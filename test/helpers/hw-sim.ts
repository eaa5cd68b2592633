/**
 * DOC: the GPIO and watchdog simulator for tests (test/sim/hw-sim.c, preloaded)
 *
 * A temporary device directory per test, the devices in it, processes run
 * with the simulator preloaded, and the state read back the way the kernel
 * would report it (a line held by a dead process is released; an armed
 * watchdog not fed within its timeout has fired).
 */
import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monotonicNs } from '../../src/io/native.js';

export const SIM_LIB = join(__dirname, '..', '..', 'sim', 'hw-sim.so');
const DRIVER = join(__dirname, '..', 'sim', 'driver.js');

export interface SimDevices {
  dir: string;
  /** Runs the driver with these operations; resolves with one result per operation. */
  drive(ops: Record<string, unknown>[]): Promise<{ ok: boolean; result?: Record<string, unknown>; code?: string | null; message?: string }[]>;
  /** Starts the driver and leaves it running (ops ending with {op: 'hang'}). */
  spawnDriver(ops: Record<string, unknown>[]): Promise<ChildProcess>;
  line(chip: number, offset: number): { held: boolean; pid: number | null; consumer: string | null; value: number } | null;
  watchdog(n: number): { state: 'disarmed' | 'armed' | 'fired' | 'absent'; pid?: number; timeout?: number };
  /** What a segment's relays do now: its lines' mode while held, the board's whenReleased once released. */
  segmentMode(seg: { gpio: { chip: string; line: number }; disconnectGpio?: { chip: string; line: number } | null; whenReleased: string }, watchdog?: number): string;
}

export function simDevices(t: ExecutionContext, devices: { chips?: Record<number, string>; watchdogs?: number[] } = {}): SimDevices {
  const dir = mkdtempSync(join(tmpdir(), 'tdm-hwsim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [n, def] of Object.entries(devices.chips ?? {})) writeFileSync(join(dir, `gpiochip${n}`), def + '\n');
  for (const n of devices.watchdogs ?? []) writeFileSync(join(dir, `watchdog${n}`), '');
  const env = { ...process.env, LD_PRELOAD: SIM_LIB, TANDEM_HW_SIM_DIR: dir };
  const start = (ops: Record<string, unknown>[]) => spawn(process.execPath, [DRIVER, JSON.stringify(ops)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8').trim();
    } catch {
      return null;
    }
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    dir,
    drive(ops) {
      return new Promise((resolve, reject) => {
        const p = start(ops);
        let out = '';
        p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        p.once('error', reject);
        p.once('exit', () => resolve(out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as never)));
      });
    },
    spawnDriver(ops) {
      return new Promise((resolve, reject) => {
        const p = start(ops);
        t.teardown(() => void (p.exitCode === null && p.kill('SIGKILL')));
        p.once('error', reject);
        p.stdout!.on('data', (d: Buffer) => {
          if (d.toString().includes('"hanging"')) resolve(p);
        });
        p.once('exit', () => reject(new Error('the driver exited before hanging')));
      });
    },
    line(chip, offset) {
      const s = read(`gpiochip${chip}.line${offset}`);
      if (s === null) return null;
      const held = /^requested (\d+) (\S+) (\d)/.exec(s);
      if (held) {
        const pid = Number(held[1]);
        // The kernel releases a line when the process holding the request dies.
        return alive(pid) ? { held: true, pid, consumer: held[2]!, value: Number(held[3]) } : { held: false, pid: null, consumer: null, value: Number(held[3]) };
      }
      return { held: false, pid: null, consumer: null, value: Number(/^released (\d)/.exec(s)?.[1] ?? 0) };
    },
    segmentMode(seg, watchdog) {
      // A bypass board whose watchdog fired puts its relays where a release would (Silicom: WDT -> bypass).
      if (watchdog !== undefined && this.watchdog(watchdog).state === 'fired') return seg.whenReleased;
      const chipNo = (path: string) => Number(/gpiochip(\d+)$/.exec(path)?.[1]);
      const main = this.line(chipNo(seg.gpio.chip), seg.gpio.line);
      const disc = seg.disconnectGpio ? this.line(chipNo(seg.disconnectGpio.chip), seg.disconnectGpio.line) : null;
      if (!main?.held) return seg.whenReleased;
      if (disc?.held && disc.value === 1) return 'disconnect';
      return main.value === 1 ? 'bypass' : 'inline';
    },
    watchdog(n) {
      const s = read(`watchdog${n}.state`);
      if (s === null) return { state: 'absent' };
      const m = /^armed (\d+) (\d+) (\d+)/.exec(s);
      if (!m) return { state: 'disarmed' };
      const last = BigInt(m[3]!);
      const timeout = Number(m[2]);
      const fired = monotonicNs() - last > BigInt(timeout) * 1_000_000_000n;
      return { state: fired ? 'fired' : 'armed', pid: Number(m[1]), timeout };
    },
  };
}
