/**
 * DOC: bench/flood: a flood of forged heartbeats on every heartbeat segment at once, at the default timers
 *
 * A two-node cluster on the sim board (default timers: heartbeat 50 ms, failover 300 ms). On each heartbeat
 * segment a foreign host sends frames to the cluster's heartbeat MAC of that segment as fast as it can, up
 * to `--rate` a second: real heartbeat frames (IPv4, UDP 999, the right cluster ID) signed with another key,
 * so that each one costs the receivers a full verification (the dearest rejection: `bad_tag`). For
 * `--seconds` (default 60) it counts the role changes (a false failover is any), then prints per node and
 * interface what the receiver did with the frames: accepted (the peer's), rejected by reason, superseded,
 * dropped (kernel queue full, heartbeat-thread ring full), and what the flooders sent.
 *
 * Usage: node dist/bench/flood.js [--seconds N] [--rate FRAMES_PER_S_PER_SEGMENT]
 */
import { readFileSync } from 'node:fs';
import { resolveBoard } from '../src/board/board-file.js';
import { hmacAuth } from '../src/io/heartbeat-auth.js';
import { PacketLink } from '../src/io/packet-link.js';
import { LabCluster } from '../src/lab/cluster.js';
import { Lab, sleep } from '../src/lab/lab.js';
import { encodeHeartbeat } from '../src/wire/heartbeat-frame.js';
import { heartbeatMac } from '../src/wire/mac.js';
import { VERSION } from '../src/runtime/version.js';

function emit(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ peer: 'tandem', ...o }) + '\n');
}

/** Child role: in a lab namespace, send forged heartbeats to `dst` on eth0 at up to `rate`/s for `seconds`. */
async function flooder(netns: string, nn: number, clusterId: number, rate: number, seconds: number): Promise<void> {
  const link = PacketLink.open({ ifname: 'eth0', netns });
  const forge = hmacAuth('not the cluster password', clusterId);
  const frames = Array.from({ length: 64 }, (_, i) =>
    encodeHeartbeat(
      {
        clusterId,
        nodeType: 'master',
        state: 'active',
        flags: 0,
        nn,
        fromSync: false,
        nodeId: 1,
        bootId: 1n,
        sequence: BigInt(1_000_000 + i),
        connections: 0,
        health: 9,
        syncStatus: 'in-sync',
        intervalMs: 50,
        syncSequence: 0n,
        configGeneration: 1,
        softwareVersion: VERSION,
        nodeName: 'intruder',
        term: 1,
      },
      { srcMac: Uint8Array.of(0x02, 0x66, 0, 0, nn, 1), srcIp: 0xc6120fc8, broadcastIp: 0xc6120fff },
      forge,
    ),
  );
  for (const f of frames) f.set(heartbeatMac(nn, clusterId), 0);
  let sent = 0;
  let errors = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    // Batches of 500, paced to the rate: the flood is steady, not a burst a second.
    const due = Math.min(rate * ((performance.now() - t0) / 1000), rate * seconds);
    while (sent + errors < due) {
      try {
        link.send(frames[(sent + errors) % frames.length]!);
        sent++;
      } catch {
        errors++;
      }
      if ((sent + errors) % 500 === 0) break;
    }
    await new Promise((r) => setImmediate(r));
  }
  process.stdout.write(JSON.stringify({ sent, errors, seconds: (performance.now() - t0) / 1000 }) + '\n');
  link.close();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  if (args[0] === '--flooder') return flooder(args[1]!, Number(args[2]), Number(args[3]), Number(args[4]), Number(args[5]));
  const seconds = opt('seconds', 60);
  const rate = opt('rate', 50_000);
  const board = resolveBoard('sim');
  const lab = await Lab.up(board);
  try {
    const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 1000 } });
    try {
      await cluster.settled(15_000);
      await sleep(2000);
      const clusterId = (JSON.parse(readFileSync(cluster.node('n1').config, 'utf8')) as { cluster: { id: number } }).cluster.id;
      const changesBefore = cluster.nodes.map((n) => n.events.filter((e) => e.event === 'role_change').length);
      const before = new Map(await Promise.all(cluster.nodes.map(async (n) => [n.name, await cluster.status(n.name)] as const)));
      const floods = [];
      for (const nic of board.nics) {
        const seg = lab.plan.segments.find((s) => s.bridge === `br-${nic.name}`)!;
        const host = await lab.addForeignHost(seg.name);
        const child = lab.spawn(
          host.netns,
          [process.execPath, __filename, '--flooder', host.netns, String(nic.nn), String(clusterId), String(rate), String(seconds)],
          {
            stdio: 'pipe',
          },
        );
        let out = '';
        child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        floods.push({ iface: nic.name, done: new Promise<string>((r) => child.once('exit', () => r(out))) });
      }
      const results = await Promise.all(
        floods.map(async (f) => ({ iface: f.iface, out: JSON.parse((await f.done).trim() || '{}') as { sent?: number; errors?: number; seconds?: number } })),
      );
      await sleep(2000);
      const falseFailovers = cluster.nodes.reduce((sum, n, k) => sum + n.events.filter((e) => e.event === 'role_change').length - changesBefore[k]!, 0);
      emit({ name: 'false_failovers_under_flood', unit: 'count', value: falseFailovers, seconds, ratePerSegment: rate, segments: board.nics.length });
      for (const r of results)
        emit({
          name: `flood_sent_per_s_${r.iface}`,
          unit: 'frames/s',
          value: Math.round((r.out.sent ?? 0) / (r.out.seconds || seconds)),
          errors: r.out.errors ?? 0,
        });
      for (const n of cluster.nodes) {
        const after = await cluster.status(n.name);
        const was = before.get(n.name)!;
        for (const row of after.matrix) {
          const old = was.matrix.find((x) => x.iface === row.iface)!;
          const d = (a: number | undefined, b: number | undefined) => (a ?? 0) - (b ?? 0);
          emit({
            name: `flood_${n.name}_${row.iface}`,
            unit: 'frames',
            value: d(row.received.received, old.received.received),
            accepted: d(row.received.accepted, old.received.accepted),
            superseded: d(row.received.superseded, old.received.superseded),
            droppedKernel: d(row.received.kernelDrops, old.received.kernelDrops),
            droppedRing: d(row.received.ringDrops, old.received.ringDrops),
            rejected: Object.fromEntries(
              Object.entries(row.received.rejected).map(([k, v]) => [k, (v ?? 0) - (old.received.rejected[k as keyof typeof old.received.rejected] ?? 0)]),
            ),
            lastHeardMsAgo: row.lastSeenAgoMs,
          });
        }
      }
    } finally {
      await cluster.stop();
    }
  } finally {
    await lab.down();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
