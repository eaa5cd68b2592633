/**
 * The dual-stack lab (2001:2::/48 beside 198.18.0.0/15): shared IPv6 addresses move with the role, an
 * interface with IPv6 addresses only carries heartbeats, an IPv6 monitor target counts like an IPv4 one.
 */
import test, { type ExecutionContext } from 'ava';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabCluster, TcpProbe } from '../../src/lab/cluster.js';
import { invalidDrops, statefulGateways } from '../../src/lab/firewall.js';
import { labNodeConfig } from '../../src/lab/lab-config.js';
import type { Lab } from '../../src/lab/lab.js';
import { run, tool } from '../../src/lab/run.js';
import { UdpProbe } from '../../src/lab/udp-probe.js';
import { board, eventually, labFor, sleep, until } from '../helpers/lab.js';
import { managedPair } from '../helpers/managed.js';

const SHARED_LAN6 = '2001:2:0:2::1';
const SHARED_MAC_LAN = '10:00:00:00:09:07';

async function pair(t: ExecutionContext, lab: Lab, opts: Parameters<typeof LabCluster.start>[2] = {}) {
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800 }, ...opts });
  t.teardown(async () => {
    await cluster.stop();
    if (!t.passed) t.log(`logs kept in ${cluster.dir}`);
    else cluster.cleanup();
  });
  return { cluster, ...(await cluster.settled(15_000)) };
}

/** Node `index`'s interfaces as the lab writes them, with the given fields left out of interface `iface`. */
function interfacesWithout(lab: Lab, index: number, iface: string, fields: readonly string[]): Record<string, unknown>[] {
  const all = labNodeConfig(lab.plan, board, index, { passwordFile: '/x', stateDir: '/x', controlSocket: '/x' })['interfaces'] as Record<string, unknown>[];
  return all.map((i) => (i['name'] === iface ? Object.fromEntries(Object.entries(i).filter(([k]) => !fields.includes(k))) : i));
}

const neigh = async (ns: string, ip: string) => (await run(['ip', '-n', ns, '-6', 'neigh', 'show', ip])).stdout;

test.serial(
  'dual stack, the active node powered off: IPv6 and IPv4 traffic resume through the new active; its advertisements correct a wrong client cache at once',
  async (t) => {
    const lab = await labFor(t, 2, { ipv6: true });
    const { cluster, active, inactive } = await pair(t, lab);
    const ns = (n: string) => lab.plan.nodes.find((x) => x.name === n)!.netns;
    const client = lab.plan.hosts.find((h) => h.name === 'client')!.netns;
    t.regex((await run(['ip', '-n', ns(active), '-6', '-o', 'addr', 'show', 'dev', 'tsh09'])).stdout, /inet6 2001:2:0:2::1\/64 scope global nodad/);
    t.is((await run(['ip', '-n', ns(inactive), '-o', 'link', 'show'])).stdout.includes('tsh09'), false, 'the standby holds no shared link');
    const p6 = await UdpProbe.start(lab, { family: 6, intervalMs: 5, port: 7016 });
    const p4 = await UdpProbe.start(lab, { family: 4, intervalMs: 5, port: 7014 });
    t.teardown(() => Promise.all([p6.stop(), p4.stop()]).catch(() => undefined));
    await sleep(1000);
    await lab.powerOff(active);
    // In the same instant the client's entry for its gateway is made wrong (a stale entry, as a host that met
    // another router there keeps): only an advertisement with Override can correct it before the client's own
    // probe, which waits delay_first_probe_time (5 s) after traffic meets a stale entry.
    await run(['ip', '-n', client, '-6', 'neigh', 'replace', SHARED_LAN6, 'lladdr', '02:00:00:00:00:99', 'dev', 'eth0', 'nud', 'stale']);
    t.true(await eventually(() => cluster.events(inactive, 'takeover').length > 0, 5000), 'the standby took over');
    const tookOver = Date.now();
    t.true(
      await until(async () => (await neigh(client, SHARED_LAN6)).includes(`lladdr ${SHARED_MAC_LAN}`), 1000),
      `the client's entry names the shared MAC within 1 s of the takeover: ${await neigh(client, SHARED_LAN6)}`,
    );
    t.log(`client entry corrected ${Date.now() - tookOver} ms after the takeover was seen`);
    await sleep(1500);
    const [r6, r4] = [await p6.stop(), await p4.stop()];
    for (const [family, r] of [
      ['IPv6', r6],
      ['IPv4', r4],
    ] as const) {
      t.log(`${family}: ${r.sent} sent, ${r.echoed} echoed, longest gap ${Math.round(r.maxGapMs)} ms`);
      t.true(r.echoed > 200, `${family} traffic flowed`);
      t.true(r.maxGapMs < 1500, `${family} resumed: longest gap ${Math.round(r.maxGapMs)} ms`);
      // Nothing lost in the last second: the traffic runs through the new active node.
      t.false(
        r.lost.some((seq) => seq > r.sent - 200),
        `${family}: lost in the last second: ${r.lost.filter((s) => s > r.sent - 200).slice(0, 10)}`,
      );
    }
    t.regex((await run(['ip', '-n', ns(inactive), '-6', '-o', 'addr', 'show', 'dev', 'tsh09'])).stdout, /inet6 2001:2:0:2::1\/64/);
  },
);

