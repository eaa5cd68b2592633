import test from 'ava';
import { readdirSync } from 'node:fs';
import { PacketLink } from '../../src/io/packet-link.js';
import { ifaceFacts, SystemError, classify } from '../../src/io/native.js';
import { heartbeatFilter } from '../../src/wire/bpf.js';
import { eventually, labFor } from '../helpers/lab.js';
import { run } from '../../src/lab/run.js';

const frame = (first: number) => {
  const f = new Uint8Array(64);
  f.set([0x11, 0, 0, 0, 9, 7, 2, 0, 0, 0, 0, first], 0);
  return f;
};

test.serial('lifecycle: close twice is fine, send/receive/stats after close are refused plainly', async (t) => {
  const lab = await labFor(t);
  const link = PacketLink.open({ ifname: 'eth1', netns: lab.plan.nodes[0]!.netns });
  t.true(link.ifindex > 0);
  t.true(link.hasCarrier());
  link.close();
  t.notThrows(() => link.close());
  t.true(link.closed);
  t.throws(() => link.send(frame(1)), { message: /interface eth1 \(netns .*\): send after close/ });
  t.throws(
    () =>
      link.receive(
        () => undefined,
        () => undefined,
      ),
    { message: /receive after close/ },
  );
  t.throws(() => link.stats(), { message: /stats after close/ });
});

test.serial('errors carry code and syscall and say what to do', async (t) => {
  const lab = await labFor(t);
  const e = t.throws(() => PacketLink.open({ ifname: 'nosuch0', netns: lab.plan.nodes[0]!.netns }), { instanceOf: SystemError });
  t.is(e!.code, 'ENODEV');
  t.is(e!.syscall, 'ioctl(SIOCGIFINDEX)');
  t.regex(e!.message, /interface nosuch0 .*check the interface name/);
  const ns = t.throws(() => PacketLink.open({ ifname: 'eth1', netns: 'tdm-no-such-ns' }), { instanceOf: SystemError });
  t.is(ns!.code, 'ENOENT');
  t.regex(ns!.message, /does the network namespace exist/);
  t.is(classify('EAGAIN'), 'transient');
  t.is(classify('ENETDOWN'), 'link');
  t.is(classify('EPERM'), 'fatal');
});

test.serial('frames cross between namespaces with a monotonic stamp; the kernel filter keeps others out', async (t) => {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes;
  const tx = PacketLink.open({ ifname: 'eth1', netns: n1!.netns });
  const rx = PacketLink.open({ ifname: 'eth1', netns: n2!.netns, filter: heartbeatFilter() });
  const raw = PacketLink.open({ ifname: 'eth1', netns: n2!.netns });
  t.teardown(() => [tx, rx, raw].forEach((l) => l.close()));
  const got: { len: number; stamp: bigint }[] = [];
  let rawCount = 0;
  rx.receive(
    (f, stamp) => got.push({ len: f.length, stamp }),
    (e) => t.fail(e.message),
  );
  raw.receive(
    () => rawCount++,
    (e) => t.fail(e.message),
  );
  const before = process.hrtime.bigint();
  for (let i = 0; i < 10; i++) tx.send(frame(i)); // not IPv4: the filter must drop these
  t.true(await eventually(() => rawCount >= 10, 2000), 'the raw socket sees them');
  t.is(got.length, 0, 'the filtered socket does not');
  // A minimal IPv4/UDP-999 frame passes the filter.
  const hb = new Uint8Array(64);
  hb.set([0x11, 0, 0, 0, 9, 7, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45], 0);
  hb[23] = 17;
  hb[36] = 999 >> 8;
  hb[37] = 999 & 0xff;
  tx.send(hb);
  t.true(await eventually(() => got.length === 1, 2000));
  t.is(got[0]!.len, 64);
  const after = process.hrtime.bigint();
  t.true(got[0]!.stamp >= before && got[0]!.stamp <= after, 'stamp on the process.hrtime clock');
  t.true(rx.stats().packets >= 1);
});

test.serial('a throw inside a receive handler is reported and the next frame still arrives', async (t) => {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes;
  const tx = PacketLink.open({ ifname: 'eth2', netns: n1!.netns });
  const rx = PacketLink.open({ ifname: 'eth2', netns: n2!.netns });
  t.teardown(() => [tx, rx].forEach((l) => l.close()));
  const errors: string[] = [];
  let n = 0;
  rx.receive(
    () => {
      n++;
      if (n === 1) throw new Error('handler bug');
    },
    (e) => errors.push(e.message),
  );
  tx.send(frame(1));
  await eventually(() => n >= 1, 2000);
  tx.send(frame(2));
  t.true(await eventually(() => n >= 2, 2000), `handled ${n}`);
  t.deepEqual(errors, ['handler bug']);
});

