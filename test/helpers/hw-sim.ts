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
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simLine, simSegmentMode, simWatchdog } from '../../src/lab/hw-sim-state.js';

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
  segmentMode(
    seg: { gpio: { chip: string; line: number }; disconnectGpio?: { chip: string; line: number } | null; whenReleased: string },
    watchdog?: number,
  ): string;
}

export function simDevices(
  t: ExecutionContext,
  devices: { chips?: Record<number, string>; watchdogs?: number[]; sysfsChips?: Record<number, { base: number; ngpio: number; label: string }> } = {},
): SimDevices {
  const dir = mkdtempSync(join(tmpdir(), 'tdm-hwsim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  if (devices.sysfsChips) {
    // An old kernel's /sys/class/gpio: the chips, and the export/unexport files.
    mkdirSync(join(dir, 'sysfs'));
    for (const f of ['export', 'unexport']) writeFileSync(join(dir, 'sysfs', f), '');
    for (const [n, c] of Object.entries(devices.sysfsChips)) {
      mkdirSync(join(dir, 'sysfs', `gpiochip${n}`));
      for (const [k, v] of Object.entries(c)) writeFileSync(join(dir, 'sysfs', `gpiochip${n}`, k), `${v}\n`);
    }
  }
  for (const [n, def] of Object.entries(devices.chips ?? {})) writeFileSync(join(dir, `gpiochip${n}`), def + '\n');
  for (const n of devices.watchdogs ?? []) writeFileSync(join(dir, `watchdog${n}`), '');
  const env = { ...process.env, LD_PRELOAD: SIM_LIB, TANDEM_HW_SIM_DIR: dir };
  const start = (ops: Record<string, unknown>[]) => spawn(process.execPath, [DRIVER, JSON.stringify(ops)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return {
    dir,
    drive(ops) {
      return new Promise((resolve, reject) => {
        const p = start(ops);
        let out = '';
        p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        p.once('error', reject);
        // 'close', not 'exit': the process can be gone before its stdout has been read to the end.
        p.once('close', () =>
          resolve(
            out
              .trim()
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as never),
          ),
        );
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
    line: (chip, offset) => simLine(dir, chip, offset),
    segmentMode: (seg, watchdog) => simSegmentMode(dir, seg, watchdog),
    watchdog: (n) => simWatchdog(dir, n),
  };
}
