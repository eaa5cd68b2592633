/**
 * DOC: `tandem lab up|status|down|demo`
 *
 * The lab as an appliance builder uses it: bring a cluster up in namespaces,
 * look at it, tear it down (also what a crashed run left), and the demo that
 * the README opens with: real `tandemd` processes, one per node namespace,
 * a client's traffic through the shared addresses, and a power-off.
 */
import { resolveBoard } from '../board/board-file.js';
import { downAll, downByName, Lab, sleep } from '../lab/lab.js';
import { LabCluster, TcpProbe, Traffic } from '../lab/cluster.js';
import { statefulGateways } from '../lab/firewall.js';
import { formatStatus } from './status-command.js';
import { DEFAULTS } from '../cluster/config-file.js';
import { flag, int, str, UsageError, type Parsed } from './args.js';
import { groupDemo } from './lab-group-demo.js';
import { LAB_VM_USAGE, labConsole, labDemoVm, labUpVm } from './lab-vm-command.js';

export const LAB_USAGE = `tandem lab up [--board NAME|FILE] [--nodes N] [--json]
tandem lab status [NAME] [--json]
tandem lab down [NAME | --all]
tandem lab demo [--board NAME|FILE] [--seconds N]   (a failover: the active node powered off)
tandem lab demo --members N [--board NAME|FILE]     (N = 3..8: a cluster on Corosync, a partition, its healing)
${LAB_VM_USAGE}`;

export async function labCommand(p: Parsed): Promise<number> {
  const [verb, name] = p.positionals;
  switch (verb) {
    case 'up': {
      if (flag(p, 'vm')) return labUpVm(p);
      const lab = await Lab.up(resolveBoard(str(p, 'board') ?? 'sim'), { nodes: int(p, 'nodes', 2, 8, 2)! });
      if (flag(p, 'json')) process.stdout.write(JSON.stringify(lab.plan, null, 2) + '\n');
      else printPlan(lab);
      return 0;
    }
    case 'status': {
      const names = name ? [name] : Lab.list();
      if (names.length === 0) process.stdout.write('no lab is up\n');
      for (const n of names) {
        const s = await Lab.load(n).status();
        if (flag(p, 'json')) process.stdout.write(JSON.stringify(s) + '\n');
        else {
          process.stdout.write(
            `lab ${s.name} (board ${s.board}${Lab.load(n).vm ? ', booted appliances' : ''})${s.missing.length ? ` DAMAGED: missing ${s.missing.join(', ')}` : ''}\n`,
          );
          for (const node of s.nodes) {
            const links = Object.entries(node.links)
              .map(([i, st]) => `${i}:${st}`)
              .join(' ');
            process.stdout.write(`  ${node.name} ${node.netns} ${node.present ? '' : 'MISSING '}${links} processes:${node.processes}\n`);
          }
        }
      }
      return 0;
    }
    case 'down': {
      if (flag(p, 'all') || !name) {
        const removed = await downAll();
        process.stdout.write(removed.length ? `removed ${removed.join(', ')}\n` : 'nothing to remove\n');
      } else {
        await downByName(name);
        process.stdout.write(`removed ${name}\n`);
      }
      return 0;
    }
    case 'console':
      return labConsole(p);
    case 'demo': {
      if (flag(p, 'vm')) return labDemoVm(p);
      const members = int(p, 'members', 3, 8, 0)!;
      if (members > 0) return groupDemo(str(p, 'board') ?? 'sim', members);
      return demo(str(p, 'board') ?? 'sim', int(p, 'seconds', 1, 600, 3)!);
    }
    default:
      throw new UsageError(verb ? `unknown lab command "${verb}"` : 'lab needs a command');
  }
}

function printPlan(lab: Lab): void {
  const { plan } = lab;
  process.stdout.write(`lab ${plan.name} is up (board ${plan.board}); remove it with: tandem lab down ${plan.name}\n`);
  for (const seg of plan.segments)
    process.stdout.write(
      `  segment ${seg.name.padEnd(5)} ${seg.subnet.padEnd(16)} shared ${seg.sharedIp}${plan.ipv6 ? `  ${seg.subnet6} shared ${seg.sharedIp6}` : ''}\n`,
    );
  for (const node of plan.nodes) {
    process.stdout.write(`  node ${node.name}  ip netns exec ${node.netns} ...  ${node.ifaces.map((i) => `${i.ifname}=${i.address}`).join(' ')}\n`);
  }
  for (const host of plan.hosts)
    process.stdout.write(
      `  ${host.name.padEnd(6)} ${host.netns}  ${host.iface.address} via ${host.gateway}${plan.ipv6 ? `, ${host.iface.address6} via ${host.gateway6}` : ''}\n`,
    );
}

/**
 * The README's main job, dual stack: two nodes as stateful firewalls (SNAT and
 * NAT66 to the WAN shared addresses), three segments and a sync link, a client
 * pinging the server over IPv4 and IPv6 every 10 ms and holding 20 TCP
 * connections of each family open, the active node powered off; then the
 * outage the client saw and how many TCP connections survived (every byte
 * checked), per family, status before and after.
 */
