/**
 * DOC: the sink side of the sync protocol (the standby)
 *
 * Asks for everything when it starts following a source, or, after a link
 * outage, only for the updates after the last one it applied (same epoch).
 * A full transfer is staged: nothing changes until snapshot-end has arrived
 * with every chunk counted, so a transfer cut in the middle leaves the
 * previous copy as it was; the updates that arrive meanwhile are applied
 * after it. Updates must come in sequence: a gap asks for a full transfer.
 * Acknowledges what it applied (at most every 100 ms) and answers digests.
 */
import type { SyncStatus } from '../wire/heartbeat-frame.js';
import type { SyncMessage } from '../wire/sync-frame.js';
import type { ApplyReport, Chunk } from './provider.js';
import { chunkOf, countsOf, type DriftTables, type SideContext, type Update } from './sync-types.js';

const ACK_EVERY_MS = 100;

interface Staging {
  id: string;
  epoch: string;
  seq: number;
  startedAt: number;
  receivedAt?: number;
  chunks: Map<string, Chunk[]>;
  updates: Update[];
}

export class Sink {
  /** The epoch and number of the last update applied (null: no copy yet). */
  appliedEpoch: string | null = null;
  applied = 0;
  inSync = false;
  /** The highest number the source announced. */
  announced = 0;
  private staging: Staging | undefined;
  /** A complete transfer being written: updates that arrive meanwhile queue behind it. */
  private committing: Staging | undefined;
  private replacing: Promise<void> = Promise.resolve();
  private ackTimer: NodeJS.Timeout | undefined;
  private lastAckSent = 0;
  private stopped = false;
  /** When the last full transfer was asked for (to report request -> applied). */
  private requestedAt: number | undefined;

  constructor(private readonly x: SideContext) {}

  get receiving(): boolean {
    return this.staging !== undefined;
  }

  request(full: boolean): void {
    if (!full && this.appliedEpoch !== null) this.x.link.send({ type: 'request', mode: 'resume', epoch: this.appliedEpoch, after: this.applied });
    else {
      this.requestedAt = performance.now();
      this.x.link.send({ type: 'request', mode: 'full' });
    }
  }

  /** Active/Active, as the leader: follow the peer's updates from `seq` on, without its earlier state. */
  startFrom(epoch: unknown, seq: number): void {
    this.appliedEpoch = String(epoch);
    this.applied = seq;
    this.announced = Math.max(this.announced, seq);
    this.inSync = true;
    this.x.log.log('info', 'sync_resumed', { from: seq, to: seq, updates: 0, leader: true });
    this.x.changed();
  }

  /** The peer said it is the source (epoch, last number): follow it. */
  follow(epoch: unknown, seq: number): void {
    this.announced = Math.max(this.announced, seq);
    const same = this.appliedEpoch !== null && this.appliedEpoch === epoch;
    this.request(!same);
    // A resume with nothing missing: no update will come to apply and acknowledge, and the copy is complete now
    // (the channel is ordered: what the source changes after this message follows it). Said at once.
    if (same && seq === this.applied && !this.staging && !this.committing) this.sendAck();
  }

  linkDown(reason: string | null): void {
    if (this.staging) {
      const received = Object.fromEntries([...this.staging.chunks].map(([k, v]) => [k, v.reduce((a, c) => a + c.count, 0)]));
      this.x.log.log('warn', 'sync_transfer_abandoned', { reason: 'link lost', received });
    }
    this.staging = undefined;
    if (this.inSync) {
      this.inSync = false;
      this.x.log.log('warn', 'sync_out_of_sync', { appliedSequence: this.applied, reason });
    }
  }

  handle(m: SyncMessage): void {
    switch (m.type) {
      case 'snapshot-begin':
        this.staging = { id: String(m['id']), epoch: String(m['epoch']), seq: Number(m['seq']), startedAt: performance.now(), chunks: new Map(), updates: [] };
        this.x.log.log('info', 'sync_transfer_started', { epoch: m['epoch'], sequence: m['seq'] });
        this.x.changed();
        return;
      case 'snapshot-chunk': {
        const s = this.staging;
        if (!s || s.id !== m['id']) return;
        const name = String(m['provider']);
        if (!this.x.providers.some((p) => p.name === name)) throw new Error(`unknown provider ${name}`);
        const list = s.chunks.get(name) ?? [];
        list.push(chunkOf(m));
        s.chunks.set(name, list);
        return;
      }
      case 'snapshot-end':
        return this.endSnapshot(m);
      case 'update': {
        const u: Update = { seq: Number(m['seq']), provider: String(m['provider']), chunk: chunkOf(m) };
        this.announced = Math.max(this.announced, u.seq);
        const behind = this.staging ?? this.committing;
        if (behind) behind.updates.push(u);
        else this.apply(u);
        return;
      }
      case 'digest':
        return this.compareDigest(m);
    }
  }

  private endSnapshot(m: SyncMessage): void {
    const s = this.staging;
    if (!s || s.id !== m['id']) return;
    this.staging = undefined;
    const counts = (m['counts'] ?? {}) as Record<string, number>;
    for (const [name, n] of Object.entries(counts)) {
      const got = (s.chunks.get(name) ?? []).reduce((a, c) => a + c.count, 0);
      if (got !== n) {
        this.x.log.log('error', 'sync_transfer_abandoned', { reason: 'incomplete', provider: name, expected: n, received: got });
        this.request(true);
        return;
      }
    }
    s.receivedAt = performance.now();
    this.committing = s;
    this.replacing = this.commitSnapshot(s)
      .catch((e: Error) => {
        this.x.log.log('error', 'sync_apply_failed', { what: 'snapshot', error: e.message });
      })
      .finally(() => {
        if (this.committing === s) this.committing = undefined;
      });
  }

