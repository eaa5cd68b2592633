/**
 * DOC: key-value providers: the system configuration (persistent) and user sessions (transient)
 *
 * Seed 000's categories: the system state is persistent (kept in a file,
 * written atomically, so it survives a restart and a crash in the middle of
 * a write leaves the previous file) and changes rarely; a user session is
 * transient (memory only: a restarted node gets it again from its peer).
 * Values are JSON. The appliance's own services write through the control
 * socket of the active node; the standby's copy is replaced by a snapshot
 * or changed by updates, never written locally. The cluster password is
 * never a key here: it stays in its own file on each node.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../cluster/atomic-file.js';
import type { ApplyReport, Chunk, Provider, ProviderCounters } from './provider.js';

type Pair = [string, unknown];

const CHUNK_PAIRS = 512;

function hashPair(key: string, value: unknown): number {
  const s = key + '\0' + JSON.stringify(value);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class KvProvider implements Provider {
  readonly counters: ProviderCounters = { sent: 0, applied: 0, failed: 0 };
  private store = new Map<string, unknown>();
  private emit: ((c: Chunk) => void) | undefined;

  /** `file`: where a persistent store lives; without it the store is transient. */
  constructor(
    readonly name: string,
    private readonly file?: string,
  ) {
    if (file) this.store = this.load(file);
  }

  get persistent(): boolean {
    return this.file !== undefined;
  }

  private load(file: string): Map<string, unknown> {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new Error(`${file}: cannot read the ${this.name} store: ${(e as Error).message}`);
    }
    try {
      const obj = JSON.parse(text) as unknown;
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error('not a JSON object');
      return new Map(Object.entries(obj));
    } catch (e) {
      throw new Error(
        `${file}: the ${this.name} store is damaged (${(e as Error).message}); remove it and run "tandem resync" on this node to get the peer's copy`,
      );
    }
  }

  private save(): void {
    if (this.file) writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.store), null, 1) + '\n');
  }

  get(key: string): unknown {
    return this.store.get(key);
  }

  entries(): Record<string, unknown> {
    return Object.fromEntries(this.store);
  }

  /** A local write (active node only; the caller checks the role): stored, then sent to the peer. */
  set(key: string, value: unknown): void {
    if (key.length === 0 || key.length > 256) throw new Error(`${this.name}: a key is 1 to 256 characters`);
    if (value === null || value === undefined) this.store.delete(key);
    else this.store.set(key, value);
    this.save();
    this.counters.sent++;
    this.emit?.({ count: 1, data: [[key, value ?? null]] satisfies Pair[] });
  }

  async startSource(emit: (c: Chunk) => void): Promise<void> {
    this.emit = emit;
  }

  stopSource(): void {
    this.emit = undefined;
  }

  snapshot(): Chunk[] {
    const pairs = [...this.store.entries()];
    const out: Chunk[] = [];
    for (let i = 0; i < pairs.length; i += CHUNK_PAIRS) out.push({ count: Math.min(CHUNK_PAIRS, pairs.length - i), data: pairs.slice(i, i + CHUNK_PAIRS) });
    if (out.length === 0) out.push({ count: 0, data: [] });
    this.counters.sent += pairs.length;
    return out;
  }

  private pairs(c: Chunk): Pair[] {
    if (!Array.isArray(c.data)) throw new Error(`${this.name}: a chunk without data`);
    for (const p of c.data) if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string') throw new Error(`${this.name}: a malformed pair`);
    return c.data as Pair[];
  }

  async replace(chunks: readonly Chunk[]): Promise<ApplyReport> {
    return this.replaceNow(chunks);
  }

  /** replace(), done before it returns (for callers that must not yield between deliveries). */
  replaceNow(chunks: readonly Chunk[]): ApplyReport {
    const next = new Map<string, unknown>();
    for (const c of chunks) for (const [k, v] of this.pairs(c)) if (v !== null) next.set(k, v);
    this.store = next;
    this.save();
    this.counters.applied += next.size;
    return { applied: next.size, failed: 0 };
  }

  apply(c: Chunk): ApplyReport {
    const pairs = this.pairs(c);
    for (const [k, v] of pairs) {
      if (v === null) this.store.delete(k);
      else this.store.set(k, v);
    }
    this.save();
    this.counters.applied += pairs.length;
    return { applied: pairs.length, failed: 0 };
  }

  async commit(): Promise<ApplyReport> {
    return { applied: 0, failed: 0 };
  }

  count(): number {
    return this.store.size;
  }

  digest(): number {
    let x = 0;
    for (const [k, v] of this.store) x ^= hashPair(k, v);
    return x >>> 0;
  }

  close(): void {
    this.emit = undefined;
  }
}

/** `store-get` / `store-set` on a node's two stores (the sync worker's, or a standalone node's own). */
export function storeCommand(
  stores: { config: KvProvider; sessions: KvProvider },
  r: { op: 'store-get' | 'store-set'; store?: string | undefined; key?: string | undefined; value?: unknown },
): unknown {
  const store = r.store === 'config' ? stores.config : r.store === 'sessions' ? stores.sessions : undefined;
  if (!store) throw new Error(`no store "${String(r.store)}" (config, sessions)`);
  if (r.op === 'store-get') return r.key === undefined ? store.entries() : (store.get(r.key) ?? null);
  if (r.key === undefined) throw new Error('store-set needs a key');
  store.set(r.key, r.value ?? null);
  return { stored: true };
}
