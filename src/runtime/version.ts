/**
 * DOC: the software version: the one in package.json, which the image carries
 *
 * Heartbeats, the sync hello and the cluster service compare it: members of
 * different versions do not synchronise (seed 000: "it has a different
 * version"), and status names the difference.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function read(): { major: number; minor: number; patch: number; text: string } {
  const file = join(__dirname, '..', '..', '..', 'package.json');
  const version = String((JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '');
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`${file}: version "${version}" is not MAJOR.MINOR.PATCH`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: `${m[1]}.${m[2]}.${m[3]}` };
}

export const VERSION = read();
