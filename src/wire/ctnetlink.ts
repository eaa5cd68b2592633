/**
 * DOC: ctnetlink messages: the kernel's connection tracking table
 * (linux/netfilter/nfnetlink_conntrack.h)
 *
 * A dump request, a total parser from dump answers and events straight into
 * a 40-byte record (conn-record.ts), and writers from a record back into
 * create / update / delete requests, written into one caller's buffer so a
 * whole table goes to the kernel in a few large sendmsg calls. Values inside
 * ctnetlink attributes are in network byte order; the attribute headers,
 * like every netlink header, in host (little-endian) order.
 *
 * What the standby writes, and why (conntrackd does the same):
 *  - a NAT entry is created with the untranslated reply tuple plus CTA_NAT_SRC
 *    / CTA_NAT_DST naming the translation, because the kernel sets the NAT
 *    status bits and rewrites the reply tuple only through NAT setup (NAT bits
 *    in CTA_STATUS are ignored);
 *  - TCP entries carry the "be liberal" flag in both directions, so the
 *    standby's window tracking, which never saw the handshake, accepts the
 *    flow mid-stream even with nf_conntrack_tcp_loose=0;
 *  - an update (the entry exists) carries no NAT attributes: the kernel
 *    refuses to change a mapping (EOPNOTSUPP).
 * Pure; the socket is src/io/netlink-socket.ts (NETLINK_NETFILTER).
 */
import { ConnEntry, entryFromRecord, NO_TCP_STATE, putU16, putU32, RECORD_BYTES, REC_DESTROYED, REC_HAS_MARK, recU16, recU32, recordFromEntry, IPPROTO_ICMP } from './conn-record.js';
import { encodeMessage, NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, type Message } from './netlink.js';

export { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, type ConnEntry, type Tuple } from './conn-record.js';

export const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_CTNETLINK = 1;
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;
/** Event groups: new, update, destroy (NFNLGRP_CONNTRACK_*), as a bind() bitmask. */
export const CONNTRACK_EVENT_GROUPS = (1 << 0) | (1 << 1) | (1 << 2);

const AF_INET = 2;
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_REPLY = 2;
const CTA_STATUS = 3;
const CTA_PROTOINFO = 4;
const CTA_NAT_SRC = 6;
const CTA_TIMEOUT = 7;
const CTA_MARK = 8;
const CTA_NAT_DST = 13;
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V4_DST = 2;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_SRC_PORT = 2;
const CTA_PROTO_DST_PORT = 3;
const CTA_PROTO_ICMP_ID = 4;
const CTA_PROTO_ICMP_TYPE = 5;
const CTA_PROTO_ICMP_CODE = 6;
const CTA_PROTOINFO_TCP = 1;
const CTA_PROTOINFO_TCP_STATE = 1;
const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL = 4;
const CTA_PROTOINFO_TCP_FLAGS_REPLY = 5;
const CTA_NAT_V4_MINIP = 1;
const CTA_NAT_V4_MAXIP = 2;
const CTA_NAT_PROTO = 3;
const CTA_PROTONAT_PORT_MIN = 1;
const CTA_PROTONAT_PORT_MAX = 2;

const IPS_SEEN_REPLY = 1 << 1;
const IPS_ASSURED = 1 << 2;
/** An entry created through ctnetlink is confirmed at once; the kernel refuses (EBUSY) a status that says otherwise. */
const IPS_CONFIRMED = 1 << 3;
const IP_CT_TCP_FLAG_SACK_PERM = 0x02;
const IP_CT_TCP_FLAG_CLOSE_INIT = 0x04;
const IP_CT_TCP_FLAG_BE_LIBERAL = 0x08;
const TCP_CONNTRACK_TIME_WAIT = 7;
const TCP_CONNTRACK_MAX = 14;

/** Room one request can take in a caller's buffer. */
export const CT_REQUEST_MAX = 320;

const msgType = (msg: number) => (NFNL_SUBSYS_CTNETLINK << 8) | msg;

export function dumpConntrack(seq: number): Uint8Array {
  return encodeMessage(msgType(IPCTNL_MSG_CT_GET), NLM_F_REQUEST | NLM_F_DUMP, seq, Uint8Array.of(AF_INET, 0, 0, 0));
}

// ---- writing ---------------------------------------------------------------

