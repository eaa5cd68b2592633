/**
 * DOC: the management HTTP server: health check, status page, status.json, metrics
 *
 * Bound to this node's address on the management interface only (never to
 * every address: the data interfaces face the networks the gateway
 * protects). HTTPS with the node's certificate (src/cluster/https-identity.ts)
 * unless the configuration asks for plain HTTP; TLS 1.2 at least. Routes:
 *   GET /dana-na/healthcheck/healthcheck.cgi   200 "Cluster Enabled" or 500 with the reason (seed 000);
 *                                             no password: load balancers ask it every few seconds
 *   GET /status.json, GET /metrics, GET /      the administrator's views, behind HTTP Basic
 *                                             authentication with the admin password
 *   GET /metrics                               also with `Authorization: Bearer TOKEN`, the read-only
 *                                             metrics token (src/cluster/metrics-token.ts): a scraper's
 *                                             credential opens nothing else
 *   /login, /cluster ...                      the web console (src/api/web/web-console.ts): its login form and
 *                                             session cookie; `/` sends a browser without Basic credentials there,
 *                                             and /status.json also answers a logged-in console (its refresh)
 * Outside the console every method but GET and HEAD is 405; unknown paths 404. Wrong credentials of any kind
 * (Basic, bearer, the login form) count toward the source address's lockout (src/api/login-throttle.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { LoginThrottle, type Lockout } from './login-throttle.js';
import type { WebConsole } from './web/web-console.js';

export const HEALTH_PATH = '/dana-na/healthcheck/healthcheck.cgi';

/**
 * The TLS 1.2 suites offered: forward-secret AEAD only, as the management planes of commercial firewalls offer
 * (Node's default list also has the CBC-SHA1 ones). TLS 1.3's suites are all AEAD and stay Node's.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface HttpViews {
  health(): { ok: boolean; text: string };
  statusJson(): unknown;
  metrics(): string;
  page(): string;
  /** True when the Basic credentials are the administrator's (user "admin"). */
  authorised(user: string, password: string): Promise<boolean>;
  /** True when `token` is the metrics token (absent: no token can be right). */
  metricsToken?(token: string): boolean;
  /** Whether an admin password is set at all (none: the pages say how to set one). */
  hasAdminPassword(): boolean;
  /** A request whose view threw (logged by the caller). */
  failed?(e: Error): void;
  /** A source address locked out after wrong passwords (logged by the caller). */
  throttled?(source: string, lockout: Lockout): void;
  /** The web console (absent: the read-only views alone). */
  console?: WebConsole;
}

function send(res: ServerResponse, code: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, doc: unknown): void {
  send(
    res,
    200,
    'application/json',
    JSON.stringify(doc, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 1),
  );
}

function credentials(req: IncomingMessage): { user: string; password: string } | null {
  const h = req.headers.authorization;
  if (!h || !/^basic /i.test(h)) return null;
  const text = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function bearer(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  return h && /^bearer /i.test(h) ? h.slice(7).trim() : null;
}

/** The node's certificate and key (PEM); absent: plain HTTP. */
export interface TlsIdentity {
  certPem: string;
  keyPem: string;
}

export type ManagementServer = Server | HttpsServer;

/** Serves the new certificate to every connection from now on (existing ones keep theirs). */
export function replaceIdentity(server: ManagementServer, id: TlsIdentity): void {
  if (!('setSecureContext' in server)) throw new Error('the management server runs plain HTTP (management.protocol "http"): no certificate to replace');
  // The new context replaces the whole old one: the same protocol floor and suites again.
  server.setSecureContext({ cert: id.certPem, key: id.keyPem, minVersion: 'TLSv1.2', ciphers: TLS12_CIPHERS });
}

/** `throttle`: the node's one table of wrong passwords (every listener shares it); absent, one of this server's own. */
export function serveHttp(
  host: string,
  port: number,
  v: HttpViews,
  tls?: TlsIdentity,
  throttle: LoginThrottle = new LoginThrottle(),
): Promise<ManagementServer> {
  const handler = (req: IncomingMessage, res: ServerResponse) =>
    // A view that throws (a state the page did not foresee) answers 500 to that request; it must never end the daemon.
    route(req, res, v, throttle).catch((e: Error) => {
      if (!res.headersSent) send(res, 500, 'text/plain', `internal error: ${e.message}\n`);
      else res.destroy();
      v.failed?.(e);
    });
  const server: ManagementServer = tls
    ? createHttpsServer({ cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.2', ciphers: TLS12_CIPHERS, handshakeTimeout: 10_000 }, handler)
    : createServer(handler);
  // A load balancer keeps connections open; a dead one must not hold sockets for ever.
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function unauthorised(res: ServerResponse): void {
  send(res, 401, 'text/plain', 'the administrator password is needed (user admin)\n', { 'www-authenticate': 'Basic realm="tandem", charset="UTF-8"' });
}

async function route(req: IncomingMessage, res: ServerResponse, v: HttpViews, throttle: LoginThrottle): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  if (v.console?.owns(path)) return v.console.serve(req, res, throttle);
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'read-only\n', { allow: 'GET, HEAD' });
  if (path === HEALTH_PATH) {
    const h = v.health();
    return send(res, h.ok ? 200 : 500, 'text/plain', h.text);
  }
  if (path !== '/' && path !== '/status.json' && path !== '/metrics') return send(res, 404, 'text/plain', 'not found\n');
  const source = req.socket.remoteAddress ?? 'unknown';
  const waitMs = throttle.waitMs(source);
  if (waitMs > 0) {
    const s = Math.ceil(waitMs / 1000);
    return send(res, 429, 'text/plain', `too many wrong passwords from ${source}: try again in ${s} s\n`, { 'retry-after': String(s) });
  }
  if (v.console && req.headers.authorization === undefined) {
    // A browser without Basic credentials: the console's login (or its pages, when logged in).
    if (path === '/') return send(res, 303, 'text/plain', 'see /cluster\n', { location: '/cluster' });
    if (path === '/status.json' && v.console.sessionOf(req)) return sendJson(res, v.statusJson());
  }
  const token = bearer(req);
  if (token !== null) {
    // The metrics token opens /metrics only; anywhere else it is a wrong credential like any other.
    if (path === '/metrics' && v.metricsToken?.(token)) {
      throttle.succeeded(source);
      return send(res, 200, 'text/plain; version=0.0.4', v.metrics());
    }
    const lockout = throttle.failed(source);
    if (lockout) v.throttled?.(source, lockout);
    return unauthorised(res);
  }
  if (!v.hasAdminPassword()) return send(res, 403, 'text/plain', 'no administrator password is set: run "tandem admin-password" on this node\n');
  const c = credentials(req);
  if (!c) return unauthorised(res);
  if (c.user !== 'admin' || !(await v.authorised(c.user, c.password))) {
    const lockout = throttle.failed(source);
    if (lockout) v.throttled?.(source, lockout);
    return unauthorised(res);
  }
  throttle.succeeded(source);
  try {
    if (path === '/status.json') return sendJson(res, v.statusJson());
    if (path === '/metrics') return send(res, 200, 'text/plain; version=0.0.4', v.metrics());
    return send(res, 200, 'text/html; charset=utf-8', v.page(), { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" });
  } catch (e) {
    return send(res, 500, 'text/plain', `status unavailable: ${(e as Error).message}\n`);
  }
}
