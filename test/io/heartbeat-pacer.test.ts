import test from 'ava';
import { readdirSync } from 'node:fs';
import { HeartbeatPacer, type PacedFrame } from '../../src/io/heartbeat-pacer.js';
import { monotonicNs, SystemError } from '../../src/io/native.js';
import { PacketLink } from '../../src/io/packet-link.js';
import { run } from '../../src/lab/run.js';
import { eventually, labFor } from '../helpers/lab.js';

/** A raw frame whose byte 12..13 carry a number (not IPv4: no filter of ours would take it). */
const numbered = (n: number): Uint8Array => {
  const f = new Uint8Array(64);
  f.set([0x11, 0, 0, 0, 9, 7, 2, 0, 0, 0, 0, 1, n >> 8, n & 0xff], 0);
  return f;
};
const numberOf = (f: Uint8Array) => (f[12]! << 8) | f[13]!;

const ms = (n: number) => BigInt(n) * 1_000_000n;
/** Blocks this thread like a stalled event loop, without burning a CPU. */
const block = (n: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, n);

async function pair(t: import('ava').ExecutionContext, iface = 'eth1') {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes;
  const tx = PacketLink.open({ ifname: iface, netns: n1!.netns });
  const rx = PacketLink.open({ ifname: iface, netns: n2!.netns });
  const got: { n: number; stamp: bigint }[] = [];
  rx.receive(
    (f, stamp) => got.push({ n: numberOf(f), stamp }),
    (e) => t.fail(e.message),
  );
  t.teardown(() => [tx, rx].forEach((l) => l.close()));
  return { lab, tx, rx, got };
}

test.serial('the thread sends each loaded tick at its deadline, in order, and nothing after the lease', async (t) => {
  const { tx, got } = await pair(t);
  const start = monotonicNs();
  const pacer = new HeartbeatPacer([tx], start, ms(10), 1);
  t.teardown(() => pacer.close());
  const rows: PacedFrame[][] = Array.from({ length: 20 }, (_, i) => [{ sock: 0, frame: numbered(i + 1) }]);
  pacer.load(1n, rows);
  t.true(await eventually(() => got.length >= 20, 2000));
  await new Promise((r) => setTimeout(r, 100));
  t.deepEqual(
    got.map((g) => g.n),
    Array.from({ length: 20 }, (_, i) => i + 1),
    'all 20, in order, none after the last tick loaded',
  );
  // Tick k is due at start + k * 10 ms: each frame arrived at or after its deadline, and not long after.
  got.forEach((g, i) => {
    const due = start + ms(10) * BigInt(i + 1);
    t.true(g.stamp >= due, `frame ${i + 1} not before its deadline`);
    t.true(g.stamp - due < ms(8), `frame ${i + 1} ${Number(g.stamp - due) / 1e6} ms after its deadline`);
  });
  const s = pacer.stats();
  t.is(s.ticksSent, 20);
  t.is(s.leaseExpiries, 1, 'the window ran out once');
  t.is(s.ifaces[0]!.sent, 20);
  t.is(s.windowEnd, 21n);
});

test.serial('a blocked main thread does not delay the frames: the lease covers the stall', async (t) => {
  const { tx, got } = await pair(t);
  const start = monotonicNs();
  // 10 ms ticks for 600 ms, a 400 ms stall inside. A thread woken a whole tick late by the shared machine skips to
  // the newest due tick (counted): so every tick is either received on time or counted as missed, never late.
  const pacer = new HeartbeatPacer([tx], start, ms(10), 1);
  t.teardown(() => pacer.close());
  pacer.load(
    1n,
    Array.from({ length: 60 }, (_, i) => [{ sock: 0, frame: numbered(i + 1) }]),
  );
  block(400); // the JS thread sleeps; the pacer does not
  t.true(await eventually(() => got.length + pacer.stats().ticksMissed >= 60, 2000), `${got.length} received`);
  const late = got.map((g) => Number(g.stamp - (start + ms(10) * BigInt(g.n))) / 1e6);
  t.true(Math.max(...late) < 10, `the worst frame left ${Math.max(...late).toFixed(2)} ms after its deadline during a 400 ms stall`);
  t.true(pacer.stats().ticksMissed <= 2, `${pacer.stats().ticksMissed} ticks missed`);
  t.true(got.length >= 58);
});

