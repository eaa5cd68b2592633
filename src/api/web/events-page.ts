/**
 * DOC: the web console's event log: the newest events of this member or another, filtered by severity
 *
 * What each member keeps in memory since its service started (1000 events); the full log is the journal's and the
 * syslog server's. Another member's are asked of its cluster service. The severity is the event's syslog severity
 * (docs/log-events.md); choosing one shows it and every more severe one.
 */
import { esc, page } from './html.js';
import type { Answer, Ctx, Handler } from './web-console.js';

export const SEVERITIES = ['critical', 'error', 'warning', 'notice', 'info', 'debug'] as const;
export type SeverityName = (typeof SEVERITIES)[number];

export interface EventRow {
  ts: string;
  severity: SeverityName;
  event: string;
  id: number | null;
  fields: Record<string, unknown>;
}

/** What the daemon gives the page: the members there are, and the chosen one's events (or why not). */
export interface EventLog {
  members: string[];
  member: string;
  rows: EventRow[];
  error?: string;
}

const SHOWN = 300;

async function events(c: Ctx): Promise<Answer> {
  const q = c.query;
  const severity = (SEVERITIES as readonly string[]).includes(q['severity'] ?? '') ? (q['severity'] as SeverityName) : 'info';
  const log = await c.backend.events(q['member'] || null);
  const upTo = SEVERITIES.indexOf(severity);
  const rows = log.rows.filter((r) => SEVERITIES.indexOf(r.severity) <= upTo).reverse();
  const table = rows
    .slice(0, SHOWN)
    .map(
      (r) =>
        `<tr class="${r.severity}" data-event="${esc(r.event)}"><td>${esc(r.ts.replace('T', ' ').replace('Z', ''))}</td><td class="severity">${r.severity}</td><td class="event">${esc(r.event)}${
          r.id === null ? '' : ` (${r.id})`
        }</td><td class="fields">${esc(JSON.stringify(r.fields))}</td></tr>`,
    )
    .join('\n');
  const option = (v: string, chosen: string) => `<option${v === chosen ? ' selected' : ''}>${esc(v)}</option>`;
  return {
    html: page(
      c.frame('events'),
      'Events',
      `<form method="get" action="/events" id="filter"><p class="field"><label for="f-member">Member</label> <select id="f-member" name="member">${log.members
        .map((m) => option(m, log.member))
        .join('')}</select></p>
<p class="field"><label for="f-severity">Severity, and more severe</label> <select id="f-severity" name="severity">${SEVERITIES.map((s) => option(s, severity)).join('')}</select></p>
<p><button type="submit">Show</button></p></form>
${log.error ? `<p class="error" id="error-form">${esc(log.error)}</p>` : ''}
<p id="count">${rows.length} of the ${log.rows.length} events ${esc(log.member)} keeps since its service started${rows.length > SHOWN ? ` (the newest ${SHOWN} shown)` : ''}, newest first. The full log: <code>journalctl -u tandemd</code>, or the syslog server.</p>
<table id="events"><tr><th>time (UTC)</th><th>severity</th><th>event</th><th>details</th></tr>
${table}
</table>`,
    ),
  };
}

export const eventRoutes: { get: Record<string, Handler>; post: Record<string, Handler> } = { get: { '/events': events }, post: {} };
