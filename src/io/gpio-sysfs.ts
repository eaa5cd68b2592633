/**
 * DOC: GPIO output lines through /sys/class/gpio, for kernels without the v2 character device
 *
 * The same operations as gpio.ts over the old interface: export the line
 * (the chip's base + offset), set active_low, direction "high"/"low" (output
 * with its initial value in one write), value, unexport. One difference
 * matters for fail-open: a sysfs line has no owner, so it stays exported and
 * driven when the process dies; only the watchdog then releases the relays
 * after a crash. gpio.ts falls back to this when /dev/gpiochipN is missing
 * but the chip is in sysfs.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SYSFS_GPIO = '/sys/class/gpio';

/** The sysfs directory of /dev/gpiochipN, if the chip is there. */
export function sysfsChip(devPath: string, root = SYSFS_GPIO): string | undefined {
  const n = /gpiochip(\d+)$/.exec(devPath)?.[1];
  if (n === undefined) return undefined;
  const d = join(root, `gpiochip${n}`);
  return existsSync(d) ? d : undefined;
}

/** Chip facts from sysfs (label, line count), as the character device would give them. */
export function sysfsChipInfo(devPath: string, root = SYSFS_GPIO): { name: string; label: string; lines: number } | undefined {
  const chip = sysfsChip(devPath, root);
  if (!chip) return undefined;
  const read = (f: string) => readFileSync(join(chip, f), 'utf8').trim();
  return { name: chip.split('/').pop()!, label: read('label'), lines: Number(read('ngpio')) };
}

function fail(where: string, e: unknown, what: string): never {
  const err = e as NodeJS.ErrnoException;
  const hint =
    err.code === 'EBUSY'
      ? ': the line is exported already (another consumer, or a crashed one: sysfs lines outlive their process)'
      : err.code === 'EINVAL'
        ? ': the kernel refused the line number'
        : '';
  const out = new Error(`${where}: ${what} failed with ${err.code ?? err.message}${hint}`) as Error & { code?: string };
  if (err.code) out.code = err.code;
  throw out;
}

export class SysfsLines {
  readonly path: string;
  readonly offsets: readonly number[];
  private released = false;

  private constructor(
    private readonly root: string,
    private readonly where: string,
    private readonly numbers: readonly number[],
    path: string,
    offsets: readonly number[],
  ) {
    this.path = path;
    this.offsets = offsets;
  }

  static request(devPath: string, offsets: readonly number[], values: readonly number[], activeLow: boolean, root = SYSFS_GPIO): SysfsLines {
    const chip = sysfsChip(devPath, root);
    const where = `GPIO chip ${devPath} (sysfs) lines ${offsets.join(',')}`;
    if (!chip) throw Object.assign(new Error(`${where}: no such chip in ${root}`), { code: 'ENOENT' });
    const base = Number(readFileSync(join(chip, 'base'), 'utf8').trim());
    const lines = new SysfsLines(
      root,
      where,
      offsets.map((o) => base + o),
      devPath,
      offsets,
    );
    const done: number[] = [];
    try {
      lines.numbers.forEach((n, i) => {
        try {
          writeFileSync(join(root, 'export'), String(n));
        } catch (e) {
          fail(where, e, `export of gpio${n}`);
        }
        done.push(n);
        writeFileSync(join(root, `gpio${n}`, 'active_low'), activeLow ? '1' : '0');
        writeFileSync(join(root, `gpio${n}`, 'direction'), values[i] ? 'high' : 'low');
      });
    } catch (e) {
      for (const n of done) writeFileSync(join(root, 'unexport'), String(n));
      throw e;
    }
    return lines;
  }

  set(values: readonly number[]): void {
    if (this.released) throw new Error(`${this.where}: set after release`);
    this.numbers.forEach((n, i) => writeFileSync(join(this.root, `gpio${n}`, 'value'), values[i] ? '1' : '0'));
  }

  get(): number[] {
    if (this.released) throw new Error(`${this.where}: get after release`);
    return this.numbers.map((n) => (readFileSync(join(this.root, `gpio${n}`, 'value'), 'utf8').trim() === '1' ? 1 : 0));
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const n of this.numbers) writeFileSync(join(this.root, 'unexport'), String(n));
  }
}
