/**
 * DOC: bench/heartbeat: heartbeat throughput and the cost of heartbeats
 *
 * Prints one JSON line per result ({name, unit, value, peer}):
 * - frames/s sent per core and received per core through the addon between
 *   two lab namespaces: a sender process (real heartbeat frames, HMAC and
 *   all) and a receiver process (full drop ladder), each timing its own CPU;
 * - the CPU cost of a real `tandemd` (two run, sending to and receiving from
 *   each other) with 5 heartbeat interfaces at 100 heartbeats/s in total
 *   (target: under 1 % of a core), and keepalived at the same frame rate (5
 *   VRRPv3 instances at advert_int 0.05 s, master plus backup), both running
 *   side by side and read in the same windows of N seconds: one 15 s after
 *   start, then --windows W (5) from --warmup S (150 s) on, each window's
 *   figures and the ratio, then medians with their range
 *   (bench/heartbeat-side-by-side.ts);
 * - tandemd at 100/s on every data interface (the sync interface 4x that, per
 *   the slot plan), 15 s after start and in the steady state;
 * - the floor: an empty Node process woken as often as tandemd's main loop.
 *
 * Usage: node dist/bench/heartbeat.js [--seconds N] [--warmup S] [--windows W]
 */
import type { Board } from '../src/board/board-file.js';
import { hmacAuth } from '../src/io/heartbeat-auth.js';
import { openHeartbeatInterfaces } from '../src/io/heartbeat-links.js';
import { HeartbeatReceiver } from '../src/io/heartbeat-receiver.js';
import { HeartbeatSender } from '../src/io/heartbeat-sender.js';
import { LabCluster } from '../src/lab/cluster.js';
import { Lab, sleep } from '../src/lab/lab.js';
import { VERSION } from '../src/runtime/version.js';
import { FIVE_PORTS, processUse, workerOf, writeBenchBoard } from './five-ports.js';
import { emit } from './emit.js';
import { sideBySide, START_WINDOW_S } from './heartbeat-side-by-side.js';

const CLUSTER = 5;
const PASSWORD = 'bench-password';

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

/** Child role: send real heartbeats on one interface as fast as the socket takes them. */
async function sendRole(netns: string, seconds: number): Promise<void> {
  const board = onlyNic(FIVE_PORTS, 'eth4');
  const ifaces = openHeartbeatInterfaces(board, { clusterId: CLUSTER, netns });
  const sender = new HeartbeatSender(ifaces, nodeFields(1), hmacAuth(PASSWORD, CLUSTER), 100);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < 256; i++) sender.sendNext();
    await new Promise((r) => setImmediate(r)); // let the loop breathe, as the daemon would
  }
  const cpu = cpuSeconds(process.cpuUsage(cpu0));
  const s = sender.stats().get('eth4')!;
  process.stdout.write(JSON.stringify({ sent: s.sent, errors: s.errors, cpu, wall: (performance.now() - t0) / 1000 }) + '\n');
  for (const i of ifaces.values()) i.link.close();
}

function onlyNic(board: Board, name: string): Board {
  return { ...board, nics: board.nics.filter((n) => n.name === name) };
}

function nodeFields(nodeId: number) {
  return {
    clusterId: CLUSTER,
    nodeType: nodeId === 1 ? ('master' as const) : ('slave' as const),
    state: 'active' as const,
    flags: 0,
    nodeId,
    bootId: BigInt(Date.now()) * 1000n,
    connections: 0,
    health: 4,
    syncStatus: 'in-sync' as const,
    syncSequence: 0n,
    configGeneration: 1,
    softwareVersion: { major: VERSION.major, minor: VERSION.minor, patch: VERSION.patch },
    nodeName: `bench${nodeId}`,
    term: 0,
  };
}

async function throughput(lab: Lab, seconds: number): Promise<void> {
  const [n1, n2] = lab.plan.nodes;
  const ifaces = openHeartbeatInterfaces(onlyNic(FIVE_PORTS, 'eth4'), { clusterId: CLUSTER, netns: n2!.netns });
  const receiver = new HeartbeatReceiver(ifaces, { clusterId: CLUSTER, nodeId: 2, auth: hmacAuth(PASSWORD, CLUSTER) });
  receiver.start();
  const cpu0 = process.cpuUsage();
  const child = lab.spawn(n1!.netns, [process.execPath, __filename, '--role', 'send', '--netns', n1!.netns, '--seconds', String(seconds)]);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  await new Promise((r) => child.once('exit', r));
  await sleep(200);
  const rxCpu = cpuSeconds(process.cpuUsage(cpu0));
  const tx = JSON.parse(out) as { sent: number; errors: number; cpu: number; wall: number };
  const rx = receiver.stats().get('eth4')!;
  for (const i of ifaces.values()) i.link.close();
  emit('heartbeat_frames_sent_per_core', 'frames/s', tx.sent / tx.cpu);
  emit('heartbeat_frames_received_per_core', 'frames/s', rx.accepted / rxCpu);
  emit('heartbeat_frames_sent_wall', 'frames/s', tx.sent / tx.wall);
  emit('heartbeat_frames_lost_percent', '%', (100 * (tx.sent - rx.accepted)) / Math.max(1, tx.sent));
}

interface Use {
  /** % of one core. */
  cpu: number;
  wakeupsPerS: number;
}

