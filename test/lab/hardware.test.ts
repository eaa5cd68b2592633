import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LabCluster } from '../../src/lab/cluster.js';
import { run } from '../../src/lab/run.js';
import { BOARD_DIR, resolveBoard } from '../../src/board/board-file.js';
import { RelayWire } from '../../src/lab/relay-wire.js';
import { simDevices, SIM_LIB, type SimDevices } from '../helpers/hw-sim.js';
import { board, eventually, labFor, sleep } from '../helpers/lab.js';

const exec = promisify(execFile);
const TANDEM = join(__dirname, '..', '..', '..', 'bin', 'tandem');

type Sims = { n1: SimDevices; n2: SimDevices };

/**
 * A two-node cluster whose daemons run with the simulator preloaded, each node with its own devices; the
 * sim board, with a 2 s watchdog when `fastWatchdog` (so a test need not wait the shipped 10 s).
 */
async function simCluster(t: ExecutionContext, devices: Parameters<typeof simDevices>[1], fastWatchdog = false) {
  const lab = await labFor(t);
  const sims: Sims = { n1: simDevices(t, devices), n2: simDevices(t, devices) };
  const raw = JSON.parse(readFileSync(join(BOARD_DIR, 'sim.json'), 'utf8')) as {
    watchdog: { timeoutSeconds: number };
    bypass: Parameters<SimDevices['segmentMode']>[0][];
  };
  let boardRef: string | undefined;
  if (fastWatchdog) {
    raw.watchdog.timeoutSeconds = 2;
    boardRef = join(sims.n1.dir, 'sim-2s.json');
    writeFileSync(boardRef, JSON.stringify(raw));
  }
  const cluster = await LabCluster.start(lab, board, {
    timers: { initialSilenceMs: 800 },
    ...(boardRef ? { boardRef } : {}),
    env: (node) => ({ LD_PRELOAD: SIM_LIB, TANDEM_HW_SIM_DIR: sims[node as keyof Sims].dir }),
  });
  t.teardown(async () => {
    await cluster.stop();
    cluster.cleanup();
  });
  return { lab, sims, cluster, seg: raw.bypass[0]!, ...(await cluster.settled(15_000)) };
}

test.serial('the worker feeds the watchdog; SIGSTOP lets it fire on that node only; a clean stop disarms it', async (t) => {
  const { sims, cluster, active, inactive } = await simCluster(t, { watchdogs: [0] }, true);
  for (const n of ['n1', 'n2']) t.true(await eventually(() => cluster.events(n, 'watchdog_armed').length === 1, 3000), `${n} armed its watchdog`);
  t.like(cluster.events(active, 'watchdog_armed')[0], { device: '/dev/watchdog0', timeoutSeconds: 2 });
  await sleep(2500);
  t.is(sims.n1.watchdog(0).state, 'armed', 'fed: it has not fired');
  t.is(sims.n2.watchdog(0).state, 'armed');
  const pid = cluster.node(active).process.pid!;
  const worker = Number((await run(['cat', `/proc/${pid}/task/${pid}/children`])).stdout.trim());
  process.kill(worker, 'SIGSTOP');
  try {
    t.true(await eventually(() => sims[active as 'n1' | 'n2'].watchdog(0).state === 'fired', 4000), 'the hung worker let its watchdog fire');
    t.is(sims[inactive as 'n1' | 'n2'].watchdog(0).state, 'armed', 'the healthy node keeps feeding its own');
  } finally {
    process.kill(worker, 'SIGCONT');
  }
  await cluster.stop();
  for (const n of ['n1', 'n2'] as const) {
    t.is(sims[n].watchdog(0).state, 'disarmed', `${n}: a clean stop is a magic close`);
    t.is(cluster.events(n, 'watchdog_stopped').length, 1);
  }
});

