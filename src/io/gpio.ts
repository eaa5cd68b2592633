/**
 * DOC: GPIO output lines through the character device (Linux GPIO v2 uAPI)
 *
 * What a bypass relay needs: request a chip's lines as outputs with their
 * initial values and a consumer name (shown by gpioinfo), set them, read
 * them back, release them. Releasing, whether by release() or because the
 * process died, hands the line back to the kernel, which then holds it at
 * whatever the hardware does (the board file says what the relay does then).
 * Errors name the device and say what to do (src/io/native.ts).
 */
import { sys, SystemError } from './native.js';
import { sysfsChip, sysfsChipInfo, SysfsLines } from './gpio-sysfs.js';

export interface ChipInfo {
  name: string;
  label: string;
  lines: number;
}

export interface LineInfo {
  name: string;
  consumer: string;
  used: boolean;
  output: boolean;
  activeLow: boolean;
}

/** Through the character device, or sysfs on a kernel without it. */
export function chipInfo(path: string): ChipInfo {
  try {
    return sys(`GPIO chip ${path}`, (b) => b.tandem_gpio_chip_info(path));
  } catch (e) {
    const old = e instanceof SystemError && (e.code === 'ENOENT' || e.code === 'ENOTTY');
    const viaSysfs = old ? sysfsChipInfo(path) : undefined;
    if (viaSysfs) return viaSysfs;
    throw e;
  }
}

export function lineInfo(path: string, offset: number): LineInfo {
  return sys(`GPIO chip ${path} line ${offset}`, (b) => b.tandem_gpio_line_info(path, offset));
}

/** What both interfaces (the v2 character device, sysfs) offer a requester. */
export interface OutputLines {
  readonly path: string;
  readonly offsets: readonly number[];
  set(values: readonly number[]): void;
  get(): number[];
  release(): void;
}

/** Lines requested as outputs; values are logical (active-low lines invert on the wire). */
export class GpioLines implements OutputLines {
  private fd: number | null;

  private constructor(
    readonly path: string,
    readonly offsets: readonly number[],
    fd: number,
  ) {
    this.fd = fd;
  }

  /**
   * Through the character device; on a kernel without it (no /dev/gpiochipN, or an ioctl it does not
   * know) but with the chip in /sys/class/gpio, through sysfs instead.
   */
  static request(path: string, offsets: readonly number[], values: readonly number[], consumer: string, activeLow = false, sysfsRoot?: string): OutputLines {
    if (offsets.length !== values.length) throw new Error(`GPIO chip ${path}: ${offsets.length} lines but ${values.length} values`);
    const where = `GPIO chip ${path} line${offsets.length > 1 ? 's' : ''} ${offsets.join(',')}`;
    try {
      const fd = sys(where, (b) =>
        b.tandem_gpio_request(
          path,
          Uint32Array.from(offsets),
          Uint8Array.from(values, (v) => (v ? 1 : 0)),
          consumer,
          activeLow,
        ),
      );
      return new GpioLines(path, offsets, fd);
    } catch (e) {
      const old = e instanceof SystemError && (e.code === 'ENOENT' || e.code === 'ENOTTY');
      if (old && sysfsChip(path, sysfsRoot)) return SysfsLines.request(path, offsets, values, activeLow, sysfsRoot);
      throw e;
    }
  }

  private where(): string {
    return `GPIO chip ${this.path} lines ${this.offsets.join(',')}`;
  }

  private handle(what: string): number {
    if (this.fd === null) throw new Error(`${this.where()}: ${what} after release`);
    return this.fd;
  }

  set(values: readonly number[]): void {
    const fd = this.handle('set');
    sys(this.where(), (b) =>
      b.tandem_gpio_set(
        fd,
        Uint8Array.from(values, (v) => (v ? 1 : 0)),
      ),
    );
  }

  get(): number[] {
    const fd = this.handle('get');
    const out = new Uint8Array(this.offsets.length);
    sys(this.where(), (b) => b.tandem_gpio_get(fd, out));
    return [...out];
  }

  /** Hands the lines back to the kernel (idempotent). */
  release(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    sys(this.where(), (b) => b.tandem_fd_close(fd));
  }
}
