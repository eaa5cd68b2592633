/**
 * DOC: what the heartbeat pacer did, turned into counters and reports
 *
 * The thread counts per interface what it sent and what failed, how many
 * ticks it skipped, how often its lease ran out, and what its reads of the
 * heartbeat sockets failed or lost (src/io/heartbeat-pacer.ts).
 * This folds those counts into the heartbeat matrix's per-interface counters
 * and reports each new failure, skipped tick, expired lease or stalled loop
 * once, with its count, to the node that logs them
 * (src/runtime/pair/heartbeat-node.ts). Runs on the main loop, on the sender's
 * service tick.
 */
import { constants } from 'node:os';
import type { PacerStats } from './heartbeat-pacer.js';
import type { SendCounters } from './heartbeat-sender.js';

/** What the pacer did that the node should log (each reported once, with its count). */
export type PacerReport =
  | { kind: 'deadlines_missed'; count: number; maxLateMs: number }
  | { kind: 'lease_expired'; count: number }
  | { kind: 'loop_stalled'; delayMs: number; leaseMs: number }
  /** The thread's reads on an interface failed (ENETDOWN while the link is down, for instance). */
  | { kind: 'receive_errors'; iface: string; count: number; error: string }
  /** Received frames lost on an interface: the main loop did not drain the thread's ring for seconds. */
  | { kind: 'receive_dropped'; iface: string; count: number };

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, no]) => [no, name]));

export class PacerReports {
  private reported = { missed: 0, expiries: 0 };
  private readonly rxErrorsBefore = new Map<string, number>();
  /** The thread's counts as of the last collect(). */
  private readonly before = new Map<string, { sent: number; errors: number; ringDrops: number }>();

  constructor(
    private readonly names: readonly string[],
    private readonly counters: Map<string, SendCounters>,
    private readonly sink: { onError?: (ifname: string, err: Error) => void; onReport?: (r: PacerReport) => void },
  ) {}

  /** Folds the thread's counts in and reports what is new; `delayMs` is how late the service tick ran. */
  report(s: PacerStats, delayMs: number, leaseMs: number): void {
    const errorsBefore = this.names.map((n) => this.counters.get(n)!.errors);
    const dropsBefore = this.names.map((n) => this.counters.get(n)!.ringDrops ?? 0);
    this.collect(s);
    this.names.forEach((name, i) => {
      const c = this.counters.get(name)!;
      if (c.errors > errorsBefore[i]!) this.sink.onError?.(name, new Error(c.lastError ?? 'send failed'));
    });
    if (s.ticksMissed > this.reported.missed) {
      this.sink.onReport?.({ kind: 'deadlines_missed', count: s.ticksMissed - this.reported.missed, maxLateMs: s.maxLateNs / 1e6 });
      this.reported.missed = s.ticksMissed;
    }
    if (s.leaseExpiries > this.reported.expiries) {
      this.sink.onReport?.({ kind: 'lease_expired', count: s.leaseExpiries - this.reported.expiries });
      this.reported.expiries = s.leaseExpiries;
    }
    if (delayMs > leaseMs / 2) this.sink.onReport?.({ kind: 'loop_stalled', delayMs: Math.round(delayMs), leaseMs });
    this.names.forEach((name, i) => {
      const t = s.ifaces[i];
      const before = this.rxErrorsBefore.get(name) ?? 0;
      if (!t || t.rxErrors <= before) return;
      this.sink.onReport?.({
        kind: 'receive_errors',
        iface: name,
        count: t.rxErrors - before,
        error: `receive ${ERRNO_NAMES.get(t.rxErrno) ?? `errno ${t.rxErrno}`}`,
      });
      this.rxErrorsBefore.set(name, t.rxErrors);
    });
    this.names.forEach((name, i) => {
      const lost = (this.counters.get(name)!.ringDrops ?? 0) - dropsBefore[i]!;
      if (lost > 0) this.sink.onReport?.({ kind: 'receive_dropped', iface: name, count: lost });
    });
  }

  /** The thread's per-interface counts into the matrix's counters (frames sent from the main loop are added on top). */
  collect(s: PacerStats): void {
    this.names.forEach((name, i) => {
      const t = s.ifaces[i];
      if (!t) return;
      const c = this.counters.get(name)!;
      const prev = this.before.get(name) ?? { sent: 0, errors: 0, ringDrops: 0 };
      c.sent += t.sent - prev.sent;
      c.errors += t.errors - prev.errors;
      c.ringDrops = (c.ringDrops ?? 0) + (t.ringDrops - prev.ringDrops);
      if (t.errors > prev.errors) c.lastError = `send ${ERRNO_NAMES.get(t.lastErrno) ?? `errno ${t.lastErrno}`}`;
      this.before.set(name, { sent: t.sent, errors: t.errors, ringDrops: t.ringDrops });
    });
  }
}
