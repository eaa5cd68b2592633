/**
 * DOC: the conntrack provider: the kernel's connection table, so established flows survive a failover
 *
 * Source (active node): dumps its table, then follows the kernel's events;
 * an event overrun (ENOBUFS) dumps again and sends the difference. Flows of
 * the node itself (its own addresses, loopback: the sync channel, the
 * control traffic) are not synchronised, as conntrackd's "Address Ignore".
 *
 * Sink (standby): writes every entry into its own kernel at once (create,
 * update, delete), rather than keeping an external cache to commit at
 * takeover as conntrackd does by default: the takeover then costs nothing
 * (a 100k-entry commit costs conntrackd 0.6-0.7 s in the failover path), and
 * the price is a kernel write per change on the standby, measured by
 * bench/sync. The kernel ages entries out on the standby, where no packet
 * refreshes them, so the sink rewrites an entry before its timeout runs out,
 * and at commit writes again any entry that may have expired.
 */
import { ConntrackEvents, ConntrackWriter, dumpTable, type WriteOp } from '../io/conntrack.js';
import { keyHash, RECORD_BYTES, REC_DESTROYED, recordKey, recU32 } from '../wire/conn-record.js';
import { parseIpv4 } from '../wire/ipv4.js';
import type { SyncLog } from './link.js';
import type { ApplyReport, Chunk, Provider, ProviderCounters } from './provider.js';

const CHUNK_RECORDS = 4096;
/** Sink writes go to the kernel in slices, so a big snapshot does not hold the event loop (heartbeats) for long. */
const SLICE = 8192;
const REFRESH_EVERY_MS = 5000;
const REFRESH_AHEAD_MS = 15_000;

interface Held {
  rec: Uint8Array;
  /** Monotonic ms when the kernel's copy runs out, unless rewritten. */
  expiresAt: number;
}

export interface ConntrackProviderOptions {
  /** Addresses of the nodes themselves: their flows are not synchronised. */
  ignore: string[];
  netns?: string;
  now?: () => number;
  log?: SyncLog;
}

function pack(recs: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(recs.length * RECORD_BYTES);
  recs.forEach((r, i) => out.set(r, i * RECORD_BYTES));
  return out;
}

export class ConntrackProvider implements Provider {
  readonly name = 'conntrack';
  readonly persistent = false;
  readonly counters: ProviderCounters = { sent: 0, applied: 0, failed: 0 };
  /** Source: the kernel's table as followed; sink: the copy written into the kernel. */
  private table = new Map<string, Held>();
  private xor = 0;
  private readonly ignore: Set<number>;
  private readonly now: () => number;
  private events: ConntrackEvents | undefined;
  private writer: ConntrackWriter | undefined;
  private pending: Uint8Array[] = [];
  private flushing = false;
  private emit: ((c: Chunk) => void) | undefined;
  private refresher: NodeJS.Timeout | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  private lastError: string | undefined;

  constructor(private readonly opts: ConntrackProviderOptions) {
    this.ignore = new Set(opts.ignore.map((a) => parseIpv4(a)).filter((a): a is number => a !== undefined));
    this.now = opts.now ?? (() => performance.now());
  }

  private ignored(r: Uint8Array): boolean {
    for (const at of [4, 8, 16, 20]) {
      const a = recU32(r, at);
      if (a >>> 24 === 127 || this.ignore.has(a)) return true;
    }
    return false;
  }

  private hold(key: string, rec: Uint8Array): void {
    if (!this.table.has(key)) this.xor ^= keyHash(rec);
    this.table.set(key, { rec, expiresAt: this.now() + recU32(rec, 32) * 1000 });
  }

  private drop(key: string): boolean {
    const h = this.table.get(key);
    if (!h) return false;
    this.xor ^= keyHash(h.rec);
    this.table.delete(key);
    return true;
  }

  // ---- source ----

  async startSource(emit: (c: Chunk) => void): Promise<void> {
    this.stopRefresh();
    this.emit = emit;
    this.table = new Map();
    this.xor = 0;
    // Events first, then the dump: a change between the two is seen twice rather than never.
    this.events = new ConntrackEvents(
      (rec) => this.onEvent(rec),
      (err) => void this.redump(`events overran (${err.message})`),
      this.opts.netns,
    );
    for (const rec of await dumpTable(this.opts.netns)) if (!this.ignored(rec)) this.hold(recordKey(rec), rec);
  }

  stopSource(): void {
    this.events?.close();
    this.events = undefined;
    this.emit = undefined;
    this.pending = [];
    // The table becomes the copy a sink replaces: what this node held is in its kernel anyway.
    this.table = new Map();
    this.xor = 0;
  }