test.serial('a board whose watchdog is missing: logged, and the node runs on', async (t) => {
  const lab = await labFor(t);
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800 } });
  t.teardown(async () => {
    await cluster.stop();
    cluster.cleanup();
  });
  await cluster.settled(15_000);
  const ev = cluster.events('n1', 'watchdog_unavailable')[0];
  t.truthy(ev);
  t.regex(String(ev!['error']), /watchdog \/dev\/watchdog0: open failed with ENOENT: no such device/);
});

test.serial(
  'bypass relays: failure mode until ready, inline once the node decided; kill -9 releases them to bypass; a hang lets the watchdog put them there; a clean stop sets the failure mode',
  async (t) => {
    const { sims, cluster, seg, active, inactive } = await simCluster(t, { chips: { 0: 'relays 2' }, watchdogs: [0] }, true);
    const A = sims[active as 'n1' | 'n2'];
    for (const n of ['n1', 'n2'] as const) {
      t.true(await eventually(() => sims[n].segmentMode(seg, 0) === 'inline', 3000), `${n} inline once ready`);
      const order = cluster.node(n).events.map((e) => e.event);
      t.true(
        order.indexOf('bypass_failure_mode') < order.indexOf('role_change') && order.indexOf('role_change') < order.indexOf('bypass_inline'),
        `${n}: failure mode, role decided, then inline`,
      );
    }
    t.like(await cluster.status(active), { bypass: { 'wan-lan': { mode: 'inline', failureMode: 'fail-open' } } });

    // kill -9 of the worker: the kernel releases its lines, the hardware couples the ports.
    const pid = () => cluster.node(active).process.pid!;
    let worker = Number((await run(['cat', `/proc/${pid()}/task/${pid()}/children`])).stdout.trim());
    process.kill(worker, 'SIGKILL');
    const releaseMs = (seg as { releaseMs?: number }).releaseMs ?? 500;
    t.true(await eventually(() => A.segmentMode(seg) === 'bypass', releaseMs + 500), "released: bypass within the board's release time");
    t.true(await eventually(() => cluster.events(active, 'worker_started').length === 2, 5000), 'the supervisor restarted the worker');
    t.true(await eventually(() => A.segmentMode(seg, 0) === 'inline', 5000), 'the new worker took the relays back inline once ready');

    // A hung worker: nobody feeds the watchdog, and the board's relays go to their released position.
    worker = Number((await run(['cat', `/proc/${pid()}/task/${pid()}/children`])).stdout.trim());
    process.kill(worker, 'SIGSTOP');
    try {
      t.true(await eventually(() => A.segmentMode(seg, 0) === 'bypass', 4000), 'watchdog fired: bypass');
      t.is(sims[inactive as 'n1' | 'n2'].segmentMode(seg, 0), 'inline', 'the healthy node stays inline');
    } finally {
      process.kill(worker, 'SIGCONT');
    }
    await cluster.stop();
    for (const n of ['n1', 'n2'] as const) {
      t.true(
        cluster.events(n, 'bypass_failure_mode').some((e) => e['why'] === 'stopping'),
        `${n}: failure mode set on the clean stop`,
      );
      t.is(sims[n].segmentMode(seg), 'bypass', `${n}: released to bypass`);
    }
  },
);

test.serial('`tandem bypass`: status, a change on the standby, and on the active node only with --force', async (t) => {
  const { sims, cluster, seg, active, inactive } = await simCluster(t, { chips: { 0: 'relays 2' } });
  const tandem = (node: string, ...args: string[]) => exec(TANDEM, ['bypass', ...args, '--socket', cluster.node(node).socket]);
  t.true(await eventually(() => sims.n1.segmentMode(seg) === 'inline' && sims.n2.segmentMode(seg) === 'inline', 3000));
  t.is((await tandem(inactive, 'status')).stdout, 'wan-lan (eth0-eth1): inline (failure mode fail-open)\n');
  t.is((await tandem(inactive, 'disconnect', 'wan-lan')).stdout, 'wan-lan: disconnect\n');
  t.is(sims[inactive as 'n1' | 'n2'].segmentMode(seg), 'disconnect');
  const refused = (await t.throwsAsync(tandem(active, 'bypass', 'wan-lan'))) as Error & { code: number; stderr: string };
  t.is(refused.code, 1);
  t.regex(refused.stderr, /this node is active: putting wan-lan in bypass would change the path of live traffic; repeat with --force/);
  t.is(sims[active as 'n1' | 'n2'].segmentMode(seg), 'inline', 'unchanged');
  await tandem(active, 'bypass', 'wan-lan', '--force');
  t.is(sims[active as 'n1' | 'n2'].segmentMode(seg), 'bypass');
  t.like(cluster.events(active, 'bypass_set_by_admin')[0], { segment: 'wan-lan', mode: 'bypass' });
  const unknown = (await t.throwsAsync(tandem(inactive, 'inline', 'nope'))) as Error & { stderr: string };
  t.regex(unknown.stderr, /no bypass segment "nope" \(segments: wan-lan\)/);
});