test.serial('an interface with IPv6 addresses only carries heartbeats (IPv4 header 0.0.0.0 to 255.255.255.255)', async (t) => {
  const lab = await labFor(t, 2, { ipv6: true });
  // eth2 (the DMZ) loses its IPv4 addresses on both nodes, and the configuration names only its IPv6 ones.
  for (const n of lab.plan.nodes) await run(['ip', '-n', n.netns, '-4', 'addr', 'flush', 'dev', 'eth2']);
  const ifaces = (index: number) => interfacesWithout(lab, index, 'eth2', ['sharedIp', 'masterIp', 'slaveIp']);
  const { cluster, active, inactive } = await pair(t, lab, { configFor: (name) => ({ interfaces: ifaces(name === 'n1' ? 1 : 2) }) });
  const standbyNs = lab.plan.nodes.find((n) => n.name === inactive)!.netns;
  const capture = await run(['ip', 'netns', 'exec', standbyNs, 'tcpdump', '-c', '4', '-nn', '-i', 'eth2', 'ether[0:4] = 0x11000000'], { timeoutMs: 5000 });
  t.regex(capture.stdout, /0\.0\.0\.0\.999 > 255\.255\.255\.255\.999/, capture.stdout);
  const before = (await cluster.status(inactive)).matrix.find((r) => r.iface === 'eth2')!.received.accepted;
  await sleep(500);
  const after = (await cluster.status(inactive)).matrix.find((r) => r.iface === 'eth2')!.received.accepted;
  t.true(after > before, `the standby accepts the active node's heartbeats on eth2 (${before} then ${after})`);
  // With every other link cut, eth2 alone keeps the pair together: no takeover.
  for (const i of ['eth0', 'eth1', 'eth3']) await lab.cutLink(inactive, i);
  await sleep(1000);
  t.is((await cluster.status(inactive)).role, 'inactive');
  t.is((await cluster.status(active)).role, 'active');
  t.is(cluster.events(inactive, 'takeover').length, 0);
});

test.serial('an IPv6 monitor target (probed by neighbour solicitation) lost by the active node only: it hands over', async (t) => {
  const lab = await labFor(t, 2, { ipv6: true });
  const target = await lab.addForeignHost('lan'); // the LAN's IPv6 router, 2001:2:0:2::200
  const address6 = target.address6.split('/')[0]!;
  const { cluster, active, inactive } = await pair(t, lab, {
    timers: { initialSilenceMs: 800, monitorIntervalMs: 100, monitorMisses: 3, holdDownMs: 500 },
    monitorTargets: { eth1: [address6] },
  });
  await sleep(800);
  t.false(
    cluster.node(active).events.some((e) => e.event === 'monitor_targets_lost'),
    'the target answers while it is there',
  );
  await lab.blockPath(lab.switchPort(active, 'eth1'), target.switchPort);
  t.true(await eventually(() => cluster.node(active).events.some((e) => e.event === 'monitor_targets_lost'), 3000), 'the active node notices');
  t.true(await eventually(() => cluster.events(inactive, 'takeover').length > 0, 3000), 'the peer takes over');
  await sleep(300);
  t.is((await cluster.status(active)).role, 'inactive');
});