  private async commitSnapshot(s: Staging): Promise<void> {
    const entries: Record<string, number> = {};
    const failed: Record<string, number> = {};
    const kernelMs: Record<string, number> = {};
    for (const p of this.x.providers) {
      const chunks = s.chunks.get(p.name) ?? [];
      const r = await p.replace(chunks);
      if (r.kernelMs !== undefined) kernelMs[p.name] = r.kernelMs;
      entries[p.name] = chunks.reduce((a, c) => a + c.count, 0);
      if (r.failed > 0) {
        failed[p.name] = r.failed;
        this.x.log.log('warn', 'sync_apply_failed', { provider: p.name, failed: r.failed, error: r.error });
      }
    }
    if (this.stopped) return; // took over meanwhile: the copy is in place, nothing more to follow
    this.appliedEpoch = s.epoch;
    this.applied = s.seq;
    this.committing = undefined;
    for (const u of s.updates) this.apply(u);
    this.inSync = true;
    const now = performance.now();
    const tookMs = Math.round(now - s.startedAt);
    // From our request to the copy in place (kernel included): what an administrator waits for.
    const sinceRequestMs = this.requestedAt === undefined ? null : Math.round(now - this.requestedAt);
    this.requestedAt = undefined;
    this.x.fullTransfer({ at: new Date().toISOString(), tookMs, entries, direction: 'received' });
    const receiveMs = Math.round((s.receivedAt ?? now) - s.startedAt);
    this.x.log.log('info', 'sync_transfer_applied', {
      epoch: s.epoch,
      sequence: this.applied,
      tookMs,
      sinceRequestMs,
      receiveMs,
      applyMs: tookMs - receiveMs,
      kernelMs,
      entries,
      failed,
    });
    this.sendAck();
    this.x.changed();
  }

  private apply(u: Update): void {
    if (this.appliedEpoch === null || u.seq <= this.applied) return; // no base copy yet, or seen
    if (u.seq !== this.applied + 1) {
      this.x.log.log('warn', 'sync_gap', { expected: this.applied + 1, got: u.seq });
      this.inSync = false;
      this.appliedEpoch = null;
      this.request(true);
      return;
    }
    const p = this.x.providers.find((q) => q.name === u.provider);
    if (!p) throw new Error(`unknown provider ${u.provider}`);
    const r = p.apply(u.chunk);
    if (r.failed > 0) this.x.log.log('warn', 'sync_apply_failed', { provider: u.provider, sequence: u.seq, failed: r.failed, error: r.error });
    this.applied = u.seq;
    this.scheduleAck();
    this.x.changed();
  }

  private scheduleAck(): void {
    if (this.ackTimer) return;
    const wait = Math.max(0, ACK_EVERY_MS - (performance.now() - this.lastAckSent));
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.sendAck();
    }, wait);
  }

  private sendAck(): void {
    this.lastAckSent = performance.now();
    if (!this.inSync && this.appliedEpoch !== null && !this.staging) {
      this.inSync = true;
      this.x.log.log('info', 'sync_resumed', { sequence: this.applied });
      this.x.changed();
    }
    this.x.link.send({ type: 'ack', applied: this.applied });
  }

  /** Messages arrive in order, so at a digest every earlier update is applied (unless a transfer is under way). */
  private compareDigest(m: SyncMessage): void {
    if (this.staging || Number(m['seq']) !== this.applied) return;
    const theirs = (m['tables'] ?? {}) as Record<string, { count: number; digest: number }>;
    const tables: DriftTables = {};
    let drifted = false;
    for (const p of this.x.providers) {
      const t = theirs[p.name];
      if (!t) continue;
      const entry = { count: p.count(), peerCount: t.count, digestMatch: p.digest() === t.digest };
      tables[p.name] = entry;
      if (!entry.digestMatch || entry.count !== entry.peerCount) drifted = true;
    }
    this.x.drift(tables);
    if (drifted) this.x.log.log('warn', 'sync_table_drift', { tables });
    this.x.link.send({ type: 'digest-result', tables });
  }

  /**
   * Before this node claims the shared addresses: stop taking a transfer (an
   * old copy beats none), finish one being applied, make every provider's
   * copy effective, and say how stale it was.
   */
  async commit(peerSequence: number): Promise<Record<string, unknown>> {
    const t0 = performance.now();
    const abandoned = this.staging !== undefined;
    this.staging = undefined;
    this.stopped = true;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    await this.replacing;
    const reports: Record<string, ApplyReport> = {};
    for (const p of this.x.providers) reports[p.name] = await p.commit();
    const peerSeq = Math.max(peerSequence, this.announced);
    const fields = {
      tookMs: Math.round((performance.now() - t0) * 100) / 100,
      inSync: this.inSync,
      neverSynced: this.appliedEpoch === null,
      appliedSequence: this.applied,
      peerSequence: peerSeq,
      behindBy: this.appliedEpoch === null ? null : Math.max(0, peerSeq - this.applied),
      abandonedTransfer: abandoned,
      entries: countsOf(this.x.providers),
      rewritten: Object.fromEntries(Object.entries(reports).map(([k, r]) => [k, r.applied])),
    };
    this.x.log.log(this.inSync ? 'info' : 'warn', 'state_committed', fields);
    return fields;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.staging = undefined;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    await this.replacing;
  }

  status(linkUp: boolean): SyncStatus {
    if (this.staging) return 'syncing';
    return this.inSync && linkUp ? 'in-sync' : 'out-of-sync';
  }
}
