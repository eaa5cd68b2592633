import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { askControl } from '../../src/api/control-socket.js';
import { LabCluster, TcpProbe, type ProbeReport } from '../../src/lab/cluster.js';
import type { Lab } from '../../src/lab/lab.js';
import { invalidDrops, statefulGateways } from '../../src/lab/firewall.js';
import { run } from '../../src/lab/run.js';
import { board, eventually, labFor, sleep } from '../helpers/lab.js';

const CONNS = 50;

async function statefulCluster(t: ExecutionContext, sync: { enabled?: boolean; timeoutMs?: number } = {}, passwords?: Record<string, string>) {
  const lab = await labFor(t);
  await statefulGateways(lab);
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800 }, sync, ...(passwords ? { passwords } : {}) });
  t.teardown(async () => {
    await cluster.stop();
    if (!t.passed) t.log(`logs kept in ${cluster.dir}`);
    else cluster.cleanup();
  });
  const roles = await cluster.settled(15_000);
  return { lab, cluster, ...roles };
}

async function probeFor(t: ExecutionContext, lab: Lab): Promise<TcpProbe> {
  const probe = await TcpProbe.start(lab, { connections: CONNS, intervalMs: 10 });
  t.teardown(() => probe.stop().catch(() => undefined));
  t.true(await eventually(() => probe.allFlowing(CONNS), 10_000), `all ${CONNS} connections flow before the failure`);
  return probe;
}

/** Every connection kept going: no error, every byte sent came back in order, echoes after the failure. */
function survivors(r: ProbeReport, failedAt: number) {
  return r.conns.filter((c) => c.error === null && c.echoed === c.sent && c.lastEchoAt > failedAt + 500);
}

/** Polls an asynchronous check until it holds or `ms` pass. */
async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(100);
  }
  return check();
}

async function standbyHasFlows(cluster: LabCluster, standby: string, n: number): Promise<boolean> {
  return until(async () => {
    const s = await cluster.sync(standby).catch(() => undefined);
    return s?.status === 'in-sync' && (s.providers['conntrack']?.count ?? 0) >= n;
  }, 8000);
}

test.serial('power-off of the active node: all 50 TCP connections continue without reset or lost byte', async (t) => {
  const { lab, cluster, active, inactive } = await statefulCluster(t);
  const probe = await probeFor(t, lab);
  t.true(await standbyHasFlows(cluster, inactive, CONNS), 'the standby holds every flow before the failure');
  const failedAt = Date.now();
  await lab.powerOff(active);
  t.true(await eventually(() => cluster.events(inactive, 'takeover').length > 0, 5000), 'the standby took over');
  await sleep(2500);
  const r = await probe.stop();
  const ok = survivors(r, failedAt);
  const stall = Math.max(...ok.map((c) => c.maxGapMs));
  t.log(`survived ${ok.length}/${CONNS}; longest echo gap ${stall} ms; invalid drops on the new active ${await invalidDrops(lab, inactive)}`);
  t.is(ok.length, CONNS, JSON.stringify(r.conns.filter((c) => !ok.includes(c)).slice(0, 3)));
  const commit = cluster.events(inactive, 'state_committed')[0];
  t.truthy(commit, 'state committed before the claim');
  const order = cluster.node(inactive).events.map((e) => e.event);
  t.true(order.indexOf('state_committed') < order.indexOf('takeover'), 'commit, then takeover');
});

test.serial('kill -9 of the active daemon (its worker): all 50 TCP connections continue', async (t) => {
  const { lab, cluster, active, inactive } = await statefulCluster(t);
  const probe = await probeFor(t, lab);
  t.true(await standbyHasFlows(cluster, inactive, CONNS));
  const pid = cluster.node(active).process.pid!;
  const worker = Number((await run(['cat', `/proc/${pid}/task/${pid}/children`])).stdout.trim());
  const failedAt = Date.now();
  process.kill(worker, 'SIGKILL');
  t.true(await eventually(() => cluster.events(inactive, 'takeover').length > 0, 5000), 'the standby took over');
  await sleep(2500);
  const r = await probe.stop();
  const ok = survivors(r, failedAt);
  t.log(`survived ${ok.length}/${CONNS}; longest echo gap ${Math.max(...ok.map((c) => c.maxGapMs))} ms`);
  t.is(ok.length, CONNS);
});

test.serial('with sync disabled the same power-off breaks the connections (the sync does the work)', async (t) => {
  const { lab, cluster, active, inactive } = await statefulCluster(t, { enabled: false });
  const probe = await probeFor(t, lab);
  const failedAt = Date.now();
  await lab.powerOff(active);
  t.true(await eventually(() => cluster.events(inactive, 'takeover').length > 0, 5000));
  await sleep(2500);
  const r = await probe.stop();
  const ok = survivors(r, failedAt);
  const drops = await invalidDrops(lab, inactive);
  t.log(`survived ${ok.length}/${CONNS}; invalid drops on the new active ${drops}`);
  t.is(ok.length, 0);
  t.true(drops > 0, 'mid-stream packets met a node without their state');
});

