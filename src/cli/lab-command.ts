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
import { LabCluster, Traffic } from '../lab/cluster.js';
import { formatStatus } from './status-command.js';
import { DEFAULTS } from '../cluster/config-file.js';
import { flag, int, str, UsageError, type Parsed } from './args.js';

export const LAB_USAGE = `tandem lab up [--board NAME|FILE] [--nodes N] [--json]
tandem lab status [NAME] [--json]
tandem lab down [NAME | --all]
tandem lab demo [--board NAME|FILE] [--seconds N]   (a failover: the active node powered off)`;


export async function labCommand(p: Parsed): Promise<number> {
  const [verb, name] = p.positionals;
  switch (verb) {
    case 'up': {
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
          process.stdout.write(`lab ${s.name} (board ${s.board})${s.missing.length ? ` DAMAGED: missing ${s.missing.join(', ')}` : ''}\n`);
          for (const node of s.nodes) {
            const links = Object.entries(node.links).map(([i, st]) => `${i}:${st}`).join(' ');
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
    case 'demo':
      return demo(str(p, 'board') ?? 'sim', int(p, 'seconds', 1, 600, 3)!);
    default:
      throw new UsageError(verb ? `unknown lab command "${verb}"` : 'lab needs a command');
  }
}

function printPlan(lab: Lab): void {
  const { plan } = lab;
  process.stdout.write(`lab ${plan.name} is up (board ${plan.board}); remove it with: tandem lab down ${plan.name}\n`);
  for (const seg of plan.segments) process.stdout.write(`  segment ${seg.name.padEnd(5)} ${seg.subnet.padEnd(16)} shared ${seg.sharedIp}\n`);
  for (const node of plan.nodes) {
    process.stdout.write(`  node ${node.name}  ip netns exec ${node.netns} ...  ${node.ifaces.map((i) => `${i.ifname}=${i.address}`).join(' ')}\n`);
  }
  for (const host of plan.hosts) process.stdout.write(`  ${host.name.padEnd(6)} ${host.netns}  ${host.iface.address} via ${host.gateway}\n`);
}

/**
 * The README's main job: two nodes, three segments and a sync link, a client
 * pinging the server through the shared addresses every 10 ms, the active
 * node powered off, the outage the client saw, status before and after.
 */
async function demo(boardName: string, seconds: number): Promise<number> {
  const board = resolveBoard(boardName);
  process.stdout.write(`building a two-node lab (board ${board.name}) ...\n`);
  const lab = await Lab.up(board, { nodes: 2 });
  let cluster: LabCluster | undefined;
  let traffic: Traffic | undefined;
  const onSignal = () => void lab.down().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  try {
    printPlan(lab);
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

    const server = lab.plan.hosts.find((h) => h.name === 'server')!.iface.address.split('/')[0]!;
    traffic = new Traffic(lab, server, 10, seconds + 10);
    await sleep(1000);
    process.stdout.write(`client -> server ${server} every 10 ms through the shared addresses; powering off ${before.active} (all its cables cut at once)\n`);
    const cutAt = Date.now();
    await lab.powerOff(before.active);
    await sleep(Math.max(1, seconds) * 1000);
    await traffic.stop();
    const outage = traffic.outageMs(cutAt - 1000);
    const after = await cluster.status(before.inactive);
    process.stdout.write(`\n--- after: ${before.inactive} is ${after.role} ---\n${formatStatus(after)}\n\n`);
    process.stdout.write(`outage seen by the client: ${outage.toFixed(0)} ms (failover time ${DEFAULTS.failoverTimeMs} ms; ${traffic.count} replies)\n`);
    const ok = after.role === 'active' && traffic.count > 0;
    process.stdout.write(ok ? `${before.inactive} took over\n` : 'THE TAKEOVER FAILED\n');
    return ok ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    await traffic?.stop();
    await cluster?.stop();
    await lab.down();
    if (cluster) process.stdout.write(`logs: ${cluster.dir}\n`);
    process.stdout.write(`lab ${lab.name} removed\n`);
  }
}