test.serial('a load replaces the window from its tick on; urgent frames leave first; an expired lease restarts on load', async (t) => {
  const { tx, got } = await pair(t);
  const start = monotonicNs();
  const pacer = new HeartbeatPacer([tx], start, ms(20), 1);
  t.teardown(() => pacer.close());
  pacer.load(
    1n,
    Array.from({ length: 10 }, (_, i) => [{ sock: 0, frame: numbered(100 + i) }]),
  );
  t.true(await eventually(() => got.length >= 2, 2000));
  const next = pacer.load(
    (monotonicNs() - start) / ms(20) + 1n,
    Array.from({ length: 3 }, (_, i) => [{ sock: 0, frame: numbered(200 + i) }]),
    [{ sock: 0, frame: numbered(999) }],
  );
  t.true(await eventually(() => got.some((g) => g.n === 202), 2000));
  await new Promise((r) => setTimeout(r, 100));
  const seen = got.map((g) => g.n);
  const urgent = seen.indexOf(999);
  t.true(urgent > 0, 'the urgent frame was sent');
  t.deepEqual(
    seen.filter((n) => n >= 200 && n < 999),
    [200, 201, 202],
  );
  t.false(
    seen.slice(seen.indexOf(200)).some((n) => n >= 100 && n < 200),
    'no old frame after the new window began',
  );
  t.true(next > 0n);
  // Long after the window ran out: a new load resumes at once.
  const before = got.length;
  pacer.load((monotonicNs() - start) / ms(20) + 1n, [[{ sock: 0, frame: numbered(300) }]]);
  t.true(await eventually(() => got.length === before + 1 && got.at(-1)!.n === 300, 1000));
  t.is(pacer.stats().leaseExpiries, 2);
});

test.serial('a send failing on one interface is counted there and the others go on', async (t) => {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes;
  const tx1 = PacketLink.open({ ifname: 'eth1', netns: n1!.netns });
  const tx2 = PacketLink.open({ ifname: 'eth2', netns: n1!.netns });
  const rx2 = PacketLink.open({ ifname: 'eth2', netns: n2!.netns });
  t.teardown(() => [tx1, tx2, rx2].forEach((l) => l.close()));
  let got = 0;
  rx2.receive(
    () => got++,
    () => undefined,
  );
  await run(['ip', '-n', n1!.netns, 'link', 'set', 'eth1', 'down']);
  t.teardown(() => run(['ip', '-n', n1!.netns, 'link', 'set', 'eth1', 'up']).then(() => undefined));
  const pacer = new HeartbeatPacer([tx1, tx2], monotonicNs(), ms(5), 2);
  t.teardown(() => pacer.close());
  pacer.load(
    1n,
    Array.from({ length: 20 }, (_, i) => [
      { sock: 0, frame: numbered(i) },
      { sock: 1, frame: numbered(i) },
    ]),
  );
  t.true(await eventually(() => got >= 20, 2000), `eth2 received ${got}`);
  const s = pacer.stats();
  t.is(s.ifaces[0]!.sent, 0);
  t.is(s.ifaces[0]!.errors, 20);
  t.is(s.ifaces[0]!.lastErrno, 100, 'ENETDOWN');
  t.is(s.ifaces[1]!.sent, 20);
});

test.serial('lifecycle: close joins the thread and is idempotent; load after close is refused; no fd is leaked', async (t) => {
  const { tx, got } = await pair(t);
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  for (let i = 0; i < 50; i++) {
    const p = new HeartbeatPacer([tx], monotonicNs(), ms(1), 1);
    p.load(0n, [[{ sock: 0, frame: numbered(i) }]]);
    p.close();
  }
  t.is(fds(), before, 'the duplicated sockets are closed with their pacer');
  const start = monotonicNs();
  const p = new HeartbeatPacer([tx], start, ms(10), 1);
  p.load(
    1n,
    Array.from({ length: 100 }, () => [{ sock: 0, frame: numbered(7) }]),
  );
  await new Promise((r) => setTimeout(r, 55));
  p.close();
  const n = got.length;
  t.notThrows(() => p.close());
  await new Promise((r) => setTimeout(r, 60));
  t.is(got.length, n, 'no frame after close returned');
  t.throws(() => p.load(0n, [[{ sock: 0, frame: numbered(1) }]]), { message: /load after close/ });
  tx.close();
  t.throws(() => new HeartbeatPacer([tx], start, ms(10), 1), { message: /nativeHandle after close/ });
});

