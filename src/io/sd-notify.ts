/**
 * DOC: telling systemd how tandemd is (Type=notify, WatchdogSec)
 *
 * READY=1 once the node runs (heartbeats out, control socket up), STATUS=
 * with its role, WATCHDOG=1 from the main loop at half the interval systemd
 * asked for (WATCHDOG_USEC), so a worker whose loop hangs is killed and
 * restarted by systemd as well as caught by the hardware watchdog. Outside
 * systemd (no NOTIFY_SOCKET: the lab, a shell) every call does nothing.
 * The unit sets NotifyAccess=all: the worker, not the supervisor, knows
 * whether the node runs.
 */
import { sdNotifyDatagram } from './native.js';

export class SdNotify {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  get enabled(): boolean {
    return (this.env['NOTIFY_SOCKET'] ?? '') !== '';
  }

  send(text: string): void {
    const path = this.env['NOTIFY_SOCKET'];
    if (path) sdNotifyDatagram(path, text);
  }

  /** READY=1 and, when systemd watches us, WATCHDOG=1 every half interval from this loop. */
  ready(status: string): void {
    if (!this.enabled) return;
    this.send(`READY=1\nSTATUS=${status}`);
    const usec = Number(this.env['WATCHDOG_USEC'] ?? 0);
    if (usec > 0 && !this.timer) {
      this.timer = setInterval(() => this.send('WATCHDOG=1'), Math.max(100, usec / 2000));
      this.timer.unref();
    }
  }

  status(text: string): void {
    if (this.enabled) this.send(`STATUS=${text}`);
  }

  stopping(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.enabled) this.send('STOPPING=1');
  }
}
