import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CaptureLine } from '../../src/cli/capture-command.js';
import { CLUSTER, PASSWORD } from '../helpers/frames.js';
import { heartbeatNode, labFor, sleep } from '../helpers/lab.js';

const TANDEM = join(__dirname, '..', '..', '..', 'bin', 'tandem');

/** Runs `tandem capture` (libpcap) in node n2's namespace and collects its JSON lines. */
async function capture(t: Parameters<typeof labFor>[0], netns: string, extra: string[], count: number, send: () => void) {
  const child = spawn(TANDEM, ['capture', 'eth1', '--netns', netns, '--json', '--count', String(count), '--seconds', '20', ...extra]);
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  const lines: CaptureLine[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l) as CaptureLine));
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`capture did not start: ${stderr}`)), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('capturing heartbeats')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await sleep(200);
  send();
  t.is(await exited, 0, stderr);
  return lines;
}

test.serial('tandem capture decodes sender, sequence and connections and gives each frame a verdict', async (t) => {
  const lab = await labFor(t);
  const a = heartbeatNode(t, lab, 1);
  a.node.sender.update({ connections: 4321, state: 'active' });
  const dir = mkdtempSync(join(tmpdir(), 'tandem-capture-'));
  writeFileSync(join(dir, 'password'), PASSWORD + '\n');
  const lines = await capture(
    t,
    lab.plan.nodes[1]!.netns,
    ['--cluster-id', String(CLUSTER), '--password-file', join(dir, 'password'), '--board', 'sim'],
    3,
    () => {
      a.node.sender.sendOn('eth1');
      a.node.sender.sendOn('eth1', {}, 254);
      a.node.sender.sendOn('eth1');
    },
  );
  t.is(lines.length, 3);
  t.like(lines[0], {
    iface: 'eth1',
    node: 'n1',
    nodeId: 1,
    type: 'master',
    state: 'active',
    connections: 4321,
    ttl: 255,
    srcIp: '198.18.2.11',
    dstIp: '198.18.2.255',
    verdict: 'ok',
  });
  t.like(lines[1], { ttl: 254, verdict: 'ttl_too_low' });
  t.is(lines[2]!.verdict, 'ok');
  t.is(BigInt(lines[2]!.sequence!), BigInt(lines[0]!.sequence!) + 2n);
});

test.serial('without the password, capture still shows the sender and says the tag was not verified', async (t) => {
  const lab = await labFor(t);
  const a = heartbeatNode(t, lab, 1);
  const lines = await capture(t, lab.plan.nodes[1]!.netns, [], 1, () => void a.node.sender.sendOn('eth1'));
  t.like(lines[0], { node: 'n1', verdict: 'unverified', dstMac: '11:00:00:00:09:07' });
});
