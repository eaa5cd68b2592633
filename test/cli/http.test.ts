import test from 'ava';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { HEALTH_PATH, replaceIdentity, serveHttp, type HttpViews } from '../../src/api/http-server.js';
import { selfSigned } from '../../src/cluster/self-signed.js';
import { renderMetrics, renderPage, type StatusDoc } from '../../src/api/status-page.js';
import { statusMember } from '../helpers/status-doc.js';

const doc: StatusDoc = {
  node: { name: 'fw-a', role: 'active', standalone: false, softwareVersion: '0.1.0' },
  cluster: {
    name: 'labc',
    mode: 'active-active',
    revision: 4,
    leader: 'fw-a',
    members: [
      statusMember({ leader: true, hex: '0x18004', bits: 0x18004, words: ['enabled', 'leader'] }),
      statusMember({
        name: 'fw-b',
        id: 2,
        address: '198.19.255.12',
        self: false,
        role: 'unknown',
        unreachable: 'wrong_password',
        hex: '0x0000c',
        bits: 0xc,
        words: ['enabled', 'unreachable'],
        softwareVersion: null,
      }),
    ],
  },
  health: { ok: true, text: 'Cluster Enabled' },
  matrix: [{ iface: 'eth0', sync: false, sent: 10, accepted: 9, superseded: 30, kernelDrops: 4, ringDrops: 1, rejected: { bad_tag: 2 }, lastSeenAgoMs: 12 }],
  changes: [{ wallTime: '2026-11-22T06:00:00.000Z', from: 'starting', to: 'active', reason: 'enabled_active_active' }],
  roleChangesTotal: 73,
  connections: 3,
  sync: { status: 'in-sync', channel: 'up', lag: 0, sequence: 5, connections: { ipv4: 40, ipv6: 2 } },
};

