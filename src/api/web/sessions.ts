/**
 * DOC: the web console's login sessions (OWASP session management, for a single-admin appliance)
 *
 * A login makes a new session: 256 random bits, sent once as the cookie and kept here only as its SHA-256 (a copy
 * of the state directory opens nothing). No session exists before the login, so none can be fixed by an attacker.
 * A session ends at logout, after IDLE_MS without a request, after ABSOLUTE_MS whatever its use, when the admin
 * password changes, and when more than MAX_SESSIONS are open (the oldest first). The CSRF token of a session is
 * derived from its secret (HMAC): only the holder of the cookie can know it, and nothing more needs keeping.
 *
 * Sessions outlive the worker (a cluster change restarts it): the list is handed to `persist` on every login and
 * logout, and on a request at most once a minute (the idle clock is as fine as that). Clock-injected; the file is
 * the caller’s (src/runtime/cluster-service/management-state.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const IDLE_MS = 15 * 60_000;
export const ABSOLUTE_MS = 8 * 3600_000;
export const MAX_SESSIONS = 16;
const TOUCH_PERSIST_MS = 60_000;

export interface SessionRecord {
  /** SHA-256 of the secret, hex. */
  sha256: string;
  createdAt: number;
  lastSeenAt: number;
  /** The address that logged in. */
  source: string;
}

export interface Session {
  record: SessionRecord;
  /** A short name for the log (not the secret, nor enough to find it). */
  handle: string;
  csrf: string;
}

export type SessionEnd = 'idle' | 'absolute';

const digest = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');
const handleOf = (sha256: string) => sha256.slice(0, 8);
const csrfOf = (secret: string) => createHmac('sha256', secret).update('tandem web console csrf').digest('base64url');

export class WebSessions {
  private readonly byHash = new Map<string, SessionRecord>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly persist: (records: SessionRecord[]) => void = () => undefined,
    saved: readonly SessionRecord[] = [],
  ) {
    for (const r of saved) if (this.expiry(r) === null) this.byHash.set(r.sha256, r);
  }

  /** A new session for `source`: the secret (for the cookie, nowhere else) and the session. */
  create(source: string): { secret: string; session: Session } {
    const secret = randomBytes(32).toString('base64url');
    const t = this.now();
    const record = { sha256: digest(secret), createdAt: t, lastSeenAt: t, source };
    this.byHash.set(record.sha256, record);
    while (this.byHash.size > MAX_SESSIONS) this.byHash.delete(this.byHash.keys().next().value!);
    this.save();
    return { secret, session: { record, handle: handleOf(record.sha256), csrf: csrfOf(secret) } };
  }

  /**
   * The session a cookie's secret opens, its idle clock restarted; or why not: unknown (never, or ended), or
   * expired (idle, absolute: it is removed now).
   */
  use(secret: string): { session: Session } | { ended: SessionEnd | 'unknown' } {
    const record = this.byHash.get(digest(secret));
    if (!record) return { ended: 'unknown' };
    const ended = this.expiry(record);
    if (ended) {
      this.byHash.delete(record.sha256);
      this.save();
      return { ended };
    }
    const t = this.now();
    const persistNow = t - record.lastSeenAt > TOUCH_PERSIST_MS;
    record.lastSeenAt = t;
    if (persistNow) this.save();
    return { session: { record, handle: handleOf(record.sha256), csrf: csrfOf(secret) } };
  }

  /** Whether `token` is the CSRF token of `session` (constant time). */
  csrfMatches(session: Session, token: string): boolean {
    const a = Buffer.from(session.csrf);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  end(session: Session): void {
    if (this.byHash.delete(session.record.sha256)) this.save();
  }

  /** Every session ends (the admin password changed). Returns how many were open. */
  endAll(): number {
    const n = this.byHash.size;
    this.byHash.clear();
    if (n > 0) this.save();
    return n;
  }

  get count(): number {
    return this.byHash.size;
  }

  private expiry(r: SessionRecord): SessionEnd | null {
    const t = this.now();
    if (t - r.createdAt >= ABSOLUTE_MS) return 'absolute';
    if (t - r.lastSeenAt >= IDLE_MS) return 'idle';
    return null;
  }

  private save(): void {
    this.persist([...this.byHash.values()].map((r) => ({ ...r })));
  }
}
