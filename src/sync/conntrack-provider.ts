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
import { ConntrackEvents, ConntrackWriter, dumpTable } from '../io/conntrack.js';
import { FAMILY_V6, REC, RECORD_BYTES, REC_DESTROYED, recordKey, recU32 } from '../wire/conn-record.js';
import { ConnTable } from './conn-table.js';
import { parseIpv4 } from '../wire/ipv4.js';
import { parseIpv6 } from '../wire/ipv6.js';
import type { SyncLog } from './link.js';
import type { ApplyReport, Chunk, Provider, ProviderCounters } from './provider.js';

const CHUNK_RECORDS = 4096;
/** Sink writes go to the kernel in slices, so a big snapshot does not hold the worker for long. */
const SLICE = 16384;
const REFRESH_EVERY_MS = 5000;
const REFRESH_AHEAD_MS = 15_000;

export interface ConntrackProviderOptions {
  /** Addresses of the nodes themselves: their flows are not synchronised. */
  ignore: string[];
  netns?: string;
  now?: () => number;
  log?: SyncLog;
  /** The kernel's table and its events (io/conntrack.ts); tests give fakes. */
  kernel?: {
    dump(netns?: string): Promise<Uint8Array[]>;
    follow(onRecord: (rec: Uint8Array) => void, onOverrun: (err: Error) => void, netns?: string): { close(): void };
  };
  /** After a failed dump following an overrun, try again this much later. */
  redumpRetryMs?: number;
  /** How often the sink looks for entries to rewrite before the kernel ages them out (default 5 s). */
  refreshEveryMs?: number;
}

const KERNEL = { dump: dumpTable, follow: (r: (rec: Uint8Array) => void, o: (e: Error) => void, netns?: string) => new ConntrackEvents(r, o, netns) };

const ADDRESSES = [REC.origSrc, REC.origDst, REC.replySrc, REC.replyDst];

const yieldNow = () => new Promise((r) => setImmediate(r));

