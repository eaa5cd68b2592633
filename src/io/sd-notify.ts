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

  /**
   * READY=1 and, when systemd watches us, WATCHDOG=1 every half interval from this loop. `leaseMs`: the heartbeat
   * lease, the main-loop stall the peer never notices (docs/failover.md). systemd must not kill a runtime for a stall
   * its peer tolerates, so the interval is at least four leases (a ping every two: a stall of two leases passes):
   * the unit's 10 s with the default lease of 1 s; 20 s with the VM lab's 5 s, whose TCG guests stall that long.
   */
  ready(status: string, leaseMs = 0): void {
    if (!this.enabled) return;
    const asked = this.watchdogUsec();
    const usec = asked > 0 ? Math.max(asked, 4 * leaseMs * 1000) : 0;
    // The interval systemd asked for, back from the longer one a worker's start is given (workerStarting), and a
    // first ping at once.
    this.send(`READY=1\nSTATUS=${status}${usec > 0 ? `\nWATCHDOG_USEC=${usec}\nWATCHDOG=1` : ''}`);
    if (usec > 0 && !this.timer) {
      this.timer = setInterval(() => this.send('WATCHDOG=1'), Math.max(100, usec / 2000));
      this.timer.unref();
    }
  }

  /**
   * The supervisor starts a worker again (a new membership, or after a crash): no one pings while it starts, and a
   * worker's start takes longer than systemd's watchdog interval on a slow box (a cluster member's took 32 s on the
   * VM lab's TCG guests, 10 s is the interval). systemd's own remedy: a longer interval until the worker is ready
   * (WATCHDOG_USEC=, systemd 236), which the worker's ready() sets back. A worker that hangs while it starts is
   * still caught, later.
   */
  workerStarting(startMs: number): void {
    if (this.enabled && this.watchdogUsec() > 0) this.send(`STATUS=starting the worker\nWATCHDOG_USEC=${startMs * 1000}\nWATCHDOG=1`);
  }

  status(text: string): void {
    if (this.enabled) this.send(`STATUS=${text}`);
  }

  stopping(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.enabled) this.send('STOPPING=1');
  }

  /**
   * This process ends: the service with it (STOPPING=1), or only this worker, which the supervisor starts again at
   * once (a new membership). The service goes on then, and systemd must not be told otherwise: after STOPPING=1 it
   * waits for the whole service to end and kills it when it does not (seen on the booted appliance, issue 31).
   */
  ending(why: string, restart: boolean): void {
    if (!restart) return this.stopping();
    if (this.timer) clearInterval(this.timer);
    this.status(`restarting: ${why}`);
  }

  private watchdogUsec(): number {
    return Number(this.env['WATCHDOG_USEC'] ?? 0);
  }
}