const TCP_CONNECTIONS = 20;

async function demo(boardName: string, seconds: number): Promise<number> {
  const board = resolveBoard(boardName);
  process.stdout.write(`building a two-node lab (board ${board.name}) ...\n`);
  const lab = await Lab.up(board, { nodes: 2, ipv6: true });
  let cluster: LabCluster | undefined;
  let traffic: Traffic | undefined;
  let traffic6: Traffic | undefined;
  let tcp: TcpProbe | undefined;
  let tcp6: TcpProbe | undefined;
  const onSignal = () => void lab.down().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  try {
    printPlan(lab);
    await statefulGateways(lab);
    process.stdout.write(
      'gateways are stateful firewalls (IPv4 and IPv6): forward policy drop, established/related accepted, SNAT and NAT66 to the WAN shared addresses, nf_conntrack_tcp_loose=0\n',
    );
    cluster = await LabCluster.start(lab, board, {
      timers: { initialSilenceMs: 1000 },
      onEvent: (node, ev) => {
        if (['role_change', 'takeover', 'worker_died', 'startup_failed', 'effect_failed'].includes(String(ev['event']))) {
          const { ts: _ts, level: _level, evidence: _e, ...rest } = ev;
          process.stdout.write(`  [${node}] ${JSON.stringify(rest)}\n`);
        }
      },
    });
    const before = await cluster.settled(15_000);
    process.stdout.write(`\n--- before: ${before.active} is active ---\n`);
    for (const n of cluster.nodes) process.stdout.write(formatStatus(await cluster.status(n.name)) + '\n\n');

    const serverIface = lab.plan.hosts.find((h) => h.name === 'server')!.iface;
    const server = serverIface.address.split('/')[0]!;
    const server6 = serverIface.address6.split('/')[0]!;
    traffic = new Traffic(lab, server, 10, seconds + 10);
    traffic6 = new Traffic(lab, server6, 10, seconds + 10);
    tcp = await TcpProbe.start(lab, { connections: TCP_CONNECTIONS, intervalMs: 10 });
    tcp6 = await TcpProbe.start(lab, { connections: TCP_CONNECTIONS, intervalMs: 10, family: 6, port: 7008 });
    const flowing = Date.now() + 10_000;
    while (!(tcp.allFlowing(TCP_CONNECTIONS) && tcp6.allFlowing(TCP_CONNECTIONS)) && Date.now() < flowing) await sleep(50);
    await sleep(1000); // the standby has every flow by now (status below shows the conntrack count)
    const held = (await cluster.sync(before.inactive)).providers['conntrack'];
    process.stdout.write(
      `client -> server ${server} and ${server6}: a ping of each family every 10 ms and ${TCP_CONNECTIONS} TCP connections of each writing every 10 ms; the standby holds ${held?.count ?? 0} synchronised connections (IPv4 ${held?.ipv4 ?? 0}, IPv6 ${held?.ipv6 ?? 0})\n`,
    );
    process.stdout.write(`powering off ${before.active} (all its cables cut at once)\n`);
    const cutAt = Date.now();
    await lab.powerOff(before.active);
    await sleep(Math.max(1, seconds) * 1000);
    await traffic.stop();
    await traffic6.stop();
    const after = await cluster.status(before.inactive);
    process.stdout.write(`\n--- after: ${before.inactive} is ${after.role} ---\n${formatStatus(after)}\n\n`);
    let ok = after.role === 'active';
    for (const [family, ping, probe] of [
      ['IPv4', traffic, tcp],
      ['IPv6', traffic6, tcp6],
    ] as const) {
      const report = await probe.stop();
      const survived = report.conns.filter((c) => c.error === null && c.echoed === c.sent && c.lastEchoAt > cutAt + 500);
      const stall = survived.length ? Math.max(...survived.map((c) => c.maxGapMs)) : 0;
      process.stdout.write(
        `${family}: outage seen by the client ${ping.outageMs(cutAt - 1000).toFixed(0)} ms (failover time ${DEFAULTS.failoverTimeMs} ms; ${ping.count} replies); TCP connections that survived, no reset and no byte lost: ${survived.length}/${TCP_CONNECTIONS} (longest stall ${stall} ms)\n`,
      );
      ok &&= ping.count > 0 && survived.length === TCP_CONNECTIONS;
    }
    process.stdout.write(ok ? `${before.inactive} took over\n` : 'THE TAKEOVER FAILED\n');
    return ok ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    await traffic?.stop();
    await traffic6?.stop();
    await tcp?.stop().catch(() => undefined);
    await tcp6?.stop().catch(() => undefined);
    await cluster?.stop();
    await lab.down();
    if (cluster) process.stdout.write(`logs: ${cluster.dir}\n`);
    process.stdout.write(`lab ${lab.name} removed\n`);
  }
}
