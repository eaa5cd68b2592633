/**
 * DOC: bench/failover: the outage a client sees, tandem against keepalived
 *
 * The same lab (sim board: WAN, LAN, DMZ, sync), the same client traffic (a
 * UDP datagram to the server through the shared addresses every 5 ms, echoed;
 * the outage is the longest gap between echoes less one interval) and the same faults,
 * first with tandem, then with keepalived (Debian's 2.2.7, VRRPv3, one
 * instance per segment in a sync group) in the same run:
 * - power-off: every cable of the active node cut at once;
 * - link-down: the active node's LAN cable cut.
 * Each setting runs `--runs` times per fault (default 10) and prints one JSON
 * line per fault with min/median/max.
 *
 * With --false-failover-seconds S instead: under each load of bench/loads.ts
 * (stress-ng at nice 0 and -20, a headless Chromium, conntrack bursts), each
 * peer's settings from the fastest up, left alone for S seconds, until one
 * shows no false failover; tandem's default, and its fastest setting with the
 * heartbeat thread under SCHED_FIFO, always run. The two peers run side by
 * side (a tandem cluster and a keepalived cluster at once, each in its own
 * lab, under the same load), so what else the machine does meets both alike.
 * Every rung is printed, with what ran beside it.
 *
 * --family 6: the same outages in a dual-stack lab, the client probing the server's IPv6 address through the
 * shared IPv6 addresses (tandem: sharedIp6 beside sharedIp; keepalived: a VRRPv3 IPv6 instance per segment
 * beside each IPv4 one, in the same sync group). Every line then carries family 6; the IPv4 outage of the
 * same failovers (a second probe) is printed beside each, as outage_*_ipv4_same_failovers.
 *
 * Usage: node dist/bench/failover.js [--runs N] [--only tandem|keepalived] [--family 4|6]
 *        node dist/bench/failover.js --false-failover-seconds 600 [--only ...] [--loads stress,chromium,...]
 *          [--settings 'NAME|NAME']   (only those settings, once each, side by side: to rerun or complete single rungs)
 * Each false-failover rung prints its role changes' reasons (`why`); BENCH_KEEP_LOGS=1 keeps each rung's
 * daemon logs (the directory is printed on stderr).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { resolveBoard } from '../src/board/board-file.js';
import { LabCluster } from '../src/lab/cluster.js';
import { UdpProbe, type UdpReport } from '../src/lab/udp-probe.js';
import { Lab, sleep } from '../src/lab/lab.js';
import { run, tool } from '../src/lab/run.js';
import type { LabPlan } from '../src/lab/topology.js';
import { stats } from './emit.js';
import { LOADS, startLoad, type Load, type LoadKind } from './loads.js';
import { keepalivedArgv } from './keepalived-run.js';

/**
 * SIGINT or SIGTERM (a rung is 600 s, a whole ladder hours): the rung under way ends at once and its clusters,
 * loads and labs are taken down by the same finally blocks as after a rung, then the bench exits.
 */
const stopping = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stopping.abort(new Error(`stopped by ${sig}; labs taken down`)));

type Fault = 'power-off' | 'link-down';
const FAULTS: Fault[] = ['power-off', 'link-down'];
const FAMILY: 4 | 6 = process.argv.includes('--family') && process.argv[process.argv.indexOf('--family') + 1] === '6' ? 6 : 4;
const board = resolveBoard('sim');

interface Setting {
  peer: 'tandem' | 'keepalived';
  name: string;
  /** Starts the cluster; returns who is active now and how to stop. */
  start(lab: Lab): Promise<Running>;
}

interface Running {
  active(): Promise<string>;
  /**
   * Takeovers seen so far: a node becoming the one that serves (tandem: a role change to active; keepalived:
   * a node's sync group entering MASTER, counted once for its three instances). The same unit for both
   * peers: a false failover is one takeover that no fault called for.
   */
  takeovers(): number;
  /** Why, for each of them where the peer says (tandem: time, node, from -> to, the core's reason). */
  why?(): string[];
  /** Resolves once a node other than `was` is active (or rejects after timeoutMs). */
  tookOver(was: string, timeoutMs: number): Promise<void>;
  settle(): Promise<void>;
  stop(): Promise<void>;
}