test.serial('a real-time priority is set, or refused with what to do', async (t) => {
  const { tx } = await pair(t);
  try {
    const p = new HeartbeatPacer([tx], monotonicNs(), ms(10), 1, 10);
    p.close();
    t.pass('SCHED_FIFO granted here');
  } catch (e) {
    t.true(e instanceof SystemError);
    t.regex((e as Error).message, /pthread_setschedparam\(SCHED_FIFO\) failed with EPERM.*timers\.heartbeatRtPriority to 0/);
  }
  t.throws(() => new HeartbeatPacer([tx], monotonicNs(), ms(10), 1, 100), { message: /rtPriority must be 0 \(off\) or 1\.\.99/ });
});

test.serial('receiving: the thread reads every frame with its stamp, and wakes the main loop only for news', async (t) => {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes;
  const tx = PacketLink.open({ ifname: 'eth1', netns: n1!.netns });
  const rx = PacketLink.open({ ifname: 'eth1', netns: n2!.netns });
  t.teardown(() => [tx, rx].forEach((l) => l.close()));
  const pacer = new HeartbeatPacer([rx], monotonicNs(), ms(10), 1);
  t.teardown(() => pacer.close());
  const seen: { n: number; sock: number; stamp: bigint; byDoorbell: boolean }[] = [];
  const take = (byDoorbell: boolean) => pacer.drain((sock, f, stamp) => seen.push({ n: numberOf(f), sock, stamp, byDoorbell }));
  let doorbells = 0;
  // Bytes 12..13 (the number) change from frame to frame, like a heartbeat's sequence; a gap over 300 ms is news.
  pacer.receive(() => (doorbells++, take(true)), [[12, 2]], ms(300));
  const frame = (n: number, extra = 0) => {
    const f = numbered(n);
    f[20] = extra;
    return f;
  };

  const t0 = monotonicNs();
  tx.send(frame(1));
  t.true(await eventually(() => doorbells === 1, 2000), 'the first frame is news');
  t.deepEqual(
    seen.map((s) => [s.n, s.sock, s.byDoorbell]),
    [[1, 0, true]],
  );
  t.true(seen[0]!.stamp >= t0 && seen[0]!.stamp <= monotonicNs(), 'the kernel stamp, on the monotonic clock');

  for (const n of [2, 3, 4]) tx.send(frame(n));
  t.true(await eventually(() => pacer.stats().ifaces[0]!.received === 4, 2000), 'the thread read them');
  await new Promise((r) => setTimeout(r, 50));
  t.is(doorbells, 1, 'repeats differing only in the masked bytes wake nobody');
  t.is(take(false), 3);
  t.deepEqual(
    seen.slice(1).map((s) => s.n),
    [2, 3, 4],
    'all of them wait in order for the next drain',
  );
  t.true(seen[1]!.stamp <= seen[2]!.stamp && seen[2]!.stamp <= seen[3]!.stamp);

  tx.send(frame(5, 1));
  t.true(await eventually(() => doorbells === 2, 2000), 'a byte outside the mask changed: news');
  await new Promise((r) => setTimeout(r, 350));
  tx.send(frame(6, 1));
  t.true(await eventually(() => doorbells === 3, 2000), 'after a silence longer than the gap: news');
  t.deepEqual(
    seen.slice(4).map((s) => s.n),
    [5, 6],
  );
  const s = pacer.stats();
  t.is(s.ifaces[0]!.received, 6);
  t.is(s.ifaces[0]!.doorbells, 3);
  t.is(s.rxDropped, 0);
});

