/**
 * DOC: the main thread's handle on the sync worker (src/sync/worker.ts)
 *
 * Implements what the failover runtime needs from state synchronisation:
 * commit before a claim and role changes are requests answered by the
 * worker; heartbeat fields and status come from the last state the worker
 * pushed, so reading them never waits. The worker's log records are written
 * by the node's logger, in one stream with everything else.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SyncStatus } from '../wire/heartbeat-frame.js';
import type { SyncStatusView } from '../sync/sync-types.js';
import type { SyncRequest, SyncWorkerData } from '../sync/worker.js';
import type { RuntimeSync } from './failover-runtime.js';
import type { Level, Logger } from './log.js';

type Pending = { resolve(v: unknown): void; reject(e: Error): void };

export class SyncClient implements RuntimeSync {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 1;
  private hb: { syncStatus: SyncStatus; syncSequence: bigint } = { syncStatus: 'unknown', syncSequence: 0n };
  private last: SyncStatusView | undefined;
  private carried = 0;
  private exited = false;
  /** Called when what the heartbeats carry changed. */
  onChange: () => void = () => undefined;
  /** Called when the count of connections this node carries changed. */
  onConnections: (count: number) => void = () => undefined;

  private constructor(
    data: SyncWorkerData,
    private readonly log: Logger,
  ) {
    this.worker = new Worker(join(__dirname, '..', 'sync', 'worker.js'), { workerData: data });
    this.worker.on('message', (m: Record<string, unknown>) => this.receive(m));
    this.worker.on('error', (e) => this.log.log('error', 'sync_worker_failed', { error: e.message }));
    this.worker.on('exit', (code) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`the sync worker exited (${code})`));
      this.pending.clear();
    });
  }

  /** Starts the worker; resolves once its link listens. */
  static start(data: SyncWorkerData, log: Logger): Promise<SyncClient> {
    const c = new SyncClient(data, log);
    return new Promise((resolve, reject) => {
      const onMessage = (m: Record<string, unknown>) => {
        if (m['type'] === 'ready') {
          c.worker.off('message', onMessage);
          resolve(c);
        } else if (m['type'] === 'fatal') {
          c.worker.off('message', onMessage);
          void c.worker.terminate();
          reject(new Error(`state synchronisation could not start: ${String(m['error'])}`));
        }
      };
      c.worker.on('message', onMessage);
    });
  }

  private receive(m: Record<string, unknown>): void {
    if (typeof m['reply'] === 'number') {
      const p = this.pending.get(m['reply']);
      this.pending.delete(m['reply']);
      if (m['ok']) p?.resolve(m['result']);
      else p?.reject(new Error(String(m['error'])));
      return;
    }
    if (m['type'] === 'log') return this.log.log(m['level'] as Level, String(m['event']), m['fields'] as Record<string, unknown>);
    if (m['type'] === 'state') {
      const seq = BigInt(String(m['syncSequence']));
      const changed = seq !== this.hb.syncSequence || m['syncStatus'] !== this.hb.syncStatus;
      this.hb = { syncStatus: m['syncStatus'] as SyncStatus, syncSequence: seq };
      this.last = m['status'] as SyncStatusView;
      const carried = Number(m['carried']) || 0;
      const moved = carried !== this.carried;
      this.carried = carried;
      if (changed) this.onChange();
      if (moved) this.onConnections(carried);
    }
  }

  request(r: Omit<SyncRequest, 'id'>): Promise<unknown> {
    if (this.exited) return Promise.reject(new Error('the sync worker is not running'));
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...r, id });
    });
  }

  async commitForTakeover(peerSequence: number): Promise<unknown> {
    return this.request({ op: 'commit', peerSequence });
  }

  /** Active/Active: whether this member leads (null: not known), which decides who overwrites whom. */
  setLeader(leader: boolean | null): void {
    this.request({ op: 'setLeader', leader }).catch(() => undefined);
  }

  async setRole(active: boolean): Promise<void> {
    await this.request({ op: 'setRole', active });
  }

  heartbeatFields(): { syncStatus: SyncStatus; syncSequence: bigint } {
    return this.hb;
  }

  status(): SyncStatusView {
    if (!this.last) throw new Error('the sync worker has not reported yet');
    return this.last;
  }

  /** The connections this node carries (see SyncEngine.carriedConnections). */
  carriedConnections(): number {
    return this.carried;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    await Promise.race([this.request({ op: 'stop' }), new Promise((r) => setTimeout(r, 3000))]).catch(() => undefined);
    await this.worker.terminate();
  }
}
