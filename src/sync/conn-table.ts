/**
 * DOC: a table of conntrack records, keyed by original tuple, stored flat
 *
 * A synchronised table holds 100k+ entries and is rebuilt whole by a full
 * transfer, so per-entry objects (a view per record, a box per expiry) cost
 * more in allocation and garbage collection than the kernel's own work.
 * Records live in pages of PAGE_SLOTS slots (88 bytes a slot) with their
 * expiry in a parallel Float64Array; a Map gives each key its slot; freed
 * slots are reused. Growing adds a page and never copies the records: one
 * growable slab doubled and copied 8.8 MB when a 100k-entry copy took its
 * first live update, holding the standby's sync worker for ~40 ms. The
 * order-free digest (XOR of key hashes) is kept as entries come and go.
 */
import { FAMILY_V6, keyHash, REC, RECORD_BYTES, recordKey } from '../wire/conn-record.js';

/** Slots a page holds (360 KB of records). */
const PAGE_SLOTS = 4096;
const PAGE_SHIFT = 12;
/** Where a slot's record starts in its page. */
const offsetIn = (slot: number) => (slot & (PAGE_SLOTS - 1)) * RECORD_BYTES;

export class ConnTable {
  private readonly pages: Uint8Array[] = [];
  private expiry: Float64Array;
  private readonly index = new Map<string, number>();
  private readonly free: number[] = [];
  private used = 0;
  private xor = 0;
  private v6 = 0;
  /** No slot expires before this (a lower bound: kept on put and setExpiry, made exact by each expiringBy scan). */
  private soonest = Infinity;

  constructor(capacity = 1024) {
    this.expiry = new Float64Array(Math.max(1, capacity));
  }

  get size(): number {
    return this.index.size;
  }

  /** Entries of each family (`tandem status` shows them). */
  get families(): { ipv4: number; ipv6: number } {
    return { ipv4: this.index.size - this.v6, ipv6: this.v6 };
  }

  get digest(): number {
    return this.xor >>> 0;
  }

  /** The page holding `slot` and the record's offset in it (valid while the entry is held). */
  at(slot: number): [Uint8Array, number] {
    return [this.page(slot), offsetIn(slot)];
  }

  private page(slot: number): Uint8Array {
    return this.pages[slot >>> PAGE_SHIFT]!;
  }

  slotOf(key: string): number | undefined {
    return this.index.get(key);
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  /** A new slot: a page is added when the last one is full (the expiries, 8 bytes a slot, still double). */
  private newSlot(): number {
    const slot = this.used++;
    if (slot >>> PAGE_SHIFT >= this.pages.length) this.pages.push(new Uint8Array(PAGE_SLOTS * RECORD_BYTES));
    if (slot >= this.expiry.length) {
      const expiry = new Float64Array(this.expiry.length * 2);
      expiry.set(this.expiry);
      this.expiry = expiry;
    }
    return slot;
  }

  /** Stores the record at src[off..off+88) under its key (computed if not given); returns the slot. */
  put(src: Uint8Array, off: number, expiresAt: number, key = recordKey(src, off)): number {
    let slot = this.index.get(key);
    if (slot === undefined) {
      slot = this.free.pop() ?? this.newSlot();
      this.index.set(key, slot);
      this.xor ^= keyHash(src, off);
      if (src[off + REC.family] === FAMILY_V6) this.v6++;
    }
    // No tuple from at() here: put and remove run once per record of a 100k-entry transfer.
    const page = this.page(slot);
    const at = offsetIn(slot);
    for (let i = 0; i < RECORD_BYTES; i++) page[at + i] = src[off + i]!;
    this.expiry[slot] = expiresAt;
    if (expiresAt < this.soonest) this.soonest = expiresAt;
    return slot;
  }

  remove(key: string): boolean {
    const slot = this.index.get(key);
    if (slot === undefined) return false;
    const page = this.page(slot);
    const at = offsetIn(slot);
    this.xor ^= keyHash(page, at);
    if (page[at + REC.family] === FAMILY_V6) this.v6--;
    this.index.delete(key);
    this.free.push(slot);
    this.expiry[slot] = Infinity; // a free slot never expires (expiringBy scans slots, not keys)
    return true;
  }

  /** A copy of a slot's record (safe to keep). */
  copy(slot: number): Uint8Array {
    const at = offsetIn(slot);
    return this.page(slot).slice(at, at + RECORD_BYTES);
  }

  expiresAt(slot: number): number {
    return this.expiry[slot]!;
  }

  setExpiry(slot: number, at: number): void {
    this.expiry[slot] = at;
    if (at < this.soonest) this.soonest = at;
  }

  /**
   * The slots that expire by `t`. A table where nothing does is not scanned at all (the standby asks every few
   * seconds, and a scan of 100k entries held its worker for milliseconds each time).
   */
  expiringBy(t: number): number[] {
    if (this.soonest > t) return [];
    const out: number[] = [];
    let soonest = Infinity;
    for (let slot = 0; slot < this.used; slot++) {
      const at = this.expiry[slot]!;
      if (at <= t) out.push(slot);
      else if (at < soonest) soonest = at;
    }
    // The slots returned are the caller's to give new expiries (setExpiry lowers the bound again as needed).
    this.soonest = soonest;
    return out;
  }

  /** Every (key, slot); do not put or remove while iterating. */
  entries(): IterableIterator<[string, number]> {
    return this.index.entries();
  }

  /** The records packed back to back, in chunks of at most `per` records. */
  pack(per: number): { count: number; body: Uint8Array }[] {
    const out: { count: number; body: Uint8Array }[] = [];
    let body = new Uint8Array(Math.min(this.size, per) * RECORD_BYTES);
    let n = 0;
    for (const slot of this.index.values()) {
      const at = offsetIn(slot);
      body.set(this.page(slot).subarray(at, at + RECORD_BYTES), n * RECORD_BYTES);
      if (++n === per) {
        out.push({ count: n, body });
        body = new Uint8Array(Math.min(this.size, per) * RECORD_BYTES);
        n = 0;
      }
    }
    if (n > 0) out.push({ count: n, body: body.subarray(0, n * RECORD_BYTES) });
    return out;
  }
}
