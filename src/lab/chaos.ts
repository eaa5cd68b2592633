/**
 * DOC: random fault sequences on a running pair, with live connections (issue 30)
 *
 * A pair in the lab (stateful IPv4 and IPv6 gateways as in `tandem lab demo`) under 20 long-lived TCP connections
 * of each family and a UDP datagram every 5 ms, taken through faults drawn from a seeded generator (the seed is
 * printed: the same seed draws the same sequence, whichever pair runs it): a power cycle (switch ports dropped,
 * processes frozen, cables cut; then all back), a freeze of the HA daemon alone (a stall), a cable pulled,
 * heartbeats dropped on a segment, the daemon killed (its supervisor restarts it), a planned failover, and a power
 * cycle while a foreign host replays the node's captured heartbeats. After each fault everything is repaired and
 * the pair must settle, the standby in sync, before the next.
 *
 * The pair is a port (ChaosPair): tandem's is chaos-tandem.ts; bench/chaos-keepalived.ts runs keepalived with
 * conntrackd through the same draws. Faults are drawn relative to the roles (the active node, or either), so one
 * seed is one sequence for both.
 *
 * What it counts: connections lost (an error, or a byte not echoed), intervals in which both nodes were active
 * and running (from the pair's role timeline, less the time the driver had one of them stopped), the client's
 * outages (UDP gaps), and every role change with its reason. Used by bench/chaos.ts and test/lab/chaos.test.ts.
 */
import { PacketLink } from '../io/packet-link.js';
import { TcpProbe } from './cluster.js';
import { statefulGateways } from './firewall.js';
import type { Lab } from './lab.js';
import { signal, sleep } from './netns.js';
import { seededRandom } from './seeded-random.js';
import type { HeartbeatKind } from './switch-rules.js';
import { UdpProbe } from './udp-probe.js';

export type ChaosFault = 'power-cycle' | 'freeze' | 'cable' | 'heartbeats-dropped' | 'kill-worker' | 'failover' | 'replay-while-dead';
const FAULTS: readonly ChaosFault[] = ['power-cycle', 'freeze', 'cable', 'heartbeats-dropped', 'kill-worker', 'failover', 'replay-while-dead'];

/** What the driver needs of an HA pair running in the lab. */
export interface ChaosPair {
  readonly peer: string;
  /** Detection time at the settings run: both-active intervals are judged against it. */
  readonly failoverTimeMs: number;
  /** Whose frames a heartbeat drop on the switch matches. */
  readonly heartbeats: HeartbeatKind;
  /** One node active, the other inactive, within timeoutMs; throws otherwise. */
  settled(timeoutMs: number): Promise<{ active: string; inactive: string }>;
  /** The standby holds the active node's connection table. */
  inSync(inactive: string): Promise<boolean>;
  /** The processes a stall freezes: what decides and sends heartbeats, not its supervisor. */
  stalled(node: string): Promise<number[]>;
  /** Kills the process a supervisor restarts. */
  killWorker(node: string): Promise<void>;
  /** A planned failover away from `node`: '' when asked, else why not. */
  failover(node: string): Promise<string>;
  /** Which node sent a captured frame (a key senderOf gives), or undefined when it is not a heartbeat. */
  heartbeatSender(frame: Uint8Array): string | undefined;
  senderOf(node: string): Promise<string>;
  /** [wall-clock ms, active from then on] of one node, in order. */
  timeline(node: string): [number, boolean][];
  /** Every role change by reason (and rule). */
  roleChanges(): Record<string, number>;
  stop(): Promise<void>;
  cleanup(): void;
}

export interface ChaosOptions {
  seconds: number;
  seed: number;
  connections?: number;
  /** Each fault as it is applied (for a bench's JSON lines). */
  onFault?: (f: FaultRecord) => void;
}

export interface FaultRecord {
  k: number;
  /** Wall-clock ms at which the fault was applied. */
  at: number;
  fault: ChaosFault;
  node: string;
  detail: string;
  holdMs: number;
  /** From the repair to one active node, one inactive, the standby in sync (-1: not within 20 s). */
  recoveredMs: number;
}

export interface ChaosResult {
  peer: string;
  seed: number;
  faults: FaultRecord[];
  /** lostAt: the lost connections by the fault during which each last echoed (k, or -1 before the first). */
  connections: { family: 4 | 6; of: number; lost: number; maxGapMs: number; lostAt: Record<string, number> }[];
  /** Intervals with both nodes active and running, longest first. */
  bothActiveMs: number[];
  udp: { sent: number; lost: number; maxGapMs: number };
  roleChanges: Record<string, number>;
  failoverTimeMs: number;
  /** Why the run ended before its time, if it did. */
  aborted?: string;
}