test.serial('sync link cut for 30 s under traffic: no failover, timeout logged, resync after repair, then a failover keeps every connection', async (t) => {
  const { lab, cluster, active, inactive } = await statefulCluster(t);
  const probe = await probeFor(t, lab);
  t.true(await standbyHasFlows(cluster, inactive, CONNS));
  // The count that decides who is active while the sync link is down: the flows each node carries.
  t.true(await until(async () => (await cluster.status(active)).connections >= CONNS, 3000), 'the active node carries the flows');
  t.is((await cluster.status(inactive)).connections, 0, 'a standby carries none, though its kernel holds the copies');
  await lab.cutLink(active, 'eth3');
  t.true(await eventually(() => cluster.events(inactive, 'hasync_connection_failed_timeout').length > 0, 6000), 'the standby logged the timeout');
  t.true(await until(async () => (await cluster.sync(inactive)).status === 'out-of-sync', 2000), 'status says out of sync');
  // New connections while the standby cannot hear about them: only a resync can bring them over.
  const late = await TcpProbe.start(lab, { port: 7008, connections: 10, intervalMs: 10 });
  t.teardown(() => late.stop().catch(() => undefined));
  t.true(await eventually(() => late.allFlowing(10), 10_000));
  await sleep(27_000);
  t.deepEqual(
    cluster.events(inactive, 'role_change').map((e) => e['to']),
    ['inactive'],
    'no failover while the sync link is down',
  );
  t.deepEqual((await cluster.status(active)).role, 'active');
  const peerView = (await cluster.status(active)).peer;
  t.is(peerView?.syncStatus, 'out-of-sync', 'the standby says in its heartbeats that it is out of sync');
  await lab.restoreLink(active, 'eth3');
  t.true(await standbyHasFlows(cluster, inactive, CONNS + 10), 'the standby caught up after the repair');
  const resumed = cluster.events(inactive, 'sync_resumed').length + cluster.events(inactive, 'sync_transfer_applied').length;
  t.true(resumed >= 2, 'it resynchronised by itself');
  const failedAt = Date.now();
  await lab.powerOff(active);
  t.true(await eventually(() => cluster.events(inactive, 'takeover').length > 0, 5000));
  await sleep(2500);
  const ok = survivors(await probe.stop(), failedAt).length + survivors(await late.stop(), failedAt).length;
  t.is(ok, CONNS + 10);
});

test.serial(
  'an idle pair whose sync network drops everything for 5 s: the channel is back within a connect deadline plus the longest backoff, in sync',
  async (t) => {
    const { lab, cluster, active, inactive } = await statefulCluster(t);
    t.true(await until(async () => (await cluster.sync(inactive)).status === 'in-sync', 5000));
    // Silent loss (the switch drops, no carrier change): a connect made during it waits on SYN retransmits.
    await lab.partition('sync', [active], [inactive]);
    t.true(await until(async () => (await cluster.sync(inactive)).channel === 'down', 6000), 'the silence was noticed');
    await sleep(5000);
    await lab.heal();
    const healed = Date.now();
    // docs/sync.md: each dial gets min(sync.timeoutMs, 3 s) to connect; redials back off to 2 s.
    t.true(
      await until(async () => (await cluster.sync(inactive)).channel === 'up' && (await cluster.sync(active)).channel === 'up', 5500),
      'channel up again on both',
    );
    t.log(`channel back ${Date.now() - healed} ms after the heal`);
    t.true(await until(async () => (await cluster.sync(inactive)).status === 'in-sync', 2000), 'the standby is in sync again');
    t.deepEqual(
      cluster
        .events(inactive, 'role_change')
        .map((e) => `${String(e['to'])} ${String(e['reason'])}`)
        .slice(1),
      [],
      'no role change',
    );
  },
);

test.serial('a restarted standby asks for and receives the entire state; a failover then keeps every connection', async (t) => {
  const { lab, cluster, active, inactive } = await statefulCluster(t);
  const probe = await probeFor(t, lab);
  t.true(await standbyHasFlows(cluster, inactive, CONNS));
  const node = cluster.node(inactive);
  node.process.kill('SIGTERM');
  t.true(await eventually(() => node.process.exitCode !== null || node.process.signalCode !== null, 8000), 'the standby stopped');
  // Its kernel forgets everything too, so only the transfer can bring the flows back.
  await run(['ip', 'netns', 'exec', node.netns, 'conntrack', '-F']).catch(() => undefined);
  const transfersBefore = cluster.events(inactive, 'sync_transfer_applied').length;
  cluster.restart(inactive);
  t.true(await eventually(() => cluster.events(inactive, 'sync_transfer_applied').length > transfersBefore, 10_000), 'a full transfer arrived');
  const applied = cluster.events(inactive, 'sync_transfer_applied').at(-1)!;
  t.true(((applied['entries'] as Record<string, number>)['conntrack'] ?? 0) >= CONNS, JSON.stringify(applied));
  t.true(await standbyHasFlows(cluster, inactive, CONNS));
  const failedAt = Date.now();
  await lab.powerOff(active);
  t.true(await eventually(() => cluster.events(inactive, 'takeover').length > 0, 5000));
  await sleep(2500);
  t.is(survivors(await probe.stop(), failedAt).length, CONNS);
});