function tandem(name: string, timers: { heartbeatIntervalMs: number; failoverTimeMs: number; holdDownMs: number; heartbeatRtPriority?: number }): Setting {
  return {
    peer: 'tandem',
    name,
    async start(lab) {
      const cluster = await LabCluster.start(lab, board, { timers: { ...timers, initialSilenceMs: 1000 } });
      const active = async () => (await cluster.settled(15_000)).active;
      return {
        active,
        takeovers: () => cluster.nodes.reduce((n, node) => n + node.events.filter((e) => e.event === 'role_change' && e['to'] === 'active').length, 0),
        why: () =>
          cluster.nodes.flatMap((node) =>
            node.events
              .filter((e) => e.event === 'role_change')
              .map((e) => `${String(e['ts'])} ${node.name} ${String(e['from'])}->${String(e['to'])}: ${String(e['reason'])}`),
          ),
        async tookOver(was, timeoutMs) {
          const other = lab.plan.nodes.find((n) => n.name !== was)!.name;
          const deadline = Date.now() + timeoutMs;
          while (Date.now() < deadline) {
            if ((await cluster.status(other)).role === 'active') return;
            await sleep(20);
          }
          throw new Error(`${other} did not take over within ${timeoutMs} ms`);
        },
        async settle() {
          await cluster.settled(15_000);
          await sleep(timers.holdDownMs + 500); // comparisons may move roles only after the hold-down
        },
        async stop() {
          await cluster.stop();
          if (process.env.BENCH_KEEP_LOGS) process.stderr.write(`logs kept in ${cluster.dir}\n`);
          else cluster.cleanup();
        },
      };
    },
  };
}

function keepalivedConf(plan: LabPlan, index: number, advertInt: number): string {
  const data = ['eth0', 'eth1', 'eth2'];
  const instances = data.map((ifname, k) => {
    const seg = plan.segments.find((s) => s.name === plan.nodes[0]!.ifaces.find((i) => i.ifname === ifname)!.segment)!;
    return `vrrp_instance ${seg.name} {
  state BACKUP
  interface ${ifname}
  virtual_router_id ${51 + k}
  priority ${index === 1 ? 150 : 100}
  advert_int ${advertInt}
  virtual_ipaddress {
    ${seg.sharedIp}/24
  }
}${
      plan.ipv6
        ? `
vrrp_instance ${seg.name}6 {
  state BACKUP
  interface ${ifname}
  virtual_router_id ${61 + k}
  priority ${index === 1 ? 150 : 100}
  advert_int ${advertInt}
  virtual_ipaddress {
    ${seg.sharedIp6}/64
  }
}`
        : ''
    }`;
  });
  return `global_defs {
  router_id ${plan.nodes[index - 1]!.name}
  vrrp_version 3
  vrrp_garp_master_delay 0
  enable_script_security
}
vrrp_sync_group G {
  group {
    ${plan.segments
      .filter((s) => s.role !== 'sync')
      .flatMap((s) => (plan.ipv6 ? [s.name, `${s.name}6`] : [s.name]))
      .join('\n    ')}
  }
}
${instances.join('\n')}
`;
}

