/**
 * The web console's HTTP layer on a real server (HTTPS with a self-signed certificate, on 127.0.0.1): login,
 * session cookie, CSRF token and Origin on every change, expiry, throttling, and the headers of every page. The
 * daemon behind it is a recording backend here (this layer's test); test/lab/web-console.test.ts drives the real one.
 */
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type SecureVersion as tlsVersion } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serveHttp, type ManagementServer } from '../../src/api/http-server.js';
import { FREE_FAILURES } from '../../src/api/login-throttle.js';
import type { Asker, Request } from '../../src/api/control-socket.js';
import { IDLE_MS, WebSessions } from '../../src/api/web/sessions.js';
import { WebConsole, type WebBackend } from '../../src/api/web/web-console.js';
import { generateIdentity } from '../../src/cluster/https-identity.js';
import { statusMember } from '../helpers/status-doc.js';
import type { StatusDoc } from '../../src/api/status-page.js';

const PASSWORD = 'console secret';

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function doc(): StatusDoc {
  return {
    node: { name: 'n1', role: 'active', standalone: false, softwareVersion: '0.2.0' },
    cluster: {
      name: 'labc',
      mode: 'active-passive',
      revision: 3,
      leader: 'fw-a',
      members: [statusMember(), statusMember({ name: 'fw-b', self: false, role: 'inactive', id: 2 })],
    },
    health: { ok: true, text: 'Cluster Enabled' },
    matrix: [],
    changes: [],
    roleChangesTotal: 0,
    connections: 0,
    sync: null,
  };
}

async function start(t: import('ava').ExecutionContext) {
  const clock = { now: Date.now() };
  const calls: { req: Request; asker: Asker }[] = [];
  const notes: { event: string; fields: Record<string, unknown> }[] = [];
  const backend: WebBackend = {
    statusDoc: doc,
    request: async (req, asker) => {
      calls.push({ req, asker });
      if (req.cmd === 'cluster' && req.op === 'properties')
        return {
          name: 'labc',
          id: 5,
          revision: 3,
          properties: { mode: 'active-passive', sync: true, logSync: false, healthCheckFailsWhileSyncing: false },
          shared: { eth1: '198.18.2.1/24' },
        };
      if (req.cmd === 'metrics-token') return req.op === 'new' ? { token: 'T'.repeat(43) } : req.op === 'revoke' ? { revoked: true } : { set: false };
      if (req.cmd === 'https') return { fingerprint: 'AB:CD' };
      if (req.cmd === 'cluster' && req.op === 'disable') return { disabled: String(req.args?.['node']), notTold: [] };
      if (req.cmd === 'cluster' && req.op === 'add-member')
        throw new Error(`tandemd: member name "${String(req.args?.['name'])}": 1 to 16 letters, digits, "-", "_" or "."`);
      return {};
    },
    checkPassword: async (p) => p === PASSWORD,
    hasAdminPassword: () => true,
    explanations: async () => [],
    events: async (member) => ({
      members: ['fw-a', 'fw-b'],
      member: member ?? 'fw-a',
      rows: [
        { ts: '2026-12-07T10:00:00.000Z', severity: 'info', event: 'worker_started', id: 101, fields: {} },
        { ts: '2026-12-07T10:00:01.000Z', severity: 'warning', event: 'web_login_failed', id: 830, fields: { source: '198.18.2.9' } },
        { ts: '2026-12-07T10:00:02.000Z', severity: 'error', event: 'node_addresses_failed', id: 613, fields: { error: '<b>x</b>' } },
      ],
    }),
    note: (_l, event, fields) => notes.push({ event, fields }),
    secure: true,
  };
  const id = generateIdentity(mkdtempSync(join(tmpdir(), 'tandem-web-')), { commonName: 'n1', addresses: ['127.0.0.1'] });
  const web = new WebConsole(backend, new WebSessions(() => clock.now));
  const server: ManagementServer = await serveHttp(
    '127.0.0.1',
    0,
    {
      health: () => ({ ok: true, text: 'Cluster Enabled' }),
      statusJson: doc,
      metrics: () => '',
      page: () => '<html></html>',
      authorised: async (_u, p) => p === PASSWORD,
      hasAdminPassword: () => true,
      console: web,
    },
    { certPem: id.certPem, keyPem: id.keyPem },
  );
  t.teardown(() => void server.close());
  const port = (server.address() as AddressInfo).port;
  const origin = `https://127.0.0.1:${port}`;
  const send = (
    method: string,
    path: string,
    o: { body?: string; cookie?: string; origin?: string | null; from?: string; headers?: Record<string, string> } = {},
  ) =>
    new Promise<Got>((resolve, reject) => {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/x-www-form-urlencoded';
      if (o.cookie) headers['cookie'] = o.cookie;
      if (o.origin !== null && method === 'POST') headers['origin'] = o.origin ?? origin;
      const r = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers,
          ca: id.certPem,
          localAddress: o.from ?? '127.0.0.1',
          servername: undefined,
          rejectUnauthorized: false,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      r.on('error', reject);
      r.end(o.body);
    });
  const login = async (from = '127.0.0.1') => {
    const r = await send('POST', '/login', { body: `user=admin&password=${encodeURIComponent(PASSWORD)}`, from });
    const cookie = String((r.headers['set-cookie'] as string[])[0]).split(';')[0]!;
    const page = await send('GET', '/cluster', { cookie });
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    return { r, cookie, csrf, page };
  };
  return { clock, calls, notes, send, login, origin };
}

