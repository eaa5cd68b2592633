/**
 * DOC: ctnetlink answers and events, parsed straight into 88-byte records (conn-record.ts)
 *
 * The reading half of ctnetlink.ts (which see); pure.
 */
import { ConnEntry, entryFromRecord, FAMILY_V4, FAMILY_V6, NO_TCP_STATE, REC, RECORD_BYTES, REC_DESTROYED, REC_HAS_MARK } from './conn-record.js';
import { type Message } from './netlink.js';
import {
  AF_INET,
  AF_INET6,
  CTA_IP_V4_DST,
  CTA_IP_V4_SRC,
  CTA_IP_V6_DST,
  CTA_IP_V6_SRC,
  CTA_MARK,
  CTA_PROTOINFO,
  CTA_PROTOINFO_TCP,
  CTA_PROTOINFO_TCP_STATE,
  CTA_PROTO_DST_PORT,
  CTA_PROTO_ICMP_CODE,
  CTA_PROTO_ICMP_ID,
  CTA_PROTO_ICMP_TYPE,
  CTA_PROTO_ICMPV6_CODE,
  CTA_PROTO_ICMPV6_ID,
  CTA_PROTO_ICMPV6_TYPE,
  CTA_PROTO_NUM,
  CTA_PROTO_SRC_PORT,
  CTA_STATUS,
  CTA_TIMEOUT,
  CTA_TUPLE_IP,
  CTA_TUPLE_ORIG,
  CTA_TUPLE_PROTO,
  CTA_TUPLE_REPLY,
  IPCTNL_MSG_CT_DELETE,
  IPCTNL_MSG_CT_NEW,
  NFNL_SUBSYS_CTNETLINK,
} from './ctnetlink-attrs.js';

// ---- reading ---------------------------------------------------------------
// Written without closures or allocations: the source parses every event of a 100k burst.

const hdrLen = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const hdrType = (b: Uint8Array, at: number) => (b[at + 2]! | (b[at + 3]! << 8)) & 0x3fff;

/** Copies n bytes of b at v to out at `at`, in a loop the compiler keeps cheap (no subarray). */
function copy(b: Uint8Array, v: number, out: Uint8Array, at: number, n: number): void {
  for (let i = 0; i < n; i++) out[at + i] = b[v + i]!;
}

/**
 * Parses a nested tuple in b[from..to) into out at `at` (36 bytes: src and dst in 16 bytes each, an IPv4 one in
 * its first 4, then two ports); addresses of the other family than `v6` says are malformed. Returns the protocol, or -1.
 */
function readTuple(b: Uint8Array, from: number, to: number, out: Uint8Array, at: number, v6: boolean): number {
  let ip = 0;
  let proto = -1;
  const size = v6 ? 16 : 4;
  const srcType = v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC;
  const dstType = v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST;
  for (let p = from; p + 4 <= to;) {
    const len = hdrLen(b, p);
    if (len < 4 || p + len > to) return -1;
    const type = hdrType(b, p);
    const end = p + len;
    for (let q = p + 4; q + 4 <= end;) {
      const l2 = hdrLen(b, q);
      if (l2 < 4 || q + l2 > end) return -1;
      const t = hdrType(b, q);
      const v = q + 4;
      const n = l2 - 4;
      if (type === CTA_TUPLE_IP) {
        if (n === size && t === srcType) (copy(b, v, out, at, size), (ip |= 1));
        else if (n === size && t === dstType) (copy(b, v, out, at + 16, size), (ip |= 2));
      } else if (type === CTA_TUPLE_PROTO) {
        if (t === CTA_PROTO_NUM && n >= 1) proto = b[v]!;
        else if ((t === CTA_PROTO_SRC_PORT || t === CTA_PROTO_ICMP_ID || t === CTA_PROTO_ICMPV6_ID) && n >= 2) copy(b, v, out, at + 32, 2);
        else if (t === CTA_PROTO_DST_PORT && n >= 2) copy(b, v, out, at + 34, 2);
        else if ((t === CTA_PROTO_ICMP_TYPE || t === CTA_PROTO_ICMPV6_TYPE) && n >= 1) out[at + 34] = b[v]!;
        else if ((t === CTA_PROTO_ICMP_CODE || t === CTA_PROTO_ICMPV6_CODE) && n >= 1) out[at + 35] = b[v]!;
      }
      q += (l2 + 3) & ~3;
    }
    p += (len + 3) & ~3;
  }
  return ip === 3 ? proto : -1;
}

