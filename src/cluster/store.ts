/**
 * DOC: the cluster store: this node's membership, one file written atomically (docs/cluster.md)
 *
 * `stateDir/cluster.json`, mode 0600 in a 0700 directory (it holds the
 * cluster key). Every write goes to a temporary file that is fsynced, the
 * current file is kept as `cluster.json.prev` (a hard link), the temporary
 * file is renamed over the current one and the directory is fsynced: a
 * reader (or a node restarted after kill -9 or power loss at any moment)
 * finds the old or the new file, never a part of one. Each write increments
 * the generation and carries a SHA-256 of its body; a file whose checksum
 * does not match (a disk that lied) is set aside and the previous
 * generation is used, with a warning. A store without a cluster is a
 * standalone node (factory state).
 *
 * The cluster password is never stored: only the key derived from it
 * (cluster-key.ts), which is all the node needs to authenticate heartbeats
 * and the sync channel.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicAsync } from './atomic-file.js';

export type GroupMode = 'active-passive' | 'active-active';
export const GROUP_MODES: readonly GroupMode[] = ['active-passive', 'active-active'];

export interface Member {
  name: string;
  /** Unique in the cluster, the heartbeat node ID. */
  id: number;
  /** The member's address on the sync network. */
  address: string;
  /** Active/Passive rank at a simultaneous start (the first member is the master). */
  type: 'master' | 'slave';
  /** Disabled members take no part in serving (seed 000: disable before restarting only this member). */
  enabled: boolean;
  /** Drained: the health check answers 500 so the load balancer sends no new sessions; existing ones go on. */
  draining: boolean;
  /** Added by a member but not yet joined from its own console (seed 000: it stays unreachable until then). */
  joined: boolean;
}

/** heartbeat: a pair on tandem's own heartbeats; corosync: three and more members on Corosync (docs/cluster.md). */
export type ClusterEngine = 'heartbeat' | 'corosync';
export const ENGINES: readonly ClusterEngine[] = ['heartbeat', 'corosync'];

export interface ClusterProperties {
  mode: GroupMode;
  /** Chosen at create; a store written before engines existed has none (heartbeat). */
  engine?: ClusterEngine;
  /** State synchronisation between members. */
  sync: boolean;
  /** Log synchronisation (only the log-server leader sends to syslog). */
  logSync: boolean;
  /** The health check also answers 500 while the node's own state transfer runs. */
  healthCheckFailsWhileSyncing: boolean;
}

export interface ClusterDefinition {
  name: string;
  /** 0..63: MM of the heartbeat and shared MACs. */
  id: number;
  /** Random, made at create: salts the key derivation so one password gives each cluster its own key. */
  salt: string;
  properties: ClusterProperties;
  /**
   * The shared addresses, per interface name (Active/Passive): cluster-wide, so a joining member gets them
   * with the definition. Taken from the creating node's file at create; changed with properties shared.IFACE.
   */
  shared: Record<string, string>;
  /** The shared IPv6 addresses the same way (properties shared6.IFACE); absent in definitions made without any. */
  shared6?: Record<string, string>;
  members: Member[];
  /** Bumped by every change of the definition (properties, members); the newer one wins between members. */
  revision: number;
}

export interface StoreContent {
  generation: number;
  /** null: standalone (factory state or after leave). */
  cluster: ClusterDefinition | null;
  /** This node's member name. */
  me: string | null;
  /** The key derived from the cluster password (hex); never the password. */
  key: string | null;
  /** scrypt of the administrator's password for the status page: salt and hash, hex. */
  admin: { salt: string; hash: string } | null;
}

export const STORE_FILE = 'cluster.json';

export const DEFAULT_PROPERTIES: ClusterProperties = { mode: 'active-passive', sync: true, logSync: true, healthCheckFailsWhileSyncing: true };

