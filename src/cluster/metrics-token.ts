/**
 * DOC: the read-only metrics token: what a Prometheus scraper presents instead of the admin password
 *
 * `tandem metrics-token` makes a random 256-bit token, prints it once and
 * keeps only its SHA-256 in `stateDir/metrics-token.json` (0600, written
 * atomically): a token this long needs no slow hash, and a stolen state
 * directory does not give it away. The HTTP server accepts it as
 * `Authorization: Bearer TOKEN` on /metrics and nowhere else; making a new
 * one revokes the old, `tandem metrics-token --revoke` removes it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomicAsync } from './atomic-file.js';

const file = (stateDir: string) => join(stateDir, 'metrics-token.json');
const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/** A new token, replacing any previous one; returns it (the only time it exists in clear). */
export async function newMetricsToken(stateDir: string): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await writeFileAtomicAsync(file(stateDir), JSON.stringify({ sha256: digest(token).toString('hex'), created: new Date().toISOString() }) + '\n');
  return token;
}

export function revokeMetricsToken(stateDir: string): boolean {
  try {
    readFileSync(file(stateDir));
  } catch {
    return false;
  }
  rmSync(file(stateDir), { force: true });
  fsyncDir(stateDir);
  return true;
}

export class MetricsToken {
  private hash: Buffer | null = null;
  private readAt = -Infinity;

  constructor(private readonly stateDir: string) {}

  private load(): Buffer | null {
    // Re-read at most once a second: `tandem metrics-token` may have changed it.
    if (performance.now() - this.readAt < 1000) return this.hash;
    this.readAt = performance.now();
    try {
      const r = JSON.parse(readFileSync(file(this.stateDir), 'utf8')) as { sha256?: unknown };
      this.hash = typeof r.sha256 === 'string' && /^[0-9a-f]{64}$/.test(r.sha256) ? Buffer.from(r.sha256, 'hex') : null;
    } catch {
      this.hash = null;
    }
    return this.hash;
  }

  /** Read the file again at the next check (the daemon changed it: a new token works, the old one stops, at once). */
  forget(): void {
    this.readAt = -Infinity;
  }

  get set(): boolean {
    return this.load() !== null;
  }

  check(token: string): boolean {
    const h = this.load();
    return h !== null && timingSafeEqual(digest(token), h);
  }
}
