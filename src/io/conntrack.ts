/**
 * DOC: the kernel's conntrack table in one network namespace
 *
 * dump() reads the table (both families) into 88-byte records; ConntrackEvents follows its
 * changes (new, update, destroy) on an event socket with a large receive
 * buffer, and reports an overrun (ENOBUFS: the kernel dropped events) so the
 * caller can dump again; ConntrackWriter writes records back in bulk.
 *
 * The writer packs many requests into each sendmsg. ctnetlink handles a
 * request inside the sender's sendmsg call, so when send() returns the
 * kernel has done the work and any refusal is already queued on the socket:
 * the writer drains those right away (no ack for the requests that
 * succeeded) and retries the ones that met the other case (create of an
 * entry that exists becomes an update, update of one that is gone a create).
 */
import { constants } from 'node:os';
import {
  CT_REQUEST_MAX,
  CONNTRACK_EVENT_GROUPS,
  dumpConntrack,
  eachConntrack,
  NETLINK_NETFILTER,
  parseConntrackInto,
  writeConntrack,
  type CtWrite,
} from '../wire/ctnetlink.js';
import { RECORD_BYTES } from '../wire/conn-record.js';
import { decodeError, NLMSG_ERROR, splitMessages } from '../wire/netlink.js';
import { netnsPath, sys } from './native.js';
import { NativeSocket } from './native-socket.js';
import { NetlinkSocket } from './netlink-socket.js';

/** Reads the whole table; each record is a fresh 88-byte array. */
export async function dumpTable(netns?: string): Promise<Uint8Array[]> {
  const nl = NetlinkSocket.open(NETLINK_NETFILTER, netns ? { netns, rcvbuf: 4 << 20 } : { rcvbuf: 4 << 20 });
  try {
    const out: Uint8Array[] = [];
    await nl.request(
      'dump the conntrack table',
      (seq) => dumpConntrack(seq),
      30_000,
      (m) => {
        const r = new Uint8Array(RECORD_BYTES);
        if (parseConntrackInto(m, r, 0)) out.push(r);
      },
    );
    return out;
  } finally {
    nl.close();
  }
}

/**
 * Follows the table's changes. Each entry goes to onRecord as a scratch
 * record valid only during the call (copy what you keep): a burst of 100k
 * events is parsed without allocating.
 */
export class ConntrackEvents extends NativeSocket {
  private readonly scratch = new Uint8Array(RECORD_BYTES);

  constructor(onRecord: (rec: Uint8Array) => void, onOverrun: (err: Error) => void, netns?: string) {
    super(`conntrack events${netns ? ` (netns ${netns})` : ''}`, 2048);
    // 128 MB, as conntrackd's NetlinkBufferSizeMaxGrowth: a kernel creates entries several times
    // faster than any reader parses their events, and each queued event costs ~1 KB of buffer,
    // so a burst of 100k new flows must fit. Memory is only used while events wait.
    sys(this.where, (b) => b.tandem_netlink_open(NETLINK_NETFILTER, CONNTRACK_EVENT_GROUPS, netnsPath(netns), this.handle, 128 << 20));
    this.receive((frame) => void eachConntrack(frame, this.scratch, onRecord), onOverrun, 64);
  }
}

export interface WriteOp {
  kind: CtWrite;
  rec: Uint8Array;
  /** Where the record starts in `rec` (records are often read straight out of a packed body). */
  off?: number;
}

export interface WriteReport {
  /** Requests the kernel carried out (after retries). */
  written: number;
  /** Deletions of entries that were already gone (not a failure). */
  alreadyGone: number;
  /** Refusals by errno name, after the retry. */
  failed: Record<string, number>;
  /** A sample refusal for the log. */
  firstError?: string;
}

const CHUNK = 96 * 1024;
/** Requests per sendmsg at most (a request is 100-300 bytes). */
const MAX_IN_CHUNK = 1024;

/**
 * Bulk writes into one namespace's table. Synchronous: the kernel works
 * inside send(). Records are added one by one (no op objects for a 100k
 * table) and go out in ~96 KB sendmsg calls; end() flushes and retries.
 */
export class ConntrackWriter extends NativeSocket {
  private readonly buf = new Uint8Array(CHUNK + CT_REQUEST_MAX);
  private readonly view = new DataView(this.buf.buffer);
  private seq = 1;
  // The requests in the buffer now, by position (seq - base), so a refusal finds its record.
  private readonly kinds: CtWrite[] = [];
  private readonly recs: Uint8Array[] = [];
  private readonly offs: number[] = [];
  private at = 0;
  private base = 1;
  private report: WriteReport = { written: 0, alreadyGone: 0, failed: {} };
  private retry: WriteOp[] = [];
  /** In the retry pass, a refusal is final. */
  private retrying = false;
  /** Time spent inside the kernel's handling of our requests (sendmsg and reading refusals), ms. */
  kernelMs = 0;