/** A cursor over the caller's buffer; netlink headers little-endian, values big-endian. */
class Out {
  at: number;
  constructor(
    readonly b: Uint8Array,
    readonly v: DataView,
    at: number,
  ) {
    this.at = at;
  }
  open(): number {
    const start = this.at;
    this.at += 4;
    return start;
  }
  close(start: number, type: number): void {
    this.v.setUint16(start, this.at - start, true);
    this.v.setUint16(start + 2, type | NLA_F_NESTED, true);
  }
  u32(type: number, value: number): void {
    this.v.setUint16(this.at, 8, true);
    this.v.setUint16(this.at + 2, type, true);
    putU32(this.b, this.at + 4, value >>> 0);
    this.at += 8;
  }
  u16(type: number, value: number): void {
    this.v.setUint16(this.at, 6, true);
    this.v.setUint16(this.at + 2, type, true);
    putU16(this.b, this.at + 4, value);
    this.b[this.at + 6] = 0;
    this.b[this.at + 7] = 0;
    this.at += 8;
  }
  u8(type: number, value: number): void {
    this.v.setUint16(this.at, 5, true);
    this.v.setUint16(this.at + 2, type, true);
    this.v.setUint32(this.at + 4, 0);
    this.b[this.at + 4] = value;
    this.at += 8;
  }
  /** struct nf_ct_tcp_flags { u8 flags; u8 mask; } */
  flags(type: number, flags: number): void {
    this.v.setUint16(this.at, 6, true);
    this.v.setUint16(this.at + 2, type, true);
    this.v.setUint32(this.at + 4, 0);
    this.b[this.at + 4] = flags;
    this.b[this.at + 5] = flags;
    this.at += 8;
  }
}

/** A tuple from the record's bytes at `at` (orig 4, reply 16), or with src/dst and ports given (an inverted tuple). */
function writeTuple(o: Out, type: number, proto: number, src: number, dst: number, p1: number, p2: number): void {
  const t = o.open();
  const ip = o.open();
  o.u32(CTA_IP_V4_SRC, src);
  o.u32(CTA_IP_V4_DST, dst);
  o.close(ip, CTA_TUPLE_IP);
  const pr = o.open();
  o.u8(CTA_PROTO_NUM, proto);
  if (proto === IPPROTO_ICMP) {
    o.u16(CTA_PROTO_ICMP_ID, p1);
    o.u8(CTA_PROTO_ICMP_TYPE, p2 >>> 8);
    o.u8(CTA_PROTO_ICMP_CODE, p2 & 0xff);
  } else {
    o.u16(CTA_PROTO_SRC_PORT, p1);
    o.u16(CTA_PROTO_DST_PORT, p2);
  }
  o.close(pr, CTA_TUPLE_PROTO);
  o.close(t, type);
}

function writeNat(o: Out, type: number, ip: number, port: number): void {
  const n = o.open();
  o.u32(CTA_NAT_V4_MINIP, ip);
  o.u32(CTA_NAT_V4_MAXIP, ip);
  const p = o.open();
  o.u16(CTA_PROTONAT_PORT_MIN, port);
  o.u16(CTA_PROTONAT_PORT_MAX, port);
  o.close(p, CTA_NAT_PROTO);
  o.close(n, type);
}

export type CtWrite = 'create' | 'update' | 'delete';

/**
 * The translations a record's tuples imply, each handed to visit: source NAT when the reply is not
 * addressed to the original source, destination NAT when it does not come from the original destination.
 */
function eachNat(r: Uint8Array, off: number, visit: (dnat: boolean, ip: number, port: number) => void): void {
  const oSrc = recU32(r, off + 4), oDst = recU32(r, off + 8), oP1 = recU16(r, off + 12), oP2 = recU16(r, off + 14);
  const rSrc = recU32(r, off + 16), rDst = recU32(r, off + 20), rP1 = recU16(r, off + 24), rP2 = recU16(r, off + 26);
  if (r[off] === IPPROTO_ICMP) {
    if (rDst !== oSrc || rP1 !== oP1) visit(false, rDst, rP1);
    if (rSrc !== oDst) visit(true, rSrc, 0);
    return;
  }
  if (rDst !== oSrc || rP2 !== oP1) visit(false, rDst, rP2);
  if (rSrc !== oDst || rP1 !== oP2) visit(true, rSrc, rP1);
}

export function natOf(r: Uint8Array, off = 0): { snat?: { ip: number; port: number }; dnat?: { ip: number; port: number } } {
  const out: ReturnType<typeof natOf> = {};
  eachNat(r, off, (dnat, ip, port) => (out[dnat ? 'dnat' : 'snat'] = { ip, port }));
  return out;
}

let cursor: Out | undefined;