function get(
  port: number,
  path: string,
  opts: { method?: string; auth?: string; from?: string } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers: opts.auth ? { authorization: `Basic ${Buffer.from(opts.auth).toString('base64')}` } : {},
        ...(opts.from ? { localAddress: opts.from } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('routes: the health check without a password, the admin views behind it, read-only, nothing else', async (t) => {
  let healthy = true;
  let hasPassword = false;
  const views: HttpViews = {
    health: () => (healthy ? { ok: true, text: 'Cluster Enabled' } : { ok: false, text: 'Draining: ...' }),
    statusJson: () => doc,
    metrics: () => renderMetrics(doc),
    page: () => renderPage(doc),
    authorised: async (_u, p) => p === 'right one',
    hasAdminPassword: () => hasPassword,
  };
  const server = await serveHttp('127.0.0.1', 0, views);
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  t.deepEqual(await get(port, HEALTH_PATH).then((r) => [r.status, r.body]), [200, 'Cluster Enabled']);
  healthy = false;
  t.is((await get(port, HEALTH_PATH)).status, 500);
  t.regex((await get(port, '/')).body, /no administrator password is set: run "tandem admin-password"/);
  hasPassword = true;
  const denied = await get(port, '/');
  t.is(denied.status, 401);
  t.is(denied.headers['www-authenticate'], 'Basic realm="tandem", charset="UTF-8"');
  t.is((await get(port, '/', { auth: 'admin:wrong' })).status, 401);
  t.is((await get(port, '/', { auth: 'root:right one' })).status, 401, 'the user is admin');
  const page = await get(port, '/', { auth: 'admin:right one' });
  t.is(page.status, 200);
  t.regex(String(page.headers['content-security-policy']), /default-src 'none'/);
  t.is((await get(port, '/status.json', { auth: 'admin:right one' })).status, 200);
  t.is((await get(port, '/nope', { auth: 'admin:right one' })).status, 404);
  t.is((await get(port, '/', { method: 'POST', auth: 'admin:right one' })).status, 405);
});

test('a view that throws answers 500 to that request and is reported; the server goes on serving', async (t) => {
  let broken = true;
  const failures: string[] = [];
  const views: HttpViews = {
    health: () => {
      if (broken) throw new TypeError("Cannot read properties of null (reading 'members')");
      return { ok: true, text: 'Cluster Enabled' };
    },
    statusJson: () => doc,
    metrics: () => renderMetrics(doc),
    page: () => renderPage(doc),
    authorised: async () => true,
    hasAdminPassword: () => true,
    failed: (e) => void failures.push(e.message),
  };
  const server = await serveHttp('127.0.0.1', 0, views);
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  t.deepEqual(await get(port, HEALTH_PATH).then((r) => [r.status, r.body]), [500, "internal error: Cannot read properties of null (reading 'members')\n"]);
  t.deepEqual(failures, ["Cannot read properties of null (reading 'members')"]);
  broken = false;
  t.deepEqual(await get(port, HEALTH_PATH).then((r) => [r.status, r.body]), [200, 'Cluster Enabled']);
});

test('wrong passwords from one address are slowed (429, Retry-After) and reported, while the right one from another works at once', async (t) => {
  const throttled: string[] = [];
  let checked = 0;
  const views: HttpViews = {
    health: () => ({ ok: true, text: 'Cluster Enabled' }),
    statusJson: () => doc,
    metrics: () => renderMetrics(doc),
    page: () => renderPage(doc),
    authorised: async (_u, p) => (checked++, p === 'right one'),
    hasAdminPassword: () => true,
    throttled: (source, l) => void throttled.push(`${source} ${l.failures} ${l.lockedForMs}`),
  };
  const server = await serveHttp('127.0.0.1', 0, views);
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const codes: number[] = [];
  let retryAfter: unknown;
  for (let i = 0; i < 1000; i++) {
    const r = await get(port, '/status.json', { auth: `admin:guess ${i}`, from: '127.0.0.7' });
    codes.push(r.status);
    if (r.status === 429) retryAfter ??= r.headers['retry-after'];
  }
  t.deepEqual(codes.slice(0, 6), [401, 401, 401, 401, 401, 401], 'five free, the sixth wrong one locks the address');
  t.is(codes.filter((c) => c === 429).length, 994, 'the rest refused unchecked');
  t.is(checked, 6, 'only six of the 1000 passwords were checked');
  t.is(retryAfter, '1');
  t.deepEqual(throttled, ['127.0.0.7 6 1000'], 'the lock-out reported once, with the address');
  const t0 = performance.now();
  t.is((await get(port, '/status.json', { auth: 'admin:right one', from: '127.0.0.8' })).status, 200, 'another address is not slowed');
  t.true(performance.now() - t0 < 500);
  t.is((await get(port, '/status.json', { auth: 'admin:right one', from: '127.0.0.7' })).status, 429, 'the guesser waits even with the right one');
});

/** Views of a healthy member whose admin password is "right one". */
const healthyViews = (o: Partial<HttpViews> = {}): HttpViews => ({
  health: () => ({ ok: true, text: 'Cluster Enabled' }),
  statusJson: () => doc,
  metrics: () => renderMetrics(doc),
  page: () => renderPage(doc),
  authorised: async (_u, p) => p === 'right one',
  hasAdminPassword: () => true,
  ...o,
});

/** One HTTPS GET trusting exactly `ca`; headers as given. */
function getTls(port: number, path: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, servername: undefined, headers, agent: false }, (res) => {
      let body = '';
      const fingerprint = (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, fingerprint }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('HTTPS: the certificate given is served and checked by the client; plain HTTP is not answered; a new one serves the next connection', async (t) => {
  const a = selfSigned({ commonName: 'fw-a', addresses: ['127.0.0.1'] });
  const views = healthyViews();
  const server = await serveHttp('127.0.0.1', 0, views, a);
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const hc = await getTls(port, HEALTH_PATH, a.certPem);
  t.deepEqual([hc.status, hc.body], [200, 'Cluster Enabled']);
  t.is(hc.fingerprint, new X509Certificate(a.certPem).fingerprint256);
  const other = selfSigned({ commonName: 'stranger', addresses: ['127.0.0.1'] });
  await t.throwsAsync(getTls(port, HEALTH_PATH, other.certPem), { message: /self[- ]signed certificate/ }, 'a client trusting another key refuses it');
  await t.throwsAsync(get(port, HEALTH_PATH), undefined, 'plain HTTP on the HTTPS port gets no answer');
  const b = selfSigned({ commonName: 'fw-a', addresses: ['127.0.0.1'] });
  replaceIdentity(server, b);
  t.is((await getTls(port, HEALTH_PATH, b.certPem)).fingerprint, new X509Certificate(b.certPem).fingerprint256, 'the new certificate, no restart');
  const plain = await serveHttp('127.0.0.1', 0, views);
  t.teardown(() => plain.close());
  t.throws(() => replaceIdentity(plain, b), { message: /plain HTTP \(management.protocol "http"\)/ });
});

test('the metrics token opens /metrics and nothing else; a wrong token counts toward the lock-out like a wrong password', async (t) => {
  const throttled: string[] = [];
  const views = healthyViews({
    // No admin password at all: a scraper's token still works.
    hasAdminPassword: () => false,
    metricsToken: (tk) => tk === 'the-token',
    throttled: (source) => void throttled.push(source),
  });
  const server = await serveHttp('127.0.0.1', 0, views);
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const bearer = (path: string, token: string, from = '127.0.0.9') =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, localAddress: from, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
  t.is(await bearer('/metrics', 'the-token'), 200);
  t.is(await bearer('/status.json', 'the-token'), 401);
  t.is(await bearer('/', 'the-token'), 401);
  t.is(await bearer('/metrics', 'the-token', '127.0.0.10'), 200);
  const codes: number[] = [];
  for (let i = 0; i < 8; i++) codes.push(await bearer('/metrics', `guess-${i}`, '127.0.0.11'));
  t.deepEqual(codes, [401, 401, 401, 401, 401, 401, 429, 429]);
  t.deepEqual(throttled, ['127.0.0.11']);
});

test('the page shows members, bits, words, reasons; its text is escaped', (t) => {
  const html = renderPage({ ...doc, node: { ...doc.node, name: '<fw-a>' } });
  t.regex(html, /<tr data-member="fw-b">.*<td class="bits" title="enabled, unreachable">0x0000c<\/td>.*<td class="unreachable">wrong_password<\/td>/);
  t.regex(html, /leader <b id="leader">fw-a<\/b>/);
  t.false(html.includes('<fw-a>'));
  t.true(html.includes('&#60;fw-a&#62;'));
});

test('metrics are the Prometheus text format: HELP, TYPE, labelled samples', (t) => {
  const m = renderMetrics(doc);
  t.regex(
    m,
    /^# HELP tandem_member_status_bits .+\n# TYPE tandem_member_status_bits gauge\ntandem_member_status_bits\{member="fw-a"\} 98308\ntandem_member_status_bits\{member="fw-b"\} 12$/m,
  );
  t.regex(m, /^tandem_heartbeats_rejected_total\{iface="eth0",reason="bad_tag"\} 2$/m);
  t.regex(m, /^tandem_heartbeats_superseded_total\{iface="eth0"\} 30$/m);
  t.regex(m, /^tandem_heartbeats_dropped_total\{iface="eth0",where="kernel"\} 4$/m, "the kernel's drops, per interface");
  t.regex(m, /^tandem_heartbeats_dropped_total\{iface="eth0",where="ring"\} 1$/m, "the heartbeat thread ring's, per interface");
  t.regex(m, /^tandem_member_reachable\{member="fw-b"\} 0$/m);
  t.regex(m, /^tandem_health_check_ok\{node="fw-a"\} 1$/m);
  t.regex(m, /^tandem_role_changes_total 73$/m, 'every role change since start, not the kept history (1)');
  t.regex(m, /^tandem_sync_connections\{node="fw-a",family="ipv4"\} 40$/m);
  t.regex(m, /^tandem_sync_connections\{node="fw-a",family="ipv6"\} 2$/m);
  t.regex(renderPage(doc), /\(synchronised: IPv4 40, IPv6 2\)/, 'the page shows the families too');
  for (const line of m.trim().split('\n')) t.regex(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?\d+(\.\d+)?)$/);
});
