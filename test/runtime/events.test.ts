import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EVENTS } from '../../src/runtime/logging/events.js';
import { GUIDE, renderEventCatalogue } from '../../src/runtime/logging/event-guide.js';
import { REJECTION_REASONS } from '../../src/wire/heartbeat-verify.js';
import { JsonLogger } from '../../src/runtime/logging/log.js';

const ROOT = join(__dirname, '..', '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Event names the code logs: log('level', 'name' ...), the ternaries on link and targets, rate-limited ones. */
function loggedNames(): Set<string> {
  const names = new Set<string>();
  for (const f of sources(join(ROOT, 'src'))) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(
      /(?:log|rateLogged)\(\s*(?:'(?:info|warn|error|debug)'|[a-z.]+ \? '[a-z]+' : '[a-z]+'),\s*(?:'([a-z_]+)'|[a-z.]+ \? '([a-z_]+)' : '([a-z_]+)')/g,
    )) {
      for (const n of [m[1], m[2], m[3]]) if (n) names.add(n);
    }
  }
  for (const r of REJECTION_REASONS) names.add(r);
  return names;
}

test('every event the code logs is in the catalogue', (t) => {
  const missing = [...loggedNames()].filter((n) => !(n in EVENTS));
  t.deepEqual(missing, []);
  t.true(loggedNames().size > 30, 'the scan finds the events');
});

test('event IDs are unique', (t) => {
  const ids = Object.values(EVENTS).map((e) => e.id);
  t.is(new Set(ids).size, ids.length);
});

test('docs/log-events.md is the catalogue as `tandem events --markdown` prints it; every event has a severity and an action', (t) => {
  const doc = readFileSync(join(ROOT, 'docs', 'log-events.md'), 'utf8');
  t.is(doc, renderEventCatalogue(EVENTS), 'regenerate with: bin/tandem events --markdown > docs/log-events.md');
  for (const [name, e] of Object.entries(EVENTS)) t.true(doc.includes(`| ${e.id} | \`${name}\` |`), name);
  t.deepEqual(
    Object.keys(EVENTS).filter((n) => !(n in GUIDE)),
    [],
    'every event has a severity and what to do',
  );
  t.deepEqual(
    Object.keys(GUIDE).filter((n) => !(n in EVENTS)),
    [],
    'no guide for an event that does not exist',
  );
  for (const n of [
    'peer_gone',
    'conflict_both_peers_active',
    'peer_has_more_connections',
    'ttl_too_low',
    'heartbeat_from_myself',
    'disallowed_on_sync_iface',
    'sync_packet_on_nonsync_iface',
    'hasync_connection_failed_timeout',
  ]) {
    t.true(n in EVENTS, `the commercial firewalls' name ${n}`);
  }
});

test('log lines carry the event ID', (t) => {
  const lines: string[] = [];
  new JsonLogger((l) => lines.push(l)).log('info', 'role_change', { from: 'inactive', to: 'active', n: 5n });
  const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
  t.like(parsed, { level: 'info', id: 400, event: 'role_change', from: 'inactive', n: '5' });
});
