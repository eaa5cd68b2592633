/**
 * DOC: bench/sync: state synchronisation, tandem against conntrackd in the same lab
 *
 * One lab (sim board, stateful gateways), first tandem, then conntrackd
 * (Debian's 1.4.7, FTFW over UDP on the same sync link), each measured the
 * same way:
 *  - live: N entries written into the active node's kernel at once; the
 *    time until the standby holds them all (tandem: in its kernel;
 *    conntrackd: in its external cache) gives entries/s of live updates;
 *  - full: the standby's kernel table emptied, then a full transfer asked
 *    for (tandem: `tandem resync`; conntrackd: resync request `-n`, then
 *    commit `-c`); for both, from outside: the time from the request until
 *    all N are in the standby's kernel (polled every 10 ms);
 *  - latency: single entries created on the active node every 5 ms, a
 *    second after the standby caught up, 20 to warm up then 400; the time
 *    until each appears in the standby's kernel, p50/p99/max, and the
 *    warm-up's max apart (conntrackd with DisableExternalCache On, the mode
 *    that writes the kernel at once).
 *  - survival: 20 established TCP connections across a power-off of the
 *    active node (bench/sync-survival.ts), tandem (default and fastest
 *    timers) against keepalived at 0.01 s with conntrackd, --trials each.
 * One JSON line per result: {name, unit, value, peer}.
 *
 * The full transfer runs --runs times (default 5) for each peer; the
 * median is the value, every run is listed (the machine is shared and noisy).
 *
 * --family 6: the same measurements with IPv6 flows, in a dual-stack lab (every line then carries family 6);
 * survival stays IPv4 (test/lab/ipv6.test.ts carries IPv6 connections across a power-off).
 *
 * Usage: node dist/bench/sync.js [--entries 100000] [--runs 5] [--trials 3] [--only tandem|conntrackd|survival] [--family 4|6]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBoard } from '../src/board/board-file.js';
import { ConntrackEvents } from '../src/io/conntrack.js';
import { recordKey } from '../src/wire/conn-record.js';
import { LabCluster } from '../src/lab/cluster.js';
import { statefulGateways } from '../src/lab/firewall.js';
import { Lab, sleep } from '../src/lab/lab.js';
import { askControl } from '../src/api/control-socket.js';
import { keepalivedSurvival, tandemSurvival, type Survival } from './sync-survival.js';
import { Conntrackd, flushKernel, kernelCount, loadEntries, syntheticEntries, waitFor } from './sync-lab.js';

const board = resolveBoard('sim');
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const N = Number(opt('--entries') ?? 100_000);
const ONLY = opt('--only');
const LATENCY_SAMPLES = 400;
const LATENCY_WARMUP = 20;
const RUNS = Number(opt('--runs') ?? 5);
const TRIALS = Number(opt('--trials') ?? 3);
const SURVIVAL_CONNS = 20;
const FAMILY = opt('--family') === '6' ? 6 : 4;
const entries = (n: number, first = 0) => syntheticEntries(n, first, FAMILY);

function emit(name: string, unit: string, value: number, peer: 'tandem' | 'conntrackd', extra: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ name, unit, value: Math.round(value * 100) / 100, peer, entries: N, family: FAMILY, ...extra }) + '\n');
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/**
 * Creates one entry every 5 ms on `from` and times its arrival in `to`'s kernel (events there): the steady state,
 * for either peer. It starts a second after the standby caught up, and the first LATENCY_WARMUP entries are not
 * counted (returned apart): the first update after a full transfer took 30-46 ms in every tandem run (and the
 * bench's own first writes and reads compile as they go, which only the peer measured first would pay).
 */