export class ConntrackProvider implements Provider {
  readonly name = 'conntrack';
  readonly persistent = false;
  readonly counters: ProviderCounters = { sent: 0, applied: 0, failed: 0 };
  /** Source: the kernel's table as followed; sink: the copy written into the kernel, with expiries. */
  private table = new ConnTable();
  /**
   * What this node's kernel held as source, once it became a sink (it stepped down, or lost a both-active
   * comparison): entries the peer's table may no longer have. The first full transfer deletes those it lacks, so
   * a flow closed on the winner never comes back from the loser's table; until then they are not refreshed.
   */
  private leftover: ConnTable | undefined;
  private readonly ignore: Set<number>;
  /** The nodes' own IPv6 addresses, as 16-character strings of their bytes. */
  private readonly ignore6: Set<string>;
  private readonly now: () => number;
  private events: { close(): void } | undefined;
  private readonly kernelTable: NonNullable<ConntrackProviderOptions['kernel']>;
  /** An overrun's dump is under way (or waits to be retried): further overruns join it. */
  private redumping = false;
  private redumpRetry: NodeJS.Timeout | undefined;
  private writer: ConntrackWriter | undefined;
  /** Source: changes not yet sent, packed. */
  private pending = new Uint8Array(CHUNK_RECORDS * RECORD_BYTES);
  private pendingCount = 0;
  private flushing = false;
  private emit: ((c: Chunk) => void) | undefined;
  private refresher: NodeJS.Timeout | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ConntrackProviderOptions) {
    this.ignore = new Set(opts.ignore.map((a) => parseIpv4(a)).filter((a): a is number => a !== undefined));
    this.ignore6 = new Set(
      opts.ignore
        .map((a) => parseIpv6(a))
        .filter((a): a is Uint8Array => a !== undefined)
        .map((a) => String.fromCharCode(...a)),
    );
    this.now = opts.now ?? (() => performance.now());
    this.kernelTable = opts.kernel ?? KERNEL;
  }

  private ignored(r: Uint8Array, off = 0): boolean {
    if (r[off + REC.family] === FAMILY_V6) return this.ignored6(r, off);
    // Every IPv4 event passes here: no allocation, loopback by its first byte.
    const a = off + REC.origSrc,
      b = off + REC.origDst,
      c = off + REC.replySrc,
      d = off + REC.replyDst;
    if (r[a] === 127 || r[b] === 127 || r[c] === 127 || r[d] === 127) return true;
    const ig = this.ignore;
    return ig.size > 0 && (ig.has(recU32(r, a)) || ig.has(recU32(r, b)) || ig.has(recU32(r, c)) || ig.has(recU32(r, d)));
  }

  /** IPv6: loopback (::1) and the nodes' own addresses. */
  private ignored6(r: Uint8Array, off: number): boolean {
    for (const at of ADDRESSES) {
      const s = off + at;
      let loopback = r[s + 15] === 1;
      for (let i = 0; loopback && i < 15; i++) loopback = r[s + i] === 0;
      if (loopback) return true;
      if (this.ignore6.size > 0 && this.ignore6.has(String.fromCharCode(...r.subarray(s, s + 16)))) return true;
    }
    return false;
  }

  private expiryOf(r: Uint8Array, off: number, now: number): number {
    return now + recU32(r, off + REC.timeout) * 1000;
  }

  // ---- source ----

  async startSource(emit: (c: Chunk) => void): Promise<void> {
    this.stopRefresh();
    this.emit = emit;
    this.table = new ConnTable();
    this.leftover = undefined;
    // Events first, then the dump: a change between the two is seen twice rather than never.
    this.events = this.kernelTable.follow(
      (rec) => this.onEvent(rec),
      (err) => this.overrun(`events overran (${err.message})`),
      this.opts.netns,
    );
    const now = this.now();
    for (const rec of await this.kernelTable.dump(this.opts.netns)) if (!this.ignored(rec)) this.table.put(rec, 0, this.expiryOf(rec, 0, now));
  }

  stopSource(): void {
    this.events?.close();
    this.events = undefined;
    clearTimeout(this.redumpRetry);
    this.redumpRetry = undefined;
    this.emit = undefined;
    this.pendingCount = 0;
    // A sink starts with an empty copy; what this node held as source stays in its kernel until the peer's full
    // transfer says which of it is still true (replaceNow).
    if (this.table.size > 0) this.leftover = this.table;
    this.table = new ConnTable();
  }

  private onEvent(rec: Uint8Array): void {
    if (this.ignored(rec)) return;
    if (rec[2]! & REC_DESTROYED) {
      if (!this.table.remove(recordKey(rec))) return;
    } else {
      this.table.put(rec, 0, this.expiryOf(rec, 0, this.now()));
    }
    this.queue(rec);
  }

  /** Copies the record into the outgoing batch; a full batch goes at once, the rest at the end of the loop turn. */
  private queue(rec: Uint8Array): void {
    this.pending.set(rec, this.pendingCount * RECORD_BYTES);
    if (++this.pendingCount === CHUNK_RECORDS) this.flush();
    else if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  /** Changes go out once per loop turn (or per 4096), so a burst of events becomes a few large messages. */
  private flush(): void {
    this.flushing = false;
    const n = this.pendingCount;
    if (n === 0) return;
    const body = this.pending.slice(0, n * RECORD_BYTES);
    this.pendingCount = 0;
    this.counters.sent += n;
    this.emit?.({ count: n, body });
  }

  /**
   * After an overrun: dump again and send what differs (events were lost, so the difference is unknown).
   * One dump at a time; a dump that fails is tried again while this node is the source, since until one
   * succeeds the standby's copy misses whatever the lost events said.
   */
  private overrun(why: string): void {
    if (this.redumping) return;
    this.redumping = true;
    this.redump(why).then(
      () => (this.redumping = false),
      (e: Error) => {
        this.opts.log?.log('error', 'conntrack_redump_failed', { why, error: e.message, retryMs: this.opts.redumpRetryMs ?? 1000 });
        if (!this.emit) return void (this.redumping = false);
        this.redumpRetry = setTimeout(() => {
          this.redumpRetry = undefined;
          this.redumping = false;
          if (this.emit) this.overrun(why);
        }, this.opts.redumpRetryMs ?? 1000);
      },
    );
  }

  private async redump(why: string): Promise<void> {
    const t0 = performance.now();
    const fresh = new Map<string, Uint8Array>();
    for (const rec of await this.kernelTable.dump(this.opts.netns)) if (!this.ignored(rec)) fresh.set(recordKey(rec), rec);
    if (!this.emit) return; // no longer the source: a sink starts from an empty copy
    const gone: Uint8Array[] = [];
    for (const [key, slot] of this.table.entries()) {
      if (fresh.has(key)) continue;
      const rec = this.table.copy(slot);
      rec[2] = rec[2]! | REC_DESTROYED;
      gone.push(rec);
    }
    for (const rec of gone) (this.table.remove(recordKey(rec)), this.queue(rec));
    const now = this.now();
    for (const [key, rec] of fresh) {
      this.table.put(rec, 0, this.expiryOf(rec, 0, now), key);
      this.queue(rec);
    }
    this.opts.log?.log('warn', 'conntrack_events_overrun', { why, entries: fresh.size, redumpMs: Math.round(performance.now() - t0) });
  }

  snapshot(): Chunk[] {
    this.counters.sent += this.table.size;
    return this.table.pack(CHUNK_RECORDS);
  }

  // ---- sink ----

  private kernel(): ConntrackWriter {
    return (this.writer ??= new ConntrackWriter(this.opts.netns));
  }

  private settle(report: ApplyReport): void {
    const r = this.kernel().end();
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

  /**
   * Writes every entry of the snapshot (create when new to our copy, update
   * otherwise), then deletes what our copy had and the snapshot has not.
   * The kernel is written in slices with a yield between them.
   */
  private async replaceNow(chunks: readonly Chunk[]): Promise<ApplyReport> {
    const report: ApplyReport = { applied: 0, failed: 0 };
    const w = this.kernel();
    const kernelBefore = w.kernelMs;
    const old = this.table;
    const total = chunks.reduce((a, c) => a + c.count, 0);
    const next = new ConnTable(Math.max(1024, total));
    let queued = 0;
    const now = this.now();
    for (const c of chunks) {
      const b = c.body ?? new Uint8Array(0);
      for (let at = 0; at + RECORD_BYTES <= b.length; at += RECORD_BYTES) {
        const key = recordKey(b, at);
        w.add(old.size > 0 && old.has(key) ? 'update' : 'create', b, at);
        next.put(b, at, this.expiryOf(b, at, now), key);
        if (++queued % SLICE === 0) (this.settle(report), await yieldNow());
      }
    }
    const leftover = this.leftover;
    this.leftover = undefined;
    let kept = 0;
    for (const t of leftover ? [old, leftover] : [old]) {
      for (const [key, slot] of t.entries()) {
        if (next.has(key)) {
          if (t === leftover) kept++;
          continue;
        }
        if (t === leftover && old.has(key)) continue;
        w.add('delete', ...t.at(slot));
        if (++queued % SLICE === 0) (this.settle(report), await yieldNow());
      }
    }
    if (leftover) this.opts.log?.log('info', 'sync_leftovers_checked', { held: leftover.size, kept });
    this.settle(report);
    report.kernelMs = Math.round(w.kernelMs - kernelBefore);
    this.table = next;
    this.counters.applied += report.applied;
    this.counters.failed += report.failed;
    this.startRefresh();
    return report;
  }

  apply(c: Chunk): ApplyReport {
    const report: ApplyReport = { applied: 0, failed: 0 };
    const b = c.body ?? new Uint8Array(0);
    const w = this.kernel();
    const now = this.now();
    for (let at = 0; at + RECORD_BYTES <= b.length; at += RECORD_BYTES) {
      const key = recordKey(b, at);
      if (b[at + 2]! & REC_DESTROYED) {
        this.table.remove(key);
        w.add('delete', b, at);
      } else {
        w.add(this.table.has(key) ? 'update' : 'create', b, at);
        this.table.put(b, at, this.expiryOf(b, at, now), key);
      }
    }
    this.settle(report);
    this.counters.applied += report.applied;
    this.counters.failed += report.failed;
    this.startRefresh();
    return report;
  }

  /** Rewrites, before the kernel ages them out, the entries that expire within `aheadMs`. */
  private refresh(aheadMs: number): ApplyReport {
    const report: ApplyReport = { applied: 0, failed: 0 };
    const now = this.now();
    const w = this.kernel();
    const t = this.table;
    for (const slot of t.expiringBy(now + aheadMs)) {
      const rec = t.copy(slot);
      w.add('update', rec);
      t.setExpiry(slot, this.expiryOf(rec, 0, now));
    }
    this.settle(report);
    return report;
  }

  private startRefresh(): void {
    if (this.refresher || this.emit) return;
    this.refresher = setInterval(() => this.refresh(REFRESH_AHEAD_MS), this.opts.refreshEveryMs ?? REFRESH_EVERY_MS);
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

  breakdown(): Record<string, number> {
    return this.table.families;
  }

  digest(): number {
    return this.table.digest;
  }

  close(): void {
    this.stopRefresh();
    this.events?.close();
    this.writer?.close();
    this.events = undefined;
    this.writer = undefined;
  }
}
