/**
 * DOC: the web console's requests: login, sessions, the CSRF token and the Origin on every change, then the pages
 *
 * OWASP's session management and CSRF cheat sheets for a single-admin appliance: a login form (the admin password,
 * throttled per address with the same counter as HTTP Basic), a new session per login in a cookie that is Secure
 * (over HTTPS), HttpOnly and SameSite=Strict, ended by logout, idleness or age (sessions.ts); every POST must come
 * from this server's own origin (the Origin header, or the Referer when a browser sends none) and carry the
 * session's CSRF token, or it is refused with 403 and logged. Every page is sent with a Content-Security-Policy
 * allowing only this server's own script and style, framing denied, and no caching.
 *
 * The pages call the daemon through `request` (WebBackend), the very function the control socket calls for the
 * CLI and the serial console (node-services.ts): no operation has a web implementation of its own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Asker, Request } from '../control-socket.js';
import type { LoginThrottle } from '../login-throttle.js';
import type { StatusDoc } from '../status-page.js';
import { clusterRoutes } from './cluster-actions.js';
import { CONSOLE_CSS, loginPage, REFRESH_JS, type Frame, type Section } from './html.js';
import { nodeRoutes } from './node-actions.js';
import { eventRoutes, type EventLog } from './events-page.js';
import { readForm, type Form } from './form-body.js';
import type { Session, WebSessions } from './sessions.js';

export type WebEvent = 'web_login' | 'web_login_failed' | 'web_logout' | 'web_session_expired' | 'web_request_refused' | 'web_change' | 'admin_login_throttled';

export interface WebBackend {
  statusDoc(): StatusDoc;
  /** The daemon's dispatcher: the same the control socket calls. */
  request(req: Request, asker: Asker): Promise<unknown>;
  checkPassword(password: string): Promise<boolean>;
  hasAdminPassword(): boolean;
  /** A member's newest events (null: this node's) and the members there are. */
  events(member: string | null): Promise<EventLog>;
  /** The flight records told as `tandem why --list` tells them, newest first. */
  explanations(): Promise<{ headline: string; text: string; after: string[] }[]>;
  note(level: 'info' | 'warn', event: WebEvent, fields: Record<string, unknown>): void;
  /** Served over HTTPS (cookies are Secure, with the __Host- prefix). */
  readonly secure: boolean;
}

/** What a page handler is given. */
export interface Ctx {
  backend: WebBackend;
  session: Session;
  asker: Asker;
  form: Form;
  /** The query string's parameters (a GET form's). */
  query: Record<string, string>;
  /** The frame of a page in `section` (this node, the CSRF token, the flash message of the last change). */
  frame(section: Section, extra?: Partial<Frame>): Frame;
  /** Shown once on the next page (after a redirect). */
  flash(text: string, error?: boolean): void;
}

export type Answer = { html: string; status?: number } | { redirect: string };
export type Handler = (c: Ctx) => Promise<Answer> | Answer;

