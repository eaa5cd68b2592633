/**
 * DOC: a node's heartbeat service: sender, receiver, peers seen, logs
 *
 * Opens the heartbeat interfaces of a board (src/io/heartbeat-links.ts),
 * sends on the slot plan and receives with the full drop ladder; logs every
 * new peer and every rejection (rate-limited per interface and reason, by
 * the reason's name, as seed 001 names them) and keeps the per-interface
 * heartbeat matrix. The failover core (issue 3) consumes the same accepted
 * heartbeats as events; this module decides nothing about roles.
 */
import type { Board } from '../../board/board-file.js';
import { saysTheSame, type DecodedHeartbeat, type HeartbeatAuth, type NodeType } from '../../wire/heartbeat-frame.js';
import type { RejectionReason } from '../../wire/heartbeat-verify.js';
import { formatIpv4 } from '../../wire/ipv4.js';
import { formatMac } from '../../wire/mac.js';
import { openHeartbeatInterfaces, type HeartbeatIface } from '../../io/heartbeat-links.js';
import { HeartbeatReceiver, type ReceiveCounters } from '../../io/heartbeat-receiver.js';
import { HeartbeatSender, type PacerReport, type SendCounters } from '../../io/heartbeat-sender.js';
import { monotonicNs } from '../../io/native.js';
import { receiveThroughPacer } from '../../io/paced-receive.js';
import { RateLimit, type Logger } from '../logging/log.js';
import { VERSION } from '../version.js';
import type { EventName } from '../logging/events.js';

const SOFTWARE_VERSION = { major: VERSION.major, minor: VERSION.minor, patch: VERSION.patch };

export interface NodeIdentity {
  clusterId: number;
  nodeId: number;
  nodeName: string;
  nodeType: NodeType;
  bootId: bigint;
}

export interface PeerSeen {
  nodeId: number;
  name: string;
  type: NodeType;
  state: string;
  connections: number;
  lastSeenNs: bigint;
  lastIface: string;
}

/**
 * When received heartbeats are read. 'paced' (the daemon's): the pacer's
 * thread reads them as they arrive and wakes the main loop only for news (a
 * frame that says something new, or follows a silence); the rest wait, with
 * their kernel stamps, for the service tick or a deadline. 'on-tick': the main
 * loop reads the sockets on each service tick. 'on-arrival': the main loop
 * wakes for each frame.
 */
export type ReceiveMode = 'paced' | 'on-tick' | 'on-arrival';

/** Every accepted heartbeat, for the failover core. */
export type HeartbeatListener = (ifname: string, frame: DecodedHeartbeat, stampNs: bigint) => void;

export interface MatrixRow {
  iface: string;
  sync: boolean;
  sent: SendCounters;
  received: ReceiveCounters;
  lastSeenAgoMs: number | null;
}

/** The heartbeat thread's lease and how late the main loop ran over the last minute (tandem status). */
export interface LeaseView {
  leaseMs: number;
  leaseLeftMs: number | null;
  ticksMissed: number;
  leaseExpiries: number;
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}

/** The lease view of a sender (undefined: the cheap empty view, for frequent reads that do not show it). */
export function leaseView(sender: Pick<HeartbeatSender, 'leaseMs' | 'lease' | 'loopDelay'> | undefined): LeaseView {
  if (!sender) return { leaseMs: 0, leaseLeftMs: null, ticksMissed: 0, leaseExpiries: 0, loopDelayMaxMs: 0, loopDelayP99Ms: 0 };
  const lease = sender.lease();
  const delay = sender.loopDelay.stats(performance.now());
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    leaseMs: sender.leaseMs,
    leaseLeftMs: lease ? r(lease.leftMs) : null,
    ticksMissed: lease?.ticksMissed ?? 0,
    leaseExpiries: lease?.expiries ?? 0,
    loopDelayMaxMs: r(delay.maxMs),
    loopDelayP99Ms: r(delay.p99Ms),
  };
}

export class HeartbeatNode {
  private readonly ifaces: Map<string, HeartbeatIface>;
  readonly sender: HeartbeatSender;
  readonly receiver: HeartbeatReceiver;
  private readonly peers = new Map<number, PeerSeen>();
  private readonly limit = new RateLimit(10_000);
  private readonly receiveMode: ReceiveMode;
  private readonly onHeartbeat: HeartbeatListener;
  private readonly jobs = new Set<{ ms: number; fn: () => void; last: number }>();
  private pacedDrain: ReturnType<typeof receiveThroughPacer>;
  /** The newest accepted frame per interface while a drain runs (see hand). */
  private batch: Map<string, { frame: DecodedHeartbeat; stampNs: bigint }> | undefined;