async function latency(from: string, to: string, first: number): Promise<{ steady: number[]; warmup: number[] }> {
  await sleep(1000);
  const recs = entries(LATENCY_WARMUP + LATENCY_SAMPLES, first);
  const sentAt = new Map<string, { at: number; warm: boolean }>();
  const lat: number[] = [];
  const warmup: number[] = [];
  const ev = new ConntrackEvents(
    (rec) => {
      const t = sentAt.get(recordKey(rec));
      if (t !== undefined && !(rec[2]! & 1)) {
        (t.warm ? warmup : lat).push(performance.now() - t.at);
        sentAt.delete(recordKey(rec));
      }
    },
    () => undefined,
    to,
  );
  try {
    for (const [k, rec] of recs.entries()) {
      sentAt.set(recordKey(rec), { at: performance.now(), warm: k < LATENCY_WARMUP });
      loadEntries(from, [rec]);
      await sleep(5);
    }
    await waitFor('latency samples', async () => sentAt.size === 0, performance.now(), 10_000, 20).catch(() => undefined);
  } finally {
    ev.close();
  }
  if (sentAt.size > 0) process.stderr.write(`latency: ${sentAt.size} of ${LATENCY_SAMPLES} entries never arrived\n`);
  if (process.env['SYNC_BENCH_TRACE'])
    process.stderr.write(`latency samples in order: warm-up ${warmup.map((x) => x.toFixed(1)).join(' ')} | ${lat.map((x) => x.toFixed(1)).join(' ')}\n`);
  return { steady: lat, warmup };
}

async function benchTandem(lab: Lab): Promise<void> {
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800 } });
  try {
    const { active, inactive } = await cluster.settled(15_000);
    const A = lab.plan.nodes.find((n) => n.name === active)!.netns;
    const B = lab.plan.nodes.find((n) => n.name === inactive)!.netns;
    await waitFor('standby in sync', async () => (await cluster.sync(inactive)).status === 'in-sync', performance.now(), 10_000, 50);
    const base = await kernelCount(B);

    // Live: N new entries at once on the active node.
    const recs = entries(N);
    const t0 = performance.now();
    const loadMs = loadEntries(A, recs);
    const liveMs = await waitFor('live sync', async () => (await kernelCount(B)) >= base + N, t0, 60_000);
    emit('live_sync_all_in_standby_kernel', 'ms', liveMs, 'tandem', { loadMs: Math.round(loadMs) });
    emit('live_update_rate', 'entries/s', N / (liveMs / 1000), 'tandem');
    emit('live_update_rate_into_kernel', 'entries/s', N / (liveMs / 1000), 'tandem');

    // Full: the standby's kernel table emptied, then a full transfer asked for (`tandem resync`), timed from
    // outside as conntrackd's resync + commit is: from the request until the standby's kernel holds all N
    // (polled every 10 ms). The standby's own log figure (request to applied) is listed beside it.
    const fulls: number[] = [];
    const logged: number[] = [];
    // The standby's own account of each: receiving every chunk, then applying (of which the kernel's share).
    const phases: string[] = [];
    for (let run = 0; run < RUNS; run++) {
      await flushKernel(B);
      const before = cluster.events(inactive, 'sync_transfer_applied').length;
      const t1 = performance.now();
      await askControl(cluster.node(inactive).socket, 'resync');
      fulls.push(Math.round(await waitFor('full transfer', async () => (await kernelCount(B)) >= N, t1, 60_000, 10)));
      await waitFor('transfer logged', async () => cluster.events(inactive, 'sync_transfer_applied').length > before, performance.now(), 10_000, 20);
      const applied = cluster.events(inactive, 'sync_transfer_applied').at(-1)!;
      logged.push(Number(applied['sinceRequestMs']));
      phases.push(`${String(applied['receiveMs'])}+${String(applied['applyMs'])} (kernel ${JSON.stringify(applied['kernelMs'])})`);
    }
    emit('full_transfer_into_standby_kernel', 'ms', pct(fulls, 50), 'tandem', {
      note: 'resync request until all in the kernel, polled from outside',
      runs: fulls,
      min: Math.min(...fulls),
      max: Math.max(...fulls),
      ownLogMs: logged,
      receivePlusApplyMs: phases,
    });

    // The cost of the choice at takeover (the entries are in the kernel already): the commit before the claim.
    await waitFor(
      'standby in sync',
      async () => {
        const y = await cluster.sync(inactive);
        return y.role === 'sink' && y.status === 'in-sync' && y.providers['conntrack']!.count >= N;
      },
      performance.now(),
      30_000,
      50,
    );
    const commits = cluster.events(inactive, 'state_committed').length;
    await askControl(cluster.node(active).socket, 'failover');
    await waitFor('takeover', async () => cluster.events(inactive, 'state_committed').length > commits, performance.now(), 10_000, 20);
    emit('commit_at_takeover', 'ms', Number(cluster.events(inactive, 'state_committed').at(-1)!['tookMs']), 'tandem');

    // Latency: roles swapped; once the old active (now standby) follows again, single entries on the new active.
    await waitFor(
      'new standby in sync',
      async () => {
        const y = await cluster.sync(active);
        return y.role === 'sink' && y.status === 'in-sync';
      },
      performance.now(),
      60_000,
      50,
    );
    const { steady: lat, warmup } = await latency(B, A, N + 10);
    emit('update_latency_p50', 'ms', pct(lat, 50), 'tandem', { samples: lat.length });
    emit('update_latency_p99', 'ms', pct(lat, 99), 'tandem', { samples: lat.length });
    emit('update_latency_max', 'ms', Math.max(...lat), 'tandem', { samples: lat.length });
    emit('update_latency_warmup_max', 'ms', Math.max(...warmup), 'tandem', { samples: warmup.length, first: warmup[0] ?? null });
  } finally {
    await cluster.stop();
    if (process.env['SYNC_BENCH_KEEP']) process.stderr.write(`tandem logs kept in ${cluster.dir}\n`);
    else cluster.cleanup();
  }
}