  constructor(netns?: string) {
    super(`conntrack writer${netns ? ` (netns ${netns})` : ''}`, 4096);
    sys(this.where, (b) => b.tandem_netlink_open(NETLINK_NETFILTER, 0, netnsPath(netns), this.handle, 8 << 20));
  }

  /** Queues one request (sent when the buffer fills, or at end()). */
  add(kind: CtWrite, rec: Uint8Array, off = 0): void {
    const n = this.kinds.length;
    this.kinds.push(kind);
    this.recs.push(rec);
    this.offs.push(off);
    this.at = writeConntrack(this.buf, this.view, this.at, (this.base + n) >>> 0, kind, rec, off, false);
    if (this.at >= CHUNK || n + 1 >= MAX_IN_CHUNK) this.flush();
  }

  /**
   * Sends what is queued, retries what met the other case (create <-> update, and an update the kernel refuses
   * as a change it does not allow: delete and create), at most twice, and reports.
   */
  end(): WriteReport {
    this.flush();
    for (let pass = 1; pass <= 2 && this.retry.length > 0; pass++) {
      const again = this.retry;
      this.retry = [];
      this.retrying = pass === 2;
      try {
        for (const op of again) this.add(op.kind, op.rec, op.off ?? 0);
        this.flush();
      } finally {
        this.retrying = false;
      }
    }

    const r = this.report;
    this.report = { written: 0, alreadyGone: 0, failed: {} };
    return r;
  }

  write(ops: readonly WriteOp[]): WriteReport {
    for (const op of ops) this.add(op.kind, op.rec, op.off ?? 0);
    return this.end();
  }

  private flush(): void {
    const final = this.retrying;
    const count = this.kinds.length;
    if (count === 0) return;
    const t0 = performance.now();
    this.send(this.buf.subarray(0, this.at));
    let refused = 0;
    this.drainRefusals((seq, errno, text) => {
      const idx = (seq - this.base) >>> 0;
      if (idx >= count) return;
      refused++;
      const kind = this.kinds[idx]!;
      const rec = this.recs[idx]!;
      const off = this.offs[idx]!;
      if (kind === 'delete' && errno === ENOENT) return void this.report.alreadyGone++;
      if (!final && kind === 'create' && (errno === EEXIST || errno === EOPNOTSUPP)) return void this.retry.push({ kind: 'update', rec, off });
      if (!final && kind === 'update' && errno === ENOENT) return void this.retry.push({ kind: 'create', rec, off });
      // EBUSY: the kernel's entry says what an update may not undo (assured, seen reply, expected): it is not the
      // peer's entry (this node's own, left from when it served). The peer's record is the truth: replace it.
      if (!final && kind === 'update' && errno === EBUSY) return void this.retry.push({ kind: 'delete', rec, off }, { kind: 'create', rec, off });
      const name = ERRNO_NAME[errno] ?? `errno ${errno}`;
      this.report.failed[name] = (this.report.failed[name] ?? 0) + 1;
      this.report.firstError ??= `${kind} refused with ${name}${text ? ` (${text})` : ''}`;
    });
    this.report.written += count - refused;
    this.kernelMs += performance.now() - t0;
    this.seq = (this.base + count) >>> 0 || 1;
    this.base = this.seq;
    this.at = 0;
    this.kinds.length = 0;
    this.recs.length = 0;
    this.offs.length = 0;
  }

  private drainRefusals(onRefusal: (seq: number, errno: number, text?: string) => void): void {
    for (;;) {
      const got = this.drain(
        (data) => {
          const split = splitMessages(data);
          if (!split.ok) return;
          for (const m of split.messages) {
            if (m.type !== NLMSG_ERROR) continue;
            const e = decodeError(m);
            if (e && e.errno !== 0) onRefusal(m.seq, e.errno, e.message);
          }
        },
        (err) => {
          throw err;
        },
        64,
      );
      if (got === 0) return;
    }
  }
}

const { EBUSY, EEXIST, ENOENT, EOPNOTSUPP } = constants.errno;
const ERRNO_NAME: Record<number, string> = Object.fromEntries(Object.entries(constants.errno).map(([name, no]) => [no, name]));