/** The TCP state inside CTA_PROTOINFO, or NO_TCP_STATE. */
function readTcpState(b: Uint8Array, from: number, to: number): number {
  for (let p = from; p + 4 <= to;) {
    const len = hdrLen(b, p);
    if (len < 4 || p + len > to) break;
    if (hdrType(b, p) === CTA_PROTOINFO_TCP) {
      for (let q = p + 4; q + 4 <= p + len;) {
        const l2 = hdrLen(b, q);
        if (l2 < 4 || q + l2 > p + len) break;
        if (hdrType(b, q) === CTA_PROTOINFO_TCP_STATE && l2 > 4) return b[q + 4]!;
        q += (l2 + 3) & ~3;
      }
    }
    p += (len + 3) & ~3;
  }
  return NO_TCP_STATE;
}

/**
 * Parses one IPv4 or IPv6 entry from a ctnetlink message of type `type` whose body
 * (after the 16-byte netlink header) is b[from..to), into out[off..off+40):
 * true when it is one, false for anything else or anything malformed.
 */
export function parseConntrackAt(type: number, b: Uint8Array, from: number, to: number, out: Uint8Array, off: number): boolean {
  const sub = type >> 8;
  const msg = type & 0xff;
  if (sub !== NFNL_SUBSYS_CTNETLINK || (msg !== IPCTNL_MSG_CT_NEW && msg !== IPCTNL_MSG_CT_DELETE) || to - from < 4) return false;
  const family = b[from];
  if (family !== AF_INET && family !== AF_INET6) return false;
  const v6 = family === AF_INET6;
  out.fill(0, off, off + RECORD_BYTES);
  out[off + 1] = NO_TCP_STATE;
  out[off + REC.family] = v6 ? FAMILY_V6 : FAMILY_V4;
  let origProto = -1;
  let replyProto = -1;
  for (let p = from + 4; p + 4 <= to;) {
    const len = hdrLen(b, p);
    if (len < 4 || p + len > to) break;
    const t = hdrType(b, p);
    const v = p + 4;
    const n = len - 4;
    if (t === CTA_TUPLE_ORIG) origProto = readTuple(b, v, p + len, out, off + REC.origSrc, v6);
    else if (t === CTA_TUPLE_REPLY) replyProto = readTuple(b, v, p + len, out, off + REC.replySrc, v6);
    else if (t === CTA_STATUS && n === 4) copy(b, v, out, off + REC.status, 4);
    else if (t === CTA_TIMEOUT && n === 4) copy(b, v, out, off + REC.timeout, 4);
    else if (t === CTA_MARK && n === 4) {
      copy(b, v, out, off + REC.mark, 4);
      out[off + 2] = out[off + 2]! | REC_HAS_MARK;
    } else if (t === CTA_PROTOINFO) out[off + 1] = readTcpState(b, v, p + len);
    p += (len + 3) & ~3;
  }
  if (origProto < 0 || origProto !== replyProto) return false;
  out[off] = origProto;
  if (msg === IPCTNL_MSG_CT_DELETE) out[off + 2] = out[off + 2]! | REC_DESTROYED;
  return true;
}

/** An entry from a dump answer or an event (a split message) into out[off..off+40). */
export function parseConntrackInto(m: Message, out: Uint8Array, off: number): boolean {
  return parseConntrackAt(m.type, m.body, 0, m.body.length, out, off);
}

/**
 * Every entry in a datagram of netlink messages (a dump's answer, a batch
 * of events), without allocating: onEntry gets the scratch record, valid
 * during the call. Returns false when the datagram is malformed.
 */
export function eachConntrack(data: Uint8Array, scratch: Uint8Array, onEntry: (rec: Uint8Array) => void): boolean {
  let at = 0;
  while (at + 16 <= data.length) {
    const len = (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
    if (len < 16 || at + len > data.length) return false;
    const type = data[at + 4]! | (data[at + 5]! << 8);
    if (parseConntrackAt(type, data, at + 16, at + len, scratch, 0)) onEntry(scratch);
    at += (len + 3) & ~3;
  }
  return true;
}

/** The readable form (tests, the CLI): undefined for anything that is not a conntrack entry. */
export function parseConntrack(m: Message): ConnEntry | undefined {
  const r = new Uint8Array(RECORD_BYTES);
  return parseConntrackInto(m, r, 0) ? entryFromRecord(r) : undefined;
}