  private onEvent(rec: Uint8Array): void {
    if (this.ignored(rec)) return;
    const key = recordKey(rec);
    if (rec[2]! & REC_DESTROYED) {
      if (!this.drop(key)) return;
    } else {
      this.hold(key, rec);
    }
    this.pending.push(rec);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  /** Changes go out once per loop turn, so a burst of events becomes a few large messages. */
  private flush(): void {
    this.flushing = false;
    const recs = this.pending;
    this.pending = [];
    for (let i = 0; i < recs.length; i += CHUNK_RECORDS) {
      const part = recs.slice(i, i + CHUNK_RECORDS);
      this.counters.sent += part.length;
      this.emit?.({ count: part.length, body: pack(part) });
    }
  }

  /** After an overrun: dump again and send what differs (events were lost, so the difference is unknown). */
  private async redump(why: string): Promise<void> {
    this.lastError = why;
    const t0 = performance.now();
    const fresh = new Map<string, Uint8Array>();
    for (const rec of await dumpTable(this.opts.netns)) if (!this.ignored(rec)) fresh.set(recordKey(rec), rec);
    for (const [key, h] of [...this.table]) {
      if (fresh.has(key)) continue;
      this.drop(key);
      const gone = h.rec.slice();
      gone[2] = gone[2]! | REC_DESTROYED;
      this.onEventRecord(gone);
    }
    for (const [key, rec] of fresh) {
      this.hold(key, rec);
      this.onEventRecord(rec);
    }
    this.opts.log?.log('warn', 'conntrack_events_overrun', { why, entries: fresh.size, redumpMs: Math.round(performance.now() - t0) });
  }

  private onEventRecord(rec: Uint8Array): void {
    this.pending.push(rec);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  snapshot(): Chunk[] {
    const recs = [...this.table.values()].map((h) => h.rec);
    const out: Chunk[] = [];
    for (let i = 0; i < recs.length; i += CHUNK_RECORDS) {
      const part = recs.slice(i, i + CHUNK_RECORDS);
      out.push({ count: part.length, body: pack(part) });
    }
    this.counters.sent += recs.length;
    return out;
  }

  // ---- sink ----

  private kernel(): ConntrackWriter {
    return (this.writer ??= new ConntrackWriter(this.opts.netns));
  }

  private write(ops: WriteOp[], report: ApplyReport): void {
    if (ops.length === 0) return;
    const r = this.kernel().write(ops);
    const failed = Object.values(r.failed).reduce((a, b) => a + b, 0);
    report.applied += r.written + r.alreadyGone;
    report.failed += failed;
    if (r.firstError) report.error ??= r.firstError;
  }

  async replace(chunks: readonly Chunk[]): Promise<ApplyReport> {
    const work = this.busy.then(() => this.replaceNow(chunks));
    this.busy = work.catch(() => undefined);
    return work;
  }

  private async replaceNow(chunks: readonly Chunk[]): Promise<ApplyReport> {
    const report: ApplyReport = { applied: 0, failed: 0 };
    const next = new Map<string, Uint8Array>();
    for (const c of chunks) {
      const b = c.body ?? new Uint8Array(0);
      for (let at = 0; at + RECORD_BYTES <= b.length; at += RECORD_BYTES) {
        const rec = b.subarray(at, at + RECORD_BYTES);
        next.set(recordKey(rec), rec);
      }
    }
    let ops: WriteOp[] = [];
    const step = async () => {
      this.write(ops, report);
      ops = [];
      await new Promise((r) => setImmediate(r));
    };
    for (const [key, h] of this.table) {
      if (next.has(key)) continue;
      ops.push({ kind: 'delete', rec: h.rec });
      if (ops.length >= SLICE) await step();
    }
    for (const [key, rec] of next) {
      ops.push({ kind: this.table.has(key) ? 'update' : 'create', rec });
      if (ops.length >= SLICE) await step();
    }
    await step();
    this.table = new Map();
    this.xor = 0;
    for (const [key, rec] of next) this.hold(key, rec);
    this.counters.applied += report.applied;
    this.counters.failed += report.failed;
    this.startRefresh();
    return report;
  }

  apply(c: Chunk): ApplyReport {
    const report: ApplyReport = { applied: 0, failed: 0 };
    const b = c.body ?? new Uint8Array(0);
    const ops: WriteOp[] = [];
    for (let at = 0; at + RECORD_BYTES <= b.length; at += RECORD_BYTES) {
      const rec = b.slice(at, at + RECORD_BYTES);
      const key = recordKey(rec);
      if (rec[2]! & REC_DESTROYED) {
        this.drop(key);
        ops.push({ kind: 'delete', rec });
      } else {
        ops.push({ kind: this.table.has(key) ? 'update' : 'create', rec });
        this.hold(key, rec);
      }
    }
    this.write(ops, report);
    this.counters.applied += report.applied;
    this.counters.failed += report.failed;
    this.startRefresh();
    return report;
  }

  /** Rewrites, before the kernel ages them out, the entries that expire within `aheadMs`. */
  private refresh(aheadMs: number): ApplyReport {
    const report: ApplyReport = { applied: 0, failed: 0 };
    const limit = this.now() + aheadMs;
    const ops: WriteOp[] = [];
    for (const [key, h] of this.table) {
      if (h.expiresAt > limit) continue;
      ops.push({ kind: 'update', rec: h.rec });
      this.hold(key, h.rec);
    }
    this.write(ops, report);
    return report;
  }

  private startRefresh(): void {
    if (this.refresher || this.emit) return;
    this.refresher = setInterval(() => this.refresh(REFRESH_AHEAD_MS), REFRESH_EVERY_MS);
    this.refresher.unref();
  }

  private stopRefresh(): void {
    if (this.refresher) clearInterval(this.refresher);
    this.refresher = undefined;
  }

  async commit(): Promise<ApplyReport> {
    await this.busy;
    this.stopRefresh();
    return this.refresh(2000);
  }

  count(): number {
    return this.table.size;
  }

  digest(): number {
    return this.xor >>> 0;
  }

  /** The last trouble worth showing in status. */
  get trouble(): string | undefined {
    return this.lastError;
  }

  close(): void {
    this.stopRefresh();
    this.events?.close();
    this.writer?.close();
    this.events = undefined;
    this.writer = undefined;
  }
}
