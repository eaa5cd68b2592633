/**
 * DOC: bench/cluster: a cluster on Corosync, tandem's ordered state against Corosync's bare CPG
 *
 * One lab of six nodes; five form a cluster on Corosync (each its own
 * Corosync, knet on the sync network), as an administrator would.
 *  - updates: every member writes sessions through its control socket at
 *    once (each write in the group's total order, answered once applied
 *    there); the time until all five hold all of them gives ordered updates
 *    per second across five members: one entry per request (the request
 *    path's own ceiling, measured with notes, beside it), and 100 per
 *    request (each still its own ordered change). Beside it, the same count of messages
 *    of the same size multicast by a bare CPG member per node
 *    (bench/cpg-raw.ts) on the same Corosyncs: delivered everywhere per second.
 *  - join: with --entries sessions (100k) in the cluster, the sixth node is
 *    added and joins: the time from its join command until it holds them all
 *    and serves, and the state transfer itself (donor sent to installed).
 *    Beside it, the same bytes multicast as bare CPG messages of the same
 *    part size, from one member to the others.
 * One JSON line per result: {name, unit, value, peer} (peer tandem or corosync).
 *
 * Usage: node dist/bench/cluster.js [--entries 100000] [--updates 20000]
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { askControl } from '../src/api/control-socket.js';
import { resolveBoard } from '../src/board/board-file.js';
import { LabCluster } from '../src/lab/cluster.js';
import { formGroup, groupLabOptions, groupMemberName } from '../src/lab/group-lab.js';
import { Lab, pollUntil, sleep } from '../src/lab/lab.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ENTRIES = Number(opt('--entries') ?? 100_000);
const UPDATES = Number(opt('--updates') ?? 20_000);
const PASSWORD = 'bench cluster password';
const FIVE = [1, 2, 3, 4, 5];
/** Entries per control request in the bulk writes, and updates per message in the CPG baseline beside them. */
const BATCH = 100;
const CONCURRENCY = 64;

function emit(name: string, unit: string, value: number, peer: 'tandem' | 'corosync', extra: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ name, unit, value: Math.round(value * 100) / 100, peer, ...extra }) + '\n');
}

const value = (k: number) => ({ user: `user${k}`, cookie: `c${k.toString(16).padStart(12, '0')}`, at: 1764000000000 + k });

/** Writes keys [from, to) through the members' control sockets in turn, CONCURRENCY requests at a time (`bulk` entries each). */
async function write(cluster: LabCluster, members: number[], prefix: string, from: number, to: number, bulk = 1): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const first = next;
      next = Math.min(to, next + bulk);
      const i = members[((first / bulk) % members.length) | 0]!;
      const entries = Array.from({ length: next - first }, (_, j): [string, unknown] => [`${prefix}${first + j}`, value(first + j)]);
      const req =
        bulk === 1
          ? { cmd: 'store-set' as const, store: 'sessions', key: entries[0]![0], value: entries[0]![1] }
          : { cmd: 'store-set' as const, store: 'sessions', entries };
      await askControl(cluster.node(`n${i}`).socket, req, 30_000);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Requests that do not touch the group (notes), as many as the update run made: the control socket's own ceiling. */
async function notes(cluster: LabCluster, members: number[], count: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = members[next++ % members.length]!;
        await askControl(cluster.node(`n${i}`).socket, { cmd: 'note', text: 'bench' }, 15_000);
      }
    }),
  );
  return performance.now() - t0;
}

async function sessions(cluster: LabCluster, i: number): Promise<number> {
  const s = (await askControl(cluster.node(`n${i}`).socket, 'status')) as { group?: { stores: { sessions: number } } };
  return s.group?.stores.sessions ?? -1;
}

async function waitAll(cluster: LabCluster, members: number[], count: number, ms: number): Promise<void> {
  if (await pollUntil(async () => (await Promise.all(members.map((i) => sessions(cluster, i)))).every((n) => n >= count), ms, 50)) return;
  throw new Error(`not every member holds ${count} sessions within ${ms} ms`);
}

