/**
 * Issue 34: the cluster set up and run from the browser, on two lab nodes in factory state: log in on each, create
 * on A, add B, join from B's console (a wrong password first), disable, enable, drain, undrain, a property, and the
 * restart with seed 000's warning. Chromium on the management network; a screenshot of each page in
 * .test-output/web-console/.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { disableWarning, joinWarning, RESTART_CLUSTER_WARNING, type JoinPreview } from '../../src/api/cluster-warnings.js';
import { askControl } from '../../src/api/control-socket.js';
import { labBrowser, logIn, nodeCertificate, screenshots } from '../helpers/browser.js';
import { until } from '../helpers/lab.js';
import { managedPair, SYNC_ADDR, type AnyStatus } from '../helpers/managed.js';

const A = 'https://198.18.2.11';
const B = 'https://198.18.2.12';
const ADMIN = 'web console secret';
const CLUSTER_PW = 'lab cluster password';

/** Submits the form `selector` and waits for the page it leads to. */
async function submit(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForLoadState('load'), page.waitForNavigation(), page.click(`${selector} button[type=submit]`)]);
}

test.serial('two factory-state nodes made a cluster and run from the web console', async (t) => {
  const p = await managedPair(t, true, { timers: { initialSilenceMs: 800, heartbeatIntervalMs: 100, failoverTimeMs: 1500 } });
  const shot = screenshots('web-console');
  const certs = [await nodeCertificate(t, p.cluster, 'n1'), await nodeCertificate(t, p.cluster, 'n2')];
  const browser = await labBrowser(t, p.lab, p.cluster.dir, certs);
  const adminPw = join(p.cluster.dir, 'admin-password');
  writeFileSync(adminPw, `${ADMIN}\n`, { mode: 0o600 });
  for (const n of ['n1', 'n2']) t.is((await p.cli(n, 'admin-password', '--password-file', adminPw)).code, 0);
  t.true(await until(async () => (await p.status('n1'))?.standalone === true && (await p.status('n2'))?.standalone === true, 10_000), 'both start standalone');

  // A: log in, create the cluster.
  const a = await (await browser.newContext()).newPage();
  await a.goto(`${A}/`);
  t.is(new URL(a.url()).pathname, '/login');
  await shot(a, 'login');
  await logIn(a, A, ADMIN);
  t.regex((await a.textContent('main')) ?? '', /This node is in no cluster/);
  await shot(a, 'a-create');
  await a.fill('#f-name', 'labc');
  await a.fill('#f-password', CLUSTER_PW);
  await a.fill('#f-password2', 'not the same');
  await a.fill('#f-node', 'fw-a');
  await submit(a, '#create');
  t.is(await a.textContent('#error-password2'), 'the two cluster passwords differ: nothing was changed', 'the mismatch is shown beside the field');
  await a.fill('#f-password', CLUSTER_PW);
  await a.fill('#f-password2', CLUSTER_PW);
  await a.fill('#f-node', 'fw a');
  await submit(a, '#create');
  t.regex((await a.textContent('#error-node')) ?? '', /^node name "fw a": 1 to 16 letters/, "the daemon's refusal, beside the field");
  t.is((await p.status('n1'))?.standalone, true, 'nothing was changed');
  await a.fill('#f-password', CLUSTER_PW);
  await a.fill('#f-password2', CLUSTER_PW);
  await a.fill('#f-node', 'fw-a');
  await submit(a, '#create');
  t.regex((await a.textContent('#flash')) ?? '', /cluster labc created \(ID \d+\), this node is member fw-a/);
  t.true(await until(async () => (await p.status('n1'))?.cluster?.members.length === 1, 15_000), 'fw-a restarted as a member');

  // A: add fw-b (the session outlived the restart).
  await a.goto(`${A}/cluster`);
  t.is(new URL(a.url()).pathname, '/cluster', 'still logged in after the service restarted');
  await a.fill('#f-name', 'fw-b');
  await a.fill('#f-address', SYNC_ADDR.n2);
  await submit(a, '#add-member');
  t.regex((await a.textContent('#flash')) ?? '', /fw-b added \(members: fw-a, fw-b\)/);
  await shot(a, 'a-added');

  // B: log in, join; a wrong password first.
  const b = await (await browser.newContext()).newPage();
  await logIn(b, B, ADMIN);
  await b.goto(`${B}/cluster/join`);
  await shot(b, 'b-join');
  await b.fill('#f-member', SYNC_ADDR.n1);
  await submit(b, '#join');
  const here = (await askControl(p.sock('n2'), { cmd: 'cluster', op: 'join-preview' })) as JoinPreview;
  t.is(await b.textContent('#warning'), `WARNING: ${joinWarning(SYNC_ADDR.n1, here)}`, 'the words the CLI and the serial console use');
  await shot(b, 'b-join-warning');
  await b.fill('#f-password', 'wrong password');
  await submit(b, '#join-confirm');
  t.regex((await b.textContent('#error-password')) ?? '', /join refused by 198\.19\.255\.11 \(wrong_password\)/);
  t.is((await p.status('n2'))?.standalone, true, 'a wrong password changes nothing');
  await shot(b, 'b-wrong-password');
  await b.fill('#f-password', CLUSTER_PW);
  await submit(b, '#join-confirm');
  t.regex((await b.textContent('#flash')) ?? '', /joined cluster labc as fw-b/);
  const good = (s: AnyStatus | null) =>
    s?.cluster?.members.length === 2 && s.cluster.members.every((m) => m.unreachable === null) && 'role' in s.sync && s.sync.status === 'in-sync';
  t.true(await until(async () => good(await p.status('n1')) && good(await p.status('n2')), 30_000), 'both members see each other, in sync');

  // Both shown enabled and reachable, with the bits the CLI shows.
  const truth = (await p.status('n1'))!;
  await a.goto(`${A}/cluster`);
  for (const m of truth.cluster!.members) {
    const row = a.locator(`tr[data-member="${m.name}"]`);
    t.is(await row.locator('td.state').textContent(), `enabled${m.leader ? ', leader' : ''}`, `${m.name} enabled`);
    t.is(await row.locator('td.unreachable').textContent(), '', `${m.name} reachable`);
    t.is(await row.locator('td.bits').textContent(), m.hex, `${m.name}'s bits as the CLI has them`);
  }
  await shot(a, 'a-status');

  // Disable the active member from A's page (the warning first): the other takes over.
  const active = truth.cluster!.members.find((m) => m.role === 'active')!;
  const other = truth.cluster!.members.find((m) => m.name !== active.name)!;
  await a.click(`tr[data-member="${active.name}"] form[action="/cluster/disable"] button`);
  await a.waitForSelector('#warning');
  t.is(await a.textContent('#warning'), `WARNING: ${disableWarning(active.name)}`);
  await shot(a, 'a-disable-warning');
  await submit(a, '#confirm');
  t.regex((await a.textContent('#flash')) ?? '', new RegExp(`${active.name}: disabled`));
  const nodeOf = (name: string) => (name === 'fw-a' ? 'n1' : 'n2');
  t.true(await until(async () => (await p.status(nodeOf(other.name)))?.role === 'active', 15_000), `${other.name} took over`);
  await a.click(`tr[data-member="${active.name}"] form[action="/cluster/enable"] button`);
  await a.waitForSelector('#flash');
  t.true(await until(async () => (await p.status('n1'))?.cluster?.members.every((m) => m.enabled) === true, 10_000), 'enabled again');

  // Drain and undrain the other.
  await a.goto(`${A}/cluster`);
  await a.click(`tr[data-member="${other.name}"] form[action="/cluster/drain"] button`);
  await a.waitForSelector('#flash');
  t.true(await until(async () => (await p.status('n1'))?.cluster?.members.find((m) => m.name === other.name)?.draining === true, 10_000), 'draining');
  t.true(
    await until(async () => /^draining/.test((await a.textContent(`tr[data-member="${other.name}"] td.state`)) ?? ''), 5000),
    'the page shows it (its script refreshes the table without a reload)',
  );
  await shot(a, 'a-draining');
  await a.click(`tr[data-member="${other.name}"] form[action="/cluster/undrain"] button`);
  await a.waitForSelector('#flash');
  t.true(await until(async () => (await p.status('n1'))?.cluster?.members.find((m) => m.name === other.name)?.draining === false, 10_000), 'drain ended');

  // A change posted without the page's CSRF token, with the session's own cookie and origin (what a forged
  // request from a script that got hold of the cookie but not the page would do): refused, logged, not made.
  // From inside the console's own page (its origin, its cookie), but without the form's token.
  const forged = await a.evaluate(
    async (node) =>
      (await fetch('/cluster/disable', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `node=${node}&confirm=yes` }))
        .status,
    other.name,
  );
  t.is(forged, 403);
  t.true(
    await until(async () => p.cluster.node('n1').events.some((e) => e.event === 'web_request_refused' && e['reason'] === 'csrf_missing'), 5000),
    'the daemon logged the refusal',
  );
  t.false((await p.status('n1'))?.cluster?.members.find((m) => m.name === other.name)?.enabled === false, 'and made no change');

  // A property.
  await a.goto(`${A}/cluster/properties`);
  const revision = Number(await a.textContent('#revision'));
  t.is(await a.inputValue('#f-logSync'), 'on', 'log sync is on by default');
  await a.selectOption('#f-logSync', 'off');
  await submit(a, '#properties');
  t.regex((await a.textContent('#flash')) ?? '', /saved: logSync=off/);
  t.is(Number(await a.textContent('#revision')), revision + 1);
  t.true(await until(async () => /logSync\s+off/.test((await p.cli('n2', 'cluster', 'properties')).stdout), 5000), 'the other member has it');
  await a.fill('#f-name', 'lab c');
  await submit(a, '#properties');
  t.regex((await a.textContent('#error-name')) ?? '', /^cluster name "lab c": 1 to 32 letters/, 'a bad value is refused beside its field');
  await shot(a, 'a-properties');

  // The event log: this member's, and the other member's asked of its cluster service.
  await a.goto(`${A}/events?severity=notice`);
  t.true((await a.locator('#events tr[data-event="cluster_operation"]').count()) >= 1, "this member's cluster operations, at notice");
  t.is(await a.locator('#events tr[data-event="worker_started"]').count(), 0, 'info events are filtered out at notice');
  await a.selectOption('#f-member', 'fw-b');
  await a.selectOption('#f-severity', 'info');
  await submit(a, '#filter');
  await shot(a, 'a-events-fw-b');
  const ofB = await a.locator('#events tr[data-event]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event')));
  t.true(
    ofB.includes('heartbeats_started'),
    `fw-b's own events, asked of its cluster service (${ofB.join(', ')}) ${(await a.textContent('#error-form').catch(() => '')) ?? ''}`,
  );

  // The other pages.
  for (const [path, name] of [
    ['/changes', 'changes'],
    ['/heartbeats', 'heartbeats'],
    ['/certificate', 'certificate'],
    ['/metrics-token', 'metrics-token'],
  ] as const) {
    const r = await a.goto(`${A}${path}`);
    t.is(r?.status(), 200, path);
    await shot(a, `a-${name}`);
  }
  await a.goto(`${A}/changes`);
  t.true((await a.locator('#changes li .headline').count()) >= 1, 'the takeover after the disable is explained');
  t.regex((await a.textContent('#changes')) ?? '', /active|inactive/);

  // Restart, with seed 000's rule said first: every enabled member restarts.
  const pids = [(await p.status('n1')) as unknown as { pid: number }, (await p.status('n2')) as unknown as { pid: number }].map((s) => s.pid);
  await a.goto(`${A}/cluster`);
  await a.click('form[action="/cluster/restart"] button');
  await a.waitForSelector('#warning');
  t.is(await a.textContent('#warning'), `WARNING: ${RESTART_CLUSTER_WARNING}`);
  await shot(a, 'a-restart-warning');
  await submit(a, '#confirm');
  t.true(
    await until(async () => {
      const now = [(await p.status('n1')) as unknown as { pid: number } | null, (await p.status('n2')) as unknown as { pid: number } | null];
      return now.every((s, i) => s !== null && s.pid !== pids[i]);
    }, 30_000),
    'both members restarted their service',
  );

  // Every change went through the one dispatcher, from the web, with the address and the session.
  const ops = p.cluster
    .node('n1')
    .events.filter((e) => e.event === 'cluster_operation')
    .map((e) => [e['op'], e['via'], e['source']]);
  for (const op of ['create', 'add-member', 'disable', 'enable', 'drain', 'undrain', 'properties', 'restart'])
    t.true(
      ops.some(([o, via, src]) => o === op && via === 'web' && src === '198.18.2.100'),
      `${op} logged as from the web at 198.18.2.100 (${JSON.stringify(ops)})`,
    );
  t.true(
    p.cluster.node('n2').events.some((e) => e.event === 'cluster_operation' && e['op'] === 'join' && e['via'] === 'web'),
    "B's join too",
  );
});
