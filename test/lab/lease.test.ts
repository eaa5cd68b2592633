import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { askControl } from '../../src/api/control-socket.js';
import { LabCluster, Traffic } from '../../src/lab/cluster.js';
import type { Lab } from '../../src/lab/lab.js';
import { run, tool } from '../../src/lab/run.js';
import { board, eventually, labFor, sleep } from '../helpers/lab.js';

const SERVER = '198.18.1.100';
const TANDEMD = join(__dirname, '..', '..', '..', 'bin', 'tandemd');

/** A pair with the default timers (heartbeat 50 ms, failover 300 ms, lease 1000 ms). */
async function pairFor(t: ExecutionContext) {
  const lab = await labFor(t);
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800 } });
  t.teardown(async () => {
    await cluster.stop();
    cluster.cleanup();
  });
  const roles = await cluster.settled(15_000);
  return { lab, cluster, ...roles };
}

const roleChanges = (c: LabCluster, node: string) => c.node(node).events.filter((e) => e.event === 'role_change');
const stall = (c: LabCluster, node: string, ms: number) =>
  askControl(c.node(node).socket, { cmd: 'diag-stall', ms }, ms + 5000) as Promise<{ stalledMs: number }>;

test.serial('a main-thread stall shorter than the lease (600 ms, failover 300 ms) changes no role on either node', async (t) => {
  const { cluster, active, inactive } = await pairFor(t);
  const before = [roleChanges(cluster, active).length, roleChanges(cluster, inactive).length];
  const r = await stall(cluster, active, 600);
  t.true(r.stalledMs >= 590, `stalled ${r.stalledMs} ms`);
  await sleep(600); // two failover times after the stall
  t.deepEqual([roleChanges(cluster, active).length, roleChanges(cluster, inactive).length], before, 'no role change anywhere');
  t.is((await cluster.status(active)).role, 'active');
  t.is((await cluster.status(inactive)).role, 'inactive');
  // The peer heard every interval: its status never showed the stalled node dead.
  const st = await cluster.status(active);
  t.true(st.heartbeats.loopDelayMaxMs >= 500, `the stall is in the loop delay: ${st.heartbeats.loopDelayMaxMs} ms`);
  t.true(st.heartbeats.leaseLeftMs! > 500, `lease topped up again: ${st.heartbeats.leaseLeftMs} ms left`);
  t.is(st.heartbeats.leaseExpiries, 0);
  t.true(await eventually(() => cluster.node(active).events.some((e) => e.event === 'event_loop_stalled' && (e['delayMs'] as number) >= 500), 2000));
  t.false(cluster.node(inactive).events.some((e) => e.event === 'peer_gone'));
});

test.serial('a stall longer than the lease plus the failover time stops the heartbeats: the peer takes over, the stalled node yields after', async (t) => {
  const { cluster, active, inactive } = await pairFor(t);
  const t0 = Date.now();
  await stall(cluster, active, 2000);
  t.true(await eventually(() => roleChanges(cluster, inactive).some((e) => e['to'] === 'active' && e['reason'] === 'peer_dead'), 3000), 'the peer took over');
  const took = roleChanges(cluster, inactive).find((e) => e['to'] === 'active')!;
  const tookAt = Date.parse(took['ts'] as string) - t0;
  // Heartbeats stop when the lease (1000 ms) runs out, the peer waits one failover time (300 ms) more: about
  // 1.3 s. Not before the lease (the thread held it), and before the stall ended (the lease ran out in the stall).
  t.log(`took over ${tookAt} ms after the stall began`);
  t.true(tookAt >= 1000 && tookAt < 2000, `took over ${tookAt} ms after the stall began (lease 1000 + failover 300)`);
  t.true(await eventually(() => roleChanges(cluster, active).some((e) => e['to'] === 'inactive'), 3000), 'the stalled node steps down');
  t.true(
    await eventually(() => cluster.node(active).events.some((e) => e.event === 'heartbeat_lease_expired'), 2000),
    'the stalled node says its lease ran out',
  );
  t.is((await cluster.status(active)).role, 'inactive');
  t.is((await cluster.status(inactive)).role, 'active');
});