function keepalived(name: string, advertInt: number): Setting {
  return {
    peer: 'keepalived',
    name,
    async start(lab) {
      const dir = mkdtempSync(join(tmpdir(), `${lab.name}-ka-`));
      const procs: ChildProcess[] = [];
      let takeovers = 0;
      // The sync group moves its three instances together: one instance's MASTER line is one takeover.
      const first = lab.plan.segments.find((s) => s.name === lab.plan.nodes[0]!.ifaces.find((i) => i.ifname === 'eth0')!.segment)!.name;
      const master = new RegExp(`\\(${first}\\) Entering MASTER STATE`, 'g');
      for (const node of lab.plan.nodes) {
        const conf = join(dir, `${node.name}.conf`);
        writeFileSync(conf, keepalivedConf(lab.plan, node.index, advertInt));
        procs.push(spawn(tool('ip'), keepalivedArgv(node.netns, conf, dir, node.name), { stdio: ['ignore', 'pipe', 'pipe'] }));
        // keepalived logs "(wan) Entering MASTER STATE" on every takeover of that instance.
        for (const stream of [procs.at(-1)!.stdout!, procs.at(-1)!.stderr!]) {
          stream.on('data', (d: Buffer) => (takeovers += (d.toString().match(master) ?? []).length));
        }
      }
      const holds = async (name: string): Promise<boolean> => {
        const node = lab.plan.nodes.find((n) => n.name === name)!;
        const { stdout } = await run(['ip', '-n', node.netns, '-o', 'addr', 'show', 'dev', 'eth1']);
        return stdout.includes('198.18.2.1/24');
      };
      const active = async () => {
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline) {
          const holding = [];
          for (const n of lab.plan.nodes) if (await holds(n.name)) holding.push(n.name);
          if (holding.length === 1) return holding[0]!;
          await sleep(50);
        }
        throw new Error('keepalived: not exactly one node holds the virtual address');
      };
      return {
        active,
        takeovers: () => takeovers,
        async tookOver(was, timeoutMs) {
          const other = lab.plan.nodes.find((n) => n.name !== was)!.name;
          const deadline = Date.now() + timeoutMs;
          while (Date.now() < deadline) {
            if (await holds(other)) return;
            await sleep(20);
          }
          throw new Error(`keepalived: no takeover within ${timeoutMs} ms`);
        },
        async settle() {
          // Both hold the address right after a frozen node thaws; wait until only one does.
          const deadline = Date.now() + 20_000;
          while (Date.now() < deadline) {
            const holding = [];
            for (const n of lab.plan.nodes) if (await holds(n.name)) holding.push(n.name);
            if (holding.length === 1) break;
            await sleep(100);
          }
          await sleep(Math.max(1000, advertInt * 4000));
        },
        async stop() {
          for (const p of procs) p.kill('SIGTERM');
          await sleep(500);
          for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** The nodes holding the LAN's shared address (either peer puts it on some link of the node that serves). */
async function holders(lab: Lab): Promise<string[]> {
  const shared = FAMILY === 6 ? '2001:2:0:2::1/' : '198.18.2.1/';
  const out: string[] = [];
  for (const n of lab.plan.nodes) if ((await run(['ip', '-n', n.netns, '-o', 'addr', 'show'])).stdout.includes(` ${shared}`)) out.push(n.name);
  return out;
}

/**
 * Whether the client's and the server's neighbour entries for their gateway name a MAC of `active`. keepalived
 * moves the address, not a MAC: both its nodes forward whatever reaches their own MAC, so a host whose entry was
 * not corrected after a hand-back keeps sending through the standby, and faulting the master then interrupts
 * nothing (a 4 ms sample at advert_int 0.01 s). Such an entry is deleted, and the host asks again (the holder
 * answers): the fault is then measured on the node the traffic crosses, for either peer.
 */
async function cachesFollow(lab: Lab, active: string): Promise<boolean> {
  const node = lab.plan.nodes.find((n) => n.name === active)!;
  const macs = new Set([...(await run(['ip', '-n', node.netns, '-o', 'link', 'show'])).stdout.matchAll(/link\/ether ([0-9a-f:]{17})/g)].map((m) => m[1]));
  let follow = true;
  for (const host of lab.plan.hosts.filter((h) => h.name === 'client' || h.name === 'server')) {
    for (const gateway of FAMILY === 6 ? [host.gateway6, host.gateway] : [host.gateway]) {
      const entry = (await run(['ip', '-n', host.netns, 'neigh', 'show', gateway])).stdout;
      const mac = /lladdr ([0-9a-f:]{17})/.exec(entry)?.[1];
      if (mac === undefined || macs.has(mac)) continue;
      process.stderr.write(`${host.name}'s entry for ${gateway} names ${mac}, not a MAC of ${active}: deleted (the holder answers its next solicitation)\n`);
      await run(['ip', '-n', host.netns, 'neigh', 'del', gateway, 'dev', 'eth0']).catch(() => undefined);
      follow = false;
    }
  }
  return follow;
}

/**
 * The node to fault: the one the peer names active, once it alone has held the shared address for a second and
 * the hosts' neighbour entries name it (cachesFollow).
 * After a power-on the roles can still move (a returning node's hand-back); faulting a node that does not
 * serve measured an outage of 0 ms (a bench artefact, seen once in docs/benchmarks.md).
 */
async function serving(lab: Lab, running: Running): Promise<string> {
  const deadline = Date.now() + 30_000;
  let stableSince = 0;
  let last = '';
  while (Date.now() < deadline) {
    const active = await running.active();
    const held = await holders(lab);
    const now = `${active} holds ${held.join(',') || 'none'}`;
    if (held.length === 1 && held[0] === active && (await cachesFollow(lab, active))) {
      if (stableSince === 0 || now !== last) stableSince = Date.now();
      else if (Date.now() - stableSince >= 1000) return active;
    } else stableSince = 0;
    last = now;
    await sleep(100);
  }
  throw new Error(`no node serves alone for a second within 30 s (last: ${last})`);
}

/**
 * The probe: a numbered UDP datagram every PROBE_MS from the client, echoed by the server (src/lab/udp-probe.ts);
 * the outage is the longest time between two echoes less one interval. Until 2026-12-03 it was `ping -i 0.005`,
 * which sends at most every 10 ms while replies are outstanding (iputils' MININTERVAL: it waits 10 ms for a
 * reply before the next probe), so during an outage it probed every 10-14 ms and the first reply after one came
 * up to ~14 ms after the path was back, by the probe's phase alone (a capture of the client's link showed it).
 */
const PROBE_MS = 5;
/** Both ends of the probe under SCHED_FIFO: a takeover keeps this machine's two cores busy, and a probe that
 * waited its turn sent 12 ms apart instead of 5 (seen in the same capture), for either peer. */
const PROBE_RT = 10;
const outageOf = (r: UdpReport) => Math.max(0, r.maxGapMs - PROBE_MS);

/** The IPv4 outages of the dual-stack runs (--family 6), measured in the same failovers as the IPv6 ones. */
const sameFailoverIpv4: number[] = [];

async function measure(setting: Setting, fault: Fault, runs: number): Promise<number[]> {
  const lab = await Lab.up(board, { ipv6: FAMILY === 6 });
  const outages: number[] = [];
  sameFailoverIpv4.length = 0;
  let running: Running | undefined;
  try {
    running = await setting.start(lab);
    await running.settle();
    for (let i = 0; i < runs; i++) {
      stopping.signal.throwIfAborted();
      const active = await serving(lab, running);
      const traffic = await UdpProbe.start(lab, { family: FAMILY, intervalMs: PROBE_MS, port: 7101, rtPriority: PROBE_RT });
      // Dual stack: IPv4 in the same failovers too, so the two families compare without the noise between runs.
      const traffic4 = FAMILY === 6 ? await UdpProbe.start(lab, { family: 4, intervalMs: PROBE_MS, port: 7102, rtPriority: PROBE_RT }) : undefined;
      await sleep(500);
      // Power-off: the switch drops every frame of the node in one transaction (heartbeats and forwarding stop together).
      if (fault === 'power-off') await lab.powerOff(active);
      else await lab.cutLink(active, 'eth1');
      await running.tookOver(active, 10_000);
      await sleep(1000);
      outages.push(outageOf(await traffic.stop()));
      if (traffic4) sameFailoverIpv4.push(outageOf(await traffic4.stop()));
      if (fault === 'power-off') await lab.powerOn(active);
      else await lab.restoreLink(active, 'eth1');
      await lab.waitCarrier(5000);
      await running.settle();
    }
  } finally {
    await running?.stop();
    await lab.down();
  }
  return outages;
}

/**
 * False failovers: clusters left alone for `seconds` under one load (bench/loads.ts), side by side, each in
 * its own lab, so that every peer meets the same load and the same neighbours; every takeover after a
 * cluster settled is a false failover.
 */
async function falseFailovers(
  settings: readonly Setting[],
  load: LoadKind,
  seconds: number,
): Promise<{ count: number; done: Record<string, number>; why?: Record<string, number> }[]> {
  const labs: Lab[] = [];
  const running: Running[] = [];
  let busy: Load | undefined;
  try {
    for (const setting of settings) {
      const lab = await Lab.up(board);
      labs.push(lab);
      running.push(await setting.start(lab));
    }
    await Promise.all(running.map((r) => r.settle()));
    const before = running.map((r) => r.takeovers());
    const whyBefore = running.map((r) => new Set(r.why?.() ?? []));
    busy = await startLoad(
      load,
      seconds,
      running.map((r, k) => ({ lab: labs[k]!, active: () => r.active() })),
    );
    await delay(seconds * 1000, undefined, { signal: stopping.signal });
    const results = running.map((r, k) => {
      const count = r.takeovers() - before[k]!;
      const reasons = r
        .why?.()
        .filter((w) => !whyBefore[k]!.has(w))
        .map((w) => w.slice(w.indexOf(' ') + 1));
      // Each distinct reason with its count: what an administrator would read in the log.
      const why = reasons && reasons.length > 0 ? reasons.reduce<Record<string, number>>((m, w) => ({ ...m, [w]: (m[w] ?? 0) + 1 }), {}) : undefined;
      return { count, ...(why ? { why } : {}) };
    });
    await busy.stop();
    const done = busy.done();
    busy = undefined;
    return results.map((r) => ({ ...r, done }));
  } finally {
    await busy?.stop();
    for (const r of running) await r.stop();
    for (const lab of labs) await lab.down();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const runs = Number(opt('runs') ?? 10);
  const only = opt('only');
  const stressSeconds = opt('false-failover-seconds');
  const loads = (opt('loads') ?? LOADS.join(',')).split(',') as LoadKind[];
  for (const l of loads) if (!(LOADS as readonly string[]).includes(l)) throw new Error(`--loads: ${l} is not one of ${LOADS.join(', ')}`);
  const picked = opt('settings')?.split('|');
  if (stressSeconds !== undefined) return falseFailoverLadder(Number(stressSeconds), only, loads, picked);
  const settings: Setting[] = [
    tandem('default (heartbeat 50 ms, failover 300 ms)', { heartbeatIntervalMs: 50, failoverTimeMs: 300, holdDownMs: 2000 }),
    tandem('fastest (heartbeat 5 ms, failover 20 ms)', { heartbeatIntervalMs: 5, failoverTimeMs: 20, holdDownMs: 500 }),
    keepalived('advert_int 1 s (default)', 1),
    keepalived('advert_int 0.01 s (fastest)', 0.01),
  ].filter((s) => !only || s.peer === only);
  for (const setting of settings) {
    for (const fault of FAULTS) {
      const outages = await measure(setting, fault, runs);
      const st = stats(outages);
      process.stdout.write(
        JSON.stringify({
          name: `outage_${fault.replace('-', '_')}`,
          unit: 'ms',
          value: Math.round(st.median),
          peer: setting.peer,
          setting: setting.name,
          min: Math.round(st.min),
          max: Math.round(st.max),
          runs: outages.length,
          samples: outages.map(Math.round),
          family: FAMILY,
        }) + '\n',
      );
      if (sameFailoverIpv4.length > 0) {
        const s4 = stats(sameFailoverIpv4);
        process.stdout.write(
          JSON.stringify({
            name: `outage_${fault.replace('-', '_')}_ipv4_same_failovers`,
            unit: 'ms',
            value: Math.round(s4.median),
            peer: setting.peer,
            setting: setting.name,
            min: Math.round(s4.min),
            max: Math.round(s4.max),
            runs: sameFailoverIpv4.length,
            samples: sameFailoverIpv4.map(Math.round),
            family: 4,
            dualStack: true,
          }) + '\n',
        );
      }
    }
  }
}

/**
 * For each load, both peers side by side: rounds of two clusters, tandem's next rung next to keepalived's,
 * each ladder from the fastest setting upwards until a rung shows no false failover; then tandem's default
 * (the target: none at the defaults under every load) and its fastest setting under SCHED_FIFO. A peer whose
 * ladder is done runs its zero rung again as the other's neighbour (a second sample of it), so every
 * round has the same two clusters on the machine. Every rung run is printed, failing ones included.
 */
async function falseFailoverLadder(seconds: number, only: string | undefined, loads: readonly LoadKind[], picked?: readonly string[]): Promise<void> {
  const tandemLadder = [
    tandem('heartbeat 5 ms, failover 20 ms', { heartbeatIntervalMs: 5, failoverTimeMs: 20, holdDownMs: 500 }),
    tandem('heartbeat 10 ms, failover 40 ms', { heartbeatIntervalMs: 10, failoverTimeMs: 40, holdDownMs: 500 }),
    tandem('heartbeat 15 ms, failover 60 ms', { heartbeatIntervalMs: 15, failoverTimeMs: 60, holdDownMs: 1000 }),
    tandem('heartbeat 20 ms, failover 80 ms', { heartbeatIntervalMs: 20, failoverTimeMs: 80, holdDownMs: 1000 }),
    // Between 80 ms and the default 300 ms: keepalived's advert_int 0.05 s detects a silent master after about
    // 3 x 50 ms plus its skew (VRRPv3: (256 - 100) x 50 ms / 256 at the backup's priority 100, so about 180 ms), so
    // tandem's fastest clean rung can be compared with it (0.01 s: 36 ms, 0.02 s: 72 ms, 0.1 s: 361 ms).
    tandem('heartbeat 30 ms, failover 120 ms', { heartbeatIntervalMs: 30, failoverTimeMs: 120, holdDownMs: 1000 }),
    tandem('heartbeat 40 ms, failover 160 ms', { heartbeatIntervalMs: 40, failoverTimeMs: 160, holdDownMs: 2000 }),
  ];
  const tandemAlways = [
    tandem('heartbeat 50 ms, failover 300 ms (default)', { heartbeatIntervalMs: 50, failoverTimeMs: 300, holdDownMs: 2000 }),
    tandem('heartbeat 5 ms, failover 20 ms, heartbeatRtPriority 10', { heartbeatIntervalMs: 5, failoverTimeMs: 20, holdDownMs: 500, heartbeatRtPriority: 10 }),
  ];
  const keepalivedLadder = [0.01, 0.02, 0.05, 0.1, 1].map((a) => keepalived(`advert_int ${a} s`, a));
  for (const load of loads) {
    // --settings: only the named settings, each run once (no climbing), still side by side.
    const pick = (list: Setting[]) => list.filter((x) => picked!.includes(x.name));
    const ladders = (
      picked
        ? [new Ladder('tandem', [], pick([...tandemLadder, ...tandemAlways])), new Ladder('keepalived', [], pick(keepalivedLadder))]
        : [new Ladder('tandem', tandemLadder, tandemAlways), new Ladder('keepalived', keepalivedLadder, [])]
    ).filter((l) => (!only || l.peer === only) && !l.finished());
    if (picked && ladders.length === 0) throw new Error(`--settings: none of ${picked.join(' | ')} is a setting of the ladder`);
    while (ladders.some((l) => !l.finished())) {
      const round = ladders.map((l) => l.next());
      const results = await falseFailovers(
        round.map((r) => r.setting),
        load,
        seconds,
      );
      round.forEach((r, k) => {
        const res = results[k]!;
        const ladder = ladders[k]!;
        process.stdout.write(
          JSON.stringify({
            name: 'false_failovers_under_load',
            unit: 'count',
            value: res.count,
            peer: ladder.peer,
            setting: r.setting.name,
            load,
            seconds,
            side_by_side: round.flatMap((o, j) => (j === k ? [] : [`${ladders[j]!.peer} ${o.setting.name}`])).join(', ') || 'none',
            ...(r.repeat ? { repeat: true } : {}),
            ...res.done,
            ...(res.why ? { why: res.why } : {}),
          }) + '\n',
        );
        ladder.record(r, res.count);
      });
    }
    if (!picked)
      for (const ladder of ladders)
        process.stdout.write(
          JSON.stringify({
            name: 'fastest_setting_without_false_failover',
            unit: 'setting',
            value: ladder.zeroAt?.name ?? 'none',
            peer: ladder.peer,
            load,
            seconds,
          }) + '\n',
        );
  }
}

/** One peer's ladder: its rungs from the fastest up until one has no false failover, then its extra settings. */
class Ladder {
  zeroAt: Setting | undefined;
  private rung = 0;
  private extra = 0;

  constructor(
    readonly peer: string,
    private readonly rungs: readonly Setting[],
    private readonly extras: readonly Setting[],
  ) {}

  finished(): boolean {
    return (this.zeroAt !== undefined || this.rung >= this.rungs.length) && this.extra >= this.extras.length;
  }

  /** The next setting to run; a finished ladder repeats its zero rung (or its last) as a neighbour. */
  next(): { setting: Setting; kind: 'rung' | 'extra'; repeat?: boolean } {
    if (this.zeroAt === undefined && this.rung < this.rungs.length) return { setting: this.rungs[this.rung]!, kind: 'rung' };
    if (this.extra < this.extras.length) return { setting: this.extras[this.extra]!, kind: 'extra' };
    return { setting: this.zeroAt ?? this.rungs.at(-1) ?? this.extras.at(-1)!, kind: 'rung', repeat: true };
  }

  record(r: { setting: Setting; kind: 'rung' | 'extra'; repeat?: boolean }, count: number): void {
    if (r.repeat) return;
    if (r.kind === 'extra') this.extra++;
    else {
      this.rung++;
      if (count === 0) this.zeroAt = r.setting;
    }
  }
}

main().catch((e) => {
  if (stopping.signal.aborted) {
    process.stderr.write(`bench/failover: ${(stopping.signal.reason as Error).message}\n`);
    process.exit(130);
  }
  process.stderr.write(`bench/failover: ${(e as Error).stack}\n`);
  process.exit(1);
});
