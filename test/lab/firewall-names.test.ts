import test, { type ExecutionContext } from 'ava';
import { LabCluster, TcpProbe } from '../../src/lab/cluster.js';
import { policyDrops, statefulGateways, type FirewallMatch } from '../../src/lab/firewall.js';
import { board, eventually, labFor, sleep } from '../helpers/lab.js';

const CONNS = 20;

async function pairBehind(t: ExecutionContext, match: FirewallMatch) {
  const lab = await labFor(t);
  await statefulGateways(lab, match);
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800 } });
  t.teardown(async () => {
    await cluster.stop();
    if (!t.passed) t.log(`logs kept in ${cluster.dir}`);
    else cluster.cleanup();
  });
  return { lab, cluster, ...(await cluster.settled(15_000)) };
}

test.serial(
  'a stateful firewall written by interface name with `tandem nft-names` defines passes new connections through the shared addresses and keeps all 20 across a power-off',
  async (t) => {
    const { lab, cluster, active, inactive } = await pairBehind(t, { by: 'interface-names', board });
    const probe = await TcpProbe.start(lab, { connections: CONNS, intervalMs: 10 });
    t.teardown(() => probe.stop().catch(() => undefined));
    t.true(await eventually(() => probe.allFlowing(CONNS), 10_000), `all ${CONNS} connections are accepted as new and flow`);
    let held = 0;
    for (const deadline = Date.now() + 8000; held < CONNS && Date.now() < deadline; await sleep(100))
      held = (await cluster.sync(inactive).catch(() => undefined))?.providers['conntrack']?.count ?? 0;
    t.true(held >= CONNS, `the standby holds every flow (${held})`);
    const failedAt = Date.now();
    await lab.powerOff(active);
    t.true(await eventually(() => cluster.events(inactive, 'takeover').length > 0, 5000), 'the standby took over');
    await sleep(2500);
    const r = await probe.stop();
    const ok = r.conns.filter((c) => c.error === null && c.echoed === c.sent && c.lastEchoAt > failedAt + 500);
    t.is(ok.length, CONNS, JSON.stringify(r.conns.filter((c) => !ok.includes(c)).slice(0, 3)));
    t.is(await policyDrops(lab, inactive), 0, 'nothing refused on the new active node');
  },
);

test.serial('the same rules by the NIC name alone (as on a gateway without failover) refuse every new connection: the trap the defines avoid', async (t) => {
  const { lab, active } = await pairBehind(t, { by: 'nic-name-only' });
  const probe = await TcpProbe.start(lab, { connections: 3, intervalMs: 10 });
  t.teardown(() => probe.stop().catch(() => undefined));
  await sleep(3000);
  t.false(probe.allFlowing(3), 'no connection gets through');
  t.true((await policyDrops(lab, active)) > 0, 'the SYNs arrived on the shared-MAC interface and met the drop policy');
});
