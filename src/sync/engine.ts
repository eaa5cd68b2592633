/**
 * DOC: the sync engine: who sends state to whom, full transfers, updates, resync
 *
 * The active node is the source, the standby the sink (roles come from the
 * failover runtime). Over the link (link.ts) the protocol is:
 *
 *   both    state {role, epoch, seq, applied}      after the link comes up and on a role change
 *   sink    request {mode: full}                   a node that starts or joins asks for everything
 *   sink    request {mode: resume, epoch, after}   after a link outage: only what it missed
 *   source  snapshot-begin {id, epoch, seq}         then snapshot-chunk {id, provider, count, body|data}...
 *   source  snapshot-end {id, counts}              the sink replaces its copies only now
 *   source  update {seq, provider, count, body|data}  live changes, numbered, also during a snapshot
 *   sink    ack {applied}                          the source knows the sink's lag
 *   source  digest {seq, tables}                    the sink compares its copies and answers drift
 *
 * A source session has an epoch (random, new each time a node becomes
 * source) and numbers every update; it keeps the recent ones (the backlog)
 * so a sink that was cut off resumes with a delta; when the backlog no
 * longer reaches back far enough, or the epoch changed, it gets a full
 * transfer. A snapshot is staged on the sink and applied only when complete,
 * so a transfer cut in the middle leaves the previous copy as it was; the
 * updates that arrive meanwhile are applied after it.
 */
import { randomBytes } from 'node:crypto';
import type { SyncStatus } from '../wire/heartbeat-frame.js';
import type { SyncMessage } from '../wire/sync-frame.js';
import type { SyncLink, SyncLog } from './link.js';
import type { ApplyReport, Chunk, Provider } from './provider.js';

const BACKLOG_MAX_ENTRIES = 1_000_000;
const ACK_EVERY_MS = 100;
const DIGEST_EVERY_MS = 10_000;

export type SyncRole = 'source' | 'sink' | 'idle';

interface Update {
  seq: number;
  provider: string;
  chunk: Chunk;
}

interface Staging {
  id: string;
  epoch: string;
  seq: number;
  startedAt: number;
  chunks: Map<string, Chunk[]>;
  updates: Update[];
}

export interface SyncStatusView {
  enabled: boolean;
  role: SyncRole;
  status: SyncStatus;
  channel: 'up' | 'down';
  peerUnreachable: string | null;
  epoch: string | null;
  /** Source: the last update's number; sink: the last one applied. */
  sequence: number;
  /** Source: updates the sink has not acknowledged; sink: updates the source announced that are not here yet. */
  lag: number;
  lastFullTransfer: null | { at: string; tookMs: number; entries: Record<string, number>; direction: 'sent' | 'received' };
  drift: null | { at: string; tables: Record<string, { count: number; peerCount: number; digestMatch: boolean }> };
  providers: Record<string, { count: number; sent: number; applied: number; failed: number; persistent: boolean }>;
}

function chunkToMessage(type: string, fields: Record<string, unknown>, c: Chunk): SyncMessage {
  const m: SyncMessage = { type, ...fields, count: c.count };
  if (c.body) m.body = c.body;
  else m['data'] = c.data ?? null;
  return m;
}

function chunkOf(m: SyncMessage): Chunk {
  const c: Chunk = { count: Number(m['count']) || 0 };
  if (m.body) c.body = m.body;
  else c.data = m['data'];
  return c;
}

export class SyncEngine {
  private role: SyncRole = 'idle';
  private epoch: string | null = null;
  private seq = 0;
  private backlog: Update[] = [];
  private backlogEntries = 0;
  private peerApplied = 0;
  /** Sink: the epoch and number of the last update applied. */
  private appliedEpoch: string | null = null;
  private applied = 0;
  private inSync = false;
  private announced = 0;
  private staging: Staging | undefined;
  private replacing: Promise<void> = Promise.resolve();
  private peerRole: SyncRole | null = null;
  private ackTimer: NodeJS.Timeout | undefined;
  private digestTimer: NodeJS.Timeout | undefined;
  private lastAckSent = 0;
  private lastFull: SyncStatusView['lastFullTransfer'] = null;
  private drift: SyncStatusView['drift'] = null;
  private transfer = 0;
  /** Called when what the heartbeats should say changed. */
  onChange: () => void = () => undefined;

