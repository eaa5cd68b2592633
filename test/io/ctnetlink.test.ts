import test from 'ava';
import fc from 'fast-check';
import { ConntrackWriter } from '../../src/io/conntrack.js';
import { NetlinkSocket } from '../../src/io/netlink-socket.js';
import { ConntrackProvider } from '../../src/sync/conntrack-provider.js';
import { REC, recordFromEntry } from '../../src/wire/conn-record.js';
import { run, tool } from '../../src/lab/run.js';
import { dumpConntrack, IPPROTO_TCP, IPPROTO_UDP, NETLINK_NETFILTER, newConntrack, parseConntrack } from '../../src/wire/ctnetlink.js';
import { splitMessages } from '../../src/wire/netlink.js';
import { labFor } from '../helpers/lab.js';

/** A ruleset that makes the namespace track connections, and the kernel's own text view of the table. */
async function tracking(netns: string): Promise<void> {
  await run(['ip', 'netns', 'exec', netns, tool('nft'), '-f', '-'], {
    input: 'table inet tdmct {\n chain out {\n  type filter hook output priority 0;\n  ct state new counter\n }\n}\n',
  });
}

async function procTable(netns: string): Promise<string> {
  return (await run(['ip', 'netns', 'exec', netns, 'cat', '/proc/net/nf_conntrack'])).stdout;
}

test.serial('a ctnetlink dump decodes the kernel table as /proc shows it', async (t) => {
  const lab = await labFor(t);
  const ns = lab.plan.nodes[0]!.netns;
  await tracking(ns);
  const ports = Array.from({ length: 20 }, (_, i) => 21000 + i);
  await run([
    'ip',
    'netns',
    'exec',
    ns,
    tool('python3'),
    '-c',
    `import socket\nfor p in ${JSON.stringify(ports)}:\n    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', p))`,
  ]);
  const nl = NetlinkSocket.open(NETLINK_NETFILTER, { netns: ns });
  t.teardown(() => nl.close());
  const entries = (await nl.request('dump conntrack', (seq) => dumpConntrack(seq))).map(parseConntrack).filter((e) => e !== undefined);
  const proc = await procTable(ns);
  for (const p of ports) {
    t.regex(proc, new RegExp(`udp .*dport=${p}\\b`), `/proc has ${p}`);
    const e = entries.find((x) => x!.orig.proto === IPPROTO_UDP && x!.orig.dport === p);
    t.truthy(e, `the dump has ${p}`);
    t.like(e!, { orig: { src: '127.0.0.1', dst: '127.0.0.1', dport: p }, reply: { src: '127.0.0.1', sport: p } });
    t.true((e!.timeout ?? 0) > 0);
  }
});

test.serial('an entry created through ctnetlink is in the kernel table, TCP established, mid-stream', async (t) => {
  const lab = await labFor(t);
  const ns = lab.plan.nodes[1]!.netns;
  await tracking(ns);
  const nl = NetlinkSocket.open(NETLINK_NETFILTER, { netns: ns });
  t.teardown(() => nl.close());
  await nl.request('create conntrack entry', (seq) =>
    newConntrack(seq, {
      orig: { src: '198.18.2.100', dst: '198.18.1.100', proto: IPPROTO_TCP, sport: 40000, dport: 80 },
      reply: { src: '198.18.1.100', dst: '198.18.2.100', proto: IPPROTO_TCP, sport: 80, dport: 40000 },
      status: (1 << 1) | (1 << 2), // seen reply, assured
      timeout: 300,
      tcpState: 3, // ESTABLISHED
    }),
  );
  const proc = await procTable(ns);
  t.regex(
    proc,
    /tcp\s+6\s+\d+ ESTABLISHED src=198\.18\.2\.100 dst=198\.18\.1\.100 sport=40000 dport=80 .*src=198\.18\.1\.100 dst=198\.18\.2\.100 sport=80 dport=40000 .*ASSURED/,
  );
  const dumped = (await nl.request('dump conntrack', (seq) => dumpConntrack(seq))).map(parseConntrack);
  t.true(dumped.some((e) => e?.orig.sport === 40000 && e.tcpState === 3 && e.reply.dst === '198.18.2.100'));
  const again = await t.throwsAsync(
    nl.request('create it again', (seq) =>
      newConntrack(seq, {
        orig: { src: '198.18.2.100', dst: '198.18.1.100', proto: IPPROTO_TCP, sport: 40000, dport: 80 },
        reply: { src: '198.18.1.100', dst: '198.18.2.100', proto: IPPROTO_TCP, sport: 80, dport: 40000 },
        status: 6,
        tcpState: 3,
      }),
    ),
  );
  t.regex(again!.message, /create it again: the kernel refused with EEXIST/);
});

