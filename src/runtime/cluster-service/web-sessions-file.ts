/**
 * DOC: the web console's sessions on disk, so that a worker restart (a cluster change) does not log the administrator out
 *
 * `stateDir/web-sessions.json` (0600, written atomically, one write at a time, the newest list last): only each
 * session's SHA-256 and its times, never a secret. A damaged file is set aside as empty: everyone logs in again.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicAsync } from '../../cluster/atomic-file.js';
import type { SessionRecord } from '../../api/web/sessions.js';

export const sessionsFile = (stateDir: string) => join(stateDir, 'web-sessions.json');

/** The saved sessions; a missing file is none, a damaged one is none and said (`damaged`). */
export function loadSessions(stateDir: string): { records: SessionRecord[]; damaged?: string } {
  let text: string;
  try {
    text = readFileSync(sessionsFile(stateDir), 'utf8');
  } catch {
    return { records: [] };
  }
  try {
    const list = JSON.parse(text) as unknown;
    if (!Array.isArray(list)) throw new Error('not a list');
    const records = list.filter(
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
  } catch (e) {
    return { records: [], damaged: `${sessionsFile(stateDir)}: ${(e as Error).message}` };
  }
}

/** Writes each new list after the previous write finished; a failure is reported and the next list tried. */
export function sessionsWriter(stateDir: string, failed: (e: Error) => void): (records: SessionRecord[]) => void {
  let chain: Promise<void> = Promise.resolve();
  let latest: SessionRecord[] | null = null;
  return (records) => {
    latest = records;
    chain = chain.then(async () => {
      if (latest === null) return;
      const next = latest;
      latest = null;
      await writeFileAtomicAsync(sessionsFile(stateDir), JSON.stringify(next) + '\n').catch(failed);
    });
  };
}
