/**
 * DOC: the heartbeat transmitter
 *
 * Walks the slot plan of src/core/heartbeat-plan.ts on a drift-free timer,
 * a tick per group of slots (heartbeatTicks): one cycle per `intervalMs`, so
 * every data interface sends once an interval and the sync interface more
 * than twice, evenly spaced. Each frame takes the next number of
 * one node-wide sequence. An interface without carrier is skipped (counted);
 * a send error is counted and reported, never thrown, so one broken NIC does
 * not stop the others (the core decides what repeated failures mean).
 */
import type { HeartbeatAuth, HeartbeatFields } from '../wire/heartbeat-frame.js';
import { encodeHeartbeat, restampHeartbeat } from '../wire/heartbeat-frame.js';
import { heartbeatSlots, heartbeatTicks } from '../core/heartbeat-plan.js';
import type { FrameLink } from './packet-link.js';

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
  skippedNoLink: number;
  errors: number;
  lastError?: string;
}

/** The fields the node sets; the sender adds per-frame ones (nn, fromSync, sequence). */
export type NodeFields = Omit<HeartbeatFields, 'nn' | 'fromSync' | 'sequence' | 'intervalMs'>;

export class HeartbeatSender {
  private readonly slots: string[];
  private readonly ticksPlan: string[][];
  private tickIndex = 0;
  private readonly counters = new Map<string, SendCounters>();
  /** Carrier per interface and when it was read (performance.now() ms). */
  private readonly carrier = new Map<string, { up: boolean; at: number }>();
  /** The last frame encoded per interface, restamped for each send until a field changes. */
  private readonly templates = new Map<string, Uint8Array>();
  private sequence = 0n;
  private slot = 0;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private ticks = 0;

  constructor(
    private readonly ifaces: ReadonlyMap<string, SendIface>,
    private fields: NodeFields,
    private readonly auth: HeartbeatAuth,
    readonly intervalMs: number,
    private readonly onError: (ifname: string, err: Error) => void = () => undefined,
    /** Runs after each tick's sends: the node drains its receive sockets here (one wakeup for both). */
    private readonly onTick: () => void = () => undefined,
  ) {
    this.slots = heartbeatSlots([...ifaces].map(([name, i]) => ({ name, isSync: i.isSync, heartbeats: i.heartbeats })));
    const sync = [...ifaces].find(([, i]) => i.isSync && i.heartbeats)?.[0];
    this.ticksPlan = heartbeatTicks(this.slots, sync);
    for (const name of ifaces.keys()) this.counters.set(name, { sent: 0, skippedNoLink: 0, errors: 0 });
  }

  get tickIntervalMs(): number {
    return this.intervalMs / Math.max(1, this.ticksPlan.length);
  }

  update(fields: Partial<NodeFields>): void {
    this.fields = { ...this.fields, ...fields };
    this.templates.clear();
  }

  stats(): ReadonlyMap<string, SendCounters> {
    return this.counters;
  }

  start(): void {
    if (this.timer || this.slots.length === 0) return;
    this.startedAt = performance.now();
    this.ticks = 0;
    this.tick();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Sends the next slot's heartbeat now (also used by the benchmark without a timer). */
  sendNext(): void {
    const name = this.slots[this.slot]!;
    this.slot = (this.slot + 1) % this.slots.length;
    this.sendOn(name);
  }

  /**
   * Sends one heartbeat on `name` now, optionally with changed fields or TTL
   * (tests and the lab use these to produce bad frames). Returns the frame,
   * valid until the next send on that interface, or undefined if not sent.
   */
  sendOn(name: string, overrides: Partial<HeartbeatFields> = {}, ttl?: number): Uint8Array | undefined {
    const iface = this.ifaces.get(name);
    const c = this.counters.get(name);
    if (!iface || !c) throw new Error(`no heartbeat interface named ${name}`);
    try {
      if (!this.hasCarrier(name, iface)) {
        c.skippedNoLink++;
        return undefined;
      }
      this.sequence++;
      const special = ttl !== undefined || Object.keys(overrides).length > 0;
      let frame = special ? undefined : this.templates.get(name);
      if (frame) restampHeartbeat(frame, this.sequence, this.auth);
      else {
        frame = encodeHeartbeat(
          { ...this.fields, nn: iface.nn, fromSync: iface.isSync, sequence: this.sequence, intervalMs: this.intervalMs, ...overrides },
          { srcMac: iface.mac, srcIp: iface.ipv4, broadcastIp: iface.broadcast, ...(ttl === undefined ? {} : { ttl }) },
          this.auth,
        );
        if (!special) this.templates.set(name, frame);
      }
      iface.link.send(frame);
      c.sent++;
      return frame;
    } catch (e) {
      c.errors++;
      c.lastError = (e as Error).message;
      this.onError(name, e as Error);
      return undefined;
    }
  }

  /**
   * Carrier is read at most once a cycle per interface: the ioctl costs as
   * much as the send, and a frame sent into a link that died within the last
   * cycle is merely lost. (Link events from netlink will replace this.)
   */
  private hasCarrier(name: string, iface: SendIface): boolean {
    const now = performance.now();
    const known = this.carrier.get(name);
    if (known && now - known.at < this.intervalMs) return known.up;
    const up = iface.link.hasCarrier();
    this.carrier.set(name, { up, at: now });
    return up;
  }

  private tick = (): void => {
    for (const name of this.ticksPlan[this.tickIndex]!) this.sendOn(name);
    this.tickIndex = (this.tickIndex + 1) % this.ticksPlan.length;
    this.onTick();
    this.ticks++;
    // Deadline from the start, not from the last tick: timer lateness does not accumulate.
    const due = this.startedAt + this.ticks * this.tickIntervalMs;
    this.timer = setTimeout(this.tick, Math.max(0, due - performance.now()));
  };
}