test.serial('opening and closing many sockets leaks no file descriptor', async (t) => {
  const lab = await labFor(t);
  const ns = lab.plan.nodes[0]!.netns;
  const fds = () => readdirSync('/proc/self/fd').length;
  const warm = PacketLink.open({ ifname: 'eth0', netns: ns });
  warm.receive(
    () => undefined,
    () => undefined,
  );
  warm.close();
  await new Promise((r) => setTimeout(r, 50));
  const before = fds();
  for (let i = 0; i < 300; i++) {
    const l = PacketLink.open({ ifname: 'eth0', netns: ns, filter: heartbeatFilter(), multicast: [Uint8Array.of(0x11, 0, 0, 0, 8, 7)] });
    if (i % 2)
      l.receive(
        () => undefined,
        () => undefined,
      );
    l.close();
  }
  await new Promise((r) => setTimeout(r, 100)); // uv_close callbacks close the fds
  t.is(fds(), before);
});

test.serial('interface facts come from the namespace of the interface', async (t) => {
  const lab = await labFor(t);
  const f = ifaceFacts('eth1', lab.plan.nodes[1]!.netns);
  t.is(f.ipv4, '198.18.2.12');
  t.is(f.broadcast, '198.18.2.255');
  t.is(f.netmask, '255.255.255.0');
  t.is(f.mtu, 1500);
  t.is(f.mac.length, 6);
  t.truthy(f.flags & 0x1);
  t.throws(() => ifaceFacts('eth9', lab.plan.nodes[1]!.netns), { message: /interface eth9 in netns .*ENODEV/ });
});

test.serial('the interface going down is reported as a link error and receiving resumes when it comes back', async (t) => {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes;
  const tx = PacketLink.open({ ifname: 'eth1', netns: n1!.netns });
  const rx = PacketLink.open({ ifname: 'eth1', netns: n2!.netns });
  t.teardown(() => [tx, rx].forEach((l) => l.close()));
  const errors: SystemError[] = [];
  let n = 0;
  rx.receive(
    () => n++,
    (e) => errors.push(e as SystemError),
  );
  await run(['ip', '-n', n2!.netns, 'link', 'set', 'eth1', 'down']);
  t.true(await eventually(() => errors.length > 0, 3000), 'an error is reported');
  t.is(errors[0]!.code, 'ENETDOWN');
  t.is(errors[0]!.kind, 'link');
  t.false(rx.hasCarrier());
  await run(['ip', '-n', n2!.netns, 'link', 'set', 'eth1', 'up']);
  await lab.waitCarrier(3000);
  tx.send(frame(3));
  t.true(await eventually(() => n >= 1, 3000), 'frames arrive again');
});

test.serial('drain reads what is queued without polling, also beside receive() (frames queued before the poll callback ran)', async (t) => {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes;
  const tx = PacketLink.open({ ifname: 'eth1', netns: n1!.netns });
  const rx = PacketLink.open({ ifname: 'eth1', netns: n2!.netns });
  t.teardown(() => [tx, rx].forEach((l) => l.close()));
  t.is(
    rx.drain(
      () => t.fail('nothing queued'),
      (e) => t.fail(e.message),
    ),
    0,
  );
  for (let i = 0; i < 40; i++) tx.send(frame(i));
  await new Promise((r) => setTimeout(r, 100));
  const firsts: number[] = [];
  t.is(
    rx.drain(
      (f) => firsts.push(f[11]!),
      (e) => t.fail(e.message),
    ),
    40,
    'more than one batch in one call',
  );
  t.deepEqual(
    firsts,
    Array.from({ length: 40 }, (_, i) => i),
    'in order',
  );
  const other = PacketLink.open({ ifname: 'eth1', netns: n2!.netns });
  let polled = 0;
  other.receive(
    () => polled++,
    (e) => t.fail(e.message),
  );
  for (let i = 0; i < 5; i++) tx.send(frame(i));
  // Blocked here, the poll callback cannot run: drain takes what is queued, once.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  const drained: number[] = [];
  other.drain(
    (f) => drained.push(f[11]!),
    (e) => t.fail(e.message),
  );
  await new Promise((r) => setTimeout(r, 50));
  t.is(drained.length + polled, 5, 'each frame once');
  t.is(drained.length, 5, 'all five queued before the loop ran again');
  other.close();
  t.throws(
    () =>
      other.drain(
        () => undefined,
        () => undefined,
      ),
    { message: /drain after close/ },
  );
});
