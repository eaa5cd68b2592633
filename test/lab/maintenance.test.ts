import test from 'ava';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpProbe } from '../../src/lab/cluster.js';
import { statefulGateways } from '../../src/lab/firewall.js';
import { UdpProbe } from '../../src/lab/udp-probe.js';
import { form, managedPair } from '../helpers/managed.js';
import { eventually, until } from '../helpers/lab.js';

const CONNS = 50;

/**
 * Seed 002's database update in the lab: `tandem update` on the active member while the client runs 50 TCP
 * connections (every byte echoed and checked) through a stateful firewall and a UDP datagram every 1 ms.
 * First the apply command fails on the inactive member: the sequence stops there and the active member keeps
 * serving; then it succeeds: both apply it, two planned failovers, nothing lost.
 */
test.serial('tandem update: a failing apply on the inactive member stops the sequence; then both apply with two planned failovers, nothing lost', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdmmnt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const applied = join(dir, 'applied.log');
  const apply = join(dir, 'apply-update');
  // What an appliance's update command does, reduced: check the file, activate it, say so; or fail when told to.
  writeFileSync(
    apply,
    `#!/bin/sh\nif [ -e ${dir}/fail-on-$TANDEM_NODE ]; then echo "signature database corrupt: $1" >&2; exit 3; fi\necho "$TANDEM_NODE $TANDEM_ROLE $2 $(sha256sum "$1" | cut -c1-64)" >> ${applied}\necho activated\n`,
  );
  chmodSync(apply, 0o755);
  const p = await managedPair(t, true, { configFor: () => ({ maintenance: { updateCommand: apply, timeoutMs: 10_000 } }) });
  await statefulGateways(p.lab);
  await form(t, p, 'active-passive');
  const names = { n1: 'fw-a', n2: 'fw-b' } as Record<string, string>;
  const roleOf = async (n: string) => (await p.status(n))?.role;
  t.true(await until(async () => (await roleOf('n1')) === 'active' || (await roleOf('n2')) === 'active', 10_000));
  const active = (await roleOf('n1')) === 'active' ? 'n1' : 'n2';
  const inactive = active === 'n1' ? 'n2' : 'n1';

  const tcp = await TcpProbe.start(p.lab, { connections: CONNS, intervalMs: 10 });
  t.teardown(() => tcp.stop().catch(() => undefined));
  const udp = await UdpProbe.start(p.lab, { intervalMs: 1 });
  t.teardown(() => udp.stop().catch(() => undefined));
  t.true(await eventually(() => tcp.allFlowing(CONNS), 10_000), 'all 50 connections flow');
  t.true(
    await until(
      async () =>
        (await p.cluster.sync(inactive).catch(() => null))?.status === 'in-sync' &&
        ((await p.cluster.sync(inactive)).providers['conntrack']?.count ?? 0) >= CONNS,
      10_000,
    ),
    'the standby holds the flows',
  );

  const db = join(dir, 'signatures-2026.11.22.db');
  const content = randomBytes(5 * 1024 * 1024 + 123); // over one 4 MiB chunk
  writeFileSync(db, content);
  const sha = createHash('sha256').update(content).digest('hex');

  // 1. The inactive member's command fails: stopped at that step, the active member still serving, no failover.
  writeFileSync(join(dir, `fail-on-${names[inactive]}`), '');
  const changesBefore = p.cluster.node(active).events.filter((e) => e.event === 'role_change').length;
  const failed = await p.cli(active, 'update', db);
  t.is(failed.code, 1, failed.stdout + failed.stderr);
  t.regex(failed.stderr, new RegExp(`stopped at step "apply on ${names[inactive]}": .*failed \\(exit 3\\): signature database corrupt`));
  t.regex(failed.stderr, new RegExp(`the cluster is serving: ${names[active]} is active`));
  t.is(await roleOf(active), 'active');
  t.is(p.cluster.node(active).events.filter((e) => e.event === 'role_change').length, changesBefore, 'no failover happened');
  t.true(p.cluster.node(inactive).events.some((e) => e.event === 'maintenance_apply_failed' && e['node'] === names[inactive]));
  t.true(
    await eventually(() => p.cluster.node(active).events.some((e) => e.event === 'maintenance_stopped' && String(e['step']).startsWith('apply on')), 3000),
    'the stop is logged where it ran',
  );
  t.false(existsSync(applied), 'nothing was applied anywhere');
  t.true(tcp.allFlowing(CONNS), 'the connections still flow');

  // 2. Fixed: the whole sequence.
  unlinkSync(join(dir, `fail-on-${names[inactive]}`));
  const ok = await p.cli(active, 'update', db);
  t.is(ok.code, 0, ok.stdout + ok.stderr);
  for (const line of [
    new RegExp(`1/5 sent ${content.length} bytes`),
    new RegExp(`2/5 ${names[inactive]} applied it`),
    new RegExp(`3/5 planned failover: ${names[inactive]} is active`),
    new RegExp(`4/5 ${names[active]} applied it`),
    new RegExp(`5/5 failed back: ${names[active]} is active`),
  ])
    t.regex(ok.stdout, line);
  t.deepEqual(
    readFileSync(applied, 'utf8').trim().split('\n'),
    [`${names[inactive]} inactive update ${sha}`, `${names[active]} inactive update ${sha}`],
    'each applied the same bytes while inactive, the inactive member first',
  );
  t.is(await roleOf(active), 'active', 'failed back');
  t.is(await roleOf(inactive), 'inactive');
  const steps = (n: string) =>
    p.cluster
      .node(n)
      .events.filter((e) => e.event === 'maintenance_step')
      .map((e) => e['step']);
  t.true(
    ['file sent', 'applied'].every((s) => steps(active).includes(s)),
    JSON.stringify(steps(active)),
  );
  t.true(
    ['file received', 'applied', 'fail back'].every((s) => steps(inactive).includes(s)),
    JSON.stringify(steps(inactive)),
  );
  t.true(p.cluster.node(active).events.some((e) => e.event === 'maintenance_done'));
  const reasons = (n: string) =>
    p.cluster
      .node(n)
      .events.filter((e) => e.event === 'role_change')
      .slice(-2)
      .map((e) => e['reason']);
  t.deepEqual(reasons(active), ['planned_failover', 'peer_yielded']);
  t.deepEqual(reasons(inactive), ['peer_yielded', 'planned_failover']);

  await new Promise((r) => setTimeout(r, 1000)); // traffic after the fail-back, too
  const r = await tcp.stop();
  const broken = r.conns.filter((c) => c.error !== null || c.echoed !== c.sent);
  t.deepEqual(
    broken.map((c) => `${c.id}: ${c.error ?? `${c.echoed}/${c.sent} echoed`}`),
    [],
    'no connection broken, no byte lost',
  );
  const u = await udp.stop();
  t.true(u.sent > 1000, `${u.sent} datagrams sent`);
  t.deepEqual(u.lost, [], `UDP datagrams lost of ${u.sent}`);
  t.log(
    `update: ${ok.stdout.trim().split('\n').at(-1)}; TCP ${r.conns.length} connections, longest gap ${Math.max(...r.conns.map((c) => c.maxGapMs))} ms; UDP ${u.sent} sent, ${u.echoed} echoed, longest gap ${u.maxGapMs.toFixed(1)} ms`,
  );
});