export async function runChaos(lab: Lab, startPair: (lab: Lab) => Promise<ChaosPair>, opts: ChaosOptions): Promise<ChaosResult> {
  const random = seededRandom(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const between = (lo: number, hi: number) => Math.round(lo + random() * (hi - lo));
  const conns = opts.connections ?? 20;
  await statefulGateways(lab);
  const pair = await startPair(lab);
  const probes: TcpProbe[] = [];
  let udp: UdpProbe | undefined;
  let intruder: PacketLink | undefined;
  /** Per node: [from, to] wall-clock windows in which the driver had it stopped (frozen, powered off). */
  const stopped = new Map<string, [number, number][]>(lab.plan.nodes.map((n) => [n.name, []]));
  const faults: FaultRecord[] = [];
  let reports: (Awaited<ReturnType<TcpProbe['stop']>> | undefined)[] = [];
  let udpReport: Awaited<ReturnType<UdpProbe['stop']>> | undefined;
  let aborted: string | undefined;
  try {
    await pair.settled(20_000);
    const server = lab.plan.hosts.find((h) => h.name === 'server')!.iface;
    probes.push(await TcpProbe.start(lab, { connections: conns, intervalMs: 10, family: 4, port: 7044 }));
    probes.push(await TcpProbe.start(lab, { connections: conns, intervalMs: 10, family: 6, port: 7046 }));
    udp = await UdpProbe.start(lab, { intervalMs: 5, port: 7048 });
    for (const deadline = Date.now() + 10_000; !probes.every((p) => p.allFlowing(conns)) && Date.now() < deadline;) await sleep(50);
    if (!probes.every((p) => p.allFlowing(conns))) throw new Error(`the connections to ${server.address} did not all flow within 10 s`);
    // The intruder on the LAN segment keeps the last frames of each node, for the replay fault.
    const fx = await lab.addForeignHost('lan');
    const captured = new Map<string, Buffer[]>();
    intruder = PacketLink.open({ ifname: fx.ifname, netns: fx.netns });
    intruder.receive(
      (frame) => {
        const id = pair.heartbeatSender(frame);
        if (id === undefined) return;
        const list = captured.get(id) ?? [];
        list.push(Buffer.from(frame));
        if (list.length > 40) list.shift();
        captured.set(id, list);
      },
      () => undefined,
    );
    const recover = async (): Promise<number> => {
      const t0 = Date.now();
      for (const deadline = t0 + 20_000; Date.now() < deadline; await sleep(100)) {
        try {
          const { inactive } = await pair.settled(1000);
          if (await pair.inSync(inactive)) return Date.now() - t0;
        } catch {
          // not settled yet
        }
      }
      return -1;
    };
    // The first fault, like every later one, meets a standby that holds the connections.
    if ((await recover()) < 0) throw new Error('the standby was not in sync within 20 s of the connections flowing');
    const end = Date.now() + opts.seconds * 1000;
    for (let k = 0; Date.now() < end; k++) {
      let roles: { active: string; inactive: string };
      try {
        roles = await pair.settled(20_000);
      } catch (e) {
        aborted = `before fault ${k}: ${(e as Error).message}`;
        break;
      }
      const { active, inactive } = roles;
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
          const pids = await pair.stalled(node);
          for (const pid of pids) signal(pid, 'SIGSTOP');
          await sleep(holdMs);
          for (const pid of pids) signal(pid, 'SIGCONT');
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
          await lab.dropHeartbeats(segment, percent, pair.heartbeats);
          await sleep(holdMs);
          await lab.clearHeartbeatDrops(segment);
          break;
        }
        case 'kill-worker':
          await pair.killWorker(node);
          await sleep(holdMs);
          break;
        case 'failover':
          detail = await pair.failover(node);
          await sleep(holdMs);
          break;
        case 'replay-while-dead': {
          const frames = [...(captured.get(await pair.senderOf(node)) ?? [])];
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
      const rec: FaultRecord = { k, at: from, fault, node, detail, holdMs, recoveredMs: await recover() };
      faults.push(rec);
      opts.onFault?.(rec);
      await sleep(between(0, 800));
    }
    await sleep(1000);
  } finally {
    intruder?.close();
    reports = await Promise.all(probes.map((p) => p.stop().catch(() => undefined)));
    udpReport = await udp?.stop().catch(() => undefined);
    await lab.thawAll();
    await pair.stop();
  }
  const result: ChaosResult = {
    peer: pair.peer,
    seed: opts.seed,
    faults,
    connections: reports.map((r, i) => {
      const lostConns = r ? r.conns.filter((c) => c.error !== null || c.echoed !== c.sent || c.echoed === 0) : [];
      const lostAt: Record<string, number> = {};
      for (const c of lostConns) {
        const k = String(faults.filter((f) => f.at <= c.lastEchoAt).at(-1)?.k ?? -1);
        lostAt[k] = (lostAt[k] ?? 0) + 1;
      }
      return { family: i === 0 ? 4 : 6, of: conns, lost: r ? lostConns.length : conns, maxGapMs: r ? Math.max(...r.conns.map((c) => c.maxGapMs)) : -1, lostAt };
    }),
    bothActiveMs: bothActive(lab.plan.nodes.map((n) => n.name) as [string, string], pair, stopped),
    udp: udpReport ? { sent: udpReport.sent, lost: udpReport.sent - udpReport.echoed, maxGapMs: udpReport.maxGapMs } : { sent: 0, lost: 0, maxGapMs: -1 },
    roleChanges: pair.roleChanges(),
    failoverTimeMs: pair.failoverTimeMs,
    ...(aborted === undefined ? {} : { aborted }),
  };
  pair.cleanup();
  return result;
}

/**
 * The windows in which both nodes were active by the pair's timeline and both running (not stopped by the
 * driver): what the network saw as two owners. Longest first, in ms.
 */
function bothActive([a, b]: [string, string], pair: ChaosPair, stopped: Map<string, [number, number][]>): number[] {
  const lines = new Map([a, b].map((n) => [n, pair.timeline(n)]));
  const points = [
    ...new Set(
      [...lines.values()]
        .flat()
        .map(([t]) => t)
        .concat([...stopped.values()].flat(2)),
    ),
  ].sort((x, y) => x - y);
  const activeAt = (name: string, t: number) => {
    let on = false;
    for (const [at, act] of lines.get(name)!) if (at <= t) on = act;
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
