import test from 'ava';
import { run } from '../../src/lab/run.js';
import { SharedAddresses, sharedLinkName } from '../../src/io/shared-address.js';
import { PacketLink } from '../../src/io/packet-link.js';
import { labFor, sleep } from '../helpers/lab.js';

const LAN = { parent: 'eth1', nn: 0b000_01_001, ipv4: { address: '198.18.2.1', prefix: 24 }, ipv6: null };
const LAN6 = { ...LAN, ipv6: { address: '2001:2:0:2::1', prefix: 64 } };

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

test.serial(
  'IPv6: the shared address and the link-local of the shared MAC come up without DAD; advertisements with Override reach the client, whose cache points at the shared MAC',
  async (t) => {
    const lab = await labFor(t, 2, { ipv6: true });
    const [n1, n2] = lab.plan.nodes.map((n) => n.netns) as [string, string];
    const client = lab.plan.hosts.find((h) => h.name === 'client')!.netns;
    const watch = PacketLink.open({ ifname: 'eth1', netns: n2 });
    t.teardown(() => watch.close());
    const adverts: Buffer[] = [];
    const order: string[] = [];
    watch.receive(
      (f) => {
        if (f.readUInt16BE(12) === 0x86dd && f[20] === 58 && f[54] === 136) (adverts.push(Buffer.from(f)), order.push('na'));
        if (f.readUInt16BE(12) === 0x0806 && f.subarray(6, 12).toString('hex') === '100000000907') order.push('garp');
      },
      () => undefined,
    );
    const a = new SharedAddresses(7, [LAN6], { count: 3, intervalMs: 30 }, n1);
    const b = new SharedAddresses(7, [LAN6], { count: 3, intervalMs: 30 }, n2);
    t.teardown(() => [a, b].forEach((s) => s.close()));
    const started = performance.now();
    const report = await a.claim();
    t.true(
      report.firstNaAt !== null && report.firstNaAt !== undefined && report.firstNaAt >= report.firstGarpAt,
      'IPv6 timed as its own step, after the first ARPs',
    );
    t.log(
      `links and IPv4 up ${Number(report.firstGarpAt - report.upAt) / 1e6} ms before the first ARPs; IPv6 addresses and first advertisements ${Number(report.firstNaAt! - report.firstGarpAt) / 1e6} ms after them`,
    );
    const addrs = await run(['ip', '-n', n1, '-6', '-o', 'addr', 'show', 'dev', 'tsh09']);
    t.regex(addrs.stdout, /inet6 2001:2:0:2::1\/64 scope global nodad/);
    t.regex(addrs.stdout, /inet6 fe80::1200:ff:fe00:907\/64 scope link nodad/);
    t.notRegex(addrs.stdout, /tentative/, 'usable at once');
    t.is(addrs.stdout.trim().split('\n').length, 2, 'no other address generated on the shared link');
    const groups = await run(['ip', '-n', n1, 'maddr', 'show', 'dev', 'tsh09']);
    t.regex(groups.stdout, /ff02::1:ff00:1\b/, 'solicited-node group of the shared address joined');
    t.regex(groups.stdout, /ff02::1:ff00:907/, 'and of its link-local address');
    t.true(
      await ping6(client, '2001:2:0:2::1'),
      `the client reaches the shared IPv6 address (${Math.round(performance.now() - started)} ms after the claim began)`,
    );
    t.regex((await run(['ip', '-n', client, '-6', 'neigh', 'show', '2001:2:0:2::1'])).stdout, /lladdr 10:00:00:00:09:07 router/);
    await sleep(150);
    t.is(adverts.length, 6, 'three rounds of two advertisements (the shared address, the link-local)');
    t.is(order.filter((k) => k === 'garp').length, 3, 'and three gratuitous ARPs (garp.count), no more');
    t.is(order[0], 'garp', `the first gratuitous ARP goes before the IPv6 address work and its advertisements: ${order.join(' ')}`);
    for (const f of adverts) {
      t.is(f.subarray(6, 12).toString('hex'), '100000000907', 'from the shared MAC');
      t.is(f.subarray(0, 6).toString('hex'), '333300000001', 'to all nodes');
      t.is(f[58]! & 0xa0, 0xa0, 'Router and Override');
    }
    // Takeover by the other node: the client's entry still names the shared MAC, and the new holder answers.
    await a.release();
    await b.claim();
    t.true(await ping6(client, '2001:2:0:2::1'), 'after the move');
    t.regex((await run(['ip', '-n', client, '-6', 'neigh', 'show', '2001:2:0:2::1'])).stdout, /lladdr 10:00:00:00:09:07/);
    t.deepEqual(await b.removeStale(), ['tsh09']);
    t.false(await ping6(client, '2001:2:0:2::1'));
  },
);

test.serial('IPv6 disabled on the node: the claim names the cause and the fix, and the IPv4 address comes up and is announced all the same', async (t) => {
  const lab = await labFor(t);
  const n1 = lab.plan.nodes[0]!.netns;
  const client = lab.plan.hosts.find((h) => h.name === 'client')!.netns;
  const watch = PacketLink.open({ ifname: 'eth1', netns: lab.plan.nodes[1]!.netns });
  t.teardown(() => watch.close());
  const seen: number[] = [];
  watch.receive(
    (f) => void seen.push(f.readUInt16BE(12)),
    () => undefined,
  );
  const shared = new SharedAddresses(7, [LAN6], { count: 2, intervalMs: 20 }, n1);
  t.teardown(() => shared.close());
  const report = await shared.claim();
  t.true(report.ipv6Failed.length > 0);
  t.regex(report.ipv6Failed.join('\n'), /tsh09: IPv6 is disabled on this link .*disable_ipv6=1.*remove sharedIp6/);
  t.true(await ping(client, '198.18.2.1'), 'IPv4 keeps working');
  await sleep(100);
  t.true(seen.includes(0x0806), 'gratuitous ARPs sent');
  t.false(seen.includes(0x86dd), 'no advertisement for an address that is not there');
  await shared.release();
});

async function ping6(ns: string, ip: string): Promise<boolean> {
  try {
    await run(['ip', 'netns', 'exec', ns, 'ping', '-6', '-c', '1', '-W', '1', ip]);
    return true;
  } catch {
    return false;
  }
}
