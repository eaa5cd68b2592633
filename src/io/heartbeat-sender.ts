/**
 * DOC: the heartbeat transmitter
 *
 * Builds every heartbeat (src/wire/heartbeat-frame.ts) and hands them to the
 * pacer thread (heartbeat-pacer.ts), which sends them on time whatever the
 * event loop is doing. The slot plan of src/core/heartbeat-plan.ts, grouped
 * into ticks (heartbeatTicks), repeats once per `intervalMs`: every data
 * interface sends once an interval and the sync interface more than twice.
 * Each frame takes the next number of one node-wide sequence.
 *
 * The lease: the pacer holds the frames of the next `leaseMs`, topped up on
 * the service tick (on the main loop, once an interval or every
 * SERVICE_TICK_MS if that is longer) once 50 ms of it or a tick has gone. A stall shorter than the lease less that is invisible
 * to the peer; a hung loop stops its heartbeats when
 * the lease runs out, and the peer takes over. A change of any field (role,
 * health, connections, sync state) replaces the frames at once, coalesced to
 * one rebuild per event-loop turn; sendNow() also sends one frame on every
 * interface before the next tick (a peer handing over must hear it now).
 *
 * An interface without carrier gets no frames (counted); a send error is
 * counted by the thread per interface and reported here, never thrown, so one
 * broken NIC does not stop the others. The service tick also measures how
 * late the event loop runs (src/io/loop-delay.ts).
 *
 * Without start() nothing is paced: sendOn()/sendNext() send from the caller
 * (tests that forge frames, the throughput benchmark).
 */
import type { HeartbeatAuth, HeartbeatFields } from '../wire/heartbeat-frame.js';
import { encodeHeartbeat, restampHeartbeat } from '../wire/heartbeat-frame.js';
import { heartbeatSlots, heartbeatTicks } from '../core/heartbeat-plan.js';
import { HeartbeatPacer, type PacedFrame, type Pacer } from './heartbeat-pacer.js';
import { PacerReports, type PacerReport } from './pacer-reports.js';
import { CarrierWatch } from './carrier-watch.js';

export type { PacerReport };
import { LoopDelay } from './loop-delay.js';
import { monotonicNs } from './native.js';
import type { FrameLink, PacketLink } from './packet-link.js';
import { CHUNK_DELAY_MS, CHUNK_TICKS, DEFAULT_LEASE_MS, HEAD_FRAMES, LAZY_REBUILD_MS, serviceTickMs, TOP_UP_MS } from './lease-timing.js';

export interface SendIface {
  link: FrameLink;
  nn: number;
  isSync: boolean;
  heartbeats: boolean;
  mac: Uint8Array;
  ipv4: number;
  broadcast: number;
}

export interface SendCounters {
  sent: number;
  /** Heartbeats not scheduled because the interface had no carrier when they were built. */
  skippedNoLink: number;
  errors: number;
  lastError?: string;
  /** Received on this interface by the pacer's thread, lost when its ring overflowed (src/io/pacer-reports.ts). */
  ringDrops?: number;
}

/** The fields the node sets; the sender adds per-frame ones (nn, fromSync, sequence). */
export type NodeFields = Omit<HeartbeatFields, 'nn' | 'fromSync' | 'sequence' | 'intervalMs'>;

/** Fields that inform the peer but decide no role: rebuilt lazily (see update()). */
const LAZY_FIELDS = new Set<keyof NodeFields>(['connections', 'syncSequence', 'configGeneration']);

function sameValue(a: unknown, b: unknown): boolean {
  return typeof a === 'object' && a !== null ? JSON.stringify(a) === JSON.stringify(b) : a === b;
}

export interface SenderOptions {
  onError?: (ifname: string, err: Error) => void;
  /** Runs on every service tick: the node drains its receive sockets here (one wakeup for both). */
  onTick?: () => void;
  onReport?: (r: PacerReport) => void;
  /** How far ahead the pacer holds frames. */
  leaseMs?: number;
  /** SCHED_FIFO priority of the pacer thread (0: off). */
  rtPriority?: number;
  /** The pacer (tests pass a fake; default: the addon's thread on these interfaces' sockets). */
  pacer?: (links: readonly FrameLink[], startNs: bigint, tickNs: bigint, perTick: number, rtPriority: number) => Pacer;
}

