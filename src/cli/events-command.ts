/**
 * DOC: `tandem events [--markdown | --json]`: the event catalogue, with severity and what to do
 */
import { GUIDE, renderEventCatalogue } from '../runtime/logging/event-guide.js';
import { EVENTS } from '../runtime/logging/events.js';
import { flag, type Parsed } from './args.js';

export const EVENTS_USAGE = `tandem events [--markdown | --json]    (every log event: ID, name, severity, meaning, what to do)`;

export function eventsCommand(p: Parsed): number {
  if (flag(p, 'markdown')) {
    process.stdout.write(renderEventCatalogue(EVENTS));
    return 0;
  }
  const rows = Object.entries(EVENTS)
    .sort((a, b) => a[1].id - b[1].id)
    .map(([name, e]) => ({ id: e.id, event: name, severity: GUIDE[name]?.severity, meaning: e.summary, action: GUIDE[name]?.action }));
  if (flag(p, 'json')) process.stdout.write(JSON.stringify(rows) + '\n');
  else
    process.stdout.write(
      rows
        .map((r) => `${String(r.id).padEnd(4)} ${r.event.padEnd(34)} ${String(r.severity).padEnd(8)} ${r.meaning}\n${''.padEnd(48)}-> ${r.action}\n`)
        .join(''),
    );
  return 0;
}