/** Each trial in a fresh lab: a power-off leaves frozen processes and cut cables behind. */
async function survival(): Promise<void> {
  const settings: { name: string; peer: 'tandem' | 'conntrackd'; run: (lab: Lab, dir: string) => Promise<Survival> }[] = [
    { name: 'tandem_default', peer: 'tandem', run: (lab) => tandemSurvival(lab, board, SURVIVAL_CONNS, {}) },
    { name: 'tandem_fastest', peer: 'tandem', run: (lab) => tandemSurvival(lab, board, SURVIVAL_CONNS, { heartbeatIntervalMs: 5, failoverTimeMs: 20 }) },
    { name: 'keepalived_0.01s_conntrackd', peer: 'conntrackd', run: (lab, dir) => keepalivedSurvival(lab, dir, SURVIVAL_CONNS) },
  ];
  for (const s of settings) {
    const trials: Survival[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const lab = await Lab.up(board);
      const dir = mkdtempSync(join(tmpdir(), `${lab.name}-surv-`));
      try {
        await statefulGateways(lab);
        trials.push(await s.run(lab, dir));
      } finally {
        await lab.down();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const survived = trials.reduce((a, t) => a + t.survived, 0);
    const of = trials.reduce((a, t) => a + t.of, 0);
    emit(`tcp_survival_power_off_${s.name}`, '%', (100 * survived) / of, s.peer, {
      entries: undefined,
      survived,
      of,
      trials: trials.map((t) => `${t.survived}/${t.of}`),
    });
    emit(`tcp_stall_power_off_${s.name}`, 'ms', Math.max(...trials.map((t) => t.stallMs)), s.peer, {
      entries: undefined,
      perTrial: trials.map((t) => t.stallMs),
    });
  }
}

async function main(): Promise<void> {
  if (ONLY === 'survival') return survival();
  const lab = await Lab.up(board, { ipv6: FAMILY === 6 });
  const dir = mkdtempSync(join(tmpdir(), `${lab.name}-sync-`));
  try {
    await statefulGateways(lab);
    const [n1, n2] = lab.plan.nodes.map((n) => n.netns) as [string, string];
    if (ONLY !== 'conntrackd') await benchTandem(lab);
    if (ONLY !== 'tandem') {
      for (const ns of [n1, n2]) await flushKernel(ns);
      await benchConntrackd(lab, dir, n1, n2);
    }
  } finally {
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
  if (ONLY === undefined) await survival();
}

async function benchConntrackd(lab: Lab, dir: string, n1: string, n2: string): Promise<void> {
  // FTFW with the external cache (the default and the reference's setup): live, then resync and commit.
  let cd = await Conntrackd.start(lab, dir, { externalCache: true });
  try {
    const recs = entries(N);
    const t0 = performance.now();
    const loadMs = loadEntries(n1, recs);
    const liveMs = await waitFor('conntrackd live sync', async () => (await cd.externalCount('n2')) >= N, t0, 120_000, 10);
    emit('live_sync_all_in_standby_cache', 'ms', liveMs, 'conntrackd', { loadMs: Math.round(loadMs), mode: 'external cache (default)' });
    emit('live_update_rate', 'entries/s', N / (liveMs / 1000), 'conntrackd', { mode: 'external cache (default): into userspace, not the kernel' });

    const resyncs: number[] = [];
    const commits: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      await cd.ctl('n2', ['-f']); // flush the standby's caches
      await flushKernel(n2);
      const t1 = performance.now();
      await cd.ctl('n2', ['-n']); // ask the primary for a resync
      resyncs.push(await waitFor('conntrackd resync', async () => (await cd.externalCount('n2')) >= N, t1, 120_000, 10));
      const t2 = performance.now();
      await cd.ctl('n2', ['-c']); // commit the external cache into the kernel
      commits.push(performance.now() - t2);
      const inKernel = await kernelCount(n2);
      if (inKernel < N) throw new Error(`after conntrackd's commit the standby's kernel has ${inKernel} entries, not ${N}`);
    }
    const totals = resyncs.map((r, i) => Math.round(r + commits[i]!));
    emit('resync_request_to_standby_cache', 'ms', pct(resyncs, 50), 'conntrackd', { runs: resyncs.map(Math.round) });
    emit('commit_at_takeover', 'ms', pct(commits, 50), 'conntrackd', { runs: commits.map(Math.round) });
    emit('full_transfer_into_standby_kernel', 'ms', pct(totals, 50), 'conntrackd', {
      note: 'resync request + commit',
      runs: totals,
      min: Math.min(...totals),
      max: Math.max(...totals),
    });
  } finally {
    await cd.stop();
  }
  // Latency into the standby's kernel: the mode that writes it at once.
  for (const ns of [n1, n2]) await flushKernel(ns);
  cd = await Conntrackd.start(lab, dir, { externalCache: false });
  try {
    const base = await kernelCount(n2);
    const t0 = performance.now();
    const loadMs = loadEntries(n1, entries(N));
    const liveMs = await waitFor('conntrackd live sync into the kernel', async () => (await kernelCount(n2)) >= base + N, t0, 120_000, 10);
    emit('live_sync_all_in_standby_kernel', 'ms', liveMs, 'conntrackd', { loadMs: Math.round(loadMs), mode: 'DisableExternalCache On' });
    emit('live_update_rate_into_kernel', 'entries/s', N / (liveMs / 1000), 'conntrackd', { mode: 'DisableExternalCache On' });
    const { steady: lat, warmup } = await latency(n1, n2, N + 10);
    emit('update_latency_p50', 'ms', pct(lat, 50), 'conntrackd', { samples: lat.length, mode: 'DisableExternalCache On' });
    emit('update_latency_p99', 'ms', pct(lat, 99), 'conntrackd', { samples: lat.length, mode: 'DisableExternalCache On' });
    emit('update_latency_max', 'ms', Math.max(...lat), 'conntrackd', { samples: lat.length, mode: 'DisableExternalCache On' });
    emit('update_latency_warmup_max', 'ms', Math.max(...warmup), 'conntrackd', { samples: warmup.length, first: warmup[0] ?? null });
  } finally {
    await cd.stop();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench/sync: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