  constructor(
    private readonly link: SyncLink,
    private readonly providers: Provider[],
    private readonly log: SyncLog,
  ) {
    link.on('up', () => this.linkUp());
    link.on('down', () => this.linkDown());
    link.on('message', (m: SyncMessage) => this.receive(m));
  }

  provider(name: string): Provider | undefined {
    return this.providers.find((p) => p.name === name);
  }

  // ---- roles ----

  /** The failover runtime's role: active -> source, inactive -> sink. */
  async setRole(active: boolean): Promise<void> {
    const next: SyncRole = active ? 'source' : 'sink';
    if (next === this.role) return;
    if (next === 'source') {
      this.staging = undefined;
      await this.replacing;
      this.role = 'source';
      this.epoch = randomBytes(6).toString('hex');
      this.seq = 0;
      this.backlog = [];
      this.backlogEntries = 0;
      this.peerApplied = 0;
      for (const p of this.providers) await p.startSource((c) => this.emitUpdate(p.name, c));
      this.log.log('info', 'sync_role', { role: 'source', epoch: this.epoch, entries: this.counts() });
      this.startDigests();
    } else {
      for (const p of this.providers) p.stopSource();
      this.stopDigests();
      this.role = 'sink';
      this.epoch = null;
      this.appliedEpoch = null;
      this.applied = 0;
      this.inSync = false;
      this.log.log('info', 'sync_role', { role: 'sink' });
    }
    this.announce();
    this.onChange();
  }

  /**
   * Before this node claims the shared addresses: stop taking a transfer
   * (an old copy beats none), finish one being applied, and make every
   * provider's copy effective. `peerSequence` is the last sync number the
   * peer announced, to log how stale our copy is.
   */
  async commitForTakeover(peerSequence: number): Promise<Record<string, unknown>> {
    const t0 = performance.now();
    const abandoned = this.staging !== undefined;
    this.staging = undefined;
    await this.replacing;
    const reports: Record<string, ApplyReport> = {};
    for (const p of this.providers) reports[p.name] = await p.commit();
    const behind = this.appliedEpoch === null ? null : Math.max(0, Math.max(peerSequence, this.announced) - this.applied);
    const fields = {
      tookMs: Math.round((performance.now() - t0) * 100) / 100,
      inSync: this.inSync,
      neverSynced: this.appliedEpoch === null,
      appliedSequence: this.applied,
      peerSequence: Math.max(peerSequence, this.announced),
      behindBy: behind,
      abandonedTransfer: abandoned,
      entries: this.counts(),
      rewritten: Object.fromEntries(Object.entries(reports).map(([k, r]) => [k, r.applied])),
    };
    this.log.log(this.inSync ? 'info' : 'warn', 'state_committed', fields);
    return fields;
  }

  /** `tandem resync`: a sink asks for a full transfer; a source sends one. */
  resync(): { requested: boolean; why?: string } {
    if (!this.link.up) return { requested: false, why: `the sync channel is down (${this.link.unreachable ?? 'unknown'})` };
    if (this.role === 'sink') {
      this.request(true);
      return { requested: true };
    }
    if (this.role === 'source') {
      void this.sendFull();
      return { requested: true };
    }
    return { requested: false, why: 'this node has no role yet' };
  }

  // ---- link events ----

  private linkUp(): void {
    this.peerRole = null;
    this.announce();
  }

