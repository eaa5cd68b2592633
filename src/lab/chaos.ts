/**
 * DOC: random fault sequences on a running pair, with live connections (issue 30)
 *
 * The lab's pair (LabCluster, stateful IPv4 and IPv6 gateways as in `tandem lab demo`) under 20 long-lived TCP
 * connections of each family and a UDP datagram every 5 ms, taken through faults drawn from a seeded generator
 * (the seed is printed: the same seed draws the same sequence): a power cycle (switch ports dropped, processes
 * frozen, cables cut; then all back), a freeze of the worker alone (a stall), a cable pulled, heartbeats dropped on
 * a segment, the worker killed (the supervisor restarts it), a planned failover, and a power cycle while a foreign
 * host replays the node's captured heartbeats. After each fault everything is repaired and the pair must settle,
 * the standby in sync, before the next.
 *
 * What it counts: connections lost (an error, or a byte not echoed), intervals in which both nodes were active
 * and running (from their role changes, less the time the driver had one of them stopped), the client's outages
 * (UDP gaps), and every role change with its reason and rule. Used by bench/chaos.ts and test/lab/chaos.test.ts.
 */
import type { Board } from '../board/board-file.js';
import { askControl } from '../api/control-socket.js';
import { PacketLink } from '../io/packet-link.js';
import { peekSender } from '../wire/heartbeat-frame.js';
import { LabCluster, TcpProbe } from './cluster.js';
import { statefulGateways } from './firewall.js';
import type { Lab } from './lab.js';
import { signal, sleep } from './netns.js';
import { run } from './run.js';
import { seededRandom } from './seeded-random.js';
import { UdpProbe } from './udp-probe.js';

export type ChaosFault = 'power-cycle' | 'freeze' | 'cable' | 'heartbeats-dropped' | 'kill-worker' | 'failover' | 'replay-while-dead';
const FAULTS: readonly ChaosFault[] = ['power-cycle', 'freeze', 'cable', 'heartbeats-dropped', 'kill-worker', 'failover', 'replay-while-dead'];

export interface ChaosOptions {
  seconds: number;
  seed: number;
  connections?: number;
  /** Each fault as it is applied (for a bench's JSON lines). */
  onFault?: (f: FaultRecord) => void;
}

export interface FaultRecord {
  k: number;
  fault: ChaosFault;
  node: string;
  detail: string;
  holdMs: number;
  /** From the repair to one active node, one inactive, the standby in sync (-1: not within 20 s). */
  recoveredMs: number;
}

export interface ChaosResult {
  seed: number;
  faults: FaultRecord[];
  connections: { family: 4 | 6; of: number; lost: number; maxGapMs: number }[];
  /** Intervals with both nodes active and running, longest first. */
  bothActiveMs: number[];
  udp: { sent: number; lost: number; maxGapMs: number };
  roleChanges: Record<string, number>;
  failoverTimeMs: number;
}

const FAILOVER_MS = 300;