/** CPU share and wakeups of a set of processes over `seconds`, after `warmupMs`. */
async function cpuPercent(pids: number[], warmupMs: number, seconds: number): Promise<Use[]> {
  await sleep(warmupMs);
  const before = pids.map((p) => processUse(p));
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  return pids.map((p, i) => {
    const now = processUse(p);
    return { cpu: (100 * (now.cpuNs - before[i]!.cpuNs)) / 1e9 / wall, wakeupsPerS: (now.wakeups - before[i]!.wakeups) / wall };
  });
}

function sum(uses: readonly Use[]): Use {
  return { cpu: uses.reduce((a, u) => a + u.cpu, 0), wakeupsPerS: uses.reduce((a, u) => a + u.wakeupsPerS, 0) };
}

/** The same use as wakeups a second and CPU microseconds per wakeup: what a cost is made of. */
function emitWakeups(name: string, u: Use, peer: string): void {
  emit(`${name}_wakeups_per_s`, 'wakeups/s', u.wakeupsPerS, peer);
  emit(`${name}_cpu_us_per_wakeup`, 'us', (u.cpu * 1e4) / Math.max(1, u.wakeupsPerS), peer);
}

/**
 * The floor: an empty Node process woken by a timer as often as tandemd's
 * main loop (once an interval: the service tick that tops up the pacer and
 * reads the received heartbeats). What a Node process costs this machine just
 * to wake, before any heartbeat work.
 */
async function wakeupFloor(lab: Lab, seconds: number, intervalMs: number, name: string): Promise<void> {
  const child = lab.spawn(lab.plan.nodes[0]!.netns, [process.execPath, '-e', `setInterval(() => {}, ${intervalMs})`], { stdio: 'ignore' });
  const [use] = await cpuPercent([child.pid!], 2000, seconds);
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  emit(name, '% of one core', use!.cpu);
}

/**
 * Two real tandemd (supervised, from their configuration files) at
 * `intervalMs`; CPU of the busier node (its supervisor and its worker, every
 * thread), in two windows: START_WINDOW_S after the pair settled, and after
 * `steadyAfterS`. With the bench board's plan (4 data slots, 4 sync slots a
 * cycle) 80 ms gives 100 heartbeats/s in total per node; 10 ms gives 100/s on
 * every data port.
 *
 * Both windows are printed: the first minutes are start-up, not what an
 * appliance pays for months. V8 compiles the daemon's functions as they turn
 * hot, and a function run ten times a second takes a minute or two to get
 * there; under `--single-threaded` (src/runtime/supervisor.ts) that compiling
 * runs on the main loop (perf on the worker at 30 s: 18 % of its main thread
 * in the optimising compiler). Measured 2026-12-03 with bench/hb-threads: the
 * main loop 0.9-1.1 % at 15 s, 0.54-0.57 % at 120 s and 0.54 % at 300 s.
 */

async function daemonCost(lab: Lab, seconds: number, intervalMs: number, name: string, steadyAfterS: number): Promise<{ start: number; steady: Use }> {
  const { boardFile, cleanup } = writeBenchBoard();
  const cluster = await LabCluster.start(lab, FIVE_PORTS, {
    boardRef: boardFile,
    timers: { heartbeatIntervalMs: intervalMs, failoverTimeMs: 400, initialSilenceMs: 500 },
  });
  try {
    await cluster.settled(10_000);
    const settledAt = performance.now();
    const nodes = cluster.nodes.map((n) => [n.process.pid!, workerOf(n.process.pid!)]);
    const busier = async (afterMs: number) => {
      const used = await cpuPercent(nodes.flat(), afterMs, seconds);
      const perNode = nodes.map((_, k) => sum([used[2 * k]!, used[2 * k + 1]!]));
      return perNode.reduce((a, b) => (b.cpu > a.cpu ? b : a));
    };
    const start = (await busier(START_WINDOW_S * 1000)).cpu;
    emit(`${name}_at_start`, '% of one core', start);
    const steady = await busier(Math.max(0, settledAt + steadyAfterS * 1000 - performance.now()));
    emit(name, '% of one core', steady.cpu);
    emitWakeups(name, steady, 'tandem');
    return { start, steady };
  } finally {
    await cluster.stop();
    cluster.cleanup();
    cleanup();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const seconds = Number(opt('seconds') ?? 5);
  if (opt('role') === 'send') return sendRole(opt('netns')!, seconds);
  const lab = await Lab.up(FIVE_PORTS);
  let keepalivedLab: Lab | undefined;
  const onSignal = () => void Promise.all([lab.down(), keepalivedLab?.down()]).then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await throughput(lab, seconds);
    const steadyAfterS = Number(opt('warmup') ?? 150);
    keepalivedLab = await Lab.up(FIVE_PORTS);
    await sideBySide(lab, keepalivedLab, Math.max(10, seconds), Number(opt('windows') ?? 5), steadyAfterS);
    await keepalivedLab.down();
    keepalivedLab = undefined;
    await daemonCost(lab, Math.max(10, seconds), 10, 'tandemd_cpu_percent_100_per_s_on_each_of_5_ifaces', steadyAfterS);
    await wakeupFloor(lab, Math.max(10, seconds), 80, 'node_empty_timer_cpu_percent_same_wakeups_as_tandemd_main_loop_at_80_ms');
  } finally {
    await keepalivedLab?.down();
    await lab.down();
  }
}

main().catch((e) => {
  process.stderr.write(`bench/heartbeat: ${(e as Error).stack}\n`);
  process.exit(1);
});