export class HeartbeatSender {
  private readonly slots: string[];
  private readonly ticksPlan: string[][];
  private readonly perTick: number;
  private readonly names: string[];
  private readonly counters = new Map<string, SendCounters>();
  /** Carrier per interface as of the last build. */
  private readonly carrier: CarrierWatch;
  /** The last frame encoded per interface, restamped for each frame until a field changes. */
  private readonly templates = new Map<string, Uint8Array>();
  private sequence = 0n;
  private slot = 0;
  private pacer: Pacer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private services = 0;
  /** One past the last tick loaded into the pacer. */
  private windowEnd = 0n;
  private rebuildQueued = false;
  private urgent = false;
  /** A lazy field changed since the last rebuild. */
  private stale = false;
  private lastRebuildAt = 0;
  private extending: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private readonly reports: PacerReports;
  readonly leaseMs: number;
  /** Between two service ticks: the heartbeat interval, or SERVICE_TICK_MS if that is longer (within a lease's quarter). */
  readonly serviceMs: number;
  readonly loopDelay = new LoopDelay(60_000);

  constructor(
    private readonly ifaces: ReadonlyMap<string, SendIface>,
    private fields: NodeFields,
    private readonly auth: HeartbeatAuth,
    readonly intervalMs: number,
    private readonly opts: SenderOptions = {},
  ) {
    this.slots = heartbeatSlots([...ifaces].map(([name, i]) => ({ name, isSync: i.isSync, heartbeats: i.heartbeats })));
    const sync = [...ifaces].find(([, i]) => i.isSync && i.heartbeats)?.[0];
    this.ticksPlan = heartbeatTicks(this.slots, sync);
    this.perTick = Math.max(1, ...this.ticksPlan.map((t) => t.length));
    this.names = [...ifaces.keys()];
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    this.serviceMs = serviceTickMs(intervalMs, this.leaseMs);
    for (const name of ifaces.keys()) this.counters.set(name, { sent: 0, skippedNoLink: 0, errors: 0 });
    this.reports = new PacerReports(this.names, this.counters, opts);
    this.carrier = new CarrierWatch(ifaces, intervalMs);
  }

  get tickIntervalMs(): number {
    return this.intervalMs / Math.max(1, this.ticksPlan.length);
  }

  private get tickNs(): bigint {
    return BigInt(Math.round(this.tickIntervalMs * 1e6));
  }

  /**
   * New field values. A change of what decides roles (state, flags, health, sync status, identity)
   * replaces the frames held by the pacer within this event-loop turn; a change of a count (connections,
   * sync sequence, configuration generation) at the next service tick, at most every LAZY_REBUILD_MS
   * (under sync churn they move a hundred times a second, and each rebuild signs a whole lease).
   * Values equal to the current ones change nothing.
   */
  update(fields: Partial<NodeFields>): void {
    const changed = (Object.keys(fields) as (keyof NodeFields)[]).filter((k) => !sameValue(this.fields[k], fields[k]));
    if (changed.length === 0) return;
    this.fields = { ...this.fields, ...fields };
    this.templates.clear();
    if (changed.some((k) => !LAZY_FIELDS.has(k))) this.queueRebuild();
    else this.stale = true;
  }

  /** One heartbeat on every interface now (after any pending update), then the pacing goes on. */
  sendNow(): void {
    if (!this.pacer) {
      for (const name of this.names) this.sendOn(name);
      return;
    }
    this.urgent = true;
    this.rebuild();
  }

  stats(): ReadonlyMap<string, SendCounters> {
    if (this.pacer && !this.pacer.closed) this.reports.collect(this.pacer.stats());
    return this.counters;
  }

  /** The pacer's view: ms of frames still loaded, deadlines missed (null before start). */
  lease(): { leaseMs: number; leftMs: number; ticksMissed: number; expiries: number; maxLateMs: number } | null {
    if (!this.pacer || this.pacer.closed) return null;
    const s = this.pacer.stats();
    const endNs = this.pacer.startNs + s.windowEnd * this.pacer.tickNs;
    return {
      leaseMs: this.leaseMs,
      leftMs: Math.max(0, Number(endNs - monotonicNs()) / 1e6),
      ticksMissed: s.ticksMissed,
      expiries: s.leaseExpiries,
      maxLateMs: s.maxLateNs / 1e6,
    };
  }