  constructor(
    board: Board,
    readonly identity: NodeIdentity,
    auth: HeartbeatAuth,
    private readonly log: Logger,
    opts: {
      netns?: string;
      intervalMs: number;
      disabled?: readonly string[];
      /** Interfaces with only IPv6 addresses by configuration (heartbeat-links.ts: what their frames' IPv4 header carries). */
      ipv6Only?: readonly string[];
      receive?: ReceiveMode;
      onHeartbeat?: HeartbeatListener;
      /** How far ahead the pacer holds frames, and its thread's real-time priority (0: off). */
      leaseMs?: number;
      rtPriority?: number;
    },
  ) {
    this.onHeartbeat = opts.onHeartbeat ?? (() => undefined);
    this.receiveMode = opts.receive ?? 'on-tick';
    this.ifaces = openHeartbeatInterfaces(board, {
      clusterId: identity.clusterId,
      ...(opts.netns === undefined ? {} : { netns: opts.netns }),
      ...(opts.disabled === undefined ? {} : { disabled: opts.disabled }),
      ...(opts.ipv6Only === undefined ? {} : { ipv6Only: opts.ipv6Only }),
    });
    this.sender = new HeartbeatSender(
      this.ifaces,
      {
        clusterId: identity.clusterId,
        nodeType: identity.nodeType,
        state: 'starting',
        flags: 0,
        nodeId: identity.nodeId,
        bootId: identity.bootId,
        connections: 0,
        health: 0,
        syncStatus: 'unknown',
        syncSequence: 0n,
        configGeneration: 0,
        softwareVersion: SOFTWARE_VERSION,
        nodeName: identity.nodeName,
        term: 0,
      },
      auth,
      opts.intervalMs,
      {
        onError: (ifname, err) => this.rateLogged('warn', 'heartbeat_send_failed', `send:${ifname}`, { iface: ifname, error: err.message }),
        onTick: () => {
          // Paced: frames wait in the thread's ring until news, a deadline within reach (CoreTimers) or a reader.
          if (this.receiveMode === 'on-tick' || (this.receiveMode === 'paced' && !this.pacedDrain)) this.drain();
          this.runEvery();
        },
        onReport: (r) => this.logPacer(r),
        ...(opts.leaseMs === undefined ? {} : { leaseMs: opts.leaseMs }),
        ...(opts.rtPriority === undefined ? {} : { rtPriority: opts.rtPriority }),
      },
    );
    this.receiver = new HeartbeatReceiver(
      this.ifaces,
      { clusterId: identity.clusterId, nodeId: identity.nodeId, auth },
      {
        accepted: (ifname, frame, stampNs) => {
          const f = frame.fields;
          if (!this.peers.has(f.nodeId)) {
            this.log.log('info', 'peer_heartbeat_first_seen', {
              iface: ifname,
              peer: f.nodeName,
              peerId: f.nodeId,
              peerType: f.nodeType,
              peerState: f.state,
              srcMac: formatMac(frame.srcMac),
              srcIp: formatIpv4(frame.srcIp),
              bootId: f.bootId,
            });
          }
          this.peers.set(f.nodeId, {
            nodeId: f.nodeId,
            name: f.nodeName,
            type: f.nodeType,
            state: f.state,
            connections: f.connections,
            lastSeenNs: stampNs,
            lastIface: ifname,
          });
          this.hand(ifname, frame, stampNs);
        },
        rejected: (ifname, reason, _stamp, nodeId) => this.logRejection(ifname, reason, nodeId),
        error: (ifname, err) => this.rateLogged('warn', 'heartbeat_receive_error', `recv:${ifname}`, { iface: ifname, error: err.message }),
      },
    );
  }

  start(): void {
    if (this.receiveMode === 'on-arrival') this.receiver.start();
    this.sender.start();
    if (this.receiveMode === 'paced') {
      // A silence of more than two and a half intervals on an interface: the frame after it is news.
      this.pacedDrain = receiveThroughPacer(this.sender.pacerView, () => this.drain(), BigInt(Math.round(this.sender.intervalMs * 2.5e6)));
      // No native pacer (no heartbeat slot): the main loop reads the sockets as frames arrive.
      if (!this.pacedDrain) this.receiver.start();
    }
    this.log.log('info', 'heartbeats_started', {
      node: this.identity.nodeName,
      nodeId: this.identity.nodeId,
      clusterId: this.identity.clusterId,
      ifaces: [...this.ifaces].map(([name, i]) => ({ name, sync: i.isSync, nn: i.nn, mac: formatMac(i.mac), ip: formatIpv4(i.ipv4) })),
      intervalMs: this.sender.intervalMs,
    });
  }

  /** Between two service ticks (a heartbeat interval, or SERVICE_TICK_MS of src/io/lease-timing.ts if that is longer). */
  get serviceTickNs(): bigint {
    return BigInt(Math.round(this.sender.serviceMs * 1e6));
  }

  /**
   * Runs `fn` on the service tick (see serviceTickNs) when at least `ms` passed since its last run:
   * periodic work rides a wakeup the node has anyway (each wakeup of a process costs more than the work).
   */
  every(ms: number, fn: () => void): () => void {
    const job = { ms, fn, last: performance.now() };
    this.jobs.add(job);
    return () => void this.jobs.delete(job);
  }

