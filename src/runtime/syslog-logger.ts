/**
 * DOC: every event also to a syslog server (RFC 5424), beside the JSON line on stdout
 *
 * The event name is the MSGID, the catalogue's severity the severity (the
 * call site's level when the catalogue has none), the event ID, node and
 * cluster go in the structured data `tandem@32473`, and the message is the
 * catalogue's meaning followed by the evidence as JSON. This is the "log
 * sync off" behaviour of seed 000: each member sends its own messages.
 */
import { hostname } from 'node:os';
import { SyslogSender, type SyslogTarget } from '../io/syslog-sender.js';
import { formatRfc5424 } from '../wire/syslog.js';
import { GUIDE, SEVERITY_CODE } from './event-guide.js';
import { EVENTS } from './events.js';
import type { Level, LogFields, Logger } from './log.js';

const LEVEL_CODE: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };

export interface SyslogSettings extends SyslogTarget {
  facility: number;
}

function jsonSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

export class SyslogLogger implements Logger {
  private readonly sender: SyslogSender;

  constructor(
    private readonly inner: Logger,
    private readonly s: SyslogSettings,
    private readonly who: { node: string; cluster: string | null },
  ) {
    this.sender = new SyslogSender(s);
    // Counted, never silent: the loss itself goes to the log (and to the server once it answers).
    this.sender.onDropped = (count) => this.log('warn', 'syslog_messages_dropped', { count, queueMax: s.queueMax, server: `${s.host}:${s.port}` });
  }

  log(level: Level, event: string, fields: LogFields = {}): void {
    this.inner.log(level, event, fields);
    const info = EVENTS[event];
    const severity = GUIDE[event] ? SEVERITY_CODE[GUIDE[event]!.severity] : LEVEL_CODE[level];
    const evidence = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields, jsonSafe)}` : '';
    this.sender.send(formatRfc5424({
      facility: this.s.facility, severity, timestamp: new Date().toISOString(), hostname: hostname(), appName: 'tandemd', procId: String(process.pid), msgId: event,
      data: { 'tandem@32473': { id: String(info?.id ?? 0), node: this.who.node, ...(this.who.cluster ? { cluster: this.who.cluster } : {}) } },
      msg: `${info?.summary ?? event}${evidence}`,
    }));
  }

  /** What was logged has left for the server (called before the process exits). */
  flush(): Promise<void> {
    return this.sender.flush();
  }

  close(): void {
    this.sender.close();
  }
}