test.serial('20 IPv6 TCP connections through a stateful IPv6 firewall (NAT66) survive a power-off with every byte, beside 20 IPv4 ones', async (t) => {
  const CONNS = 20;
  const lab = await labFor(t, 2, { ipv6: true });
  await statefulGateways(lab);
  const { cluster, active, inactive } = await pair(t, lab);
  const p6 = await TcpProbe.start(lab, { connections: CONNS, intervalMs: 10, family: 6, port: 7026 });
  const p4 = await TcpProbe.start(lab, { connections: CONNS, intervalMs: 10, family: 4, port: 7024 });
  t.teardown(() => Promise.all([p6.stop(), p4.stop()]).catch(() => undefined));
  t.true(await eventually(() => p6.allFlowing(CONNS) && p4.allFlowing(CONNS), 10_000), 'all connections of both families flow');
  let held = { ipv4: 0, ipv6: 0 };
  for (const deadline = Date.now() + 8000; (held.ipv4 < CONNS || held.ipv6 < CONNS) && Date.now() < deadline; await sleep(100)) {
    const c = (await cluster.sync(inactive).catch(() => undefined))?.providers['conntrack'];
    held = { ipv4: c?.ipv4 ?? 0, ipv6: c?.ipv6 ?? 0 };
  }
  t.true(held.ipv6 >= CONNS && held.ipv4 >= CONNS, `the standby holds the flows of both families (IPv4 ${held.ipv4}, IPv6 ${held.ipv6})`);
  // The standby's kernel has the IPv6 flows with their NAT66 translation to the shared address.
  const standbyNs = lab.plan.nodes.find((n) => n.name === inactive)!.netns;
  const proc = (await run(['ip', 'netns', 'exec', standbyNs, 'cat', '/proc/net/nf_conntrack'])).stdout;
  t.regex(proc, /ipv6\s+10 tcp\s+6 \d+ ESTABLISHED src=2001:0002:0000:0002:0000:0000:0000:0100 .*dst=2001:0002:0000:0001:0000:0000:0000:0001 sport=7026/);
  const failedAt = Date.now();
  await lab.powerOff(active);
  t.true(await eventually(() => cluster.events(inactive, 'takeover').length > 0, 5000), 'the standby took over');
  await sleep(2500);
  for (const [family, probe] of [
    ['IPv6', p6],
    ['IPv4', p4],
  ] as const) {
    const r = await probe.stop();
    const ok = r.conns.filter((c) => c.error === null && c.echoed === c.sent && c.lastEchoAt > failedAt + 500);
    t.is(ok.length, CONNS, `${family}: ${JSON.stringify(r.conns.filter((c) => !ok.includes(c)).slice(0, 3))}`);
    t.log(`${family}: ${ok.length}/${CONNS} survived, longest echo gap ${Math.max(...r.conns.map((c) => c.maxGapMs))} ms`);
  }
  t.is(await invalidDrops(lab, inactive), 0, 'nothing mid-stream was invalid on the new active node');
});

test.serial('a shared IPv6 address configured on one node only: both nodes name the mismatch; the pair still fails over for IPv4', async (t) => {
  const lab = await labFor(t, 2, { ipv6: true });
  const without6 = interfacesWithout(lab, 2, 'eth1', ['sharedIp6']);
  const { cluster, active, inactive } = await pair(t, lab, { configFor: (name) => (name === 'n2' ? { interfaces: without6 } : {}) });
  for (const n of [active, inactive])
    t.true(
      await until(async () => (await cluster.sync(n)).peerUnreachable === 'cluster_definition_mismatch', 10_000),
      `${n} names the mismatch: ${JSON.stringify((await cluster.sync(n)).peerUnreachable)}`,
    );
  const client = lab.plan.hosts.find((h) => h.name === 'client')!.netns;
  await lab.powerOff(active);
  t.true(await eventually(() => cluster.events(inactive, 'takeover').length > 0, 5000), 'the standby still takes over');
  t.true(
    await until(async () => await run(['ip', 'netns', 'exec', client, 'ping', '-c', '1', '-W', '1', '198.18.2.1']).then(() => true), 3000),
    'IPv4 keeps working',
  );
});

