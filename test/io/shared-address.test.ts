import test from 'ava';
import { run } from '../../src/lab/run.js';
import { SharedAddresses, sharedLinkName } from '../../src/io/shared-address.js';
import { PacketLink } from '../../src/io/packet-link.js';
import { labFor, sleep } from '../helpers/lab.js';

const LAN = { parent: 'eth1', nn: 0b000_01_001, address: '198.18.2.1', prefix: 24 };

async function ping(ns: string, ip: string): Promise<boolean> {
  try {
    await run(['ip', 'netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', ip]);
    return true;
  } catch {
    return false;
  }
}

test.serial('claim brings up the shared MAC with the shared address; the client reaches it; release removes it', async (t) => {
  const lab = await labFor(t);
  const n1 = lab.plan.nodes[0]!.netns;
  const client = lab.plan.hosts.find((h) => h.name === 'client')!.netns;
  const shared = new SharedAddresses(7, [LAN], { count: 3, intervalMs: 20 }, n1);
  t.teardown(() => shared.close());
  t.false(await ping(client, '198.18.2.1'), 'nobody holds the shared address yet');
  const report = await shared.claim();
  t.true(report.firstGarpAt >= report.upAt);
  const { stdout } = await run(['ip', '-n', n1, '-o', 'addr', 'show', 'dev', sharedLinkName(LAN.nn)]);
  t.regex(stdout, /inet 198\.18\.2\.1\/24/);
  const link = await run(['ip', '-n', n1, '-o', 'link', 'show', sharedLinkName(LAN.nn)]);
  t.regex(link.stdout, /link\/ether 10:00:00:00:09:07/);
  t.regex(link.stdout, /macvlan|UP/);
  t.true(await ping(client, '198.18.2.1'));
  const neigh = await run(['ip', '-n', client, 'neigh', 'show', '198.18.2.1']);
  t.regex(neigh.stdout, /lladdr 10:00:00:00:09:07/, 'the client learnt the shared MAC, not the node MAC');
  await t.notThrowsAsync(() => shared.claim(), 'claiming twice is harmless');
  await shared.release();
  const gone = await run(['ip', '-n', n1, '-o', 'link', 'show']);
  t.notRegex(gone.stdout, /tsh09/);
  await t.notThrowsAsync(() => shared.release(), 'releasing twice is harmless');
});

test.serial('gratuitous ARPs announce the shared address from the shared MAC, as many as configured', async (t) => {
  const lab = await labFor(t);
  const n1 = lab.plan.nodes[0]!.netns;
  const n2 = lab.plan.nodes[1]!.netns;
  const watch = PacketLink.open({ ifname: 'eth1', netns: n2 });
  t.teardown(() => watch.close());
  const garps: Buffer[] = [];
  watch.receive(
    (f) => {
      if (f.readUInt16BE(12) === 0x0806) garps.push(Buffer.from(f));
    },
    () => undefined,
  );
  const shared = new SharedAddresses(7, [LAN], { count: 4, intervalMs: 30 }, n1);
  t.teardown(() => shared.close());
  await shared.claim();
  await sleep(300);
  t.is(garps.length, 4);
  for (const g of garps) {
    t.is(g.subarray(0, 6).toString('hex'), 'ffffffffffff');
    t.is(g.subarray(6, 12).toString('hex'), '100000000907');
    t.is(g.readUInt16BE(20), 1, 'request');
    t.is(g.subarray(28, 32).join('.'), '198.18.2.1', 'sender IP');
    t.is(g.subarray(38, 42).join('.'), '198.18.2.1', 'target IP');
  }
});

test.serial('the shared address moves between nodes and the client keeps reaching it; stale links are removed', async (t) => {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes.map((n) => n.netns) as [string, string];
  const client = lab.plan.hosts.find((h) => h.name === 'client')!.netns;
  const a = new SharedAddresses(7, [LAN], { count: 3, intervalMs: 20 }, n1);
  const b = new SharedAddresses(7, [LAN], { count: 3, intervalMs: 20 }, n2);
  t.teardown(() => [a, b].forEach((s) => s.close()));
  await a.claim();
  t.true(await ping(client, '198.18.2.1'));
  await a.release();
  await b.claim();
  t.true(await ping(client, '198.18.2.1'), 'after the move');
  // A node that crashed while active left its shared link: removeStale takes it away.
  t.deepEqual(await b.removeStale(), ['tsh09']);
  t.false(await ping(client, '198.18.2.1'));
});
