/**
 * DOC: the failover core's timers on the Node loop, parked on the service tick while far off
 *
 * The core asks for a timer at a deadline and moves it with every input
 * ("peer dead" moves with each heartbeat, "stall check" with every input).
 * A timer never fires before its deadline: libuv measures timers against a
 * loop time cached at the start of the iteration and can run one a fraction
 * of a millisecond early, so a timer that fires before its deadline schedules
 * itself again. Moving a deadline later only records it: the Node timeout
 * re-arms itself when it fires.
 *
 * Every wakeup of the main loop costs more CPU than the work it does, and the
 * heartbeat node wakes every service tick anyway (an interval, or 100 ms if
 * that is longer). So a deadline more than 1.25 ticks away is parked: no Node timeout, and each
 * service tick promotes the parked deadlines now within reach to a precise
 * timeout, or fires those already due (a service tick late after a stall). In
 * steady state the sliding deadlines stay parked and cost no wakeup of their
 * own. Where a deadline waits is settled at the end of the turn that moved
 * it (a drain moves it once per heartbeat read). With the heartbeat thread
 * holding received frames (src/runtime/pair/heartbeat-node.ts, 'paced'), this is
 * also what reads them: only when a deadline that judges the peer's silence
 * comes within reach. Before such a deadline is judged, the heartbeats queued
 * meanwhile are read (their kernel stamps are the truth); the other deadlines
 * (stall check, hold-down) fire without a read while none is near.
 */
import type { TimerName } from '../../core/failover-types.js';
import { monotonicNs } from '../../io/native.js';

export interface TimerHost {
  /** Reads the heartbeats queued now (before any deadline is judged). */
  drain(): void;
  /** The deadline has passed: the core is told. */
  fire(name: TimerName, now: bigint): void;
  /** The service tick, if there is one: `fn` runs on each (see HeartbeatNode.every). */
  everyTick?: (fn: () => void) => () => void;
  /** Nanoseconds between service ticks. */
  tickNs?: bigint;
}

/**
 * The deadlines at which the core concludes from silence (the peer dead, the sync link silent, nobody heard since
 * start or since isolation): the heartbeats queued meanwhile must be read before one is judged.
 */
const JUDGES_SILENCE: ReadonlySet<TimerName> = new Set<TimerName>(['peer-dead', 'sync-silence', 'initial-silence', 'listen']);

interface Entry {
  /** The deadline the core wants now. */
  at: bigint;
  /** The Node timeout and when it fires; none while parked. */
  handle?: NodeJS.Timeout;
  firesAt?: bigint;
}

export class CoreTimers {
  private readonly timers = new Map<TimerName, Entry>();
  private readonly stopTick: (() => void) | undefined;
  private settling = false;

  constructor(private readonly host: TimerHost) {
    this.stopTick = host.everyTick?.(() => this.onServiceTick());
  }

  /**
   * Records the deadline; where it waits (a timeout, or parked) is settled once the current turn's inputs are
   * all in: a drain feeds many heartbeats at once, each moving the deadline, and only the last one counts.
   */
  arm(name: TimerName, at: bigint): void {
    const entry = this.timers.get(name);
    if (entry) entry.at = at;
    else this.timers.set(name, { at });
    if (this.settling) return;
    this.settling = true;
    queueMicrotask(() => {
      this.settling = false;
      this.settle(monotonicNs());
    });
  }

  /** Stops every timer and the service-tick hook. */
  stop(): void {
    this.stopTick?.();
    for (const t of this.timers.values()) if (t.handle) clearTimeout(t.handle);
    this.timers.clear();
  }

  /** Parked deadlines, for tests: how many timers wait without a Node timeout. */
  get parked(): number {
    return [...this.timers.values()].filter((t) => !t.handle).length;
  }

  /** Within reach: the next service tick (at most an interval away, with a quarter's slack) may come too late. */
  private parkable(at: bigint, now: bigint): boolean {
    const tick = this.host.tickNs;
    return tick !== undefined && this.stopTick !== undefined && at - now > (tick * 5n) / 4n;
  }

  /**
   * Whether a deadline that judges the peer by its silence is within reach (or past). While none is, the core's
   * view of the peer, however many frames wait unread, still says what fresh frames would (heard, alive): the
   * other timers (stall check, hold-down) fire without reading them.
   */
  private silenceNear(now: bigint): boolean {
    for (const [name, e] of this.timers) if (JUDGES_SILENCE.has(name) && !this.parkable(e.at, now)) return true;
    return false;
  }

  private settle(now: bigint): void {
    for (const [name, entry] of this.timers) {
      // A timeout due at or before the deadline stays: it fires early and looks again.
      if (entry.handle && entry.firesAt! <= entry.at) continue;
      if (entry.handle) clearTimeout(entry.handle);
      entry.handle = undefined;
      entry.firesAt = undefined;
      if (this.parkable(entry.at, now)) continue;
      entry.firesAt = entry.at;
      entry.handle = setTimeout(() => this.due(name, entry), Math.max(0, Math.ceil(Number(entry.at - now) / 1e6)));
    }
  }

  private due(name: TimerName, entry: Entry): void {
    if (this.timers.get(name) !== entry) return;
    entry.handle = undefined;
    entry.firesAt = undefined;
    // The frames that arrived while this timer waited (a stalled loop) count before any silence is judged.
    if (JUDGES_SILENCE.has(name) || this.silenceNear(monotonicNs())) this.host.drain();
    const now = monotonicNs();
    if (now < entry.at) return this.settle(now);
    this.timers.delete(name);
    this.host.fire(name, now);
  }

  /**
   * On each service tick: a parked deadline now within reach (or past, after a stall) first has the queued
   * heartbeats read (they move it, in steady state out of reach again); what is then due fires, what is near
   * gets a timeout. Otherwise the tick costs nothing here.
   */
  private onServiceTick(): void {
    let now = monotonicNs();
    let near = false;
    for (const e of this.timers.values()) if (!e.handle && !this.parkable(e.at, now)) near = true;
    if (!near) return;
    if (this.silenceNear(now)) {
      this.host.drain();
      now = monotonicNs();
    }
    for (const [name, entry] of [...this.timers]) {
      if (entry.handle || entry.at > now) continue;
      this.timers.delete(name);
      this.host.fire(name, now);
    }
    this.settle(now);
  }
}