  private linkDown(): void {
    this.peerRole = null;
    if (this.staging) this.log.log('warn', 'sync_transfer_abandoned', { received: Object.fromEntries([...this.staging.chunks].map(([k, v]) => [k, v.reduce((a, c) => a + c.count, 0)])) });
    this.staging = undefined;
    if (this.role === 'sink' && this.inSync) {
      this.inSync = false;
      this.log.log('warn', 'sync_out_of_sync', { appliedSequence: this.applied, reason: this.link.unreachable });
    }
    this.transfer++;
    this.onChange();
  }

  private announce(): void {
    this.link.send({ type: 'state', role: this.role, epoch: this.epoch, seq: this.seq, appliedEpoch: this.appliedEpoch, applied: this.applied });
  }

  private request(full: boolean): void {
    if (!full && this.appliedEpoch !== null) this.link.send({ type: 'request', mode: 'resume', epoch: this.appliedEpoch, after: this.applied });
    else this.link.send({ type: 'request', mode: 'full' });
  }

  // ---- receiving ----

  private receive(m: SyncMessage): void {
    try {
      this.handle(m);
    } catch (e) {
      this.log.log('error', 'sync_message_refused', { type: m.type, error: (e as Error).message });
    }
  }

  private handle(m: SyncMessage): void {
    switch (m.type) {
      case 'state': {
        this.peerRole = m['role'] as SyncRole;
        if (this.peerRole === 'source') this.announced = Number(m['seq']) || 0;
        if (this.role === 'sink' && this.peerRole === 'source') {
          const resumable = this.appliedEpoch !== null && this.appliedEpoch === m['epoch'];
          this.request(!resumable);
        }
        return;
      }
      case 'request':
        if (this.role !== 'source') return;
        if (m['mode'] === 'resume' && m['epoch'] === this.epoch && this.resumeFrom(Number(m['after']))) return;
        void this.sendFull();
        return;
      case 'ack':
        this.peerApplied = Number(m['applied']) || 0;
        return;
      case 'digest':
        return this.compareDigest(m);
      case 'digest-result':
        this.drift = { at: new Date().toISOString(), tables: m['tables'] as NonNullable<SyncStatusView['drift']>['tables'] };
        return;
      case 'snapshot-begin':
        if (this.role !== 'sink') return;
        this.staging = { id: String(m['id']), epoch: String(m['epoch']), seq: Number(m['seq']), startedAt: performance.now(), chunks: new Map(), updates: [] };
        this.log.log('info', 'sync_transfer_started', { epoch: m['epoch'], sequence: m['seq'] });
        this.onChange();
        return;
      case 'snapshot-chunk': {
        const s = this.staging;
        if (!s || s.id !== m['id']) return;
        const name = String(m['provider']);
        if (!this.provider(name)) throw new Error(`unknown provider ${name}`);
        const list = s.chunks.get(name) ?? [];
        list.push(chunkOf(m));
        s.chunks.set(name, list);
        return;
      }
      case 'snapshot-end': {
        const s = this.staging;
        if (!s || s.id !== m['id']) return;
        const counts = (m['counts'] ?? {}) as Record<string, number>;
        for (const [name, n] of Object.entries(counts)) {
          const got = (s.chunks.get(name) ?? []).reduce((a, c) => a + c.count, 0);
          if (got !== n) {
            this.staging = undefined;
            this.log.log('error', 'sync_transfer_abandoned', { provider: name, expected: n, received: got });
            this.request(true);
            return;
          }
        }
        this.staging = undefined;
        this.replacing = this.commitSnapshot(s).catch((e: Error) => {
          this.log.log('error', 'sync_apply_failed', { what: 'snapshot', error: e.message });
        });
        return;
      }
      case 'update': {
        if (this.role !== 'sink') return;
        const u: Update = { seq: Number(m['seq']), provider: String(m['provider']), chunk: chunkOf(m) };
        this.announced = Math.max(this.announced, u.seq);
        if (this.staging) {
          this.staging.updates.push(u);
          return;
        }
        this.applyUpdate(u);
        return;
      }
      default:
        return;
    }
  }