test.serial(
  "kill -9 of the whole daemon: its relays go to bypass within the release time and the client's traffic flows through the coupled ports",
  async (t) => {
    const lab = await labFor(t);
    const sims = { n1: simDevices(t, { chips: { 0: 'relays 2' } }), n2: simDevices(t, { chips: { 0: 'relays 2' } }) };
    const sim = resolveBoard('sim');
    const wire = new RelayWire(lab, sim.bypass, { n1: { dir: sims.n1.dir }, n2: { dir: sims.n2.dir } });
    wire.start();
    t.teardown(() => wire.stop());
    const cluster = await LabCluster.start(lab, board, {
      timers: { initialSilenceMs: 800 },
      env: (node) => ({ LD_PRELOAD: SIM_LIB, TANDEM_HW_SIM_DIR: sims[node as 'n1' | 'n2'].dir }),
    });
    t.teardown(async () => {
      await cluster.stop();
      cluster.cleanup();
    });
    const { active } = await cluster.settled(15_000);
    t.true(await eventually(() => wire.changes.filter((c) => c.mode === 'inline').length === 2, 3000), 'both nodes inline on the wire');
    // The client also takes an address on the server's segment: only a coupled wire joins the two.
    const client = lab.plan.hosts.find((h) => h.name === 'client')!;
    const server = lab.plan.hosts.find((h) => h.name === 'server')!.iface.address.split('/')[0]!;
    await run(['ip', '-n', client.netns, 'addr', 'add', '198.18.1.200/24', 'dev', 'eth0']);
    const l2ping = () =>
      run(['ip', 'netns', 'exec', client.netns, 'ping', '-c', '1', '-W', '1', '-I', '198.18.1.200', server]).then(
        () => true,
        () => false,
      );
    t.false(await l2ping(), 'inline: the two segments are apart');
    const pid = cluster.node(active).process.pid!;
    const worker = Number((await run(['cat', `/proc/${pid}/task/${pid}/children`])).stdout.trim());
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL'); // the supervisor first, so nothing restarts the worker
    process.kill(worker, 'SIGKILL');
    t.true(await eventually(() => wire.changes.some((c) => c.node === active && c.mode === 'bypass'), 2000));
    const coupledAfter = wire.changes.find((c) => c.node === active && c.mode === 'bypass')!.at - killedAt;
    const releaseMs = sim.bypass[0]!.releaseMs;
    t.true(coupledAfter <= releaseMs, `coupled ${coupledAfter} ms after the kill (board release time ${releaseMs} ms)`);
    // The client remembers the failed ARP from before: forget it, then give the new path a few tries.
    await run(['ip', '-n', client.netns, 'neigh', 'flush', 'dev', 'eth0']);
    let reached = false;
    for (let i = 0; i < 5 && !reached; i++) reached = await l2ping();
    if (!reached) t.log((await run(['ip', '-n', lab.plan.switchNs, '-d', 'link'])).stdout, (await run(['ip', '-n', client.netns, 'neigh'])).stdout);
    t.true(reached, 'the client reaches the server through the coupled ports');
  },
);