test.serial('a hung worker (SIGSTOP of the worker only) is detected within the lease plus the failover time', async (t) => {
  const { cluster, active, inactive } = await pairFor(t);
  const pid = cluster.node(active).process.pid!;
  const worker = Number((await run(['cat', `/proc/${pid}/task/${pid}/children`])).stdout.trim());
  const t0 = Date.now();
  process.kill(worker, 'SIGSTOP');
  t.teardown(() => {
    try {
      process.kill(worker, 'SIGCONT');
    } catch {
      // gone
    }
  });
  t.true(await eventually(() => roleChanges(cluster, inactive).some((e) => e['to'] === 'active'), 3000));
  const tookAt = Date.parse(roleChanges(cluster, inactive).find((e) => e['to'] === 'active')!['ts'] as string) - t0;
  t.true(tookAt <= 1000 + 300 + 100, `took over ${tookAt} ms after the freeze`);
  process.kill(worker, 'SIGCONT');
  t.true(await eventually(() => roleChanges(cluster, active).some((e) => e['to'] === 'inactive'), 3000), 'the thawed node yields');
});

/** tcpdump on a switch port: the wall-clock instants (ms) of frames whose source is a shared MAC (10-00-00-00-xx-xx). */
async function watchSharedSources(lab: Lab, port: string): Promise<{ stop(): Promise<number[]> }> {
  const proc = lab.spawn(lab.plan.switchNs, [tool('tcpdump'), '-i', port, '-l', '-nn', '-tt', '-U', '-Q', 'in', 'ether[6:4] == 0x10000000'], { stdio: 'pipe' });
  const stamps: number[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    const m = /^(\d+\.\d+) /.exec(l);
    if (m) stamps.push(Number(m[1]) * 1000);
  });
  let ready = false;
  proc.stderr!.on('data', (d: Buffer) => (ready ||= /listening on/.test(d.toString())));
  const exited = new Promise((r) => proc.once('exit', r));
  await eventually(() => ready, 5000);
  return {
    async stop() {
      proc.kill('SIGINT');
      await exited;
      return stamps;
    },
  };
}