test.serial('a wrong password on one node: no state crosses, both nodes name the reason', async (t) => {
  const lab = await labFor(t);
  await statefulGateways(lab);
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800 }, passwords: { n2: 'not-the-cluster-password' } });
  t.teardown(async () => {
    await cluster.stop();
    cluster.cleanup();
  });
  const reason = async (n: string) => {
    try {
      return (await cluster.sync(n)).peerUnreachable;
    } catch {
      return undefined;
    }
  };
  t.true(
    await until(async () => (await reason('n1')) === 'wrong_password' && (await reason('n2')) === 'wrong_password', 10_000),
    `status names the reason on both nodes (n1: ${await reason('n1')}, n2: ${await reason('n2')})`,
  );
  for (const n of ['n1', 'n2']) {
    const s = await cluster.sync(n);
    t.is(s.channel, 'down');
    t.is(s.lastFullTransfer, null, `${n}: no transfer`);
    t.is(
      Object.values(s.providers).reduce((a, p) => a + p.applied, 0),
      0,
      `${n}: nothing applied`,
    );
  }
  t.is(cluster.events('n1', 'sync_channel_up').length + cluster.events('n2', 'sync_channel_up').length, 0);
});

test.serial('stores: written on the active node only, synchronised to the standby; the configuration persists, sessions come back by transfer', async (t) => {
  const { cluster, active, inactive } = await statefulCluster(t);
  const ask = (node: string, req: Record<string, unknown>) => askControl(cluster.node(node).socket, req as never);
  await t.throwsAsync(ask(inactive, { cmd: 'store-set', store: 'sessions', key: 'u1', value: 'x' }), {
    message: /this node is inactive: write on the active node/,
  });
  await ask(active, { cmd: 'store-set', store: 'sessions', key: 'alice', value: { cookie: 'c1' } });
  await ask(active, { cmd: 'store-set', store: 'config', key: 'hostname', value: 'gw' });
  t.true(
    await until(async () => JSON.stringify(await ask(inactive, { cmd: 'store-get', store: 'sessions', key: 'alice' })) === '{"cookie":"c1"}', 5000),
    'the session reached the standby',
  );
  t.is(await ask(inactive, { cmd: 'store-get', store: 'config', key: 'hostname' }), 'gw');
  const file = JSON.parse(readFileSync(join(cluster.dir, `${inactive}-state`, 'system-state.json'), 'utf8')) as Record<string, unknown>;
  t.is(file['hostname'], 'gw', "the configuration is on the standby's disk");
  const st = await cluster.sync(inactive);
  t.true(st.providers['config']!.persistent);
  t.false(st.providers['sessions']!.persistent);
});

test.serial('a standby with a stale copy still takes over from a dead peer and logs how stale it was', async (t) => {
  const { lab, cluster, active, inactive } = await statefulCluster(t);
  const probe = await probeFor(t, lab);
  t.true(await standbyHasFlows(cluster, inactive, CONNS));
  await lab.cutLink(active, 'eth3');
  t.true(await eventually(() => cluster.events(inactive, 'hasync_connection_failed_timeout').length > 0, 6000));
  // Flows the standby never hears of while the sync link is down.
  const late = await TcpProbe.start(lab, { port: 7008, connections: 10, intervalMs: 10 });
  t.teardown(() => late.stop().catch(() => undefined));
  t.true(await eventually(() => late.allFlowing(10), 10_000));
  await sleep(500);
  const failedAt = Date.now();
  await lab.powerOff(active);
  t.true(await eventually(() => cluster.events(inactive, 'takeover').length > 0, 5000), 'an old copy beats none: it took over');
  const commit = cluster.events(inactive, 'state_committed').at(-1)!;
  t.log(JSON.stringify(commit));
  t.false(commit['inSync'] as boolean);
  t.true(Number(commit['behindBy']) > 0, 'it says how many updates it missed');
  await sleep(2500);
  t.is(survivors(await probe.stop(), failedAt).length, CONNS, 'the flows it knew survive');
  t.is(survivors(await late.stop(), failedAt).length, 0, 'the flows it never heard of do not');
});
