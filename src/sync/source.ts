/**
 * DOC: the source side of the sync protocol (the active node)
 *
 * A source session has an epoch (random, new each time a node becomes the
 * source) and numbers every update it sends; it keeps the recent ones (the
 * backlog, up to a million entries) so a sink that was cut off resumes with
 * only what it missed. A full transfer is a snapshot of every provider taken
 * at one instant (the current number), sent in chunks with backpressure,
 * while the updates after that number keep flowing on the same channel.
 * Every 10 s it sends a digest of its tables for the sink to compare.
 */
import { randomBytes } from 'node:crypto';
import type { SyncMessage } from '../wire/sync-frame.js';
import type { Chunk } from './provider.js';
import { chunkToMessage, countsOf, type SideContext, type Update } from './sync-types.js';

const BACKLOG_MAX_ENTRIES = 1_000_000;
const DIGEST_EVERY_MS = 10_000;

export class Source {
  readonly epoch = randomBytes(6).toString('hex');
  seq = 0;
  peerApplied = 0;
  private backlog: Update[] = [];
  private backlogEntries = 0;
  private transfer = 0;
  private digestTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly x: SideContext) {}

  async start(): Promise<void> {
    for (const p of this.x.providers) await p.startSource((c) => this.emit(p.name, c));
    this.x.log.log('info', 'sync_role', { role: 'source', epoch: this.epoch, entries: countsOf(this.x.providers) });
    this.digestTimer = setInterval(() => this.sendDigest(), DIGEST_EVERY_MS);
    this.digestTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.transfer++;
    if (this.digestTimer) clearInterval(this.digestTimer);
    for (const p of this.x.providers) p.stopSource();
  }

  /** A link outage ends any transfer under way (the sink will ask again). */
  linkDown(): void {
    this.transfer++;
  }

  handle(m: SyncMessage): void {
    if (m.type === 'request') {
      if (m['mode'] === 'resume' && m['epoch'] === this.epoch && this.resumeFrom(Number(m['after']))) return;
      void this.sendFull();
    } else if (m.type === 'ack') {
      this.peerApplied = Number(m['applied']) || 0;
    } else if (m.type === 'digest-result') {
      this.x.drift(m['tables'] as Parameters<SideContext['drift']>[0]);
    }
  }

  private emit(provider: string, c: Chunk): void {
    if (this.stopped) return;
    const u: Update = { seq: ++this.seq, provider, chunk: c };
    this.backlog.push(u);
    this.backlogEntries += c.count;
    while (this.backlogEntries > BACKLOG_MAX_ENTRIES && this.backlog.length > 1) this.backlogEntries -= this.backlog.shift()!.chunk.count;
    this.x.link.send(chunkToMessage('update', { seq: u.seq, provider }, c));
    this.x.changed();
  }

  /** Sends the updates after `after` if the backlog still has them all. */
  private resumeFrom(after: number): boolean {
    if (after > this.seq) return false;
    const first = this.backlog[0]?.seq ?? this.seq + 1;
    if (after + 1 < first) return false;
    const missed = this.backlog.filter((u) => u.seq > after);
    for (const u of missed) this.x.link.send(chunkToMessage('update', { seq: u.seq, provider: u.provider }, u.chunk));
    this.x.log.log('info', 'sync_resumed', { from: after, to: this.seq, updates: missed.length });
    return true;
  }

  /** A full transfer is on its way to the sink (status bit 0x2000). */
  sending = false;

  async sendFull(): Promise<void> {
    this.sending = true;
    try {
      await this.sendFullNow();
    } finally {
      this.sending = false;
      this.x.changed();
    }
  }

  private async sendFullNow(): Promise<void> {
    const id = randomBytes(4).toString('hex');
    const transfer = ++this.transfer;
    const t0 = performance.now();
    const seq = this.seq;
    // Taken at one instant (seq): the updates after it follow on the channel.
    const views = this.x.providers.map((p) => ({ name: p.name, chunks: p.snapshot() }));
    const counts = Object.fromEntries(views.map((v) => [v.name, v.chunks.reduce((a, c) => a + c.count, 0)]));
    this.x.link.send({ type: 'snapshot-begin', id, epoch: this.epoch, seq });
    for (const v of views) {
      for (const c of v.chunks) {
        if (this.transfer !== transfer) return;
        if (!this.x.link.send(chunkToMessage('snapshot-chunk', { id, provider: v.name }, c))) await this.x.link.drained();
      }
    }
    if (this.transfer !== transfer || !this.x.link.up) return;
    this.x.link.send({ type: 'snapshot-end', id, counts });
    const tookMs = Math.round(performance.now() - t0);
    this.x.fullTransfer({ at: new Date().toISOString(), tookMs, entries: counts, direction: 'sent' });
    this.x.log.log('info', 'sync_transfer_sent', { epoch: this.epoch, sequence: seq, tookMs, entries: counts });
  }

  private sendDigest(): void {
    if (!this.x.link.up) return;
    const tables = Object.fromEntries(this.x.providers.map((p) => [p.name, { count: p.count(), digest: p.digest() }]));
    this.x.link.send({ type: 'digest', seq: this.seq, tables });
  }
}