test('the ctnetlink parser never throws on random bytes', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xffff }), (bytes, type) => {
      parseConntrack({ type, flags: 0, seq: 0, pid: 0, body: bytes });
      const split = splitMessages(bytes);
      if (split.ok) for (const m of split.messages) parseConntrack(m);
      return true;
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test.serial('the bulk writer keeps NAT translations, turns a create of an existing entry into an update, and deletes', async (t) => {
  const lab = await labFor(t);
  const ns = lab.plan.nodes[1]!.netns;
  await run(['ip', 'netns', 'exec', ns, tool('nft'), '-f', '-'], {
    input: 'table ip tdmnat {\n chain post {\n  type nat hook postrouting priority srcnat;\n  ip saddr 198.18.2.0/24 snat ip to 198.18.1.1\n }\n}\n',
  });
  const w = new ConntrackWriter(ns);
  t.teardown(() => w.close());
  const snat = recordFromEntry({
    orig: { src: '198.18.2.100', dst: '198.18.1.100', proto: IPPROTO_TCP, sport: 40000, dport: 80 },
    reply: { src: '198.18.1.100', dst: '198.18.1.1', proto: IPPROTO_TCP, sport: 80, dport: 40001 },
    status: 6,
    timeout: 300,
    tcpState: 3,
  });
  t.like(w.write([{ kind: 'create', rec: snat }]), { written: 1, failed: {} });
  const proc = await procTable(ns);
  t.regex(
    proc,
    /ESTABLISHED src=198\.18\.2\.100 dst=198\.18\.1\.100 sport=40000 dport=80 src=198\.18\.1\.100 dst=198\.18\.1\.1 sport=80 dport=40001 \[ASSURED\]/,
    'the reply goes to the SNAT address and port',
  );
  const dumped = (await nl(ns)).find((e) => e.orig.sport === 40000)!;
  t.true((dumped.status & (1 << 4)) !== 0, 'the kernel set IPS_SRC_NAT: replies will be translated back');
  // A second create (a standby that already had it) becomes an update; a delete removes it.
  const later = snat.slice();
  new DataView(later.buffer).setUint32(REC.timeout, 9000);
  t.like(w.write([{ kind: 'create', rec: later }]), { written: 1, failed: {} });
  t.true(((await nl(ns)).find((e) => e.orig.sport === 40000)!.timeout ?? 0) > 300, 'the update moved the timeout');
  t.like(
    w.write([
      { kind: 'delete', rec: snat },
      { kind: 'delete', rec: snat },
    ]),
    { written: 1, alreadyGone: 1, failed: {} },
  );
  t.notRegex(await procTable(ns), /sport=40000/);
});

test.serial('IPv6: a dump decodes IPv6 entries as /proc shows them; the bulk writer creates an IPv6 flow with its NAT66 translation', async (t) => {
  const lab = await labFor(t, 2, { ipv6: true });
  const ns = lab.plan.nodes[1]!.netns;
  await tracking(ns);
  await run(['ip', 'netns', 'exec', ns, tool('nft'), '-f', '-'], {
    input: 'table ip6 tdmnat6 {\n chain post {\n  type nat hook postrouting priority srcnat;\n  ip6 saddr 2001:2:0:2::/64 snat ip6 to 2001:2:0:1::1\n }\n}\n',
  });
  const ports = [23000, 23001, 23002];
  await run([
    'ip',
    'netns',
    'exec',
    ns,
    tool('python3'),
    '-c',
    `import socket\nfor p in ${JSON.stringify(ports)}:\n    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b'x', ('::1', p))`,
  ]);
  const dumped = await nl(ns);
  for (const p of ports)
    t.truthy(
      dumped.find((e) => e.orig.src === '::1' && e.orig.dport === p && e.reply.sport === p),
      `the dump has ::1 port ${p}`,
    );
  const w = new ConntrackWriter(ns);
  t.teardown(() => w.close());
  const snat6 = recordFromEntry({
    orig: { src: '2001:2:0:2::100', dst: '2001:2:0:1::100', proto: IPPROTO_TCP, sport: 40000, dport: 80 },
    reply: { src: '2001:2:0:1::100', dst: '2001:2:0:1::1', proto: IPPROTO_TCP, sport: 80, dport: 40001 },
    status: 6,
    timeout: 300,
    tcpState: 3,
  });
  t.like(w.write([{ kind: 'create', rec: snat6 }]), { written: 1, failed: {} });
  t.regex(
    await procTable(ns),
    /ipv6\s+10 tcp\s+6 \d+ ESTABLISHED src=2001:0002:0000:0002:0000:0000:0000:0100 dst=2001:0002:0000:0001:0000:0000:0000:0100 sport=40000 dport=80 src=2001:0002:0000:0001:0000:0000:0000:0100 dst=2001:0002:0000:0001:0000:0000:0000:0001 sport=80 dport=40001 \[ASSURED\]/,
    'the reply goes to the NAT66 address and port',
  );
  const back = (await nl(ns)).find((e) => e.orig.sport === 40000)!;
  t.is(back.reply.dst, '2001:2:0:1::1');
  t.true((back.status & (1 << 4)) !== 0, 'the kernel set IPS_SRC_NAT');
  t.like(w.write([{ kind: 'delete', rec: snat6 }]), { written: 1, failed: {} });
  t.notRegex(await procTable(ns), /sport=40000/);
});

async function nl(ns: string) {
  const s = NetlinkSocket.open(NETLINK_NETFILTER, { netns: ns });
  try {
    return (await s.request('dump conntrack', (seq) => dumpConntrack(seq))).map(parseConntrack).filter((e) => e !== undefined);
  } finally {
    s.close();
  }
}

/** An established TCP flow 198.18.2.100:sport -> 198.18.1.100:80, as the standby's sink would write it. */
const tcpFlow = (sport: number, over: { status?: number; timeout?: number } = {}) =>
  recordFromEntry({
    orig: { src: '198.18.2.100', dst: '198.18.1.100', proto: IPPROTO_TCP, sport, dport: 80 },
    reply: { src: '198.18.1.100', dst: '198.18.2.100', proto: IPPROTO_TCP, sport: 80, dport: sport },
    status: over.status ?? 6,
    timeout: over.timeout ?? 600,
    tcpState: 3,
  });

test.serial("the standby's sink rewrites an entry before the kernel ages it out; the same entry written once is gone", async (t) => {
  const lab = await labFor(t);
  const ns = lab.plan.nodes[1]!.netns;
  const entry = (sport: number) => tcpFlow(sport, { timeout: 2 });
  const sink = new ConntrackProvider({ ignore: [], netns: ns, refreshEveryMs: 400 });
  t.teardown(() => sink.close());
  t.like(sink.apply({ count: 1, body: entry(41000) }), { applied: 1, failed: 0 });
  const w = new ConntrackWriter(ns);
  t.teardown(() => w.close());
  t.like(w.write([{ kind: 'create', rec: entry(41001) }]), { written: 1, failed: {} });
  t.regex(await procTable(ns), /sport=41001/);
  await new Promise((r) => setTimeout(r, 4500));
  const table = await procTable(ns);
  t.regex(table, /sport=41000/, 'the sink kept its 2 s entry for 4.5 s');
  t.notRegex(table, /sport=41001/, 'the entry nobody rewrote aged out (the kernel does age them here)');
});

test.serial("a node that stops serving keeps nothing of its own table past the winner's full transfer (issue 30)", async (t) => {
  const lab = await labFor(t);
  const ns = lab.plan.nodes[1]!.netns;
  const entry = (sport: number) => tcpFlow(sport);
  // This node served: its kernel holds 42000-42003, as the source it was sees them.
  const w = new ConntrackWriter(ns);
  t.teardown(() => w.close());
  t.like(w.write([42000, 42001, 42002, 42003].map((p) => ({ kind: 'create' as const, rec: entry(p) }))), { written: 4, failed: {} });
  const logged: string[] = [];
  const p = new ConntrackProvider({ ignore: [], netns: ns, log: { log: (_l, event) => void logged.push(event) } });
  t.teardown(() => p.close());
  await p.startSource(() => undefined);
  t.is(p.count(), 4);
  // It lost the both-active comparison: a sink now. The winner's table has 42001 and 42003 (the others closed
  // there while this node was frozen) and 42010, opened through the winner.
  p.stopSource();
  const body = new Uint8Array(3 * 88);
  [42001, 42003, 42010].forEach((port, i) => body.set(entry(port), i * 88));
  const report = await p.replace([{ count: 3, body }]);
  t.is(report.failed, 0, report.error);
  const table = await procTable(ns);
  for (const port of [42001, 42003, 42010]) t.regex(table, new RegExp(`sport=${port} `), `${port}: in the winner's table, kept`);
  for (const port of [42000, 42002]) t.notRegex(table, new RegExp(`sport=${port} `), `${port}: closed on the winner, gone here`);
  t.true(logged.includes('sync_leftovers_checked'));
});

test.serial('an update the kernel refuses as a change it does not allow (EBUSY: assured to not assured) replaces the entry', async (t) => {
  const lab = await labFor(t);
  const ns = lab.plan.nodes[1]!.netns;
  const entry = (status: number, timeout: number) => tcpFlow(43000, { status, timeout });
  const w = new ConntrackWriter(ns);
  t.teardown(() => w.close());
  // This node's own entry: seen reply and assured (status 6).
  t.like(w.write([{ kind: 'create', rec: entry(6, 300) }]), { written: 1, failed: {} });
  // The winner's record of the same flow: picked up mid-stream there, not assured yet (status 2).
  const r = w.write([{ kind: 'update', rec: entry(2, 9000) }]);
  t.deepEqual(r.failed, {}, r.firstError);
  const now = (await nl(ns)).find((e) => e.orig.sport === 43000)!;
  t.is(now.status & 4, 0, "the kernel's entry is the winner's: not assured");
  t.true((now.timeout ?? 0) > 300, 'with its timeout');
});
