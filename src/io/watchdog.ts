/**
 * DOC: the hardware watchdog (/dev/watchdogN)
 *
 * Opening the device starts its timer; the daemon feeds it (keepalive) only
 * while its core loop is healthy, so a hung daemon lets it fire. stop() is
 * the magic close ('V'), for a clean shutdown; abandon() closes without it,
 * and the timer keeps running, as after a crash.
 */
import { sys } from './native.js';

export class Watchdog {
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    /** Seconds, as the driver accepted it. */
    readonly timeout: number,
  ) {
    this.fd = fd;
  }

  static open(path: string, timeoutSeconds: number): Watchdog {
    const r = sys(`watchdog ${path}`, (b) => b.tandem_watchdog_open(path, timeoutSeconds));
    return new Watchdog(path, r.fd, r.timeout);
  }

  keepalive(): void {
    if (this.fd === null) throw new Error(`watchdog ${this.path}: keepalive after close`);
    const fd = this.fd;
    sys(`watchdog ${this.path}`, (b) => b.tandem_watchdog_keepalive(fd));
  }

  /** Clean shutdown: the magic close stops the timer. */
  stop(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    sys(`watchdog ${this.path}`, (b) => b.tandem_watchdog_stop(fd));
  }

  /** Close without the magic: the timer keeps running and fires unless someone opens and feeds it. */
  abandon(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    sys(`watchdog ${this.path}`, (b) => b.tandem_fd_close(fd));
  }
}