test.serial("duplicate address detection failing on a node's own IPv6 address: a named event with interface and address; the pair runs on", async (t) => {
  const lab = await labFor(t, 2, { ipv6: true });
  const fx = await lab.addForeignHost('dmz');
  const n2 = lab.plan.nodes[1]!.netns;
  // A host on the DMZ already has n2's IPv6 address there; n2 then adds it with DAD on (the lab's own addresses skip it).
  await run(['ip', '-n', fx.netns, 'addr', 'add', '2001:2:0:3::12/64', 'dev', 'eth0', 'nodad']);
  await run(['ip', 'netns', 'exec', n2, 'sysctl', '-qw', 'net.ipv6.conf.eth2.dad_transmits=1']);
  await run(['ip', '-n', n2, 'addr', 'del', '2001:2:0:3::12/64', 'dev', 'eth2']);
  await run(['ip', '-n', n2, 'addr', 'add', '2001:2:0:3::12/64', 'dev', 'eth2']);
  const { cluster } = await pair(t, lab);
  t.true(await eventually(() => cluster.events('n2', 'node_ipv6_dad_failed').length > 0, 6000), 'n2 names it');
  t.like(cluster.events('n2', 'node_ipv6_dad_failed')[0], { iface: 'eth2', address: '2001:2:0:3::12', level: 'error' });
  t.is(cluster.events('n1', 'node_ipv6_dad_failed').length, 0, 'n1 has no duplicate');
  t.regex((await run(['ip', '-n', n2, '-6', 'addr', 'show', 'dev', 'eth2'])).stdout, /2001:2:0:3::12\/64 scope global .*dadfailed/);
  const roles = [(await cluster.status('n1')).role, (await cluster.status('n2')).role].sort();
  t.deepEqual(roles, ['active', 'inactive'], 'the pair runs on');
});

test.serial('the management server listens on the IPv6 management address too: its certificate names it, curl verifies it there', async (t) => {
  const p = await managedPair(t, true, { timers: { initialSilenceMs: 800 } }, true);
  const client = p.lab.plan.hosts.find((h) => h.name === 'client')!.netns;
  const lanName = board.nics.find((n) => n.role === 'lan')!.name;
  const lan = p.lab.plan.nodes[0]!.ifaces.find((i) => i.ifname === lanName)!;
  const [v4, v6] = [lan.address.split('/')[0]!, lan.address6.split('/')[0]!];
  const certFile = join(p.cluster.dir, 'n1-state', 'https', 'cert.pem');
  t.true(await until(async () => (await p.status('n1'))?.standalone === true && existsSync(certFile), 10_000), 'n1 runs standalone with its certificate');
  const names = new X509Certificate(readFileSync(certFile)).subjectAltName ?? '';
  t.regex(names, new RegExp(`IP Address:${v4.replace(/\./g, '\\.')}`));
  t.true(names.includes(`IP Address:${expand6(v6)}`), `the certificate names ${v6}: ${names}`);
  // curl checks the address against the certificate (exit 60 if it were not named); the health check needs no password.
  for (const host of [v4, `[${v6}]`]) {
    const r = await run(
      [
        'ip',
        'netns',
        'exec',
        client,
        tool('curl'),
        '-sS',
        '--max-time',
        '5',
        '--cacert',
        certFile,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `https://${host}/dana-na/healthcheck/healthcheck.cgi`,
      ],
      {
        timeoutMs: 8000,
      },
    );
    t.is(r.stdout, '500', `https://${host}/: the standalone node's health check answers (500: not a cluster member)`);
  }
  const shown = await p.cli('n1', 'https', 'show');
  t.is(shown.code, 0, shown.stderr);
  t.true(shown.stdout.includes(`served on https://${v4}:443/ and https://[${v6}]:443/`), shown.stdout);
});

/** The long form OpenSSL prints in subjectAltName (each group in hex without leading zeros, no "::"). */
function expand6(a: string): string {
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  return [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl].map((g) => parseInt(g, 16).toString(16).toUpperCase()).join(':');
}
