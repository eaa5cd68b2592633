import test from 'ava';
import type { PacedFrame, Pacer, PacerStats } from '../../src/io/heartbeat-pacer.js';
import { HeartbeatSender, type NodeFields, type SendIface } from '../../src/io/heartbeat-sender.js';
import { LoopDelay } from '../../src/io/loop-delay.js';
import { monotonicNs } from '../../src/io/native.js';
import type { FrameLink } from '../../src/io/packet-link.js';
import { decodeHeartbeat } from '../../src/wire/heartbeat-frame.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { auth, CLUSTER, fields } from '../helpers/frames.js';

/** A pacer that records every load, as the thread would receive it. */
class FakePacer implements Pacer {
  loads: { from: bigint; rows: (readonly PacedFrame[])[]; now: readonly PacedFrame[] }[] = [];
  closed = false;
  constructor(
    readonly startNs: bigint,
    readonly tickNs: bigint,
  ) {}
  load(from: bigint, rows: readonly (readonly PacedFrame[])[], now: readonly PacedFrame[] = []): bigint {
    this.loads.push({ from, rows: [...rows], now });
    return from;
  }
  stats(): PacerStats {
    return { nextTick: 0n, windowEnd: 0n, ticksSent: 0, ticksMissed: 0, leaseExpiries: 0, maxLateNs: 0, rxDropped: 0, ifaces: [] };
  }
  close(): void {
    this.closed = true;
  }
}

function fakeLink(name: string, carrier: { up: boolean }): FrameLink {
  return { ifname: name, send: () => undefined, hasCarrier: () => carrier.up, receive: () => undefined, drain: () => 0, close: () => undefined, closed: false };
}

function sender(leaseMs = 200) {
  const carrier: Record<string, { up: boolean }> = { eth0: { up: true }, eth1: { up: true }, eth3: { up: true } };
  const iface = (name: string, nn: number, isSync: boolean): [string, SendIface] => [
    name,
    {
      link: fakeLink(name, carrier[name]!),
      nn,
      isSync,
      heartbeats: true,
      mac: Uint8Array.of(2, 0, 0, 0, 0, nn),
      ipv4: parseIpv4('198.18.2.11')!,
      broadcast: parseIpv4('198.18.2.255')!,
    },
  ];
  const ifaces = new Map([iface('eth0', 1, false), iface('eth1', 2, false), iface('eth3', 3, true)]);
  const { nn: _nn, fromSync: _s, sequence: _q, intervalMs: _i, ...node } = fields();
  let pacer: FakePacer | undefined;
  const s = new HeartbeatSender(ifaces, node as NodeFields, auth, 50, {
    leaseMs,
    pacer: (_links, start, tick) => (pacer = new FakePacer(start, tick)),
  });
  s.start();
  return { s, pacer: pacer!, carrier };
}

const decode = (f: PacedFrame) => {
  const d = decodeHeartbeat(f.frame!, { clusterId: CLUSTER, auth });
  if (!d.ok) throw new Error(d.reason);
  return d.frame.fields;
};
/** The pacer's window now, replaying every load as the thread does (a load replaces from its tick on). */
function windowOf(p: FakePacer): Map<bigint, readonly PacedFrame[]> {
  const w = new Map<bigint, readonly PacedFrame[]>();
  for (const l of p.loads) {
    for (const t of [...w.keys()]) if (t >= l.from) w.delete(t);
    l.rows.forEach((r, i) => w.set(l.from + BigInt(i), r));
  }
  return w;
}

const sequences = (p: FakePacer) =>
  p.loads
    .flatMap((l) => [...l.now, ...l.rows.flat()])
    .filter((f) => f.frame)
    .map((f) => decode(f).sequence);

test('start signs at most 512 frames at once and the rest of the lease in chunks: every tick of the slot plan, each frame with its own sequence', async (t) => {
  const { s, pacer } = sender(5000);
  t.teardown(() => s.stop());
  t.is(pacer.loads.length, 1);
  const tick = 50 / 3; // two data interfaces and sync: ticks [eth0 sync] [eth1 sync] [sync], 3 per 50 ms
  t.is(pacer.loads[0]!.rows.length, 256, 'the head: 512 frames, 2 a tick at most');
  const names = pacer.loads[0]!.rows.slice(0, 3).map((r) => r.map((f) => ['eth0', 'eth1', 'eth3'][f.sock]));
  t.deepEqual(names, [['eth0', 'eth3'], ['eth1', 'eth3'], ['eth3']]);
  const end = (l: FakePacer['loads'][number]) => l.from + BigInt(l.rows.length);
  const leaseLeft = () => end(pacer.loads.at(-1)!) - (monotonicNs() - pacer.startNs) / pacer.tickNs;
  t.is(pacer.loads.length, 1, 'the chunks wait 25 ms (the claim after a role change goes first)');
  // The chunks follow 25 ms later, one a turn: bounded wait for the whole lease.
  for (let waited = 0; waited < 2000 && leaseLeft() < BigInt(Math.ceil(5000 / tick)) - 4n; waited += 10) await new Promise((r) => setTimeout(r, 10));
  t.true(pacer.loads.length > 1, 'chunks followed');
  pacer.loads.slice(1).forEach((l, i) => t.is(l.from, end(pacer.loads[i]!), 'each chunk appended where the window ended'));
  t.true(
    pacer.loads.slice(1).every((l) => l.rows.length <= 64),
    'at most 64 ticks a chunk',
  );
  t.true(
    leaseLeft() >= BigInt(Math.ceil(5000 / tick)) - 4n,
    `the whole lease is loaded again: ${pacer.loads.map((l) => `${l.from}+${l.rows.length}`).join(' ')}`,
  );
  const seqs = sequences(pacer);
  t.deepEqual(
    seqs,
    [...seqs].sort((a, b) => (a < b ? -1 : 1)),
    'sequences rise in sending order',
  );
  t.is(new Set(seqs).size, seqs.length, 'no sequence twice');
});

