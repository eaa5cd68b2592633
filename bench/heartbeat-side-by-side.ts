/**
 * DOC: bench/heartbeat's cost lines: tandemd and keepalived side by side, measured in the same windows
 *
 * Until session 15 bench/heartbeat measured tandemd's steady state and then
 * keepalived, a few minutes apart, and this machine's noise moved between the
 * two windows: keepalived alone varied 2.8x between runs within an hour, and
 * the ratio 2.2x-6.3x. Here both run the whole time, each in its own lab (the
 * same five-port board), and every window reads both at once, so a slow
 * stretch of the machine counts against both. Each window prints tandemd,
 * its heartbeat thread alone, keepalived, and both against keepalived; the
 * summary lines give the median over the windows with their range.
 *
 * The heartbeat thread (the addon's `tandem-hb`, which sends and reads every
 * frame) is the floor of any tandemd that still wakes a thread for each
 * heartbeat tick, whatever the JavaScript does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabCluster } from '../src/lab/cluster.js';
import { sleep, type Lab } from '../src/lab/lab.js';
import { netnsPids } from '../src/lab/netns.js';
import { tool } from '../src/lab/run.js';
import { emit, stats } from './emit.js';
import { FIVE_PORTS, processUse, workerOf, writeBenchBoard } from './five-ports.js';
import { keepalivedArgv } from './keepalived-run.js';

const TANDEM = 'tandemd_cpu_percent_100_heartbeats_per_s_on_5_ifaces';
const HB_THREAD = 'tandemd_heartbeat_thread_cpu_percent_100_heartbeats_per_s_on_5_ifaces';
const KEEPALIVED = 'keepalived_cpu_percent_100_adverts_per_s_on_5_ifaces_master_plus_backup';
const RATIO = 'heartbeat_cpu_ratio_tandem_to_keepalived';
const FLOOR_RATIO = 'heartbeat_cpu_ratio_tandem_heartbeat_thread_to_keepalived';
/** The addon names its heartbeat thread (native/pacer.c). */
const HB_COMM = 'tandem-hb';
/** The first window: this long after the pair settled (start-up, printed apart from the steady state). */
export const START_WINDOW_S = 15;

type Use = ReturnType<typeof processUse>;
const NONE: Use = { cpuNs: 0, wakeups: 0, commNs: 0 };
const add = (x: Use, y: Use, sign = 1): Use => ({ cpuNs: x.cpuNs + sign * y.cpuNs, wakeups: x.wakeups + sign * y.wakeups, commNs: x.commNs + sign * y.commNs });

/** Read at one instant: per tandem node its supervisor and worker together (`commNs`: its heartbeat thread), and keepalived's processes. */
interface Reading {
  at: number;
  nodes: Use[];
  keepalived: Use;
}

function read(tandem: number[][], keepalived: number[]): Reading {
  const at = performance.now();
  const nodes = tandem.map((pids) => pids.map((pid) => processUse(pid, HB_COMM)).reduce((x, y) => add(x, y), NONE));
  const ka = keepalived.map((pid) => {
    try {
      return processUse(pid);
    } catch {
      return NONE; // a process that ended (keepalived's short-lived helpers): what it used is gone with it
    }
  });
  return { at, nodes, keepalived: ka.reduce((x, y) => add(x, y), NONE) };
}

interface Window {
  /** % of one core: the busier tandemd, its heartbeat thread, keepalived's master plus backup. */
  tandem: number;
  hbThread: number;
  keepalived: number;
  tandemWakeups: number;
  keepalivedWakeups: number;
}

function between(a: Reading, b: Reading): Window {
  const wallS = (b.at - a.at) / 1000;
  const pct = (ns: number) => (100 * ns) / 1e9 / wallS;
  const busier = b.nodes.map((n, k) => add(n, a.nodes[k]!, -1)).reduce((x, y) => (y.cpuNs > x.cpuNs ? y : x));
  const ka = add(b.keepalived, a.keepalived, -1);
  return {
    tandem: pct(busier.cpuNs),
    hbThread: pct(busier.commNs),
    keepalived: pct(ka.cpuNs),
    tandemWakeups: busier.wakeups / wallS,
    keepalivedWakeups: ka.wakeups / wallS,
  };
}