  private applyUpdate(u: Update): void {
    if (this.appliedEpoch === null) return; // no base copy yet: a full transfer is on its way
    if (u.seq <= this.applied) return;
    if (u.seq !== this.applied + 1) {
      this.log.log('warn', 'sync_gap', { expected: this.applied + 1, got: u.seq });
      this.inSync = false;
      this.appliedEpoch = null;
      this.request(true);
      return;
    }
    const p = this.provider(u.provider);
    if (!p) throw new Error(`unknown provider ${u.provider}`);
    const r = p.apply(u.chunk);
    if (r.failed > 0) this.log.log('warn', 'sync_apply_failed', { provider: u.provider, sequence: u.seq, failed: r.failed, error: r.error });
    this.applied = u.seq;
    this.scheduleAck();
    this.onChange();
  }

  private async commitSnapshot(s: Staging): Promise<void> {
    const entries: Record<string, number> = {};
    const failed: Record<string, number> = {};
    for (const p of this.providers) {
      const chunks = s.chunks.get(p.name) ?? [];
      const r = await p.replace(chunks);
      entries[p.name] = chunks.reduce((a, c) => a + c.count, 0);
      if (r.failed > 0) failed[p.name] = r.failed;
      if (r.error) this.log.log('warn', 'sync_apply_failed', { provider: p.name, failed: r.failed, error: r.error });
    }
    if (this.role !== 'sink') return; // took over meanwhile: the copy is in place, nothing more to follow
    this.appliedEpoch = s.epoch;
    this.applied = s.seq;
    for (const u of s.updates) this.applyUpdate(u);
    this.inSync = true;
    const tookMs = Math.round(performance.now() - s.startedAt);
    this.lastFull = { at: new Date().toISOString(), tookMs, entries, direction: 'received' };
    this.log.log('info', 'sync_transfer_applied', { epoch: s.epoch, sequence: this.applied, tookMs, entries, failed });
    this.sendAck();
    this.onChange();
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
    if (!this.inSync && this.appliedEpoch !== null && this.staging === undefined) {
      this.inSync = true;
      this.log.log('info', 'sync_resumed', { sequence: this.applied });
      this.onChange();
    }
    this.link.send({ type: 'ack', applied: this.applied });
  }

  // ---- sending ----

  private emitUpdate(provider: string, c: Chunk): void {
    if (this.role !== 'source') return;
    const u: Update = { seq: ++this.seq, provider, chunk: c };
    this.backlog.push(u);
    this.backlogEntries += c.count;
    while (this.backlogEntries > BACKLOG_MAX_ENTRIES && this.backlog.length > 1) this.backlogEntries -= this.backlog.shift()!.chunk.count;
    this.link.send(chunkToMessage('update', { seq: u.seq, provider }, c));
    this.onChange();
  }

  /** Sends the updates after `after` if the backlog still has them all. */
  private resumeFrom(after: number): boolean {
    if (after > this.seq) return false;
    const first = this.backlog[0]?.seq ?? this.seq + 1;
    if (after + 1 < first) return false;
    const missed = this.backlog.filter((u) => u.seq > after);
    for (const u of missed) this.link.send(chunkToMessage('update', { seq: u.seq, provider: u.provider }, u.chunk));
    this.log.log('info', 'sync_resumed', { from: after, to: this.seq, updates: missed.length });
    return true;
  }

  private async sendFull(): Promise<void> {
    const id = randomBytes(4).toString('hex');
    const transfer = ++this.transfer;
    const t0 = performance.now();
    const seq = this.seq;
    // Taken at one instant (seq): the updates after it follow on the channel.
    const views = this.providers.map((p) => ({ name: p.name, chunks: p.snapshot() }));
    const counts = Object.fromEntries(views.map((v) => [v.name, v.chunks.reduce((a, c) => a + c.count, 0)]));
    this.link.send({ type: 'snapshot-begin', id, epoch: this.epoch, seq });
    for (const v of views) {
      for (const c of v.chunks) {
        if (this.transfer !== transfer || this.role !== 'source') return;
        if (!this.link.send(chunkToMessage('snapshot-chunk', { id, provider: v.name }, c))) await this.link.drained();
      }
    }
    if (this.transfer !== transfer || !this.link.up) return;
    this.link.send({ type: 'snapshot-end', id, counts });
    const tookMs = Math.round(performance.now() - t0);
    this.lastFull = { at: new Date().toISOString(), tookMs, entries: counts, direction: 'sent' };
    this.log.log('info', 'sync_transfer_sent', { epoch: this.epoch, sequence: seq, tookMs, entries: counts });
  }

