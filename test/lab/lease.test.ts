import test, { type ExecutionContext } from 'ava';
import { askControl } from '../../src/api/control-socket.js';
import { LabCluster } from '../../src/lab/cluster.js';
import { run } from '../../src/lab/run.js';
import { board, eventually, labFor, sleep } from '../helpers/lab.js';

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
const stall = (c: LabCluster, node: string, ms: number) => askControl(c.node(node).socket, { cmd: 'diag-stall', ms }, ms + 5000) as Promise<{ stalledMs: number }>;

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
  t.true(cluster.node(active).events.some((e) => e.event === 'heartbeat_lease_expired'));
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