/** writeConntrack's visitor: one function for every request, writing through the shared cursor. */
const writeNatAttr = (dnat: boolean, ip: number, port: number) => writeNat(cursor!, dnat ? CTA_NAT_DST : CTA_NAT_SRC, ip, port);

/**
 * Writes one request for the record at r[roff..] into `buf` at `off` and
 * returns the offset after it. `create` fails with EEXIST when the kernel
 * has the entry, `update` with ENOENT when it has not (the caller then tries
 * the other); `delete` with ENOENT when it is already gone. With ack false,
 * the kernel still answers a refusal.
 */

export function writeConntrack(buf: Uint8Array, view: DataView, off: number, seq: number, kind: CtWrite, r: Uint8Array, roff: number, ack: boolean): number {
  // One cursor reused for every request (a table is written 100k requests at a time).
  const o = cursor && cursor.b === buf ? cursor : (cursor = new Out(buf, view, 0));
  o.at = off + 16;
  buf[o.at] = AF_INET;
  buf[o.at + 1] = 0;
  buf[o.at + 2] = 0;
  buf[o.at + 3] = 0;
  o.at += 4;
  const proto = r[roff]!;
  const oSrc = recU32(r, roff + 4), oDst = recU32(r, roff + 8), oP1 = recU16(r, roff + 12), oP2 = recU16(r, roff + 14);
  writeTuple(o, CTA_TUPLE_ORIG, proto, oSrc, oDst, oP1, oP2);
  let flags = NLM_F_REQUEST | (ack ? NLM_F_ACK : 0);
  let type = msgType(IPCTNL_MSG_CT_NEW);
  if (kind === 'delete') {
    type = msgType(IPCTNL_MSG_CT_DELETE);
  } else {
    if (kind === 'create') {
      flags |= NLM_F_CREATE | NLM_F_EXCL;
      // The reply tuple as if untranslated (ICMP: the echo reply's type); NAT setup rewrites it.
      const icmp = proto === IPPROTO_ICMP;
      writeTuple(o, CTA_TUPLE_REPLY, proto, oDst, oSrc, icmp ? oP1 : oP2, icmp ? recU16(r, roff + 26) : oP1);
      eachNat(r, roff, writeNatAttr);
    }
    o.u32(CTA_STATUS, (recU32(r, roff + 28) & (IPS_SEEN_REPLY | IPS_ASSURED)) | IPS_CONFIRMED);
    o.u32(CTA_TIMEOUT, recU32(r, roff + 32) || 1);
    if (r[roff + 2]! & REC_HAS_MARK) o.u32(CTA_MARK, recU32(r, roff + 36));
    const state = r[roff + 1]!;
    if (proto === 6 && state !== NO_TCP_STATE && state < TCP_CONNTRACK_MAX) {
      const tcpFlags = IP_CT_TCP_FLAG_BE_LIBERAL | IP_CT_TCP_FLAG_SACK_PERM | (state >= TCP_CONNTRACK_TIME_WAIT ? IP_CT_TCP_FLAG_CLOSE_INIT : 0);
      const pi = o.open();
      const tcp = o.open();
      o.u8(CTA_PROTOINFO_TCP_STATE, state);
      o.flags(CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, tcpFlags);
      o.flags(CTA_PROTOINFO_TCP_FLAGS_REPLY, tcpFlags);
      o.close(tcp, CTA_PROTOINFO_TCP);
      o.close(pi, CTA_PROTOINFO);
    }
  }
  view.setUint32(off, o.at - off, true);
  view.setUint16(off + 4, type, true);
  view.setUint16(off + 6, flags, true);
  view.setUint32(off + 8, seq >>> 0, true);
  view.setUint32(off + 12, 0, true);
  return o.at;
}

/** One request as its own message (tests, single writes). */
export function conntrackRequest(seq: number, kind: CtWrite, e: Omit<ConnEntry, 'destroyed'>, ack = true): Uint8Array {
  const buf = new Uint8Array(CT_REQUEST_MAX);
  const end = writeConntrack(buf, new DataView(buf.buffer), 0, seq, kind, recordFromEntry(e), 0, ack);
  return buf.slice(0, end);
}

/** Creates an entry (EEXIST if the kernel has it). */
export function newConntrack(seq: number, e: Omit<ConnEntry, 'destroyed'>): Uint8Array {
  return conntrackRequest(seq, 'create', e);
}

// ---- reading ---------------------------------------------------------------
// Written without closures or allocations: the source parses every event of a 100k burst.

const hdrLen = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const hdrType = (b: Uint8Array, at: number) => (b[at + 2]! | (b[at + 3]! << 8)) & 0x3fff;

