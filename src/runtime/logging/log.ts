/**
 * DOC: structured logs: one JSON object a line, each with an event name
 *
 * `ts` is wall time for the reader; decisions never use it. A RateLimit
 * keeps a flood about one bad peer (a foreign cluster, a mirrored port) from
 * burying everything else: the first occurrence of a key is logged at once,
 * then at most one line per window carrying the count suppressed meanwhile.
 */

import { eventId, type EventName } from './events.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: Level, event: EventName, fields?: LogFields): void;
  /** The newest events this process logged, oldest first (the web console's event page). */
  recent?(): readonly RecentEvent[];
}

export interface RecentEvent {
  ts: string;
  level: Level;
  event: string;
  fields: LogFields;
}

/** Events kept in memory for the web console: the full log is the journal's and the syslog server's. */
export const RECENT_EVENTS = 1000;

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export class JsonLogger implements Logger {
  private readonly ring: RecentEvent[] = [];

  constructor(
    private readonly write: (line: string) => void = (l) => process.stdout.write(l),
    private readonly base: LogFields = {},
  ) {}

  log(level: Level, event: EventName, fields: LogFields = {}): void {
    const ts = new Date().toISOString();
    this.ring.push({ ts, level, event, fields });
    if (this.ring.length > RECENT_EVENTS) this.ring.shift();
    this.write(JSON.stringify({ ts, level, id: eventId(event), event, ...this.base, ...fields }, jsonSafe) + '\n');
  }

  recent(): readonly RecentEvent[] {
    return this.ring;
  }
}

export class RateLimit {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly windowMs: number) {}

  /** Returns undefined to suppress, or the number suppressed since the last line. */
  pass(key: string, nowMs: number): number | undefined {
    const entry = this.last.get(key);
    if (entry && nowMs - entry.at < this.windowMs) {
      entry.suppressed++;
      return undefined;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: nowMs, suppressed: 0 });
    return suppressed;
  }
}

/** `tandem note TEXT`: an administrator's note in the log (and so in the cluster's syslog). */
export function adminNote(log: Logger, text: unknown): { logged: true } {
  const t = String(text ?? '').trim();
  if (t.length === 0 || t.length > 1000) throw new Error('a note is 1 to 1000 characters of text');
  log.log('info', 'admin_note', { text: t });
  return { logged: true };
}
