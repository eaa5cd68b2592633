import test from 'ava';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { downByName, Lab, LAB_STATE_DIR, listNetns } from '../../src/lab/lab.js';
import { planLab } from '../../src/lab/topology.js';
import { run } from '../../src/lab/run.js';
import { board, heartbeatNode, labFor, sleep } from '../helpers/lab.js';

const exec = promisify(execFile);
const TANDEM = join(__dirname, '..', '..', '..', 'bin', 'tandem');

test('the plan uses only 198.18.0.0/15, prefixed names and short interface names', (t) => {
  const plan = planLab(board, 4, 'tdm0abcd');
  const addrs = [
    ...plan.nodes.flatMap((n) => n.ifaces.map((i) => i.address)),
    ...plan.hosts.map((h) => h.iface.address),
    ...plan.segments.map((s) => s.sharedIp),
  ];
  for (const a of addrs) t.regex(a, /^198\.(18|19)\./);
  for (const ns of [plan.switchNs, ...plan.nodes.map((n) => n.netns)]) t.true(ns.startsWith('tdm0abcd-'));
  for (const port of plan.nodes.flatMap((n) => n.ifaces.map((i) => i.switchPort))) t.true(port.length <= 15);
  t.throws(() => planLab(board, 2, 'lab1'), { message: /must be "tdm" and 5 hex digits/ });
  t.throws(() => planLab(board, 1, 'tdm00001'), { message: /2 to 8 nodes/ });
});

test.serial('up builds every namespace with carrier on every cable; down removes them all', async (t) => {
  const lab = await Lab.up(board);
  t.teardown(() => lab.down());
  const s = await lab.status();
  t.deepEqual(s.missing, []);
  for (const n of s.nodes) t.deepEqual(Object.values(n.links), ['up', 'up', 'up', 'up']);
  const proc = lab.spawn(lab.plan.nodes[0]!.netns, ['sleep', '60'], { stdio: 'ignore' });
  const gone = new Promise((r) => proc.once('exit', r));
  await sleep(100);
  t.is((await lab.status()).nodes[0]!.processes, 1);
  await lab.down();
  await gone;
  const left = (await listNetns()).filter((n) => n.startsWith(lab.name));
  t.deepEqual(left, []);
  t.false(Lab.list().includes(lab.name));
  await t.notThrowsAsync(() => lab.down(), 'down twice is fine');
});

test.serial('`tandem lab down --all` removes what a crashed run left without a state file', async (t) => {
  const { stdout } = await exec(TANDEM, ['lab', 'up', '--json']);
  const name = (JSON.parse(stdout) as { name: string }).name;
  t.teardown(() => downByName(name));
  rmSync(join(LAB_STATE_DIR, `${name}.json`)); // as if the run had died before saving
  t.true((await listNetns()).some((n) => n.startsWith(name)));
  const down = await exec(TANDEM, ['lab', 'down', '--all']);
  t.regex(down.stdout, new RegExp(`removed .*${name}`));
  t.deepEqual(
    (await listNetns()).filter((n) => n.startsWith(name)),
    [],
  );
});

test.serial('`tandem lab status` reports a lab and a cut cable', async (t) => {
  const lab = await labFor(t);
  await lab.cutLink('n2', 'eth0');
  const { stdout } = await exec(TANDEM, ['lab', 'status', lab.name]);
  t.regex(stdout, new RegExp(`lab ${lab.name} \\(board sim\\)`));
  t.regex(stdout, /n2 \S+ eth0:no-carrier eth1:up/);
});

test.serial('power off cuts every cable of a node at once', async (t) => {
  const lab = await labFor(t);
  await lab.powerOff('n1');
  const s = await lab.status();
  t.deepEqual(Object.values(s.nodes[0]!.links), ['no-carrier', 'no-carrier', 'no-carrier', 'no-carrier']);
  t.is(s.nodes[1]!.links['eth0'], 'up');
  t.is(s.nodes[1]!.links['eth3'], 'no-carrier', 'the cross-over sync cable lost its other end');
  await lab.powerOn('n1');
  await lab.waitCarrier(3000);
});

