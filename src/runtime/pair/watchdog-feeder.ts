/**
 * DOC: feeding the hardware watchdog from the daemon's main loop
 *
 * The board's watchdog is opened when the worker starts and fed three
 * times per timeout from a timer on the same loop that runs heartbeats and
 * failover decisions: if that loop hangs (a deadlock, SIGSTOP, a runaway
 * computation), nobody feeds it and the hardware acts (resets the box, and
 * on bypass boards closes the relays: fail-open). A clean stop uses the
 * magic close so the timer stops; a crash closes without it, and the timer
 * keeps running until the next worker opens and feeds it again.
 *
 * A board without a watchdog, or one that cannot be opened, is logged and
 * the node runs on: high availability does not depend on it, only the
 * protection against a hung daemon does.
 */
import type { Board } from '../../board/board-file.js';
import { Watchdog } from '../../io/watchdog.js';
import type { Logger } from '../logging/log.js';

export class WatchdogFeeder {
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;

  private constructor(
    private readonly dog: Watchdog,
    private readonly log: Logger,
  ) {}

  /** Opens and starts feeding the board's watchdog; undefined when there is none or it cannot be used. */
  static start(board: Board, log: Logger): WatchdogFeeder | undefined {
    if (!board.watchdog) return undefined;
    let dog: Watchdog;
    try {
      dog = Watchdog.open(board.watchdog.device, board.watchdog.timeoutSeconds);
    } catch (e) {
      log.log('warn', 'watchdog_unavailable', { device: board.watchdog.device, error: (e as Error).message });
      return undefined;
    }
    const f = new WatchdogFeeder(dog, log);
    const everyMs = Math.max(100, Math.floor((dog.timeout * 1000) / 3));
    f.timer = setInterval(() => f.feed(), everyMs);
    log.log('info', 'watchdog_armed', { device: dog.path, timeoutSeconds: dog.timeout, feedEveryMs: everyMs });
    return f;
  }

  private feed(): void {
    try {
      this.dog.keepalive();
      this.failures = 0;
    } catch (e) {
      if (this.failures++ === 0) this.log.log('error', 'watchdog_keepalive_failed', { device: this.dog.path, error: (e as Error).message });
    }
  }

  /** Clean stop: the magic close, so the hardware does not act. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      this.dog.stop();
      this.log.log('info', 'watchdog_stopped', { device: this.dog.path });
    } catch (e) {
      this.log.log('error', 'watchdog_keepalive_failed', { device: this.dog.path, error: (e as Error).message });
    }
  }
}
