/**
 * DOC: what the management server keeps across a worker restart (a cluster change restarts it): the web console's
 * sessions and the wrong-password table
 *
 * `stateDir/web-sessions.json` holds only each session's SHA-256 and its times, never a secret;
 * `stateDir/login-throttle.json` the wrong passwords per source address. Both 0600, written atomically, one write
 * at a time with the newest content last. A damaged file counts as empty and is said: everyone logs in again, the
 * counts start over.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicAsync } from '../../cluster/atomic-file.js';
import type { SessionRecord } from '../../api/web/sessions.js';
import type { ThrottleTable } from '../../api/login-throttle.js';

export const sessionsFile = (stateDir: string) => join(stateDir, 'web-sessions.json');
export const throttleFile = (stateDir: string) => join(stateDir, 'login-throttle.json');

function readJson(file: string): { value: unknown } | { missing: true } | { damaged: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { missing: true };
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (e) {
    return { damaged: `${file}: ${(e as Error).message}` };
  }
}

/** The saved sessions; a missing file is none, a damaged one is none and said (`damaged`). */
export function loadSessions(stateDir: string): { records: SessionRecord[]; damaged?: string } {
  const got = readJson(sessionsFile(stateDir));
  if ('missing' in got) return { records: [] };
  if ('damaged' in got) return { records: [], damaged: got.damaged };
  if (!Array.isArray(got.value)) return { records: [], damaged: `${sessionsFile(stateDir)}: not a list` };
  const records = got.value.filter(
    (r): r is SessionRecord =>
      typeof r === 'object' &&
      r !== null &&
      typeof (r as SessionRecord).sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test((r as SessionRecord).sha256) &&
      Number.isFinite((r as SessionRecord).createdAt) &&
      Number.isFinite((r as SessionRecord).lastSeenAt) &&
      typeof (r as SessionRecord).source === 'string',
  );
  return { records };
}

/** The saved wrong-password table (entries of the wrong shape are dropped by LoginThrottle). */
export function loadThrottle(stateDir: string): { table: ThrottleTable; damaged?: string } {
  const got = readJson(throttleFile(stateDir));
  if ('missing' in got) return { table: {} };
  if ('damaged' in got) return { table: {}, damaged: got.damaged };
  if (typeof got.value !== 'object' || got.value === null || Array.isArray(got.value))
    return { table: {}, damaged: `${throttleFile(stateDir)}: not an object` };
  return { table: got.value as ThrottleTable };
}

/** Writes each new content after the previous write finished (the newest wins); a failure is reported, the next tried. */
export function jsonWriter<T>(file: string, failed: (e: Error) => void): (value: T) => void {
  let chain: Promise<void> = Promise.resolve();
  let latest: { value: T } | null = null;
  return (value) => {
    latest = { value };
    chain = chain.then(async () => {
      if (latest === null) return;
      const next = latest.value;
      latest = null;
      await writeFileAtomicAsync(file, JSON.stringify(next) + '\n').catch(failed);
    });
  };
}
