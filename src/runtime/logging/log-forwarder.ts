/**
 * DOC: log synchronisation (seed 000): a member's syslog messages go through the log-server leader
 *
 * With the cluster's `logSync` on, only the leader (status bit 0x8000, not
 * necessarily the active member) sends to the syslog server; every other
 * member hands its messages to the leader over the cluster service on the
 * sync network, in batches, and drops them from its queue only when the
 * leader has answered that it sent them. While no leader is known (an
 * election, the leader just died) messages wait in a bounded queue; when
 * the bound is hit the oldest are dropped and the count is logged. When
 * this member becomes the leader it sends what it queued itself. With
 * `logSync` off every member sends its own (the queue, if any, first).
 *
 * Nothing old is ever sent to a member: a member that joins or restarts
 * receives no earlier messages, and a new leader sends only what is queued
 * for it from then on.
 *
 * Exactly once, and its window: a batch the leader sent to the server but
 * could not acknowledge (it died in between) is sent again through the next
 * leader. Every message carries its origin's run and sequence number
 * (`[tandem@32473 ... run=R seq=N]`), so a receiver can drop such a copy.
 */
import { RateLimit, type Logger } from './log.js';

export type LeaderNow = 'self' | 'other' | null;

export interface ForwarderDeps {
  /** The cluster's logSync property now (it changes live). */
  enabled(): boolean;
  leader(): LeaderNow;
  /** Hands a batch to the leader; resolves when the leader has sent it, throws when it could not. */
  forward(batch: string[]): Promise<void>;
  /** Sends to this node's own syslog server; false when none is configured here. */
  direct(message: string): boolean;
  log: Logger;
  queueMax: number;
}

const BATCH = 500;
const PUMP_MS = 100;
const RETRY_MS = 250;
const REPORT_MS = 5000;

export class LogForwarder {
  private readonly queue: string[] = [];
  private inFlight: string[] | null = null;
  private dropped = 0;
  private undeliverable = 0;
  private readonly failureReports = new RateLimit(REPORT_MS);
  // This report is itself a message the missing server cannot take: once a minute at most.
  private readonly noServerReports = new RateLimit(60_000);
  private retryAt = 0;
  private scheduled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly d: ForwarderDeps) {
    this.timer = setInterval(() => this.pump(), PUMP_MS);
    this.timer.unref();
  }

  get stats(): { queued: number; inFlight: number; dropped: number } {
    return { queued: this.queue.length, inFlight: this.inFlight?.length ?? 0, dropped: this.dropped };
  }

  /**
   * A formatted message from this node. Returns false when the caller should send it itself (log sync off
   * and nothing queued). Never logs from here: the log calls this (events are reported by pump()).
   */
  take(message: string): boolean {
    const backlog = this.queue.length > 0 || this.inFlight !== null;
    if (!this.d.enabled() && !backlog) return false;
    if (this.d.enabled() && this.d.leader() === 'self' && !backlog) {
      if (!this.d.direct(message)) this.undeliverable++;
      return true;
    }
    this.queue.push(message);
    if (this.queue.length + (this.inFlight?.length ?? 0) > this.d.queueMax) {
      this.queue.shift();
      this.dropped++;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    }
    return true;
  }

  private pump(): void {
    this.report();
    if (this.inFlight || this.queue.length === 0) return;
    const leader = this.d.enabled() ? this.d.leader() : 'self';
    if (leader === 'self') {
      for (const m of this.queue.splice(0)) if (!this.d.direct(m)) this.undeliverable++;
      return;
    }
    if (leader === null || Date.now() < this.retryAt) return;
    const batch = this.queue.splice(0, BATCH);
    this.inFlight = batch;
    this.d.forward(batch).then(
      () => {
        this.inFlight = null;
        if (this.queue.length > 0) this.pump();
      },
      (e: Error) => {
        // Back at the front, in order: the next leader (or this one, later) gets them.
        this.queue.unshift(...batch);
        this.inFlight = null;
        this.retryAt = Date.now() + RETRY_MS;
        const suppressed = this.failureReports.pass('forward', Date.now());
        if (suppressed !== undefined)
          this.d.log.log('warn', 'log_forward_failed', { error: e.message, queued: this.queue.length, retryMs: RETRY_MS, suppressed });
      },
    );
  }

  private report(): void {
    if (this.dropped > 0) {
      const count = this.dropped;
      this.dropped = 0;
      this.d.log.log('warn', 'syslog_messages_dropped', { count, queueMax: this.d.queueMax, queue: 'log sync: waiting for the log-server leader' });
    }
    if (this.undeliverable > 0 && this.noServerReports.pass('no server', Date.now()) !== undefined) {
      const count = this.undeliverable;
      this.undeliverable = 0;
      this.d.log.log('error', 'log_sync_no_server', { count });
    }
  }

  /** Before the process exits: a last try to hand what is queued to the leader (bounded). */
  async flush(timeoutMs = 1000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.retryAt = 0;
    while ((this.queue.length > 0 || this.inFlight) && Date.now() < deadline) {
      this.pump();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** The leader's side: another member's messages to this member's syslog server; the count sent (a shortfall is logged). */
/**
 * The leader's side of a forwarded batch: into its syslog queue, and acknowledged only once the queue has sent
 * them (UDP is paced): a leader killed between its acknowledgement and its sends would lose them for good.
 */
export async function sendForwarded(
  target: { direct(message: string): boolean; drained?(): Promise<void> } | undefined,
  messages: readonly string[],
  from: string,
  log: Logger,
): Promise<number> {
  let sent = 0;
  for (const m of messages) if (target?.direct(m)) sent++;
  if (sent < messages.length) log.log('error', 'log_sync_no_server', { count: messages.length - sent, from });
  await target?.drained?.();
  return sent;
}