test.serial(
  'kill -9 of every tandemd process of the active node: its shared MAC falls silent within the failover time, never two senders after; a new tandemd starts cleanly',
  async (t) => {
    const { lab, cluster, active, inactive } = await pairFor(t);
    const node = (name: string) => lab.plan.nodes.find((n) => n.name === name)!;
    const ports = (name: string) =>
      node(name)
        .ifaces.filter((i) => i.role !== 'sync')
        .map((i) => i.switchPort);
    const watchers = new Map<string, Awaited<ReturnType<typeof watchSharedSources>>[]>();
    for (const name of [active, inactive]) watchers.set(name, await Promise.all(ports(name).map((p) => watchSharedSources(lab, p))));
    const traffic = new Traffic(lab, SERVER, 5, 10);
    t.teardown(() => traffic.stop());
    await sleep(500);

    const supervisor = cluster.node(active).process.pid!;
    const worker = Number((await run(['cat', `/proc/${supervisor}/task/${supervisor}/children`])).stdout.trim());
    const killedAt = Date.now();
    process.kill(worker, 'SIGKILL');
    process.kill(supervisor, 'SIGKILL');
    t.true(await eventually(() => roleChanges(cluster, inactive).some((e) => e['to'] === 'active'), 3000), 'the peer took over');
    await sleep(700);
    // An ARP for the shared gateway from the client now: only the survivor may answer.
    const client = lab.plan.hosts.find((h) => h.name === 'client')!;
    await run(['ip', '-n', client.netns, 'neigh', 'flush', 'dev', client.iface.ifname]);
    await run(['ip', 'netns', 'exec', client.netns, 'ping', '-c', '3', '-i', '0.05', '-W', '1', client.gateway]);
    await sleep(200);
    await traffic.stop();
    const dead = (await Promise.all(watchers.get(active)!.map((w) => w.stop()))).flat().sort((a, b) => a - b);
    const alive = (await Promise.all(watchers.get(inactive)!.map((w) => w.stop()))).flat().sort((a, b) => a - b);

    t.true(
      dead.some((s) => s < killedAt),
      'the active node sent from its shared MAC before the kill',
    );
    const lastDead = dead.filter((s) => s >= killedAt - 50).at(-1);
    t.log(
      `last frame from the dead node's shared MAC: ${lastDead === undefined ? 'none after the kill' : `${(lastDead - killedAt).toFixed(1)} ms after it`}; survivor's first: ${(alive.find((s) => s > killedAt)! - killedAt).toFixed(1)} ms`,
    );
    t.true(lastDead === undefined || lastDead <= killedAt + 300, 'silent within the failover time (300 ms)');
    t.true(
      alive.some((s) => s > killedAt + 300),
      'the survivor sends from the shared MAC',
    );
    // 5 ms buckets after the failover time in which both nodes sent from the shared MAC: none.
    const bucket = (s: number) => Math.floor((s - killedAt) / 5);
    const both = new Set(dead.filter((s) => s > killedAt + 300).map(bucket));
    t.is(alive.map(bucket).filter((b) => both.has(b)).length, 0, 'no moment where both pass traffic for the shared addresses');
    t.true(traffic.count > 0 && traffic.outageMs(killedAt) < 1000, `client traffic resumed (outage ${traffic.outageMs(killedAt)} ms)`);

    // The dead node still has its shared links (nobody was left to remove them), and the kernel drops their frames.
    const deadNs = node(active).netns;
    t.true((await run(['ip', '-n', deadNs, '-o', 'link', 'show'])).stdout.includes('tsh'), 'shared links left behind');
    const tables = (await run(['ip', 'netns', 'exec', deadNs, tool('nft'), 'list', 'tables'])).stdout;
    t.regex(tables, /table netdev tandem_guard/);
    t.notRegex(tables, /tandem_lease/, 'the kernel deleted the lease with its owner');
    const guard = (await run(['ip', 'netns', 'exec', deadNs, tool('nft'), 'list', 'table', 'netdev', 'tandem_guard'])).stdout;
    const dropped = [...guard.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    t.true(dropped > 0, `the guard dropped ${dropped} frames of the shared MAC`);

    // What the unit's ExecStopPost runs removes the links; then a new tandemd starts from this state: lease taken again, inactive.
    const released = await run(['ip', 'netns', 'exec', deadNs, process.execPath, TANDEMD, '--release-shared', '--config', cluster.node(active).config]);
    t.regex(released.stdout, /"event":"shared_released_after_stop".*"links":\["tsh/);
    t.false((await run(['ip', '-n', deadNs, '-o', 'link', 'show'])).stdout.includes('tsh'), 'tandemd --release-shared removed them');
    cluster.restart(active);
    t.true(await eventually(() => cluster.events(active, 'shared_lease_taken').length >= 2, 10_000), 'lease taken again');
    t.true(await eventually(() => roleChanges(cluster, active).some((e) => e['reason'] === 'peer_active_at_start'), 10_000));
    t.is((await cluster.status(inactive)).role, 'active');
  },
);

test.serial('a worker whose supervisor is killed while the worker starts ends too: nothing outlives the service to hold the lease', async (t) => {
  const { lab, cluster, active } = await pairFor(t);
  const node = lab.plan.nodes.find((n) => n.name === active)!;
  // The service started again; its new worker caught (stopped) as soon as it exists, before it is ready.
  cluster.node(active).process.kill('SIGTERM');
  t.true(await eventually(() => cluster.node(active).process.exitCode !== null || cluster.node(active).process.signalCode !== null, 10_000));
  cluster.restart(active);
  const supervisor = cluster.node(active).process.pid!;
  let worker = 0;
  const deadline = Date.now() + 5000;
  while (!worker && Date.now() < deadline) {
    worker = Number((await run(['cat', `/proc/${supervisor}/task/${supervisor}/children`]).catch(() => ({ stdout: '' }))).stdout.trim()) || 0;
    if (worker) process.kill(worker, 'SIGSTOP');
  }
  t.true(worker > 0, 'the worker was caught starting');
  process.kill(supervisor, 'SIGKILL');
  process.kill(worker, 'SIGCONT');
  const gone = async () =>
    (await run(['ps', '-o', 'pid=', '-p', String(worker)]).then(
      () => false,
      () => true,
    )) === true;
  let ended = false;
  for (const end = Date.now() + 10_000; !ended && Date.now() < end; await sleep(100)) ended = await gone();
  t.true(ended, 'the worker ended with its supervisor');
  t.true(
    cluster.node(active).events.some((e) => e.event === 'stopped' && e['why'] === 'supervisor gone'),
    'and said why',
  );
  t.is((await run(['ip', 'netns', 'exec', node.netns, tool('nft'), 'list', 'tables'])).stdout.includes('tandem_lease'), false, 'no lease held on the node');
});