function checksum(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

export function emptyStore(): StoreContent {
  return { generation: 0, cluster: null, me: null, key: null, admin: null };
}

export class StoreError extends Error {
  override name = 'StoreError';
}

function parse(text: string, file: string): StoreContent {
  let raw: { body?: StoreContent; sha256?: string };
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch (e) {
    throw new StoreError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || !raw.body || typeof raw.sha256 !== 'string') throw new StoreError(`${file}: not a cluster store (no body and sha256)`);
  if (checksum(raw.body) !== raw.sha256) throw new StoreError(`${file}: checksum mismatch (the file was damaged after it was written)`);
  const b = raw.body;
  if (!Number.isInteger(b.generation) || b.generation < 0) throw new StoreError(`${file}: generation must be a non-negative integer`);
  if (b.cluster !== null && (typeof b.cluster !== 'object' || !Array.isArray(b.cluster.members)))
    throw new StoreError(`${file}: cluster must be null or an object with members`);
  return b;
}

export class ClusterStore {
  readonly file: string;
  private content: StoreContent;
  /** What load() had to do (set aside a damaged file, remove temporary files), for the log. */
  readonly recovered: string[] = [];
  private persisting: Promise<void> = Promise.resolve();
  private failed: Error | undefined;
  /** The generation the file holds. */
  private onDisk: number;

  constructor(readonly dir: string) {
    this.file = join(dir, STORE_FILE);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.content = this.load();
    this.onDisk = this.content.generation;
  }

  get value(): StoreContent {
    return structuredClone(this.content);
  }

  get generation(): number {
    return this.content.generation;
  }

  private load(): StoreContent {
    for (const f of readdirSync(this.dir)) {
      if (f.startsWith(`${STORE_FILE}.tmp-`)) {
        // A write that a crash cut before its rename: the current file is still whole.
        rmSync(join(this.dir, f), { force: true });
        this.recovered.push(`removed ${f}, a write cut by a crash before its rename`);
      }
    }
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StoreError(`${this.file}: cannot read (${(e as Error).message})`);
      return emptyStore();
    }
    try {
      return parse(text, this.file);
    } catch (e) {
      const prev = `${this.file}.prev`;
      let older: StoreContent;
      try {
        older = parse(readFileSync(prev, 'utf8'), prev);
      } catch {
        throw new StoreError(
          `${(e as Error).message}; no usable ${prev} either: restore the file from a backup, or remove it to start standalone and join the cluster again`,
        );
      }
      renameSync(this.file, `${this.file}.damaged`);
      this.recovered.push(`${(e as Error).message}; set aside as ${STORE_FILE}.damaged, using generation ${older.generation} from ${STORE_FILE}.prev`);
      return older;
    }
  }

  /**
   * Makes `next` the next generation at once in memory and returns it; the file follows off the main
   * loop (atomic: temp, fsync, rename), one write at a time, always the newest content. Whoever
   * acknowledges a change (the CLI's answer, a restart into a new membership) awaits durable() first.
   */
  write(change: (current: StoreContent) => StoreContent): StoreContent {
    const next = { ...change(this.value), generation: this.content.generation + 1 };
    this.content = next;
    this.persisting = this.persisting
      .then(() => this.persist())
      .catch((e: Error) => {
        this.failed = e;
      });
    return structuredClone(next);
  }

  /** Resolves when every generation written so far is on disk; rejects with the error if the disk refused one. */
  async durable(): Promise<void> {
    await this.persisting;
    if (this.failed) {
      const e = this.failed;
      this.failed = undefined;
      throw new StoreError(
        `${this.file}: could not be written (${e.message}); the change is in memory only: free the disk or fix its permissions, then repeat the command`,
      );
    }
  }

  /** Writes the newest generation unless it is already on disk (writes queued behind each other coalesce). */
  private async persist(): Promise<void> {
    const next = this.content;
    if (next.generation <= this.onDisk) return;
    // The current file stays reachable as .prev: a damaged new file falls back to it.
    await writeFileAtomicAsync(this.file, JSON.stringify({ body: next, sha256: checksum(next) }, null, 1) + '\n', { keepPrevious: true });
    this.onDisk = next.generation;
  }
}

/** The store's member entry for this node (throws when the store has no cluster). */
export function self(s: StoreContent): Member {
  const m = s.cluster?.members.find((x) => x.name === s.me);
  if (!s.cluster || !m) throw new StoreError('this node is not a member of a cluster');
  return m;
}