  start(): void {
    if (this.pacer || this.slots.length === 0) return;
    const links = this.names.map((n) => this.ifaces.get(n)!.link);
    const make = this.opts.pacer ?? ((l, start, tick, per, prio) => new HeartbeatPacer(l as PacketLink[], start, tick, per, prio));
    this.pacer = make(links, monotonicNs(), this.tickNs, this.perTick, this.opts.rtPriority ?? 0);
    this.windowEnd = 0n;
    this.rebuild();
    this.startedAt = performance.now();
    this.services = 0;
    this.timer = setTimeout(this.service, this.serviceMs);
  }

  /** The running pacer and its sockets' interface names, in its order (the heartbeat thread receives too). */
  get pacerView(): { pacer: Pacer; names: readonly string[] } | undefined {
    return this.pacer ? { pacer: this.pacer, names: this.names } : undefined;
  }

  /** No heartbeat leaves after this returns (the thread is joined). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.extending) (clearImmediate(this.extending as NodeJS.Immediate), clearTimeout(this.extending as NodeJS.Timeout));
    this.extending = undefined;
    if (this.pacer) {
      this.reports.collect(this.pacer.stats());
      this.pacer.close();
    }
    this.pacer = undefined;
  }

  /** Sends the next slot's heartbeat now, from the caller (the throughput benchmark). */
  sendNext(): void {
    const name = this.slots[this.slot]!;
    this.slot = (this.slot + 1) % this.slots.length;
    this.sendOn(name);
  }

  /**
   * Sends one heartbeat on `name` now, from the caller, optionally with
   * changed fields or TTL (tests and the lab use these to produce bad frames).
   * Returns the frame, or undefined if not sent.
   */
  sendOn(name: string, overrides: Partial<HeartbeatFields> = {}, ttl?: number): Uint8Array | undefined {
    const iface = this.ifaces.get(name);
    const c = this.counters.get(name);
    if (!iface || !c) throw new Error(`no heartbeat interface named ${name}`);
    try {
      if (!iface.link.hasCarrier()) {
        c.skippedNoLink++;
        return undefined;
      }
      const special = ttl !== undefined || Object.keys(overrides).length > 0;
      const frame = special ? this.build(iface, ++this.sequence, overrides, ttl) : this.next(name, iface).slice();
      iface.link.send(frame);
      c.sent++;
      return frame;
    } catch (e) {
      c.errors++;
      c.lastError = (e as Error).message;
      this.opts.onError?.(name, e as Error);
      return undefined;
    }
  }

  /** The next frame of `name`: its template restamped with the next sequence (valid until the next call). */
  private next(name: string, iface: SendIface): Uint8Array {
    this.sequence++;
    let frame = this.templates.get(name);
    if (frame) restampHeartbeat(frame, this.sequence, this.auth);
    else {
      frame = this.build(iface, this.sequence, {});
      this.templates.set(name, frame);
    }
    return frame;
  }

  private build(iface: SendIface, sequence: bigint, overrides: Partial<HeartbeatFields>, ttl?: number): Uint8Array {
    return encodeHeartbeat(
      { ...this.fields, nn: iface.nn, fromSync: iface.isSync, sequence, intervalMs: this.intervalMs, ...overrides },
      { srcMac: iface.mac, srcIp: iface.ipv4, broadcastIp: iface.broadcast, ...(ttl === undefined ? {} : { ttl }) },
      this.auth,
    );
  }

  private queueRebuild(): void {
    if (!this.pacer || this.rebuildQueued) return;
    this.rebuildQueued = true;
    queueMicrotask(() => {
      if (this.rebuildQueued) this.rebuild();
    });
  }

  private nowTick(): bigint {
    const p = this.pacer!;
    return (monotonicNs() - p.startNs) / p.tickNs;
  }

  private leaseTicks(): bigint {
    return BigInt(Math.ceil(this.leaseMs / this.tickIntervalMs));
  }

