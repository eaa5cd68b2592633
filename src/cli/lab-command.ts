/**
 * DOC: `tandem lab up|status|down|demo`
 *
 * The lab as an appliance builder uses it: bring a cluster up in namespaces,
 * look at it, tear it down (also what a crashed run left), and the demo that
 * the README opens with. The demo runs real `tandemd` processes, one per node
 * namespace, and prints the heartbeat matrix they report.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { resolveBoard } from '../board/board-file.js';
import { downAll, downByName, Lab, sleep } from '../lab/lab.js';
import type { MatrixRow, PeerSeen } from '../runtime/heartbeat-node.js';
import { flag, int, str, UsageError, type Parsed } from './args.js';

export const LAB_USAGE = `tandem lab up [--board NAME|FILE] [--nodes N] [--json]
tandem lab status [NAME] [--json]
tandem lab down [NAME | --all]
tandem lab demo [--board NAME|FILE] [--seconds N]`;

const TANDEMD = join(__dirname, '..', '..', '..', 'bin', 'tandemd');

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

interface Report {
  matrix: MatrixRow[];
  peers: PeerSeen[];
}

/** The README's main job until the failover daemon lands: two nodes, heartbeats on every interface. */
async function demo(boardName: string, seconds: number): Promise<number> {
  const board = resolveBoard(boardName);
  const secretDir = mkdtempSync(join(tmpdir(), 'tandem-demo-'));
  const passwordFile = join(secretDir, 'password');
  writeFileSync(passwordFile, 'demo-cluster-password\n', { mode: 0o600 });
  process.stdout.write(`building a two-node lab (board ${board.name}) ...\n`);
  const lab = await Lab.up(board, { nodes: 2 });
  const children: ChildProcess[] = [];
  const reports = new Map<string, Report>();
  const cleanup = async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await lab.down();
    rmSync(secretDir, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  try {
    printPlan(lab);
    for (const node of lab.plan.nodes) {
      const child = lab.spawn(node.netns, [
        process.execPath, TANDEMD, '--board', boardName, '--cluster-id', '7', '--node-id', String(node.index),
        '--node-name', node.name, '--type', node.index === 1 ? 'master' : 'slave', '--password-file', passwordFile,
        '--stats-every-ms', '1000',
      ]);
      children.push(child);
      child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${node.name}] ${d}`));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          const ev = JSON.parse(line) as { event: string } & Partial<Report> & Record<string, unknown>;
          if (ev.event === 'heartbeat_matrix' && ev.matrix && ev.peers) reports.set(node.name, { matrix: ev.matrix, peers: ev.peers });
          else process.stdout.write(`[${node.name}] ${ev.event} ${JSON.stringify({ ...ev, ts: undefined, event: undefined, level: undefined })}\n`);
        } catch {
          process.stdout.write(`[${node.name}] ${line}\n`);
        }
      });
    }
    await sleep(seconds * 1000 + 1200);
    let ok = true;
    for (const node of lab.plan.nodes) {
      const r = reports.get(node.name);
      if (!r) {
        process.stdout.write(`\n${node.name}: no report from tandemd\n`);
        ok = false;
        continue;
      }
      const peer = r.peers.map((x) => `${x.name} (${x.type})`).join(', ') || 'nobody';
      process.stdout.write(`\n${node.name} hears ${peer}\n  iface sync   sent  accepted  rejected  last heard\n`);
      for (const row of r.matrix) {
        const rejected = Object.values(row.received.rejected).reduce((a, b) => a + (b ?? 0), 0);
        const last = row.lastSeenAgoMs === null ? 'never' : `${row.lastSeenAgoMs.toFixed(0)} ms ago`;
        process.stdout.write(`  ${row.iface.padEnd(5)} ${(row.sync ? 'yes' : '').padEnd(4)} ${String(row.sent.sent).padStart(6)} ${String(row.received.accepted).padStart(9)} ${String(rejected).padStart(9)}  ${last}\n`);
        if (row.received.accepted === 0) ok = false;
      }
    }
    process.stdout.write(ok ? '\nheartbeats flow on every interface in both directions\n' : '\nSOME INTERFACES CARRY NO HEARTBEATS\n');
    return ok ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    await cleanup();
    process.stdout.write(`lab ${lab.name} removed\n`);
  }
}


