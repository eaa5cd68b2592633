/**
 * DOC: what a member of a cluster on Corosync holds, and how it travels
 *
 * The cluster definition (in the cluster store), the system state (the
 * persistent config store) and the user sessions (transient): seed 000's
 * categories, the same stores a pair synchronises. A change applies to one
 * of them; a snapshot is the three cut into parts small enough for one
 * Corosync message; installing one replaces all three. The count of changes
 * applied (`seq`) is kept on disk beside them so that after a cold start of
 * the whole cluster the member with the most recent state is the one the
 * others take it from (src/core/group.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../cluster/atomic-file.js';
import type { ClusterDefinition } from '../../cluster/store.js';
import { MAX_CPG_MESSAGE } from '../../io/cpg-group.js';
import { KvProvider } from '../../sync/kv-provider.js';

export type StoreName = 'config' | 'sessions';

export type GroupChange = { k: 'store'; store: StoreName; key: string; value: unknown } | { k: 'cluster'; op: string; args: Record<string, unknown> };

export type StatePart = { cluster: ClusterDefinition } | { store: StoreName; pairs: [string, unknown][] };

/** Parts well under Corosync's message size, with room for the envelope. */
const PART_BYTES = MAX_CPG_MESSAGE / 2;

export class GroupState {
  readonly config: KvProvider;
  readonly sessions = new KvProvider('sessions');
  private readonly seqFile: string;

  constructor(stateDir: string) {
    this.config = new KvProvider('config', join(stateDir, 'system-state.json'));
    this.seqFile = join(stateDir, 'group-seq.json');
  }

  store(name: string): KvProvider {
    if (name === 'config') return this.config;
    if (name === 'sessions') return this.sessions;
    throw new Error(`no store "${name}" (config, sessions)`);
  }

  /** The count of applied changes this member's persistent state reflects (0 when never written). */
  savedSeq(): number {
    try {
      const v = (JSON.parse(readFileSync(this.seqFile, 'utf8')) as { seq?: unknown }).seq;
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0;
    } catch {
      return 0;
    }
  }

  saveSeq(seq: number): void {
    writeFileAtomic(this.seqFile, JSON.stringify({ seq }) + '\n');
  }

  /** One store change (a cluster change is the caller's: it goes through the cluster control). */
  applyStore(c: Extract<GroupChange, { k: 'store' }>): void {
    this.store(c.store).apply({ count: 1, data: [[c.key, c.value ?? null]] });
  }

  /** The state now, cut into parts: the definition first, then the stores. */
  snapshot(cluster: ClusterDefinition): StatePart[] {
    const parts: StatePart[] = [{ cluster }];
    for (const name of ['config', 'sessions'] as const) {
      let pairs: [string, unknown][] = [];
      let bytes = 0;
      for (const chunk of this.store(name).snapshot()) {
        for (const pair of chunk.data as [string, unknown][]) {
          const size = JSON.stringify(pair).length + 1;
          if (bytes + size > PART_BYTES && pairs.length > 0) {
            parts.push({ store: name, pairs });
            pairs = [];
            bytes = 0;
          }
          if (size > PART_BYTES) throw new Error(`${name} entry "${pair[0]}" is ${size} bytes: larger than a state part (${PART_BYTES})`);
          pairs.push(pair);
          bytes += size;
        }
      }
      if (pairs.length > 0) parts.push({ store: name, pairs });
    }
    return parts;
  }

  /** Replaces both stores with the snapshot's, before it returns; returns its cluster definition. */
  install(parts: readonly StatePart[]): ClusterDefinition {
    let cluster: ClusterDefinition | undefined;
    const pairs: Record<StoreName, [string, unknown][]> = { config: [], sessions: [] };
    for (const p of parts) {
      if ('cluster' in p) cluster = p.cluster;
      else pairs[p.store].push(...p.pairs);
    }
    if (!cluster) throw new Error('a state transfer without the cluster definition');
    this.config.replaceNow([{ count: pairs.config.length, data: pairs.config }]);
    this.sessions.replaceNow([{ count: pairs.sessions.length, data: pairs.sessions }]);
    return cluster;
  }

  close(): void {
    this.config.close();
    this.sessions.close();
  }
}