/** keepalived at tandemd's frame rate: 5 VRRPv3 instances (one per interface) at advert_int 0.05 s; the master sends 100 adverts/s. */
function startKeepalived(lab: Lab): { stop: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-ka-'));
  const procs: ChildProcess[] = [];
  for (const node of lab.plan.nodes) {
    const instances = node.ifaces.map((i, k) => {
      const seg = lab.plan.segments.find((x) => x.name === i.segment)!;
      return `vrrp_instance i${k} {\n  state BACKUP\n  interface ${i.ifname}\n  virtual_router_id ${61 + k}\n  priority ${node.index === 1 ? 150 : 100}\n  advert_int 0.05\n  virtual_ipaddress {\n    ${seg.sharedIp}/24\n  }\n}`;
    });
    const conf = join(dir, `${node.name}.conf`);
    writeFileSync(conf, `global_defs {\n  router_id ${node.name}\n  vrrp_version 3\n  enable_script_security\n}\n${instances.join('\n')}\n`);
    procs.push(spawn(tool('ip'), keepalivedArgv(node.netns, conf, dir, node.name), { stdio: 'ignore' }));
  }
  return {
    stop: async () => {
      for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
      await sleep(500);
      for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Two tandemd at an 80 ms cycle (100 heartbeats/s out and 100/s in each, with the bench board's plan of 4 data
 * and 4 sync slots) in `tandemLab`, keepalived in `keepalivedLab`, both started together. One window of `seconds`
 * START_WINDOW_S after the pair settled, then `windows` windows from `steadyAfterS` on.
 */
export async function sideBySide(tandemLab: Lab, keepalivedLab: Lab, seconds: number, windows: number, steadyAfterS: number): Promise<void> {
  const { boardFile, cleanup } = writeBenchBoard();
  const keepalived = startKeepalived(keepalivedLab);
  try {
    const cluster = await LabCluster.start(tandemLab, FIVE_PORTS, {
      boardRef: boardFile,
      timers: { heartbeatIntervalMs: 80, failoverTimeMs: 400, initialSilenceMs: 500 },
    });
    try {
      await cluster.settled(10_000);
      const settledAt = performance.now();
      const tandemPids = cluster.nodes.map((n) => [n.process.pid!, workerOf(n.process.pid!)]);
      const kaPids = (await Promise.all(keepalivedLab.plan.nodes.map((n) => netnsPids(n.netns)))).flat();
      if (kaPids.length < 2) throw new Error(`keepalived is not running in lab ${keepalivedLab.plan.name} (${kaPids.length} processes)`);
      const windowAt = async (startAtMs: number) => {
        await sleep(Math.max(0, startAtMs - performance.now()));
        const a = read(tandemPids, kaPids);
        await sleep(seconds * 1000);
        return between(a, read(tandemPids, kaPids));
      };
      const start = await windowAt(settledAt + START_WINDOW_S * 1000);
      emit(`${TANDEM}_at_start`, '% of one core', start.tandem, 'tandem');
      emit(`${KEEPALIVED}_at_start`, '% of one core', start.keepalived, 'keepalived');
      emit(`${RATIO}_at_start`, 'x', start.tandem / start.keepalived, 'tandem');
      const series: [name: string, unit: string, peer: string, of: (w: Window) => number][] = [
        [TANDEM, '% of one core', 'tandem', (w) => w.tandem],
        [HB_THREAD, '% of one core', 'tandem', (w) => w.hbThread],
        [KEEPALIVED, '% of one core', 'keepalived', (w) => w.keepalived],
        [RATIO, 'x', 'tandem', (w) => w.tandem / w.keepalived],
        [FLOOR_RATIO, 'x', 'tandem', (w) => w.hbThread / w.keepalived],
      ];
      const steady: Window[] = [];
      for (let k = 1; k <= windows; k++) {
        const w = await windowAt(k === 1 ? settledAt + steadyAfterS * 1000 : 0);
        steady.push(w);
        for (const [name, unit, peer, of] of series) emit(`${name}_window`, unit, of(w), peer, { window: k });
      }
      for (const [name, unit, peer, of] of series) {
        const { min, median, max } = stats(steady.map(of));
        emit(name, unit, median, peer, { min, max, windows });
      }
      // What a cost is made of: wakeups a second, and CPU per wakeup, over all steady windows.
      for (const [name, peer, cpu, wakeups] of [
        [TANDEM, 'tandem', steady.map((w) => w.tandem), steady.map((w) => w.tandemWakeups)],
        [KEEPALIVED, 'keepalived', steady.map((w) => w.keepalived), steady.map((w) => w.keepalivedWakeups)],
      ] as const) {
        const perS = wakeups.reduce((a, b) => a + b, 0) / windows;
        emit(`${name}_wakeups_per_s`, 'wakeups/s', perS, peer);
        emit(`${name}_cpu_us_per_wakeup`, 'us', ((cpu.reduce((a, b) => a + b, 0) / windows) * 1e4) / Math.max(1, perS), peer);
      }
    } finally {
      await cluster.stop();
      cluster.cleanup();
    }
  } finally {
    await keepalived.stop();
    cleanup();
  }
}
