/**
 * The CPG binding against real Corosyncs (knet, encrypted) in three lab namespaces: every member
 * delivers the same messages in the same order, views change on a clean leave and on a killed
 * member (its Corosync ends with it), and a join without Corosync says what is wrong.
 */
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { labFor, until } from '../helpers/lab.js';

const PEER = join(__dirname, '../helpers/cpg-peer.js');

interface Peer {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  send(line: string): void;
}

function startPeer(lab: Awaited<ReturnType<typeof labFor>>, netns: string, dir: string, members: object[]): Peer {
  const proc = lab.spawn(netns, [process.execPath, PEER, dir, 'labc', JSON.stringify(members)]);
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  return { proc, lines, send: (line) => proc.stdin!.write(line + '\n') };
}

const msgs = (p: Peer) => p.lines.filter((l) => l.ev === 'msg').map((l) => `${String(l.from)}:${String(l.text)}`);
const views = (p: Peer) => p.lines.filter((l) => l.ev === 'view') as unknown as { members: number[]; left: number[]; joined: number[] }[];

test.serial('three members deliver the same messages in the same order; leave and kill change the view', async (t) => {
  const lab = await labFor(t, 3);
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cpg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const members = lab.plan.nodes.map((n) => ({ id: n.index, name: n.name, address: n.ifaces.find((i) => i.role === 'sync')!.address.split('/')[0] }));
  const peers = lab.plan.nodes.map((n) => startPeer(lab, n.netns, join(dir, n.name), members));
  t.true(await until(async () => peers.every((p) => views(p).some((v) => v.members.length === 3)), 20_000), 'all three in one view');
  t.deepEqual(
    peers.map((p) => p.lines.find((l) => l.ev === 'joined')?.nodeid),
    [1, 2, 3],
  );

  peers.forEach((p, i) => p.send(`burst 300 n${i + 1}`));
  t.true(await until(async () => peers.every((p) => msgs(p).length >= 900), 20_000), 'every member delivered all 900');
  const order = msgs(peers[0]!);
  t.is(order.length, 900);
  for (const p of peers.slice(1)) t.deepEqual(msgs(p), order, 'the same total order everywhere');
  for (let k = 1; k <= 3; k++) {
    const own = order.filter((m) => m.startsWith(`${k}:`)).map((m) => Number(m.split('-')[1]));
    t.deepEqual(own, [...Array(300).keys()], `member ${k}'s messages in the order it sent them`);
  }

  peers[2]!.send('leave');
  t.true(await until(async () => views(peers[0]!).some((v) => v.left.includes(3) && v.members.length === 2), 10_000), 'a clean leave is a view change');

  const before = views(peers[0]!).length;
  peers[1]!.proc.kill('SIGKILL');
  t.true(
    await until(
      async () =>
        views(peers[0]!)
          .slice(before)
          .some((v) => v.left.includes(2) && v.members.join() === '1'),
      15_000,
    ),
    'a killed member leaves the view',
  );
  t.false(
    peers[0]!.lines.some((l) => l.ev === 'error'),
    'no error on the survivor',
  );
  for (const p of peers) p.proc.kill('SIGKILL');
});

test.serial('joining without a Corosync names the cause', async (t) => {
  const lab = await labFor(t, 2);
  const script = `const { CpgGroup } = require(${JSON.stringify(join(__dirname, '../../src/io/cpg-group.js'))});
try { CpgGroup.join('tandem-x', { message() {}, view() {}, error() {} }); console.log('joined'); } catch (e) { console.log(e.message); }`;
  const proc = lab.spawn(lab.plan.nodes[0]!.netns, [process.execPath, '-e', script]);
  let text = '';
  proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  await new Promise((r) => proc.on('exit', r));
  t.regex(text, /Corosync group tandem-x: cpg_initialize failed with ECONNREFUSED: no Corosync runs in this network namespace/);
});
