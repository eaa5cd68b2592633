/**
 * DOC: `tandem why [--list]`: the last role change (or the last 20 changes, standing too) explained from the flight recorder
 *
 * Asks tandemd for its flight records; when tandemd is not running (after
 * a crash, say) and the configuration is known, reads them from the state
 * directory itself, and says so.
 */
import { askControl } from '../api/control-socket.js';
import { DEFAULTS, loadLocal } from '../cluster/config-file.js';
import { readRecords, recorderDir, type FlightRecord } from '../runtime/explain/flight-recorder.js';
import { aftermath, explain } from '../runtime/explain/why.js';
import { flag, str, type Parsed } from './args.js';
import { socketPath } from './status-command.js';

type Stored = FlightRecord | { seq: number; damaged: string };

async function records(p: Parsed): Promise<{ dir: string; records: Stored[]; offline: boolean }> {
  try {
    return { ...((await askControl(socketPath(p), 'why')) as { dir: string; records: Stored[] }), offline: false };
  } catch (e) {
    if (!/tandemd is not running/.test((e as Error).message) || str(p, 'socket')) throw e;
    const config = str(p, 'config');
    const dir = recorderDir(config ? loadLocal(config).stateDir : DEFAULTS.stateDir);
    return { dir, records: await readRecords(dir), offline: true };
  }
}

export function formatRecord(r: Stored): string {
  if ('damaged' in r) return `#${r.seq} cannot be read: ${r.damaged}`;
  const x = explain(r);
  const after = aftermath(r);
  return `${x.headline}\n  ${x.text}${after.length ? `\n  Then: ${after.join('; ')}.` : ''}`;
}

type GroupChange = { wallTime: string; from: string; to: string; reason: string };

/** A member of a cluster on Corosync: when it started or stopped serving, and why (newest first). */
export function formatGroupChange(c: GroupChange): string {
  const what = c.from === c.to ? `still ${c.to === 'active' ? 'serving' : 'not serving'}` : c.to === 'active' ? 'started serving' : 'stopped serving';
  return `${c.wallTime.replace('T', ' ').replace('Z', ' UTC')}: ${what}: ${c.reason}`;
}

export async function whyCommand(p: Parsed): Promise<number> {
  const got = await records(p);
  const group = (got as { group?: GroupChange[] }).group;
  if (group) {
    const list = flag(p, 'list') ? group : group.slice(0, 1);
    if (flag(p, 'json')) process.stdout.write(JSON.stringify(list) + '\n');
    else process.stdout.write(list.length === 0 ? 'no change recorded yet\n' : list.map(formatGroupChange).join('\n') + '\n');
    return 0;
  }
  // Without --list: the newest role change (what an administrator asks after a failover); changes of standing
  // (leader, drain, bypass) that came after it are counted, and shown with --list.
  const isRole = (r: Stored) => 'damaged' in r || r.change.what === undefined;
  const newestRole = got.records.findIndex(isRole);
  const list = flag(p, 'list') ? got.records : newestRole < 0 ? got.records.slice(0, 1) : [got.records[newestRole]!];
  const later = flag(p, 'list') || newestRole <= 0 ? 0 : newestRole;
  if (flag(p, 'json')) {
    process.stdout.write(JSON.stringify(list.map((r) => ('damaged' in r ? r : { ...explain(r), record: r }))) + '\n');
    return 0;
  }
  if (got.offline) process.stdout.write(`(tandemd is not running; the records in ${got.dir})\n`);
  if (list.length === 0) {
    process.stdout.write('no role change recorded yet\n');
    return 0;
  }
  process.stdout.write(list.map(formatRecord).join('\n') + '\n');
  if (later > 0) process.stdout.write(`(${later} later change${later > 1 ? 's' : ''} of standing: leader, drain or bypass; see tandem why --list)\n`);
  return 0;
}