  /**
   * The frames from the current tick on, anew (fields or carrier changed). At most HEAD_FRAMES are signed
   * at once, so that a change in the failover path at the fastest timers (some thousand frames a second)
   * costs a few milliseconds, not a whole lease; the rest follows in chunks after the claim.
   */
  private rebuild(): void {
    this.rebuildQueued = false;
    this.stale = false;
    this.lastRebuildAt = performance.now();
    if (!this.pacer) return;
    this.carrier.read();
    const from = this.nowTick();
    const now = this.urgent ? this.names.map((n, sock) => this.paced(n, sock)) : [];
    this.urgent = false;
    const head = BigInt(Math.max(1, Math.floor(HEAD_FRAMES / this.perTick)));
    const full = from + this.leaseTicks();
    this.load(from, full < from + head ? full : from + head, now);
    this.extendSoon();
  }

  /**
   * Keeps the lease at its length (the service tick): appends once TOP_UP_MS of it has gone, or every tick at
   * intervals of TOP_UP_MS and longer. Each load replaces the thread's window, so at the fastest timers topping
   * up every 5 ms tick cost more than the frames it added.
   */
  private topUp(): void {
    if (this.carrier.read()) return this.rebuild();
    if (this.stale && performance.now() - this.lastRebuildAt >= Math.max(LAZY_REBUILD_MS, this.serviceMs)) return this.rebuild();
    const p = this.pacer;
    if (!p) return;
    const leftMs = Number(this.windowEnd * p.tickNs + p.startNs - monotonicNs()) / 1e6;
    if (leftMs > this.leaseMs - Math.max(TOP_UP_MS, this.serviceMs)) return;
    this.extend(Infinity);
  }

  /** Appends at most `maxTicks` toward a whole lease; true if more is missing. */
  private extend(maxTicks: number): boolean {
    if (!this.pacer) return false;
    const nowTick = this.nowTick();
    const from = this.windowEnd > nowTick ? this.windowEnd : nowTick;
    const want = nowTick + this.leaseTicks();
    const to = maxTicks === Infinity || want - from <= BigInt(maxTicks) ? want : from + BigInt(maxTicks);
    if (to > from) this.load(from, to, []);
    return to < want;
  }

  /**
   * The rest of the lease after a rebuild: the first chunk CHUNK_DELAY_MS later (a rebuild comes with a role
   * change, and the claim that follows must not wait behind the signing), then a chunk each turn.
   */
  private extendSoon(): void {
    if (this.extending) return;
    const chunk = () => {
      this.extending = undefined;
      if (this.extend(CHUNK_TICKS)) this.extending = setImmediate(chunk);
    };
    this.extending = setTimeout(chunk, CHUNK_DELAY_MS);
  }

  private load(from: bigint, to: bigint, now: PacedFrame[]): void {
    const rows: PacedFrame[][] = [];
    for (let t = from; t < to; t++) {
      const plan = this.ticksPlan[Number(t % BigInt(this.ticksPlan.length))]!;
      rows.push(plan.map((name) => this.paced(name, this.names.indexOf(name))));
    }
    this.pacer!.load(from, rows, now);
    this.windowEnd = to;
  }

  private paced(name: string, sock: number): PacedFrame {
    if (this.carrier.up(name) === false) {
      this.counters.get(name)!.skippedNoLink++;
      return { sock, frame: undefined };
    }
    // A copy: the template is restamped for the next frame before the pacer takes the rows.
    return { sock, frame: this.next(name, this.ifaces.get(name)!).slice() };
  }

  /** Carrier from the node's link monitor (netlink events), taken at the next service tick (see CarrierWatch). */
  carrierChanged(name: string, up: boolean): void {
    if (this.ifaces.has(name)) this.carrier.changed(name, up);
  }

  /** The service tick (every serviceMs) on the main loop: drain, top up, measure, report. */
  private service = (): void => {
    this.services++;
    const delayMs = Math.max(0, performance.now() - (this.startedAt + this.services * this.serviceMs));
    this.loopDelay.add(delayMs, performance.now());
    try {
      this.opts.onTick?.();
    } finally {
      if (this.pacer) {
        this.topUp();
        this.reports.report(this.pacer.stats(), delayMs, this.leaseMs);
        // Deadlines from the start, not from the last tick: lateness does not accumulate; after a stall, the next one due.
        const now = performance.now();
        if (this.startedAt + (this.services + 1) * this.serviceMs <= now) this.services = Math.floor((now - this.startedAt) / this.serviceMs);
        this.timer = setTimeout(this.service, this.startedAt + (this.services + 1) * this.serviceMs - now);
      }
    }
  };
}