class Raw {
  readonly lines: Record<string, unknown>[] = [];
  constructor(readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (l) => this.lines.push(JSON.parse(l) as Record<string, unknown>));
  }
  /** The next burst's time: its 'done' line after the first `seen` lines (count them before the burst is asked for). */
  async done(ms: number, seen = this.lines.length): Promise<number> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const d = this.lines.slice(seen).find((l) => l.ev === 'done');
      if (d) return Number(d.ms);
      await sleep(20);
    }
    throw new Error('a bare CPG member did not deliver everything in time');
  }
}

async function main(): Promise<void> {
  const lab = await Lab.up(resolveBoard('sim'), { nodes: 6 });
  let cluster: LabCluster | undefined;
  const raws: Raw[] = [];
  try {
    cluster = await LabCluster.start(lab, resolveBoard('sim'), groupLabOptions());
    await formGroup(cluster, PASSWORD, [2, 3, 4, 5]);

    // Ordered updates across five members.
    let t0 = performance.now();
    await write(cluster, FIVE, 'u', 0, UPDATES);
    await waitAll(cluster, FIVE, UPDATES, 120_000);
    const updMs = performance.now() - t0;
    emit('ordered_updates_five_members_one_per_request', 'updates/s', UPDATES / (updMs / 1000), 'tandem', {
      updates: UPDATES,
      ms: Math.round(updMs),
      writers: 5,
      concurrency: CONCURRENCY,
    });
    // One write at a time: the latency of an ordered write (answered once applied on its member).
    const lat: number[] = [];
    for (let k = 0; k < 300; k++) {
      const t1 = performance.now();
      await askControl(cluster.node(`n${(k % 5) + 1}`).socket, { cmd: 'store-set', store: 'sessions', key: `l${k}`, value: value(k) }, 15_000);
      lat.push(performance.now() - t1);
    }
    lat.sort((a, b) => a - b);
    emit('ordered_write_latency_p50', 'ms', lat[Math.floor(lat.length / 2)]!, 'tandem', {
      writes: lat.length,
      what: 'one store-set at a time, request to answer (applied on its member)',
    });
    emit('ordered_write_latency_p99', 'ms', lat[Math.floor(lat.length * 0.99)]!, 'tandem', { writes: lat.length });
    const noteMs = await notes(cluster, FIVE, UPDATES);
    emit('control_socket_requests_five_members', 'requests/s', UPDATES / (noteMs / 1000), 'tandem', {
      requests: UPDATES,
      what: 'tandem note: the request path alone, no ordering',
    });
    t0 = performance.now();
    await write(cluster, FIVE, 'b', 0, UPDATES, BATCH);
    await waitAll(cluster, FIVE, 2 * UPDATES + 300, 120_000);
    const bulkUpdMs = performance.now() - t0;
    emit('ordered_updates_five_members', 'updates/s', UPDATES / (bulkUpdMs / 1000), 'tandem', {
      updates: UPDATES,
      ms: Math.round(bulkUpdMs),
      writers: 5,
      what: '100 entries per request, each its own ordered change, applied on all five',
    });

    // The same count of messages, the same size, on bare CPG members of the same Corosyncs.
    const size = JSON.stringify({ t: 'change', id: '1:12345:1', body: { k: 'store', store: 'sessions', key: 'u12345', value: value(12345) } }).length;
    for (const i of FIVE) raws.push(new Raw(lab.spawn(lab.plan.nodes[i - 1]!.netns, [process.execPath, join(__dirname, 'cpg-raw.js')])));
    const rawViews = Date.now() + 10_000;
    while (!raws.every((r) => r.lines.some((l) => l.ev === 'view' && (l.members as number[]).length === 5)) && Date.now() < rawViews) await sleep(50);
    const per = Math.ceil(UPDATES / 5);
    // Each member's deliveries since it started (cpg-raw counts from start).
    let delivered = per * 5;
    let seen = raws.map((r) => r.lines.length);
    for (const r of raws) r.proc.stdin!.write(`burst ${per} ${size} ${delivered}\n`);
    const rawMs = Math.max(...(await Promise.all(raws.map((r, k) => r.done(60_000, seen[k])))));
    emit('ordered_updates_five_members_one_per_message', 'updates/s', (per * 5) / (rawMs / 1000), 'corosync', {
      updates: per * 5,
      ms: Math.round(rawMs),
      bytes: size,
      what: 'bare CPG multicast, one update per message, agreed order, delivered on all five',
    });
    // Batches against equal batches: tandem's writers above pass 100 entries a request; here 100 updates a message.
    const batches = Math.ceil(per / BATCH);
    seen = raws.map((r) => r.lines.length);
    delivered += batches * 5;
    for (const r of raws) r.proc.stdin!.write(`burst ${batches} ${size * BATCH} ${delivered}\n`);
    const batchMs = Math.max(...(await Promise.all(raws.map((r, k) => r.done(60_000, seen[k])))));
    emit('ordered_updates_five_members', 'updates/s', (batches * BATCH * 5) / (batchMs / 1000), 'corosync', {
      updates: batches * BATCH * 5,
      ms: Math.round(batchMs),
      bytes: size * BATCH,
      what: `bare CPG multicast, ${BATCH} updates per message (as tandem's writers batch them), agreed order, delivered on all five`,
    });

    // The state a new member receives: ENTRIES sessions in the cluster, the sixth node joins.
    // The updates above count: the cluster holds exactly ENTRIES sessions when the sixth joins.
    const held = 2 * UPDATES + 300;
    await write(cluster, FIVE, 's', 0, Math.max(0, ENTRIES - held), 100);
    await waitAll(cluster, FIVE, Math.max(ENTRIES, held), 300_000);
    const before = cluster.events('n1', 'group_state_sent').length;
    t0 = performance.now();
    await formGroup(cluster, PASSWORD, [6], { create: false });
    const joinMs = performance.now() - t0;
    const total = await sessions(cluster, 6);
    if (total !== Math.max(ENTRIES, held)) throw new Error(`the new member holds ${total} sessions, not ${Math.max(ENTRIES, held)}`);
    const sent = cluster.events('n1', 'group_state_sent').slice(before).at(-1);
    const installed = cluster.events('n6', 'group_state_installed').at(-1);
    const transferMs = sent && installed ? Date.parse(String(installed.ts)) - Date.parse(String(sent.ts)) : NaN;
    const parts = Number(sent?.['parts'] ?? 0);
    emit('new_member_state_received', 'ms', transferMs, 'tandem', { entries: total, parts, what: 'donor sent to installed on the new member' });
    emit('new_member_join_to_serving', 'ms', joinMs, 'tandem', { entries: total, what: 'add-member, join, state, serving (health check 200)' });

    // The same bytes as bare CPG messages of one part's size, from one member to the others.
    const bytes = JSON.stringify(
      Object.entries((await askControl(cluster.node('n1').socket, { cmd: 'store-get', store: 'sessions' })) as Record<string, unknown>),
    ).length;
    const partSize = 256 * 1024;
    const count = Math.ceil(bytes / partSize);
    delivered += count;
    for (const r of raws.slice(1)) r.proc.stdin!.write(`expect ${delivered}\n`);
    raws[0]!.proc.stdin!.write(`burst ${count} ${partSize} ${delivered}\n`);
    const bulkMs = Math.max(...(await Promise.all(raws.map((r) => r.done(60_000)))));
    emit('new_member_state_received', 'ms', bulkMs, 'corosync', {
      bytes,
      parts: count,
      what: 'the same bytes as bare CPG messages of 256 KiB, delivered on the other four',
    });
    process.stderr.write(`members: ${FIVE.map(groupMemberName).join(', ')} + ${groupMemberName(6)}\n`);
  } finally {
    for (const r of raws) r.proc.kill('SIGKILL');
    await cluster?.stop();
    cluster?.cleanup();
    await lab.down();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench/cluster: ${e.message}\n`);
  process.exit(1);
});