  private startDigests(): void {
    this.stopDigests();
    this.digestTimer = setInterval(() => {
      if (!this.link.up) return;
      const tables = Object.fromEntries(this.providers.map((p) => [p.name, { count: p.count(), digest: p.digest() }]));
      this.link.send({ type: 'digest', seq: this.seq, tables });
    }, DIGEST_EVERY_MS);
    this.digestTimer.unref();
  }

  private stopDigests(): void {
    if (this.digestTimer) clearInterval(this.digestTimer);
    this.digestTimer = undefined;
  }

  /** Sink: messages arrive in order, so at a digest every earlier update is applied (unless a transfer is under way). */
  private compareDigest(m: SyncMessage): void {
    if (this.role !== 'sink' || this.staging || Number(m['seq']) !== this.applied) return;
    const theirs = (m['tables'] ?? {}) as Record<string, { count: number; digest: number }>;
    const tables: NonNullable<SyncStatusView['drift']>['tables'] = {};
    let drifted = false;
    for (const p of this.providers) {
      const t = theirs[p.name];
      if (!t) continue;
      const entry = { count: p.count(), peerCount: t.count, digestMatch: p.digest() === t.digest };
      tables[p.name] = entry;
      if (!entry.digestMatch || entry.count !== entry.peerCount) drifted = true;
    }
    this.drift = { at: new Date().toISOString(), tables };
    if (drifted) this.log.log('warn', 'sync_table_drift', { tables });
    this.link.send({ type: 'digest-result', tables });
  }

  // ---- status ----

  private counts(): Record<string, number> {
    return Object.fromEntries(this.providers.map((p) => [p.name, p.count()]));
  }

  /** What the heartbeats carry. */
  heartbeatFields(): { syncStatus: SyncStatus; syncSequence: bigint } {
    return { syncStatus: this.syncStatus(), syncSequence: BigInt(this.role === 'source' ? this.seq : this.applied) };
  }

  private syncStatus(): SyncStatus {
    if (this.role === 'source') return this.link.up ? 'in-sync' : 'out-of-sync';
    if (this.role === 'sink') {
      if (this.staging) return 'syncing';
      return this.inSync && this.link.up ? 'in-sync' : 'out-of-sync';
    }
    return 'unknown';
  }

  /** Entries held as a copy of the peer's (the standby's kernel has them, but they are not its connections). */
  copiedConnections(): number {
    return this.role === 'sink' ? (this.provider('conntrack')?.count() ?? 0) : 0;
  }

  status(): SyncStatusView {
    return {
      enabled: true,
      role: this.role,
      status: this.syncStatus(),
      channel: this.link.up ? 'up' : 'down',
      peerUnreachable: this.link.unreachable,
      epoch: this.role === 'source' ? this.epoch : this.appliedEpoch,
      sequence: this.role === 'source' ? this.seq : this.applied,
      lag: this.role === 'source' ? this.seq - this.peerApplied : Math.max(0, this.announced - this.applied),
      lastFullTransfer: this.lastFull,
      drift: this.drift,
      providers: Object.fromEntries(this.providers.map((p) => [p.name, { count: p.count(), ...p.counters, persistent: p.persistent }])),
    };
  }

  async stop(): Promise<void> {
    this.stopDigests();
    if (this.ackTimer) clearTimeout(this.ackTimer);
    await this.replacing;
    for (const p of this.providers) p.close();
  }
}
