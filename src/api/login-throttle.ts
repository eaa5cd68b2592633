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
 * forgotten. One table per node (every listener, the login form and HTTP Basic share it), handed to
 * `persist` when it changes so that a worker restart does not clear a lock-out (the caller's file). Pure,
 * wall-clock-injected; the HTTP server logs each lock-out.
 */

export const FREE_FAILURES = 5;
export const BASE_MS = 1000;
export const MAX_MS = 60_000;
export const FORGET_MS = 15 * 60_000;
/** Sources tracked at most (a spoofing flood must not grow memory): the quietest go first. */
const MAX_SOURCES = 10_000;

export interface Source {
  failures: number;
  lockedUntil: number;
  lastAt: number;
}

/** The table as saved: source address -> its counts (wall-clock ms). */
export type ThrottleTable = Record<string, Source>;

export interface Lockout {
  failures: number;
  lockedForMs: number;
}

export class LoginThrottle {
  private readonly sources = new Map<string, Source>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly persist: (table: ThrottleTable) => void = () => undefined,
    saved: ThrottleTable = {},
  ) {
    const t = this.now();
    for (const [source, s] of Object.entries(saved))
      if (Number.isFinite(s.failures) && Number.isFinite(s.lockedUntil) && Number.isFinite(s.lastAt) && t - s.lastAt <= FORGET_MS)
        this.sources.set(source, { ...s });
  }

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
    if (s.failures <= FREE_FAILURES) {
      this.save();
      return null;
    }
    const lockedForMs = Math.min(MAX_MS, BASE_MS * 2 ** (s.failures - FREE_FAILURES - 1));
    s.lockedUntil = now + lockedForMs;
    this.save();
    return { failures: s.failures, lockedForMs };
  }

  succeeded(source: string): void {
    if (this.sources.delete(source)) this.save();
  }

  private save(): void {
    this.persist(Object.fromEntries([...this.sources].map(([k, v]) => [k, { ...v }])));
  }
}
