import test, { type ExecutionContext } from 'ava';
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

async function standbyHasFlows(cluster: LabCluster, standby: string, n: number): Promise<boolean> {
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline) {
    const s = await cluster.sync(standby);
    if (s.status === 'in-sync' && (s.providers['conntrack']?.count ?? 0) >= n) return true;
    await sleep(100);
  }
  return false;
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