test.serial('tandem upgrade: each member restarts on the new software in turn, the state follows, no connection broken', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdmupg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const installed = join(dir, 'installed.log');
  const install = join(dir, 'install-image');
  // An image installer, reduced: unpack (here: record) the image; tandem restarts the service afterwards.
  writeFileSync(install, `#!/bin/sh\necho "$TANDEM_NODE $2 $(sha256sum "$1" | cut -c1-16)" >> ${installed}\n`);
  chmodSync(install, 0o755);
  const p = await managedPair(t, true, { configFor: () => ({ maintenance: { upgradeCommand: install } }) });
  await statefulGateways(p.lab);
  await form(t, p, 'active-passive');
  const active = (await p.status('n1'))?.role === 'active' ? 'n1' : 'n2';
  const inactive = active === 'n1' ? 'n2' : 'n1';
  const pids = { [active]: (await p.status(active))!.pid, [inactive]: (await p.status(inactive))!.pid } as Record<string, number>;
  const tcp = await TcpProbe.start(p.lab, { connections: 20, intervalMs: 10 });
  t.teardown(() => tcp.stop().catch(() => undefined));
  t.true(await eventually(() => tcp.allFlowing(20), 10_000));
  t.true(await until(async () => ((await p.cluster.sync(inactive).catch(() => null))?.providers['conntrack']?.count ?? 0) >= 20, 10_000));
  const image = join(dir, 'tandem-0.1.1-x64.tar.gz');
  writeFileSync(image, randomBytes(300_000));
  const up = await p.cli(active, 'upgrade', image);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.regex(up.stdout, /2\/5 fw-[ab] applied it in \d+ ms; its service restarts/);
  t.regex(up.stdout, /4\/5 fw-[ab] applied it in \d+ ms; its service restarts/);
  t.is(readFileSync(installed, 'utf8').trim().split('\n').length, 2);
  for (const n of [active, inactive]) t.not((await p.status(n))!.pid, pids[n], `${n} runs a new worker`);
  t.is((await p.status(active))?.role, 'active', 'failed back');
  await new Promise((r) => setTimeout(r, 1000));
  const r = await tcp.stop();
  t.deepEqual(
    r.conns.filter((c) => c.error !== null || c.echoed !== c.sent).map((c) => `${c.id}: ${c.error ?? 'bytes missing'}`),
    [],
    'no connection broken',
  );
  t.log(up.stdout.trim().split('\n').at(-1));
});