  private runEvery(): void {
    const now = performance.now();
    for (const j of this.jobs) {
      if (now - j.last < j.ms) continue;
      j.last = now;
      try {
        j.fn();
      } catch (e) {
        this.rateLogged('warn', 'effect_failed', 'every', { effect: 'periodic work', error: (e as Error).message });
      }
    }
  }

  /**
   * Reads every heartbeat the kernel holds now. The runtime calls it before
   * the core judges any deadline: after a stall the frames that arrived in
   * time are queued with their kernel stamps, and must count.
   */
  drain(): void {
    if (this.batch) return; // a listener reading state during a drain: the drain under way finishes it
    this.batch = new Map();
    try {
      if (this.pacedDrain) this.pacedDrain(this.receiver.onFrame, this.receiver.onSuperseded);
      else this.receiver.drain();
    } finally {
      const held = [...this.batch.entries()].sort((a, b) => (a[1].stampNs < b[1].stampNs ? -1 : 1));
      this.batch = undefined;
      for (const [ifname, h] of held) this.onHeartbeat(ifname, h.frame, h.stampNs);
    }
  }

  /**
   * An accepted heartbeat to the listener (the failover core). While a drain reads many at once, a run of frames
   * on one interface that say the same (saysTheSame: only the counters moved) reaches it as its newest frame:
   * what it learns is the same, for one input instead of one per frame. A frame that says something new first
   * hands over the run before it. What is held goes out at the end of the drain, in arrival order.
   */
  private hand(ifname: string, frame: DecodedHeartbeat, stampNs: bigint): void {
    const b = this.batch;
    if (!b) return this.onHeartbeat(ifname, frame, stampNs);
    const held = b.get(ifname);
    if (held && !saysTheSame(held.frame.fields, frame.fields)) this.onHeartbeat(ifname, held.frame, held.stampNs);
    b.set(ifname, { frame, stampNs });
  }

  stop(): void {
    this.sender.stop();
    for (const i of this.ifaces.values()) i.link.close();
  }

  /** The open socket of each heartbeat interface (other adapters send through them: gratuitous ARPs). */
  links(): ReadonlyMap<string, { send(frame: Uint8Array): void }> {
    return new Map([...this.ifaces].map(([name, i]) => [name, i.link]));
  }

  /** What the administrator reads is current: the frames the heartbeat thread holds are read first. */
  peersSeen(): PeerSeen[] {
    if (this.pacedDrain) this.drain();
    return [...this.peers.values()];
  }

  matrix(): MatrixRow[] {
    if (this.pacedDrain) this.drain();
    const now = monotonicNs();
    const sent = this.sender.stats();
    const recv = this.receiver.stats();
    return [...this.ifaces].map(([name, i]) => {
      const r = recv.get(name)!;
      return {
        iface: name,
        sync: i.isSync,
        sent: { ...sent.get(name)! },
        received: { ...r, ringDrops: sent.get(name)!.ringDrops ?? 0, rejected: { ...r.rejected } },
        lastSeenAgoMs: r.lastAcceptedNs === undefined ? null : Number(now - r.lastAcceptedNs) / 1e6,
      };
    });
  }

  private logPacer(r: PacerReport): void {
    switch (r.kind) {
      case 'deadlines_missed':
        this.rateLogged('warn', 'heartbeat_deadlines_missed', 'pacer:missed', { ticks: r.count, maxLateMs: Math.round(r.maxLateMs * 10) / 10 });
        return;
      case 'lease_expired':
        this.log.log('error', 'heartbeat_lease_expired', { times: r.count, leaseMs: this.sender.leaseMs });
        return;
      case 'loop_stalled':
        this.log.log('warn', 'event_loop_stalled', { delayMs: r.delayMs, leaseMs: r.leaseMs });
        return;
      case 'receive_errors':
        this.rateLogged('warn', 'heartbeat_receive_error', `recv:${r.iface}`, { iface: r.iface, error: r.error, times: r.count });
        return;
      case 'receive_dropped':
        this.rateLogged('error', 'heartbeat_receive_error', `ring:${r.iface}`, {
          iface: r.iface,
          error: `${r.count} received heartbeats lost, the oldest: the main loop did not read the heartbeat thread's ring for too long`,
        });
        return;
    }
  }

  private logRejection(ifname: string, reason: RejectionReason, nodeId?: number): void {
    // Seed 001: these are the names an administrator searches the logs for.
    this.rateLogged('warn', reason, `${ifname}:${reason}`, { iface: ifname, ...(nodeId === undefined ? {} : { fromNodeId: nodeId }) });
  }

  private rateLogged(level: 'error' | 'warn' | 'info', event: EventName, key: string, fields: Record<string, unknown>): void {
    const suppressed = this.limit.pass(key, Number(monotonicNs() / 1_000_000n));
    if (suppressed === undefined) return;
    this.log.log(level, event, suppressed > 0 ? { ...fields, suppressed } : fields);
  }
}
