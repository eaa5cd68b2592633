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
import type { SyncStatus } from '../../wire/heartbeat-frame.js';
import type { SyncStatusView } from '../../sync/sync-types.js';
import type { SyncRequest, SyncWorkerData } from '../../sync/worker.js';
import type { RuntimeSync } from './failover-runtime.js';
import type { Level, Logger } from '../logging/log.js';
import { isEventName } from '../logging/events.js';

type Pending = { resolve(v: unknown): void; reject(e: Error): void };

export interface SyncClientOptions {
  /** The worker's script (tests give a fake). */
  script?: string;
  /** A commit not answered by then is given up: the takeover goes on without the synchronised state. */
  commitDeadlineMs?: number;
  /** A worker that ended on its own is started again this much later, doubling up to 30 s. */
  restartDelayMs?: number;
}

/** Long enough for a 100k-entry commit (bench/sync: ~0.1 s), short next to what a client waits for a takeover. */
const COMMIT_DEADLINE_MS = 2000;
const MAX_RESTART_DELAY_MS = 30_000;

export class SyncClient implements RuntimeSync {
  private worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 1;
  private hb: { syncStatus: SyncStatus; syncSequence: bigint } = { syncStatus: 'unknown', syncSequence: 0n };
  private last: SyncStatusView | undefined;
  private carried = 0;
  /** No worker runs (it ended, and is started again unless we stop). */
  private exited = false;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs: number;
  private startedAt = performance.now();
  /** What the runtime last told the worker: a new worker is told again. */
  private role: boolean | undefined;
  private leader: boolean | null | undefined;
  /** Called when what the heartbeats carry changed. */
  onChange: () => void = () => undefined;
  /** Called when the count of connections this node carries changed. */
  onConnections: (count: number) => void = () => undefined;

  private constructor(
    private readonly data: SyncWorkerData,
    private readonly log: Logger,
    private readonly o: SyncClientOptions,
  ) {
    this.restartDelayMs = o.restartDelayMs ?? 1000;
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const w = new Worker(this.o.script ?? join(__dirname, '..', '..', 'sync', 'worker.js'), { workerData: this.data });
    w.on('message', (m: Record<string, unknown>) => this.receive(m));
    w.on('error', (e) => this.log.log('error', 'sync_worker_failed', { error: e.message }));
    w.on('exit', (code) => this.ended(w, code));
    return w;
  }

  /**
   * A worker that ended on its own (a crash, an exception) is started again: state synchronisation is what
   * keeps connections alive across a failover. Until it is back the heartbeats say the sync status is unknown,
   * rather than repeating the dead worker's last word.
   */
  private ended(w: Worker, code: number): void {
    if (w !== this.worker) return;
    this.exited = true;
    for (const p of this.pending.values()) p.reject(new Error(`the sync worker exited (${code})`));
    this.pending.clear();
    if (this.stopping) return;
    // A worker that ran for a while starts the backoff afresh; one that keeps failing at once is tried less often.
    if (performance.now() - this.startedAt > 60_000) this.restartDelayMs = this.o.restartDelayMs ?? 1000;
    this.log.log('error', 'sync_worker_failed', { error: `the sync worker ended (exit code ${code})`, restartInMs: this.restartDelayMs });
    this.hb = { syncStatus: 'unknown', syncSequence: this.hb.syncSequence };
    if (this.last) this.last = { ...this.last, status: 'unknown', channel: 'down' };
    this.onChange();
    this.restartTimer = setTimeout(() => void this.restart(), this.restartDelayMs);
    this.restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, this.restartDelayMs * 2);
  }

  private async restart(): Promise<void> {
    this.restartTimer = undefined;
    if (this.stopping) return;
    const w = (this.worker = this.spawn());
    this.startedAt = performance.now();
    try {
      await ready(w);
    } catch (e) {
      this.log.log('error', 'sync_worker_failed', { error: (e as Error).message });
      return void w.terminate(); // its exit schedules the next try
    }
    this.exited = false;
    if (this.leader !== undefined) this.setLeader(this.leader);
    if (this.role !== undefined) await this.setRole(this.role).catch(() => undefined);
    this.log.log('info', 'sync_worker_restarted', { role: this.role === undefined ? 'unknown' : this.role ? 'source' : 'standby' });
  }

  /** Starts the worker; resolves once its link listens. */
  static async start(data: SyncWorkerData, log: Logger, o: SyncClientOptions = {}): Promise<SyncClient> {
    const c = new SyncClient(data, log, o);
    try {
      await ready(c.worker);
    } catch (e) {
      c.stopping = true;
      void c.worker.terminate();
      throw e;
    }
    return c;
  }

  private receive(m: Record<string, unknown>): void {
    if (typeof m['reply'] === 'number') {
      const p = this.pending.get(m['reply']);
      this.pending.delete(m['reply']);
      if (m['ok']) p?.resolve(m['result']);
      else p?.reject(new Error(String(m['error'])));
      return;
    }
    if (m['type'] === 'log') {
      // The worker's events are SyncEvent (checked at compile time against the catalogue); a name off it is a bug there.
      const event = String(m['event']);
      if (isEventName(event)) return this.log.log(m['level'] as Level, event, m['fields'] as Record<string, unknown>);
      return this.log.log('error', 'sync_worker_failed', { error: `the sync worker logged an event not in the catalogue: ${event}` });
    }
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

  request(r: Omit<SyncRequest, 'id'>, deadlineMs?: number): Promise<unknown> {
    if (this.exited) return Promise.reject(new Error('the sync worker is not running (it is being started again)'));
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer =
        deadlineMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(id);
              reject(new Error(`the sync worker did not answer ${r.op} within ${deadlineMs} ms`));
            }, deadlineMs);
      const settle =
        <T>(f: (v: T) => void) =>
        (v: T) => (clearTimeout(timer), f(v));
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.worker.postMessage({ ...r, id });
    });
  }

  /** Bounded: a hung worker must not hold the claim of the shared addresses (the takeover goes on without it). */
  async commitForTakeover(peerSequence: number): Promise<unknown> {
    return this.request({ op: 'commit', peerSequence }, this.o.commitDeadlineMs ?? COMMIT_DEADLINE_MS);
  }

  /** Active/Active: whether this member leads (null: not known), which decides who overwrites whom. */
  setLeader(leader: boolean | null): void {
    this.leader = leader;
    this.request({ op: 'setLeader', leader }).catch(() => undefined);
  }

  async setRole(active: boolean): Promise<void> {
    this.role = active;
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
    this.stopping = true;
    clearTimeout(this.restartTimer);
    if (this.exited) return;
    await Promise.race([this.request({ op: 'stop' }), new Promise((r) => setTimeout(r, 3000))]).catch(() => undefined);
    await this.worker.terminate();
  }
}

/** Resolves when a new worker's link listens; rejects with its reason when it cannot start. */
function ready(w: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (m['type'] === 'ready') done(resolve);
      else if (m['type'] === 'fatal') done(() => reject(new Error(`state synchronisation could not start: ${String(m['error'])}`)));
    };
    const onExit = (code: number) => done(() => reject(new Error(`the sync worker ended before it was ready (exit code ${code})`)));
    const done = (f: () => void) => {
      w.off('message', onMessage);
      w.off('exit', onExit);
      f();
    };
    w.on('message', onMessage);
    w.on('exit', onExit);
  });
}
