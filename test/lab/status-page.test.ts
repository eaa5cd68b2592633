import test from 'ava';
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CommandError, run, tool } from '../../src/lab/run.js';
import { until } from '../helpers/lab.js';
import { form, managedPair } from '../helpers/managed.js';
import { tandem } from '../helpers/cli.js';
import { selfSigned } from '../../src/cluster/self-signed.js';

/** One request with curl from a lab namespace: status, headers and body (curl's own exit code if it failed). */
async function curl(
  netns: string,
  url: string,
  opts: { caFile?: string; headers?: Record<string, string>; extra?: string[] } = {},
): Promise<{ status: number; headers: Record<string, string>; body: string; exit: number }> {
  const args = ['-sS', '--max-time', '5', '-D', '-', ...(opts.caFile ? ['--cacert', opts.caFile] : []), ...(opts.extra ?? [])];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  let stdout = '';
  let exit = 0;
  try {
    stdout = (await run(['ip', 'netns', 'exec', netns, tool('curl'), ...args, url], { timeoutMs: 8000 })).stdout;
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    exit = e.exitCode ?? -1;
  }
  const [head = '', ...rest] = stdout.split('\r\n\r\n');
  const status = Number(/^HTTP\/\S+ (\d+)/.exec(head)?.[1] ?? 0);
  const headers = Object.fromEntries(
    head
      .split('\r\n')
      .slice(1)
      .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { status, headers, body: rest.join('\r\n\r\n'), exit };
}

test.serial(
  'over HTTPS: Chromium (pinned to the node certificate) and curl see the page with the admin password, a scraper the metrics with its token; wrong passwords are slowed and logged',
  async (t) => {
    // The page is under test, not the failover time: Chromium's bursts on this 2-core machine have stalled a node
    // for ~430 ms (twice, on fresh clones), which at the default 300 ms looks like a dead peer.
    const p = await managedPair(t, true, { timers: { initialSilenceMs: 800, heartbeatIntervalMs: 100, failoverTimeMs: 1500 } });
    // The browser runs where an administrator's would: on the management network (the client's namespace).
    // Started before the cluster is formed: its start-up (a burst of disk reads) is not what this test is about.
    const client = p.lab.plan.hosts.find((h) => h.name === 'client')!;
    const wrapper = join(p.cluster.dir, 'chromium-in-lab');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${tool('ip')} netns exec ${client.netns} /usr/bin/chromium "$@"\n`);
    chmodSync(wrapper, 0o755);
    // HTTPS with the node's own certificate, made at its first start: the browser trusts exactly that key (its SPKI pin),
    // as an administrator's browser does once told the fingerprint (the console and `tandem https` show it).
    const certFile = join(p.cluster.dir, 'n1-state', 'https', 'cert.pem');
    t.true(await until(async () => existsSync(certFile), 10_000), 'n1 made its certificate at start');
    const pin = createHash('sha256')
      .update(new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64');
    const browser = await chromium.launch({
      executablePath: wrapper,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--ignore-certificate-errors-spki-list=${pin}`],
      timeout: 30_000,
    });
    t.teardown(() => browser.close());
    await form(t, p, 'active-passive');
    const adminPw = join(p.cluster.dir, 'admin-password');
    writeFileSync(adminPw, 'status page secret\n', { mode: 0o600 });
    const r = await p.cli('n1', 'admin-password', '--password-file', adminPw);
    t.is(r.code, 0, r.stderr);
    t.true(
      await until(async () => {
        const s = await p.status('n1');
        return s?.cluster?.members.filter((m) => m.leader).length === 1 && s.cluster.members.every((m) => m.unreachable === null);
      }, 10_000),
    );
    const truth = (await p.status('n1'))!;

    const url = 'https://198.18.2.11/';
    const https = await p.cli('n1', 'https', '--json');
    t.is(https.code, 0, https.stderr);
    const shown = JSON.parse(https.stdout) as { spkiPin: string; names: string; origin: string };
    t.is(shown.spkiPin, pin, '`tandem https` shows the pin of the certificate served');
    t.is(shown.origin, 'generated');
    t.regex(shown.names, /IP Address:198\.18\.2\.11/, 'the certificate names the management address');
    // Issue 33 item 3: where the served certificate is, and the PEM itself, for curl --cacert or a scraper's ca_file.
    t.is((shown as unknown as { certFile: string }).certFile, certFile);
    const pem = await p.cli('n1', 'https', '--pem');
    t.is(pem.stdout, readFileSync(certFile, 'utf8'), 'tandem https --pem prints the served certificate');
    const pemFile = join(p.cluster.dir, 'served.pem');
    writeFileSync(pemFile, pem.stdout);
    t.is((await curl(client.netns, 'https://198.18.2.11/dana-na/healthcheck/healthcheck.cgi', { caFile: pemFile })).exit, 0, 'curl --cacert takes it');
    // Issue 33 item 2: TLS 1.2 offers forward-secret AEAD suites only (openssl from the management network).
    const tls12 = async (cipher: string) =>
      run(['ip', 'netns', 'exec', client.netns, tool('openssl'), 's_client', '-connect', '198.18.2.11:443', '-tls1_2', '-cipher', cipher], {
        input: '',
        timeoutMs: 8000,
      }).then(
        (r) => /Cipher is (\S+)/.exec(r.stdout)?.[1] ?? 'none',
        () => 'refused',
      );
    t.is(await tls12('ECDHE-ECDSA-AES128-GCM-SHA256'), 'ECDHE-ECDSA-AES128-GCM-SHA256');
    t.is(await tls12('ECDHE-ECDSA-AES128-SHA'), 'refused', 'CBC-SHA1 is not offered');
    t.is(await tls12('ECDHE-ECDSA-AES256-SHA'), 'refused', 'CBC-SHA1 is not offered');

    // Plain HTTP gets nothing: not on the HTTPS port, and no HTTP port is open.
    const plain = await curl(client.netns, 'http://198.18.2.11:443/');
    t.not(plain.status, 200, 'plain HTTP on the HTTPS port is not answered');
    t.is((await curl(client.netns, 'http://198.18.2.11/')).exit, 7, 'no plain HTTP port (connection refused)');
    // curl without the certificate refuses the server (exit 60: unknown issuer); with it, the chain and the name check out.
    t.is((await curl(client.netns, url)).exit, 60, 'curl does not trust a certificate nobody gave it');

    // A browser without a session is sent to the console's login; a wrong password there is refused.
    const anonymous = await (await browser.newContext()).newPage();
    await anonymous.goto(url);
    t.is(new URL(anonymous.url()).pathname, '/login', 'the browser without a session gets the login form');
    await anonymous.fill('#f-password', 'not it');
    const wrongLogin = await Promise.all([
      anonymous.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
      anonymous.click('button[type=submit]'),
    ]);
    t.is(wrongLogin[0].status(), 401, 'a wrong password is refused');
    t.is(await anonymous.textContent('#error-form'), 'Wrong user or password.');
    // What the server answered, seen from the same network by a plain client.
    const toConsole = await curl(client.netns, url, { caFile: certFile });
    t.is(toConsole.exit, 0, 'curl verifies the certificate it was given (chain and address)');
    t.deepEqual([toConsole.status, toConsole.headers['location']], [303, '/cluster'], 'without credentials, / leads to the web console (and its login)');
    const denied = await curl(client.netns, 'https://198.18.2.11/status.json', { caFile: certFile });
    t.is(denied.status, 401, 'without the admin password the status document is refused');
    t.regex(String(denied.headers['www-authenticate']), /^Basic realm="tandem"/, 'and a script is asked for it');
    t.is((await curl(client.netns, url, { caFile: certFile, extra: ['-u', 'admin:not it'] })).status, 401, 'a wrong password is refused');
    const hc = await curl(client.netns, 'https://198.18.2.11/dana-na/healthcheck/healthcheck.cgi', { caFile: certFile });
    t.deepEqual(
      hc.status === 200 ? [hc.status, hc.body] : [hc.status],
      truth.healthCheck!.ok ? [200, 'Cluster Enabled'] : [500],
      `the health check needs no password (${hc.body}; status said ${JSON.stringify(truth.healthCheck)})`,
    );

    // The read-only status page is what a script with the password (HTTP Basic) gets at /.
    const ctx = await browser.newContext({ extraHTTPHeaders: { authorization: `Basic ${Buffer.from('admin:status page secret').toString('base64')}` } });
    const page = await ctx.newPage();
    const res = await page.goto(url);
    t.is(res?.status(), 200);
    t.regex((await page.textContent('#cluster')) ?? '', /cluster labc \(active-passive\)/);
    t.is(await page.textContent('h1 #role'), truth.role);
    for (const m of truth.cluster!.members) {
      const row = page.locator(`tr[data-member="${m.name}"]`);
      t.is(await row.count(), 1, `a row for ${m.name}`);
      t.is(await row.locator('td.role').textContent(), m.role, `${m.name}'s role`);
      t.is(await row.locator('td.state').textContent(), `enabled${m.leader ? ', leader' : ''}`, `${m.name}'s state`);
      t.is(await row.locator('td.bits').textContent(), m.hex, `${m.name}'s status bits`);
      t.regex((await row.locator('td.words').textContent()) ?? '', /enabled.*cluster service connected/);
    }
    t.is(await page.textContent('#leader'), truth.cluster!.leader);
    t.true((await page.locator('#matrix tr').count()) > 1, 'the heartbeat matrix has rows');
    t.true((await page.locator('#changes tr').count()) > 1, 'the last role changes are listed');

    // A member disabled: the page shows it after its refresh.
    const standby = truth.cluster!.members.find((m) => m.role === 'inactive')!;
    const d = await p.cli('n1', 'cluster', 'disable', standby.name, '--yes');
    t.is(d.code, 0, d.stderr);
    t.true(
      await until(async () => {
        await page.reload();
        return (await page.locator(`tr[data-member="${standby.name}"] td.state`).textContent()) === 'disabled';
      }, 8000),
      `${standby.name} shows disabled`,
    );

    // status.json and metrics answer with the same credentials.
    const json = (await (await page.goto('https://198.18.2.11/status.json'))!.json()) as { cluster: { name: string; members: { name: string }[] } };
    t.is(json.cluster.name, 'labc');
    t.deepEqual(json.cluster.members.map((m) => m.name).sort(), ['fw-a', 'fw-b']);
    const metrics = await (await page.goto('https://198.18.2.11/metrics'))!.text();
    t.regex(metrics, /^tandem_member_status_bits\{member="fw-a"\} \d+$/m);
    t.regex(metrics, /^# TYPE tandem_heartbeats_sent_total counter$/m);

    // A scraper's credential: the metrics token opens /metrics and nothing else.
    const bare = await p.cli('n1', 'metrics-token');
    t.is(bare.stdout, 'no metrics token: /metrics takes the admin password only\n', 'a bare metrics-token only shows');
    const made = await p.cli('n1', 'metrics-token', 'new');
    t.is(made.code, 0, made.stderr);
    const token = made.stdout.split('\n')[0]!;
    t.regex(token, /^[A-Za-z0-9_-]{43}$/);
    const bearer = { authorization: `Bearer ${token}` };
    const scraped = await curl(client.netns, 'https://198.18.2.11/metrics', { caFile: certFile, headers: bearer });
    t.is(scraped.status, 200);
    t.regex(scraped.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/, 'Prometheus text format');
    t.regex(scraped.body, /^tandem_member_status_bits\{member="fw-b"\} \d+$/m);
    t.is(
      (await curl(client.netns, 'https://198.18.2.11/status.json', { caFile: certFile, headers: bearer })).status,
      401,
      'the token does not open status.json',
    );
    t.is((await curl(client.netns, url, { caFile: certFile, headers: bearer })).status, 401, 'nor the page');
    t.is((await curl(client.netns, 'https://198.18.2.11/metrics', { caFile: certFile, headers: { authorization: 'Bearer not-the-token' } })).status, 401);
    t.false(readFileSync(join(p.cluster.dir, 'n1-state', 'metrics-token.json'), 'utf8').includes(token), 'the token is not kept in clear');
    t.is((await p.cli('n1', 'metrics-token')).stdout, 'a metrics token is set (its value is not kept)\n');
    t.is((await curl(client.netns, 'https://198.18.2.11/metrics', { caFile: certFile, headers: bearer })).status, 200, 'showing revokes nothing');
    const again = await p.cli('n1', 'metrics-token', 'new');
    t.is(again.code, 0, again.stderr);
    t.is((await curl(client.netns, 'https://198.18.2.11/metrics', { caFile: certFile, headers: bearer })).status, 401, 'a new token revokes the old');

    // 1000 wrong passwords from the client's address: slowed (429 after the first few) and logged by address, while
    // the right password from another address of the same network is answered at once.
    const other = '198.18.2.101';
    await run(['ip', '-n', client.netns, 'addr', 'add', `${other}/24`, 'dev', client.iface.ifname]);
    const list = join(p.cluster.dir, 'wrong-passwords.curl');
    writeFileSync(list, Array.from({ length: 1000 }, () => `url = "https://198.18.2.11/status.json"\noutput = "/dev/null"\n`).join(''));
    const flood = await run(
      ['ip', 'netns', 'exec', client.netns, tool('curl'), '-s', '--cacert', certFile, '-u', 'admin:wrong guess', '-w', '%{http_code}\\n', '--config', list],
      { timeoutMs: 120_000 },
    );
    const codes = flood.stdout.trim().split('\n');
    const count = (c: string) => codes.filter((x) => x === c).length;
    t.is(codes.length, 1000);
    t.true(count('429') >= 950, `most wrong passwords were turned away without a check (${count('401')} x 401, ${count('429')} x 429)`);
    t.is(count('200'), 0);
    const t1 = performance.now();
    const right = await curl(client.netns, 'https://198.18.2.11/status.json', {
      caFile: certFile,
      extra: ['--interface', other, '-u', 'admin:status page secret'],
    });
    t.is(right.status, 200, 'the right password from another address is not locked out');
    t.true(performance.now() - t1 < 2000, `and answered at once (${Math.round(performance.now() - t1)} ms)`);
    const logged = p.cluster.node('n1').events.filter((e) => e.event === 'admin_login_throttled');
    t.true(
      logged.length >= 1 && logged.every((e) => e['source'] === '198.18.2.100'),
      `the lockouts are logged with the source address (${JSON.stringify(logged[0])})`,
    );
    // Issue 33 item 5: the lock-out is the node's, kept across a restart of its service.
    const pid = ((await p.status('n1')) as unknown as { pid: number }).pid;
    t.is((await p.cli('n1', 'restart', '--only-this', '--yes')).code, 0);
    t.true(
      await until(async () => ((await p.status('n1')) as unknown as { pid: number } | null)?.pid !== pid && (await p.status('n1')) !== null, 20_000),
      'restarted',
    );
    const asOther = ['--interface', other, '-u', 'admin:status page secret'];
    t.true(
      await until(async () => (await curl(client.netns, 'https://198.18.2.11/status.json', { caFile: certFile, extra: asOther })).status === 200, 10_000),
      'answering again',
    );
    // The count goes on from where it was: one more wrong password locks the address out at once, where a table
    // started afresh would have five free ones to give.
    const wrongAgain = await curl(client.netns, 'https://198.18.2.11/status.json', { caFile: certFile, extra: ['-u', 'admin:wrong guess'] });
    t.is(wrongAgain.status, 401);
    const after = await curl(client.netns, 'https://198.18.2.11/status.json', { caFile: certFile, extra: ['-u', 'admin:status page secret'] });
    t.is(after.status, 429, 'the address that guessed before the restart is locked out after one more wrong password, even with the right one');

    // Issue 33 item 1: a certificate that does not name the management address is refused, naming the file and
    // the address; with --force it is served, and tandem check, tandem https and the status page warn.
    const foreign = selfSigned({ commonName: 'gw.example', addresses: ['198.18.9.9'] });
    const [fc, fk] = [join(p.cluster.dir, 'foreign.crt'), join(p.cluster.dir, 'foreign.key')];
    writeFileSync(fc, foreign.certPem);
    writeFileSync(fk, foreign.keyPem, { mode: 0o600 });
    const refusedCert = await p.cli('n1', 'https', 'install', fc, fk);
    t.not(refusedCert.code, 0);
    t.regex(
      refusedCert.stderr,
      new RegExp(
        `${fc.replace(/[.]/g, '\\.')}: it does not name the management address 198\\.18\\.2\\.11 \\(it names: DNS:gw\\.example, IP Address:198\\.18\\.9\\.9\\)`,
      ),
    );
    t.is(
      (await curl(client.netns, 'https://198.18.2.11/dana-na/healthcheck/healthcheck.cgi', { caFile: certFile, extra: ['--interface', other] })).exit,
      0,
      'the node still serves the certificate it had',
    );
    const forced = await p.cli('n1', 'https', 'install', fc, fk, '--force');
    t.is(forced.code, 0, forced.stderr);
    t.regex(forced.stdout, /warning: it does not name 198\.18\.2\.11/);
    const check = await tandem(['check', '--config', p.cluster.node('n1').config]);
    t.regex(check.stdout + check.stderr, /warning: management: the HTTPS certificate .*cert\.pem does not name 198\.18\.2\.11/);
    const pageNow = await curl(client.netns, 'https://198.18.2.11/', { extra: ['-k', '--interface', other, '-u', 'admin:status page secret'] });
    t.regex(pageNow.body, /warning: the HTTPS certificate \(installed with --force\) does not name 198\.18\.2\.11/);
  },
);
