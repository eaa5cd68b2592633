/**
 * DOC: wrong administrator passwords, slowed per source address
 *
 * The status page, /status.json and /metrics ask for the administrator's
 * password. A source address may get FREE_FAILURES wrong in a row; after
 * that each further wrong one locks the address out for twice as long as
 * the last (BASE_MS up to MAX_MS): its requests are answered 429 with
 * Retry-After and its passwords are not even checked. Other addresses are
 * not affected, so the administrator logs in at once while a guesser waits.
 * A right password clears the address; an address quiet for FORGET_MS is
 * forgotten. Pure, clock-injected; the HTTP server logs each lock-out.
 */

export const FREE_FAILURES = 5;
export const BASE_MS = 1000;
export const MAX_MS = 60_000;
export const FORGET_MS = 15 * 60_000;
/** Sources tracked at most (a spoofing flood must not grow memory): the quietest go first. */
const MAX_SOURCES = 10_000;

interface Source {
  failures: number;
  lockedUntil: number;
  lastAt: number;
}

export interface Lockout {
  failures: number;
  lockedForMs: number;
}

export class LoginThrottle {
  private readonly sources = new Map<string, Source>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** How long `source` must wait before a password of its is checked (0: now). */
  waitMs(source: string): number {
    const s = this.sources.get(source);
    return s ? Math.max(0, s.lockedUntil - this.now()) : 0;
  }

  /** A wrong password from `source`: the lock-out it earned, if any. */
  failed(source: string): Lockout | null {
    const now = this.now();
    let s = this.sources.get(source);
    if (!s || now - s.lastAt > FORGET_MS) s = { failures: 0, lockedUntil: 0, lastAt: now };
    this.sources.delete(source); // re-inserted last: the map's order is the quietest first
    s.failures++;
    s.lastAt = now;
    this.sources.set(source, s);
    if (this.sources.size > MAX_SOURCES) this.sources.delete(this.sources.keys().next().value!);
    if (s.failures <= FREE_FAILURES) return null;
    const lockedForMs = Math.min(MAX_MS, BASE_MS * 2 ** (s.failures - FREE_FAILURES - 1));
    s.lockedUntil = now + lockedForMs;
    return { failures: s.failures, lockedForMs };
  }

  succeeded(source: string): void {
    this.sources.delete(source);
  }
}
