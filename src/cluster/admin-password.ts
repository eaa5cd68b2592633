/**
 * DOC: the administrator's password for the status page
 *
 * Kept per node as scrypt(password, random salt) in `stateDir/admin.json`
 * (0600, written atomically); checked in constant time. Never synchronised:
 * like the cluster password, each node is given it by its administrator.
 */
import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicAsync } from './atomic-file.js';

interface Record_ {
  salt: string;
  hash: string;
}

const file = (stateDir: string) => join(stateDir, 'admin.json');
const PARAMS = { N: 1 << 14, r: 8, p: 1 };
/** Off the main loop (libuv's pool): ~50 ms of hashing must not delay a heartbeat. */
const deriveAsync = (password: string, salt: string) =>
  new Promise<Buffer>((resolve, reject) => scrypt(password, `tandem admin v1 ${salt}`, 32, PARAMS, (e, k) => (e ? reject(e) : resolve(k))));

export async function setAdminPassword(stateDir: string, password: string): Promise<void> {
  if (password.length < 8) throw new Error('the administrator password needs at least 8 characters');
  const salt = randomBytes(16).toString('hex');
  await writeFileAtomicAsync(file(stateDir), JSON.stringify({ salt, hash: (await deriveAsync(password, salt)).toString('hex') }) + '\n');
}

export class AdminPassword {
  private record: Record_ | null = null;
  private readAt = -Infinity;
  /**
   * Passwords found right, so that a browser's every request does not cost a scrypt: kept as a keyed digest
   * (a key of this process's own), never in clear; wrong ones are not kept at all (the HTTP server slows them).
   */
  private readonly ok = new Set<string>();
  private readonly cacheKey = randomBytes(32);

  constructor(private readonly stateDir: string) {}

  private load(): Record_ | null {
    // Re-read at most once a second: `tandem admin-password` may have changed it.
    if (performance.now() - this.readAt < 1000) return this.record;
    this.readAt = performance.now();
    try {
      const r = JSON.parse(readFileSync(file(this.stateDir), 'utf8')) as Record_;
      if (r.hash !== this.record?.hash) this.ok.clear();
      this.record = r;
    } catch {
      this.record = null;
    }
    return this.record;
  }

  get set(): boolean {
    return this.load() !== null;
  }

  async check(password: string): Promise<boolean> {
    const r = this.load();
    if (!r) return false;
    const digest = createHmac('sha256', this.cacheKey).update(password).digest('hex');
    if (this.ok.has(digest)) return true;
    const good = timingSafeEqual(await deriveAsync(password, r.salt), Buffer.from(r.hash, 'hex'));
    if (!good) return false;
    if (this.ok.size >= 4) this.ok.clear();
    this.ok.add(digest);
    return true;
  }
}