const PAGES = /^\/(cluster(\/[a-z-]+)?|changes|events|heartbeats|certificate(\/[a-z]+)?|metrics-token(\/[a-z]+)?)$/;

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export class WebConsole {
  private readonly flashes = new Map<string, { text: string; error?: boolean }>();
  private readonly get = new Map<string, Handler>();
  private readonly post = new Map<string, Handler>();

  constructor(
    private readonly backend: WebBackend,
    readonly sessions: WebSessions,
  ) {
    for (const routes of [clusterRoutes(), nodeRoutes(), eventRoutes]) {
      for (const [k, h] of Object.entries(routes.get)) this.get.set(k, h);
      for (const [k, h] of Object.entries(routes.post)) this.post.set(k, h);
    }
  }

  private get cookieName(): string {
    return this.backend.secure ? '__Host-tandem' : 'tandem';
  }

  /** The console's paths (the rest is http-server.ts's). */
  owns(path: string): boolean {
    return path === '/login' || path === '/logout' || path.startsWith('/static/') || PAGES.test(path);
  }

  /** The session a request's cookie opens, if any (for `/`, which shows the console to a logged-in browser). */
  sessionOf(req: IncomingMessage): Session | null {
    const secret = this.cookie(req);
    if (!secret) return null;
    const u = this.sessions.use(secret);
    return 'session' in u ? u.session : null;
  }

  async serve(req: IncomingMessage, res: ServerResponse, throttle: LoginThrottle): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const source = req.socket.remoteAddress ?? 'unknown';
    if (path === '/static/console.css') return this.send(res, 200, 'text/css; charset=utf-8', CONSOLE_CSS, { 'cache-control': 'max-age=300' });
    if (path === '/static/refresh.js') return this.send(res, 200, 'text/javascript; charset=utf-8', REFRESH_JS, { 'cache-control': 'max-age=300' });
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') return this.send(res, 405, 'text/plain', 'GET or POST\n', { allow: 'GET, HEAD, POST' });
    if (method === 'POST') {
      const origin = this.originProblem(req);
      if (origin) return this.refuse(res, source, path, origin, null);
    }
    if (path === '/login') return this.login(req, res, source, method, throttle, url);
    const secret = this.cookie(req);
    const used = secret ? this.sessions.use(secret) : { ended: 'unknown' as const };
    if (!('session' in used)) {
      if (used.ended !== 'unknown') this.backend.note('info', 'web_session_expired', { source, why: used.ended });
      const back = used.ended === 'unknown' ? '/login' : `/login?ended=${used.ended}`;
      return this.redirect(res, back, { 'set-cookie': this.clearCookie() });
    }
    const session = used.session;
    let form: Form = {};
    if (method === 'POST') {
      try {
        form = await readForm(req);
      } catch (e) {
        return this.send(res, 400, 'text/plain', `${(e as Error).message}\n`);
      }
      const token = form['csrf'];
      if (typeof token !== 'string' || token.length === 0) return this.refuse(res, source, path, 'csrf_missing', session);
      if (!this.sessions.csrfMatches(session, token)) return this.refuse(res, source, path, 'csrf_mismatch', session);
    }
    if (path === '/logout') {
      if (method !== 'POST') return this.redirect(res, '/cluster');
      this.sessions.end(session);
      this.backend.note('info', 'web_logout', { source, session: session.handle });
      return this.redirect(res, '/login?ended=logout', { 'set-cookie': this.clearCookie() });
    }
    const handler = (method === 'POST' ? this.post : this.get).get(path);
    if (!handler) return this.send(res, 404, 'text/plain', 'not found\n');
    const asker: Asker = { via: 'web', source, session: session.handle };
    const flash = this.flashes.get(session.handle);
    this.flashes.delete(session.handle);
    const doc = this.backend.statusDoc();
    const ctx: Ctx = {
      backend: this.backend,
      session,
      asker,
      form,
      query: Object.fromEntries(url.searchParams),
      frame: (section, extra) => ({
        node: doc.cluster?.members.find((m) => m.self)?.name ?? doc.node.name,
        role: doc.node.role,
        cluster: doc.cluster?.name ?? null,
        csrf: session.csrf,
        section,
        flash,
        ...extra,
      }),
      flash: (text, error) => this.flashes.set(session.handle, { text, ...(error ? { error } : {}) }),
    };
    let answer: Answer;
    try {
      answer = await handler(ctx);
    } catch (e) {
      // A refusal the page did not foresee: said in plain text, the daemon's words (the CLI shows the same).
      return this.send(res, 500, 'text/plain; charset=utf-8', `${(e as Error).message.replace(/^tandemd: /, '')}\n`);
    }
    if ('redirect' in answer) return this.redirect(res, answer.redirect);
    return this.send(res, answer.status ?? 200, 'text/html; charset=utf-8', answer.html);
  }

  private async login(req: IncomingMessage, res: ServerResponse, source: string, method: string, throttle: LoginThrottle, url: URL): Promise<void> {
    const plainHttp = !this.backend.secure;
    if (!this.backend.hasAdminPassword()) return this.send(res, 403, 'text/html; charset=utf-8', loginPage({ noPassword: true }));
    if (method !== 'POST') {
      const ended = url.searchParams.get('ended');
      const notice =
        ended === 'idle'
          ? 'Your session ended after 15 minutes without use: log in again.'
          : ended === 'absolute'
            ? 'Your session ended 8 hours after its login: log in again.'
            : ended === 'logout'
              ? 'Logged out.'
              : undefined;
      return this.send(res, 200, 'text/html; charset=utf-8', loginPage({ plainHttp, ...(notice ? { notice } : {}) }));
    }
    const waitMs = throttle.waitMs(source);
    if (waitMs > 0) {
      const s = Math.ceil(waitMs / 1000);
      return this.send(res, 429, 'text/html; charset=utf-8', loginPage({ plainHttp, error: `Too many wrong passwords from ${source}: try again in ${s} s.` }), {
        'retry-after': String(s),
      });
    }
    let form: Form;
    try {
      form = await readForm(req);
    } catch (e) {
      return this.send(res, 400, 'text/plain', `${(e as Error).message}\n`);
    }
    const user = form['user'] ?? 'admin';
    const ok = user === 'admin' && typeof form['password'] === 'string' && (await this.backend.checkPassword(form['password']));
    if (!ok) {
      this.backend.note('warn', 'web_login_failed', { source, user: String(user).slice(0, 64) });
      const lockout = throttle.failed(source);
      if (lockout) this.backend.note('warn', 'admin_login_throttled', { source, failures: lockout.failures, lockedForMs: lockout.lockedForMs });
      return this.send(res, 401, 'text/html; charset=utf-8', loginPage({ plainHttp, error: 'Wrong user or password.' }));
    }
    throttle.succeeded(source);
    const { secret, session } = this.sessions.create(source);
    this.backend.note('info', 'web_login', { source, session: session.handle });
    const attrs = `Path=/; HttpOnly; SameSite=Strict${this.backend.secure ? '; Secure' : ''}`;
    return this.redirect(res, '/cluster', { 'set-cookie': `${this.cookieName}=${secret}; ${attrs}` });
  }

  /** Why a POST is not from this server's own pages: its Origin (or Referer) names another origin, or none. */
  private originProblem(req: IncomingMessage): string | null {
    const host = req.headers.host;
    if (!host) return 'host_missing';
    const own = `${this.backend.secure ? 'https' : 'http'}://${host}`.toLowerCase();
    const origin = req.headers.origin;
    if (typeof origin === 'string' && origin !== 'null') return origin.toLowerCase() === own ? null : 'origin_mismatch';
    const referer = req.headers.referer;
    if (typeof referer === 'string') {
      try {
        return new URL(referer).origin.toLowerCase() === own ? null : 'origin_mismatch';
      } catch {
        return 'origin_mismatch';
      }
    }
    return 'origin_missing';
  }

  private refuse(res: ServerResponse, source: string, path: string, reason: string, session: Session | null): void {
    this.backend.note('warn', 'web_request_refused', { source, path, reason, ...(session ? { session: session.handle } : {}) });
    this.send(res, 403, 'text/plain', `refused (${reason}): reload the page and try again; nothing was changed\n`);
  }

  private cookie(req: IncomingMessage): string | null {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === this.cookieName) return part.slice(eq + 1).trim();
    }
    return null;
  }

  private clearCookie(): string {
    return `${this.cookieName}=; Path=/; HttpOnly; SameSite=Strict${this.backend.secure ? '; Secure' : ''}; Max-Age=0`;
  }

  private redirect(res: ServerResponse, to: string, extra: Record<string, string> = {}): void {
    res.writeHead(303, { ...SECURITY_HEADERS, location: to, ...extra });
    res.end();
  }

  private send(res: ServerResponse, code: number, type: string, body: string, extra: Record<string, string> = {}): void {
    res.writeHead(code, { ...SECURITY_HEADERS, 'content-type': type, ...extra });
    res.end(body);
  }
}