test('field changes in one event-loop turn rebuild the window once, with the new fields and higher sequences', async (t) => {
  const { s, pacer } = sender();
  t.teardown(() => s.stop());
  s.update({ connections: 10 });
  s.update({ state: 'inactive' });
  s.update({ health: 1 });
  t.is(pacer.loads.length, 1, 'nothing yet: rebuilt at the end of the turn');
  await Promise.resolve();
  t.is(pacer.loads.length, 2);
  const f = decode(pacer.loads[1]!.rows[0]![0]!);
  t.deepEqual([f.connections, f.state, f.health], [10, 'inactive', 1]);
  const seqs = sequences(pacer);
  t.is(new Set(seqs).size, seqs.length);
  t.true(decode(pacer.loads[1]!.rows[0]![0]!).sequence > decode(pacer.loads[0]!.rows.at(-1)!.at(-1)!).sequence);
});

test('counts (connections, sync sequence) are rebuilt at the next service tick, not at once; values that did not change rebuild nothing', async (t) => {
  const { s, pacer } = sender();
  t.teardown(() => s.stop());
  s.update({ state: 'active', health: 3 }); // the values it already has
  await Promise.resolve();
  t.is(pacer.loads.length, 1, 'nothing changed, nothing rebuilt');
  for (let i = 1; i <= 50; i++) s.update({ connections: i, syncSequence: BigInt(i) });
  await Promise.resolve();
  t.is(pacer.loads.length, 1, 'not within the turn');
  await new Promise((r) => setTimeout(r, 160)); // past LAZY_REBUILD_MS and a service tick
  const rebuilt = pacer.loads.filter((l) => l.rows.length > 0 && decode(l.rows.at(-1)![0]!).connections === 50);
  t.true(rebuilt.length >= 1, 'the last values went out');
  // A rebuild replaces the window (it starts before the previous load ended); appends do not.
  const rebuilds = pacer.loads.filter((l, i) => i > 0 && l.from < pacer.loads[i - 1]!.from + BigInt(pacer.loads[i - 1]!.rows.length));
  t.true(rebuilds.length <= 2, `${rebuilds.length} rebuilds for 50 changes`);
});

test('sendNow adds one frame per interface to send at once, before the new window', (t) => {
  const { s, pacer } = sender();
  t.teardown(() => s.stop());
  s.update({ flags: 8 });
  s.sendNow();
  const load = pacer.loads.at(-1)!;
  t.deepEqual(
    load.now.map((f) => f.sock),
    [0, 1, 2],
  );
  t.true(load.now.every((f) => decode(f).flags === 8));
  t.true(decode(load.now[2]!).sequence < decode(load.rows[0]![0]!).sequence);
});

test('an interface without carrier gets no frames, counted; it is scheduled again when carrier returns (link events, or the poll without them)', async (t) => {
  const { s, pacer, carrier } = sender();
  t.teardown(() => s.stop());
  const eth1Scheduled = () => {
    const nowTick = (monotonicNs() - pacer.startNs) / pacer.tickNs;
    return [...windowOf(pacer)]
      .filter(([tick]) => tick > nowTick)
      .flatMap(([, r]) => r)
      .some((f) => f.sock === 1 && f.frame !== undefined);
  };
  // No link events yet: carrier is polled once an interval.
  carrier['eth1']!.up = false;
  await new Promise((r) => setTimeout(r, 120));
  t.false(eth1Scheduled(), 'polled: no frame for eth1');
  t.true(s.stats().get('eth1')!.skippedNoLink > 0);
  // A link event is taken at the next service tick.
  carrier['eth1']!.up = true;
  s.carrierChanged('eth1', true);
  await new Promise((r) => setTimeout(r, 70));
  t.true(eth1Scheduled(), 'scheduled again');
  carrier['eth1']!.up = false;
  s.carrierChanged('eth1', false);
  await new Promise((r) => setTimeout(r, 70));
  t.false(eth1Scheduled(), 'the event, not a poll (polls are a second apart once events come)');
});

test('the service tick tops the lease up from where it ended, never more than the lease ahead; stop closes the pacer', async (t) => {
  const { s, pacer } = sender(200);
  await new Promise((r) => setTimeout(r, 130));
  s.stop();
  const end = (l: FakePacer['loads'][number]) => l.from + BigInt(l.rows.length);
  pacer.loads.slice(1).forEach((l, i) => t.is(l.from, end(pacer.loads[i]!), 'appended where the window ended'));
  t.true(pacer.loads.length >= 3, `${pacer.loads.length} loads: the head, the rest, top-ups`);
  t.true(pacer.closed);
  const nowTick = (monotonicNs() - pacer.startNs) / pacer.tickNs;
  t.true(end(pacer.loads.at(-1)!) - nowTick <= BigInt(Math.ceil(200 / (50 / 3))) + 1n, 'never more than the lease ahead');
});

test('loop delay: max and p99 over the window; old samples fall out', (t) => {
  const d = new LoopDelay(60_000);
  t.deepEqual(d.stats(0), { maxMs: 0, p99Ms: 0, samples: 0 });
  const big: Record<number, number> = { 7: 500, 9: 40, 11: 30 };
  for (let i = 0; i < 200; i++) d.add(big[i] ?? 1, i * 100);
  t.deepEqual(d.stats(20_000), { maxMs: 500, p99Ms: 30, samples: 200 }, 'p99 of 200 samples: the third largest');
  t.deepEqual(d.stats(61_000), { maxMs: 30, p99Ms: 1, samples: 190 }, 'the stalls more than 60 s ago are gone');
});