export async function runChaos(lab: Lab, board: Board, opts: ChaosOptions): Promise<ChaosResult> {
  const random = seededRandom(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const between = (lo: number, hi: number) => Math.round(lo + random() * (hi - lo));
  const conns = opts.connections ?? 20;
  await statefulGateways(lab);
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800 } });
  const probes: TcpProbe[] = [];
  let udp: UdpProbe | undefined;
  let intruder: PacketLink | undefined;
  /** Per node: [from, to] wall-clock windows in which the driver had it stopped (frozen, powered off, killed). */
  const stopped = new Map<string, [number, number][]>(cluster.nodes.map((n) => [n.name, []]));
  const faults: FaultRecord[] = [];
  let reports: (Awaited<ReturnType<TcpProbe['stop']>> | undefined)[] = [];
  let udpReport: Awaited<ReturnType<UdpProbe['stop']>> | undefined;
  try {
    await cluster.settled(15_000);
    const server = lab.plan.hosts.find((h) => h.name === 'server')!.iface;
    probes.push(await TcpProbe.start(lab, { connections: conns, intervalMs: 10, family: 4, port: 7044 }));
    probes.push(await TcpProbe.start(lab, { connections: conns, intervalMs: 10, family: 6, port: 7046 }));
    udp = await UdpProbe.start(lab, { intervalMs: 5, port: 7048 });
    for (const deadline = Date.now() + 10_000; !probes.every((p) => p.allFlowing(conns)) && Date.now() < deadline;) await sleep(50);
    if (!probes.every((p) => p.allFlowing(conns))) throw new Error(`the connections to ${server.address} did not all flow within 10 s`);
    // The intruder on the LAN segment keeps the last frames of each node, for the replay fault.
    const fx = await lab.addForeignHost('lan');
    const captured = new Map<number, Buffer[]>();
    intruder = PacketLink.open({ ifname: fx.ifname, netns: fx.netns });
    intruder.receive(
      (frame) => {
        const id = peekSender(frame)?.nodeId;
        if (id === undefined) return;
        const list = captured.get(id) ?? [];
        list.push(Buffer.from(frame));
        if (list.length > 40) list.shift();
        captured.set(id, list);
      },
      () => undefined,
    );
    const workerOf = async (name: string) => {
      const pid = cluster.node(name).process.pid!;
      return Number((await run(['cat', `/proc/${pid}/task/${pid}/children`])).stdout.trim().split(/\s+/)[0]);
    };
    const recover = async (): Promise<number> => {
      const t0 = Date.now();
      for (const deadline = t0 + 20_000; Date.now() < deadline; await sleep(100)) {
        try {
          const { inactive } = await cluster.settled(1000);
          if ((await cluster.sync(inactive)).status === 'in-sync') return Date.now() - t0;
        } catch {
          // not settled yet
        }
      }
      return -1;
    };
    const end = Date.now() + opts.seconds * 1000;
    for (let k = 0; Date.now() < end; k++) {
      const { active, inactive } = await cluster.settled(10_000);
      const fault = pick(FAULTS);
      const node = fault === 'failover' || random() < 0.7 ? active : pick([active, inactive]);
      const holdMs = between(200, 2500);
      let detail = '';
      const from = Date.now();
      switch (fault) {
        case 'power-cycle':
          await lab.powerOff(node);
          await sleep(holdMs);
          await lab.powerOn(node);
          stopped.get(node)!.push([from, Date.now()]);
          break;
        case 'freeze': {
          const w = await workerOf(node);
          signal(w, 'SIGSTOP');
          await sleep(holdMs);
          signal(w, 'SIGCONT');
          stopped.get(node)!.push([from, Date.now()]);
          break;
        }
        case 'cable': {
          const iface = pick(['eth0', 'eth1', 'eth2', 'eth3']);
          detail = iface;
          await lab.cutLink(node, iface);
          await sleep(holdMs);
          await lab.restoreLink(node, iface);
          break;
        }
        case 'heartbeats-dropped': {
          const segment = pick(lab.plan.segments.map((s) => s.name));
          const percent = pick([50, 100]);
          detail = `${segment} ${percent} %`;
          await lab.dropHeartbeats(segment, percent);
          await sleep(holdMs);
          await lab.clearHeartbeatDrops(segment);
          break;
        }
        case 'kill-worker':
          // The node's timeline ends its active role at worker_died (bothActive); the new worker starts from scratch.
          signal(await workerOf(node), 'SIGKILL');
          await sleep(holdMs);
          break;
        case 'failover':
          await askControl(cluster.node(node).socket, 'failover').catch((e: Error) => (detail = e.message));
          await sleep(holdMs);
          break;
        case 'replay-while-dead': {
          const id = (await cluster.status(node)).node.id;
          const frames = [...(captured.get(id) ?? [])];
          detail = `${frames.length} frames`;
          await lab.powerOff(node);
          const replayer = setInterval(() => frames.forEach((f) => intruder!.send(f)), 50);
          await sleep(holdMs);
          clearInterval(replayer);
          await lab.powerOn(node);
          stopped.get(node)!.push([from, Date.now()]);
          break;
        }
      }
      const rec: FaultRecord = { k, fault, node, detail, holdMs, recoveredMs: await recover() };
      faults.push(rec);
      opts.onFault?.(rec);
      await sleep(between(0, 800));
    }
    await sleep(1000);
  } finally {
    intruder?.close();
    reports = await Promise.all(probes.map((p) => p.stop().catch(() => undefined)));
    udpReport = await udp?.stop().catch(() => undefined);
    await cluster.stop();
  }
  const result: ChaosResult = {
    seed: opts.seed,
    faults,
    connections: reports.map((r, i) => {
      const lost = r ? r.conns.filter((c) => c.error !== null || c.echoed !== c.sent || c.echoed === 0).length : conns;
      return { family: i === 0 ? 4 : 6, of: conns, lost, maxGapMs: r ? Math.max(...r.conns.map((c) => c.maxGapMs)) : -1 };
    }),
    bothActiveMs: bothActive(cluster, stopped),
    udp: udpReport ? { sent: udpReport.sent, lost: udpReport.sent - udpReport.echoed, maxGapMs: udpReport.maxGapMs } : { sent: 0, lost: 0, maxGapMs: -1 },
    roleChanges: countChanges(cluster),
    failoverTimeMs: FAILOVER_MS,
  };
  cluster.cleanup();
  return result;
}

/** role_change events of both nodes, by reason (and rule). */
function countChanges(cluster: LabCluster): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of cluster.nodes) {
    for (const e of n.events.filter((x) => x.event === 'role_change')) {
      const rule = (e['evidence'] as { rule?: string } | undefined)?.rule;
      const key = `${e['from']}->${e['to']} ${e['reason']}${rule ? ` (${rule})` : ''}`;
      out[key] = (out[key] ?? 0) + 1;
    }
  }
  return out;
}

/**
 * The windows in which both nodes were active by their own role changes and both running (not stopped by the
 * driver): what the network saw as two owners. Longest first, in ms.
 */
function bothActive(cluster: LabCluster, stopped: Map<string, [number, number][]>): number[] {
  const timeline = (name: string): [number, boolean][] =>
    cluster
      .node(name)
      .events.filter((e) => e.event === 'role_change' || e.event === 'worker_died')
      .map((e) => [Date.parse(String(e.ts)), e.event === 'role_change' && e['to'] === 'active'] as [number, boolean]);
  const [a, b] = cluster.nodes.map((n) => n.name) as [string, string];
  const points = [...new Set([...timeline(a), ...timeline(b)].map(([t]) => t).concat([...stopped.values()].flat(2)))].sort((x, y) => x - y);
  const activeAt = (name: string, t: number) => {
    let on = false;
    for (const [at, act] of timeline(name)) if (at <= t) on = act;
    return on && !stopped.get(name)!.some(([f, to]) => t >= f && t < to);
  };
  const windows: number[] = [];
  let since: number | undefined;
  for (const t of points) {
    const both = activeAt(a, t) && activeAt(b, t);
    if (both && since === undefined) since = t;
    if (!both && since !== undefined) {
      windows.push(t - since);
      since = undefined;
    }
  }
  return windows.sort((x, y) => y - x);
}