test('login: a session cookie that is __Host-, Secure, HttpOnly and SameSite=Strict; logout ends it on the server', async (t) => {
  const s = await start(t);
  t.is((await s.send('GET', '/cluster')).headers.location, '/login', 'no session: the login page');
  t.is((await s.send('GET', '/')).headers.location, '/cluster', 'a browser at / is sent to the console');
  const { r, cookie, csrf, page } = await s.login();
  t.is(r.status, 303);
  t.is(r.headers.location, '/cluster');
  const set = String((r.headers['set-cookie'] as string[])[0]);
  t.regex(set, /^__Host-tandem=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
  t.is(page.status, 200);
  t.regex(page.body, /<tr data-member="fw-b">/);
  t.deepEqual(
    s.notes.filter((n) => n.event === 'web_login').map((n) => n.fields['source']),
    ['127.0.0.1'],
  );
  const out = await s.send('POST', '/logout', { body: `csrf=${encodeURIComponent(csrf)}`, cookie });
  t.is(out.headers.location, '/login?ended=logout');
  t.regex(String((out.headers['set-cookie'] as string[])[0]), /Max-Age=0/);
  t.is((await s.send('GET', '/cluster', { cookie })).headers.location, '/login', 'the old cookie opens nothing after logout');
});

test('a change without the CSRF token, with the token of another session, or from another origin is refused (403), logged, and not made', async (t) => {
  const s = await start(t);
  const a = await s.login();
  const b = await s.login();
  const refused = async (o: Parameters<typeof s.send>[2], reason: string) => {
    const r = await s.send('POST', '/cluster/disable', o);
    t.is(r.status, 403, reason);
    t.regex(r.body, new RegExp(`refused \\(${reason}\\)`));
    t.is(s.notes.at(-1)?.event, 'web_request_refused');
    t.is(s.notes.at(-1)?.fields['reason'], reason);
  };
  await refused({ body: 'node=fw-b&confirm=yes', cookie: a.cookie }, 'csrf_missing');
  await refused({ body: `node=fw-b&confirm=yes&csrf=${encodeURIComponent(b.csrf)}`, cookie: a.cookie }, 'csrf_mismatch');
  await refused({ body: `node=fw-b&confirm=yes&csrf=${encodeURIComponent(a.csrf)}`, cookie: a.cookie, origin: 'https://evil.example' }, 'origin_mismatch');
  await refused({ body: `node=fw-b&confirm=yes&csrf=${encodeURIComponent(a.csrf)}`, cookie: a.cookie, origin: null }, 'origin_missing');
  t.deepEqual(s.calls, [], 'nothing reached the daemon');
  const ok = await s.send('POST', '/cluster/disable', { body: `node=fw-b&confirm=yes&csrf=${encodeURIComponent(a.csrf)}`, cookie: a.cookie });
  t.is(ok.status, 303);
  t.deepEqual(
    s.calls.map((c) => [c.req, c.asker.via, c.asker.source]),
    [[{ cmd: 'cluster', op: 'disable', args: { node: 'fw-b' } }, 'web', '127.0.0.1']],
  );
  t.regex((await s.send('GET', '/cluster', { cookie: a.cookie })).body, /fw-b: disabled/, 'the next page says what was done');
});

test('disable asks first with the warning the CLI gives; a refused field comes back with the daemon’s message beside it', async (t) => {
  const s = await start(t);
  const a = await s.login();
  const ask = await s.send('POST', '/cluster/disable', { body: `node=fw-b&csrf=${encodeURIComponent(a.csrf)}`, cookie: a.cookie });
  t.is(ask.status, 200);
  t.regex(ask.body, /Disabling fw-b makes it stop serving \(an active member hands over first\) until it is enabled again\./);
  t.deepEqual(s.calls, [], 'not yet');
  const bad = await s.send('POST', '/cluster/add-member', {
    body: `name=no%20spaces&address=198.19.255.12&csrf=${encodeURIComponent(a.csrf)}`,
    cookie: a.cookie,
  });
  t.is(bad.status, 400);
  t.regex(bad.body, /<span class="error" id="error-name">member name &#34;no spaces&#34;: 1 to 16 letters/);
  t.regex(bad.body, /value="198\.19\.255\.12"/, 'what was typed is kept');
});

test('an expired session is sent to the login page and logged; every page carries the security headers', async (t) => {
  const s = await start(t);
  const a = await s.login();
  for (const path of ['/login', '/cluster', '/cluster/properties', '/events', '/heartbeats', '/changes', '/metrics-token']) {
    const r = await s.send('GET', path, { cookie: a.cookie });
    t.regex(String(r.headers['content-security-policy']), /default-src 'none'; script-src 'self'; style-src 'self'.*frame-ancestors 'none'/, path);
    t.false(/unsafe-inline/.test(String(r.headers['content-security-policy'])), `${path}: no inline script or style`);
    t.is(r.headers['x-frame-options'], 'DENY', path);
    t.is(r.headers['cache-control'], 'no-store', path);
    t.false(/<script>|style=|on[a-z]+=/.test(r.body), `${path}: no inline script, style or handler`);
  }
  s.clock.now += IDLE_MS;
  const r = await s.send('GET', '/cluster', { cookie: a.cookie });
  t.is(r.headers.location, '/login?ended=idle');
  t.is(s.notes.at(-1)?.event, 'web_session_expired');
  t.regex((await s.send('GET', '/login?ended=idle')).body, /ended after 15 minutes without use/);
});

test('the login form is throttled after as many wrong passwords as Basic auth; another address logs in at once', async (t) => {
  const s = await start(t);
  const wrong = () => s.send('POST', '/login', { body: 'user=admin&password=guess' });
  const codes: number[] = [];
  for (let i = 0; i < FREE_FAILURES + 3; i++) codes.push((await wrong()).status);
  t.deepEqual(codes, [...Array<number>(FREE_FAILURES).fill(401), 401, 429, 429]);
  t.true(s.notes.some((n) => n.event === 'admin_login_throttled' && n.fields['source'] === '127.0.0.1'));
  t.is((await s.send('POST', '/login', { body: `user=admin&password=${encodeURIComponent(PASSWORD)}` })).status, 429, 'even the right password waits');
  const other = await s.login('127.0.0.2');
  t.is(other.r.status, 303, 'another address is served at once');
  // Basic auth shares the counter: the locked address is refused there too.
  t.is((await s.send('GET', '/status.json', { headers: { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` } })).status, 429);
});

test('the event log: filtered by severity (that one and more severe), newest first, another member chosen by name, every field escaped', async (t) => {
  const s = await start(t);
  const a = await s.login();
  const all = await s.send('GET', '/events?severity=debug', { cookie: a.cookie });
  t.deepEqual(
    [...all.body.matchAll(/data-event="(\w+)"/g)].map((m) => m[1]),
    ['node_addresses_failed', 'web_login_failed', 'worker_started'],
  );
  const warnings = await s.send('GET', '/events?severity=warning&member=fw-b', { cookie: a.cookie });
  t.deepEqual(
    [...warnings.body.matchAll(/data-event="(\w+)"/g)].map((m) => m[1]),
    ['node_addresses_failed', 'web_login_failed'],
  );
  t.regex(warnings.body, /<option selected>fw-b<\/option>/);
  t.false(warnings.body.includes('<b>x</b>'), 'a field is text, never markup');
});

test('the certificate installed from an uploaded pair of files, the metrics token made (shown once) and revoked, leave asked first: each through the daemon’s own commands', async (t) => {
  const s = await start(t);
  const a = await s.login();
  const boundary = 'XyZ';
  const part = (name: string, value: string, file?: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"` : ''}\r\n\r\n${value}\r\n`;
  const body = part('csrf', a.csrf) + part('cert', 'CERT PEM', 'cert.pem') + part('key', 'KEY PEM', 'key.pem') + `--${boundary}--\r\n`;
  const up = await s.send('POST', '/certificate/install', { body, cookie: a.cookie, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
  t.is(up.status, 303);
  t.deepEqual(s.calls.at(-1)?.req, {
    cmd: 'https',
    op: 'install',
    args: { certPem: 'CERT PEM', keyPem: 'KEY PEM', certPath: 'the uploaded certificate', keyPath: 'the uploaded key', force: false },
  });
  const made = await s.send('POST', '/metrics-token/new', { body: `csrf=${encodeURIComponent(a.csrf)}`, cookie: a.cookie });
  t.deepEqual(s.calls.at(-1)?.req, { cmd: 'metrics-token', op: 'new' });
  t.regex(made.body, /<code id="token">/, 'the token page');
  await s.send('POST', '/metrics-token/revoke', { body: `csrf=${encodeURIComponent(a.csrf)}`, cookie: a.cookie });
  t.deepEqual(s.calls.at(-1)?.req, { cmd: 'metrics-token', op: 'revoke' });
  const n = s.calls.length;
  const ask = await s.send('POST', '/cluster/leave', { body: `csrf=${encodeURIComponent(a.csrf)}`, cookie: a.cookie });
  t.regex(ask.body, /Leaving makes this node standalone: it stops taking part in the cluster and keeps its system state\./);
  t.is(s.calls.length, n, 'nothing asked before the confirmation');
  await s.send('POST', '/cluster/leave', { body: `confirm=yes&csrf=${encodeURIComponent(a.csrf)}`, cookie: a.cookie });
  t.deepEqual(s.calls.at(-1)?.req, { cmd: 'cluster', op: 'leave', args: {} });
});

test('TLS: 1.3, and 1.2 with forward-secret AEAD suites only; the CBC-SHA1 ones and TLS 1.1 are refused', async (t) => {
  const { origin } = await start(t);
  const port = Number(new URL(origin).port);
  const hello = (o: { ciphers?: string; minVersion?: tlsVersion; maxVersion?: tlsVersion }) =>
    new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...o }, () => {
        resolve(`${s.getProtocol()} ${s.getCipher().name}`);
        s.end();
      });
      s.on('error', (e) => resolve(`refused: ${e.message}`));
    });
  t.regex(await hello({}), /^TLSv1\.3 TLS_/);
  t.is(await hello({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }), 'TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256');
  for (const cbc of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256'])
    t.regex(await hello({ maxVersion: 'TLSv1.2', ciphers: cbc }), /^refused/, cbc);
  t.regex(await hello({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), /^refused/, 'TLS 1.1');
});