/** Parses a nested tuple in b[from..to) into out at `at` (12 bytes: src, dst, two ports); returns the protocol, or -1. */
function readTuple(b: Uint8Array, from: number, to: number, out: Uint8Array, at: number): number {
  let ip = 0;
  let proto = -1;
  for (let p = from; p + 4 <= to; ) {
    const len = hdrLen(b, p);
    if (len < 4 || p + len > to) return -1;
    const type = hdrType(b, p);
    const end = p + len;
    for (let q = p + 4; q + 4 <= end; ) {
      const l2 = hdrLen(b, q);
      if (l2 < 4 || q + l2 > end) return -1;
      const t = hdrType(b, q);
      const v = q + 4;
      const n = l2 - 4;
      if (type === CTA_TUPLE_IP) {
        if (n === 4 && t === CTA_IP_V4_SRC) {
          out[at] = b[v]!; out[at + 1] = b[v + 1]!; out[at + 2] = b[v + 2]!; out[at + 3] = b[v + 3]!;
          ip |= 1;
        } else if (n === 4 && t === CTA_IP_V4_DST) {
          out[at + 4] = b[v]!; out[at + 5] = b[v + 1]!; out[at + 6] = b[v + 2]!; out[at + 7] = b[v + 3]!;
          ip |= 2;
        }
      } else if (type === CTA_TUPLE_PROTO) {
        if (t === CTA_PROTO_NUM && n >= 1) proto = b[v]!;
        else if ((t === CTA_PROTO_SRC_PORT || t === CTA_PROTO_ICMP_ID) && n >= 2) ((out[at + 8] = b[v]!), (out[at + 9] = b[v + 1]!));
        else if (t === CTA_PROTO_DST_PORT && n >= 2) ((out[at + 10] = b[v]!), (out[at + 11] = b[v + 1]!));
        else if (t === CTA_PROTO_ICMP_TYPE && n >= 1) out[at + 10] = b[v]!;
        else if (t === CTA_PROTO_ICMP_CODE && n >= 1) out[at + 11] = b[v]!;
      }
      q += (l2 + 3) & ~3;
    }
    p += (len + 3) & ~3;
  }
  return ip === 3 ? proto : -1;
}

/** The TCP state inside CTA_PROTOINFO, or NO_TCP_STATE. */
function readTcpState(b: Uint8Array, from: number, to: number): number {
  for (let p = from; p + 4 <= to; ) {
    const len = hdrLen(b, p);
    if (len < 4 || p + len > to) break;
    if (hdrType(b, p) === CTA_PROTOINFO_TCP) {
      for (let q = p + 4; q + 4 <= p + len; ) {
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
 * Parses one IPv4 entry from a ctnetlink message of type `type` whose body
 * (after the 16-byte netlink header) is b[from..to), into out[off..off+40):
 * true when it is one, false for anything else or anything malformed.
 */
export function parseConntrackAt(type: number, b: Uint8Array, from: number, to: number, out: Uint8Array, off: number): boolean {
  const sub = type >> 8;
  const msg = type & 0xff;
  if (sub !== NFNL_SUBSYS_CTNETLINK || (msg !== IPCTNL_MSG_CT_NEW && msg !== IPCTNL_MSG_CT_DELETE) || to - from < 4) return false;
  if (b[from] !== AF_INET) return false;
  out.fill(0, off, off + RECORD_BYTES);
  out[off + 1] = NO_TCP_STATE;
  let origProto = -1;
  let replyProto = -1;
  for (let p = from + 4; p + 4 <= to; ) {
    const len = hdrLen(b, p);
    if (len < 4 || p + len > to) break;
    const t = hdrType(b, p);
    const v = p + 4;
    const n = len - 4;
    if (t === CTA_TUPLE_ORIG) origProto = readTuple(b, v, p + len, out, off + 4);
    else if (t === CTA_TUPLE_REPLY) replyProto = readTuple(b, v, p + len, out, off + 16);
    else if (t === CTA_STATUS && n === 4) out.set(b.subarray(v, v + 4), off + 28);
    else if (t === CTA_TIMEOUT && n === 4) out.set(b.subarray(v, v + 4), off + 32);
    else if (t === CTA_MARK && n === 4) {
      out.set(b.subarray(v, v + 4), off + 36);
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

/** The readable form (tests, the CLI): undefined for anything that is not an IPv4 entry. */
export function parseConntrack(m: Message): ConnEntry | undefined {
  const r = new Uint8Array(RECORD_BYTES);
  return parseConntrackInto(m, r, 0) ? entryFromRecord(r) : undefined;
}
