/**
 * DOC: every event also to a syslog server (RFC 5424), beside the JSON line on stdout
 *
 * The event name is the MSGID, the catalogue's severity the severity (the
 * call site's level when the catalogue has none), the event ID, node and
 * cluster go in the structured data `tandem@32473`, and the message is the
 * catalogue's meaning followed by the evidence as JSON, with the run (one
 * per process) and a sequence number that identify the message for a
 * receiver. With log sync off each member sends its own messages; with it
 * on, a route (log-forwarder.ts) takes them to the log-server leader, which
 * sends them here with direct().
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { SyslogSender, type SyslogTarget } from '../../io/syslog-sender.js';
import { formatRfc5424 } from '../../wire/syslog.js';
import { GUIDE, SEVERITY_CODE } from './event-guide.js';
import { EVENTS, type EventName } from './events.js';
import type { Level, LogFields, Logger, RecentEvent } from './log.js';

const LEVEL_CODE: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };

export interface SyslogSettings extends SyslogTarget {
  facility: number;
}

function jsonSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** Where a formatted message goes instead of this node's own server (log sync). */
export interface LogRoute {
  /** false: not taken, send it here. */
  take(message: string): boolean;
  flush(timeoutMs?: number): Promise<void>;
}

export class SyslogLogger implements Logger {
  private readonly sender: SyslogSender | null;
  private readonly run = randomBytes(4).toString('hex');
  private seq = 0;
  route: LogRoute | null = null;

  /** `s` null: no server in this node's file (a member that only forwards to the log-server leader). */
  constructor(
    private readonly inner: Logger,
    private readonly s: SyslogSettings | null,
    private who: { node: string; cluster: string | null },
  ) {
    this.sender = s ? new SyslogSender(s) : null;
    // Counted, never silent: the loss itself goes to the log (and to the server once it answers).
    if (this.sender && s)
      this.sender.onDropped = (count) => this.log('warn', 'syslog_messages_dropped', { count, queueMax: s.queueMax, server: `${s.host}:${s.port}` });
  }

  /**
   * The member and cluster the messages name, anew: the supervisor outlives its workers, and a node that was
   * standalone when it started is a member after `tandem cluster create` or `join` (its worker restarts).
   */
  rename(who: { node: string; cluster: string | null }): void {
    this.who = who;
  }

  /** Resolves once what direct() queued has left for the server (or after a second). */
  drained(): Promise<void> {
    return this.sender ? this.sender.flush(1000) : Promise.resolve();
  }

  /** Sends a message (this node's or one a member forwarded) to this node's server; false: none configured. */
  direct(message: string): boolean {
    if (!this.sender) return false;
    this.sender.send(message);
    return true;
  }

  recent(): readonly RecentEvent[] {
    return this.inner.recent?.() ?? [];
  }

  log(level: Level, event: EventName, fields: LogFields = {}): void {
    this.inner.log(level, event, fields);
    if (!this.sender && !this.route) return;
    const info = EVENTS[event];
    const severity = GUIDE[event] ? SEVERITY_CODE[GUIDE[event]!.severity] : LEVEL_CODE[level];
    const evidence = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields, jsonSafe)}` : '';
    const message = formatRfc5424({
      facility: this.s?.facility ?? 16,
      severity,
      timestamp: new Date().toISOString(),
      // The member's name, which is what an administrator filters a cluster's logs by; the host's name until it is one.
      hostname: this.who.cluster ? this.who.node : hostname(),
      appName: 'tandemd',
      procId: String(process.pid),
      msgId: event,
      data: {
        'tandem@32473': {
          id: String(info?.id ?? 0),
          node: this.who.node,
          ...(this.who.cluster ? { cluster: this.who.cluster } : {}),
          run: this.run,
          seq: String(++this.seq),
        },
      },
      msg: `${info?.summary ?? event}${evidence}`,
    });
    if (this.route?.take(message)) return;
    this.sender?.send(message);
  }

  /** What was logged has left for the server or the leader (called before the process exits). */
  async flush(): Promise<void> {
    await this.route?.flush(1000);
    await this.sender?.flush();
  }

  close(): void {
    this.sender?.close();
  }
}