test.serial('receiving while ticks run: the sockets are read after each tick, not as frames arrive (one wakeup for both)', async (t) => {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes;
  const tx = PacketLink.open({ ifname: 'eth1', netns: n1!.netns });
  const rx = PacketLink.open({ ifname: 'eth1', netns: n2!.netns });
  t.teardown(() => [tx, rx].forEach((l) => l.close()));
  const start = monotonicNs();
  const tick = ms(50);
  const pacer = new HeartbeatPacer([rx], start, tick, 1);
  t.teardown(() => pacer.close());
  // 4 s of ticks that send nothing: the thread wakes at each deadline all the same.
  pacer.load(
    1n,
    Array.from({ length: 80 }, () => [{ sock: 0, frame: undefined }]),
  );
  const rang: bigint[] = [];
  const stamps: bigint[] = [];
  pacer.receive(() => (rang.push(monotonicNs()), pacer.drain((_s, _f, stamp) => stamps.push(stamp))), [[12, 2]], ms(10_000));
  for (let k = 0; k < 5; k++) {
    await new Promise((r) => setTimeout(r, 37 + k * 11)); // anywhere between two ticks
    const f = numbered(k + 1);
    f[20] = k + 1; // each one news
    tx.send(f);
    t.true(await eventually(() => rang.length === k + 1, 2000), `frame ${k + 1} rang`);
    const stamp = stamps[k]!;
    const nextTick = start + ((stamp - start) / tick + 1n) * tick;
    t.true(rang[k]! >= nextTick, `frame ${k + 1} read at the tick after it arrived, not ${Number(nextTick - rang[k]!) / 1e6} ms before it`);
    t.true(rang[k]! - stamp < tick + ms(200), `frame ${k + 1} waited ${Number(rang[k]! - stamp) / 1e6} ms (a tick is 50)`);
  }
  t.is(pacer.stats().ifaces[0]!.received, 5);
});

test.serial('receiving: refused twice, and mask ranges out of order are a clear error', async (t) => {
  const lab = await labFor(t);
  const rx = PacketLink.open({ ifname: 'eth1', netns: lab.plan.nodes[1]!.netns });
  t.teardown(() => rx.close());
  const pacer = new HeartbeatPacer([rx], monotonicNs(), ms(10), 1);
  t.teardown(() => pacer.close());
  t.throws(
    () =>
      pacer.receive(
        () => undefined,
        [
          [40, 8],
          [12, 2],
        ],
        ms(100),
      ),
    { message: /sorted, disjoint/ },
  );
  pacer.receive(() => undefined, [[12, 2]], ms(100));
  t.throws(() => pacer.receive(() => undefined, [[12, 2]], ms(100)), { message: /EBUSY|busy/i });
  pacer.close();
  t.is(
    pacer.drain(() => t.fail('nothing after close')),
    0,
  );
});

test.serial('receiving while the main loop does not drain: a full ring keeps the newest 512 frames and counts the oldest lost', async (t) => {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes;
  const tx = PacketLink.open({ ifname: 'eth1', netns: n1!.netns });
  const rx = PacketLink.open({ ifname: 'eth1', netns: n2!.netns, rcvbuf: 1 << 20 });
  t.teardown(() => [tx, rx].forEach((l) => l.close()));
  const pacer = new HeartbeatPacer([rx], monotonicNs(), ms(10), 1);
  t.teardown(() => pacer.close());
  pacer.receive(() => undefined, [[12, 2]], ms(10_000)); // rung, never drained: a stalled main loop
  for (let n = 1; n <= 600; n++) {
    tx.send(numbered(n));
    if (n % 50 === 0) await new Promise((r) => setTimeout(r, 5)); // within what the sockets hold
  }
  t.true(await eventually(() => pacer.stats().ifaces[0]!.received === 600, 3000), `read ${pacer.stats().ifaces[0]!.received}`);
  const got: number[] = [];
  pacer.drain((_sock, f) => got.push(numberOf(f)));
  t.is(got.length, 512);
  t.deepEqual(
    got,
    Array.from({ length: 512 }, (_, i) => 89 + i),
    'the newest, in order',
  );
  t.is(pacer.stats().rxDropped, 88);
  t.is(pacer.stats().ifaces[0]!.ringDrops, 88, 'counted on the interface they came in on');
});