test.serial('heartbeats dropped on a segment by the switch: all, then about half, then none', async (t) => {
  const lab = await labFor(t);
  const a = heartbeatNode(t, lab, 1, { intervalMs: 20 });
  const b = heartbeatNode(t, lab, 2);
  b.node.receiver.start();
  const burst = async () => {
    const before = b.node.receiver.stats().get('eth1')!.accepted;
    for (let i = 0; i < 200; i++) a.node.sender.sendOn('eth1');
    await sleep(300);
    return b.node.receiver.stats().get('eth1')!.accepted - before;
  };
  await lab.dropHeartbeats('lan', 100);
  t.is(await burst(), 0);
  await lab.dropHeartbeats('lan', 50);
  const half = await burst();
  t.true(half > 40 && half < 160, `about half of 200 arrived: ${half}`);
  await lab.clearHeartbeatDrops('lan');
  t.is(await burst(), 200);
  // The other segments were never touched.
  a.node.sender.sendOn('eth0');
  await sleep(100);
  t.is(b.node.receiver.stats().get('eth0')!.accepted, 1);
});

test.serial(
  '`tandem lab demo` fails over from a powered-off active node, keeps every TCP connection of both families, prints the outages and cleans up',
  async (t) => {
    const before = new Set(await listNetns());
    const { stdout } = await exec(TANDEM, ['lab', 'demo', '--seconds', '2'], { timeout: 60_000 });
    t.regex(stdout, /--- before: n1 is active ---/, 'the master wins the simultaneous start');
    t.regex(stdout, /--- after: n2 is active ---/);
    t.regex(stdout, /last change: inactive -> active because peer_dead/);
    for (const family of ['IPv4', 'IPv6']) {
      const outage = Number(new RegExp(`${family}: outage seen by the client (\\d+) ms`).exec(stdout)?.[1]);
      t.true(outage > 0 && outage < 1000, `${family} outage ${outage} ms`);
      t.regex(stdout, new RegExp(`${family}: .*TCP connections that survived, no reset and no byte lost: 20/20`));
    }
    t.regex(stdout, /n2 took over/);
    t.regex(stdout, /the standby holds [1-9]\d* synchronised connections \(IPv4 [1-9]\d*, IPv6 [1-9]\d*\)/);
    const after = (await listNetns()).filter((n) => !before.has(n));
    t.deepEqual(after, []);
    const ps = await run(['ps', '-eo', 'args']);
    t.false(ps.stdout.includes('bin/tandemd --config'), 'no tandemd left running');
  },
);

test.serial(
  '`tandem lab demo --members 3`: a cluster on Corosync, a partition that stops the minority (and says why), healed and converged, cleaned up',
  async (t) => {
    const before = new Set(await listNetns());
    const { stdout } = await exec(TANDEM, ['lab', 'demo', '--members', '3'], { timeout: 90_000 });
    t.regex(stdout, /formed: fw-a, fw-b, fw-c, each with its own Corosync/);
    t.regex(stdout, /1000 sessions written, 100 at a time, on every member in turn: 1000, 1000, 1000 held/);
    t.regex(stdout, /this member fw-a: in a group of fw-a, fw-b, fw-c; 3 members count, quorum 2: quorate/);
    t.regex(stdout, /the side of 1 stopped serving after \d+ ms; fw-c says:\n.*health check: 500 No quorum: 1 of 3 members/);
    t.regex(stdout, /Corosync \(pid \d+\): node 3, NOT quorate, votes 1 of 3 expected/);
    t.regex(stdout, /all 3 serve again after \d+ ms; sessions held: fw-a 1100, fw-b 1100, fw-c 1100\nthe cluster converged/);
    t.deepEqual(
      (await listNetns()).filter((n) => !before.has(n)),
      [],
    );
    const ps = await run(['ps', '-eo', 'args']);
    t.false(ps.stdout.includes('bin/tandemd --config'), 'no tandemd left running');
    t.false(/^corosync -f/m.test(ps.stdout), 'no Corosync left running');
  },
);
