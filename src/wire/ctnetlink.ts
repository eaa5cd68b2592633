/**
 * DOC: ctnetlink messages: the kernel's connection tracking table
 * (linux/netfilter/nfnetlink_conntrack.h)
 *
 * A dump request, a total parser from dump answers and events straight into
 * an 88-byte record (conn-record.ts), and writers from a record back into
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
import {
  addressAt,
  ConnEntry,
  FAMILY_V6,
  isIcmp,
  NO_TCP_STATE,
  putU16,
  putU32,
  REC,
  REC_HAS_MARK,
  recU16,
  recU32,
  recordFromEntry,
  sameAddress,
} from './conn-record.js';
import { encodeMessage, NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST } from './netlink.js';

export { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, type ConnEntry, type Tuple } from './conn-record.js';

import {
  AF_INET,
  AF_INET6,
  CTA_IP_V4_DST,
  CTA_IP_V4_SRC,
  CTA_IP_V6_DST,
  CTA_IP_V6_SRC,
  CTA_MARK,
  CTA_NAT_DST,
  CTA_NAT_PROTO,
  CTA_NAT_SRC,
  CTA_NAT_V4_MAXIP,
  CTA_NAT_V6_MAXIP,
  CTA_NAT_V6_MINIP,
  CTA_NAT_V4_MINIP,
  CTA_PROTOINFO,
  CTA_PROTOINFO_TCP,
  CTA_PROTOINFO_TCP_FLAGS_ORIGINAL,
  CTA_PROTOINFO_TCP_FLAGS_REPLY,
  CTA_PROTOINFO_TCP_STATE,
  CTA_PROTONAT_PORT_MAX,
  CTA_PROTONAT_PORT_MIN,
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
  CT_REQUEST_MAX,
  IPCTNL_MSG_CT_DELETE,
  IPCTNL_MSG_CT_GET,
  IPCTNL_MSG_CT_NEW,
  IPS_ASSURED,
  IPS_CONFIRMED,
  IPS_SEEN_REPLY,
  IP_CT_TCP_FLAG_BE_LIBERAL,
  IP_CT_TCP_FLAG_CLOSE_INIT,
  IP_CT_TCP_FLAG_SACK_PERM,
  NFNL_SUBSYS_CTNETLINK,
  TCP_CONNTRACK_MAX,
  TCP_CONNTRACK_TIME_WAIT,
} from './ctnetlink-attrs.js';
export { NETLINK_NETFILTER, IPCTNL_MSG_CT_NEW, IPCTNL_MSG_CT_GET, IPCTNL_MSG_CT_DELETE, CONNTRACK_EVENT_GROUPS, CT_REQUEST_MAX } from './ctnetlink-attrs.js';
export { parseConntrackAt, parseConntrackInto, eachConntrack, parseConntrack } from './ctnetlink-parse.js';

const msgType = (msg: number) => (NFNL_SUBSYS_CTNETLINK << 8) | msg;

/** A dump of the whole table: family AF_UNSPEC, so IPv4 and IPv6 entries alike. */
export function dumpConntrack(seq: number): Uint8Array {
  return encodeMessage(msgType(IPCTNL_MSG_CT_GET), NLM_F_REQUEST | NLM_F_DUMP, seq, Uint8Array.of(0, 0, 0, 0));
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
  /** An address of the record (4 or 16 bytes at `at`), as it is: already in network order. */
  address(type: number, r: Uint8Array, at: number, size: number): void {
    this.v.setUint16(this.at, 4 + size, true);
    this.v.setUint16(this.at + 2, type, true);
    for (let i = 0; i < size; i++) this.b[this.at + 4 + i] = r[at + i]!;
    this.at += 4 + size;
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

/** A tuple: addresses from the record at srcAt/dstAt (the reply tuple may be an inverted one), ports or ICMP fields given. */
function writeTuple(o: Out, type: number, proto: number, r: Uint8Array, srcAt: number, dstAt: number, p1: number, p2: number, v6: boolean): void {
  const t = o.open();
  const ip = o.open();
  o.address(v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, r, srcAt, v6 ? 16 : 4);
  o.address(v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, r, dstAt, v6 ? 16 : 4);
  o.close(ip, CTA_TUPLE_IP);
  const pr = o.open();
  o.u8(CTA_PROTO_NUM, proto);
  if (isIcmp(proto)) {
    o.u16(v6 ? CTA_PROTO_ICMPV6_ID : CTA_PROTO_ICMP_ID, p1);
    o.u8(v6 ? CTA_PROTO_ICMPV6_TYPE : CTA_PROTO_ICMP_TYPE, p2 >>> 8);
    o.u8(v6 ? CTA_PROTO_ICMPV6_CODE : CTA_PROTO_ICMP_CODE, p2 & 0xff);
  } else {
    o.u16(CTA_PROTO_SRC_PORT, p1);
    o.u16(CTA_PROTO_DST_PORT, p2);
  }
  o.close(pr, CTA_TUPLE_PROTO);
  o.close(t, type);
}

function writeNat(o: Out, type: number, r: Uint8Array, addrAt: number, port: number, v6: boolean): void {
  const n = o.open();
  o.address(v6 ? CTA_NAT_V6_MINIP : CTA_NAT_V4_MINIP, r, addrAt, v6 ? 16 : 4);
  o.address(v6 ? CTA_NAT_V6_MAXIP : CTA_NAT_V4_MAXIP, r, addrAt, v6 ? 16 : 4);
  const p = o.open();
  o.u16(CTA_PROTONAT_PORT_MIN, port);
  o.u16(CTA_PROTONAT_PORT_MAX, port);
  o.close(p, CTA_NAT_PROTO);
  o.close(n, type);
}

export type CtWrite = 'create' | 'update' | 'delete';

/**
 * The translations a record's tuples imply, each handed to visit with the offset of the translated address in the
 * record: source NAT when the reply is not addressed to the original source, destination NAT when it does not come
 * from the original destination.
 */
function eachNat(r: Uint8Array, off: number, visit: (dnat: boolean, addrAt: number, port: number) => void): void {
  const oP1 = recU16(r, off + REC.origP1),
    oP2 = recU16(r, off + REC.origP2);
  const rP1 = recU16(r, off + REC.replyP1),
    rP2 = recU16(r, off + REC.replyP2);
  const toOrigSrc = sameAddress(r, off + REC.replyDst, off + REC.origSrc);
  const fromOrigDst = sameAddress(r, off + REC.replySrc, off + REC.origDst);
  if (isIcmp(r[off]!)) {
    if (!toOrigSrc || rP1 !== oP1) visit(false, off + REC.replyDst, rP1);
    if (!fromOrigDst) visit(true, off + REC.replySrc, 0);
    return;
  }
  if (!toOrigSrc || rP2 !== oP1) visit(false, off + REC.replyDst, rP2);
  if (!fromOrigDst || rP1 !== oP2) visit(true, off + REC.replySrc, rP1);
}

export function natOf(r: Uint8Array, off = 0): { snat?: { ip: string; port: number }; dnat?: { ip: string; port: number } } {
  const out: ReturnType<typeof natOf> = {};
  eachNat(r, off, (dnat, at, port) => (out[dnat ? 'dnat' : 'snat'] = { ip: addressAt(r, at, r[off + REC.family]!), port }));
  return out;
}

let cursor: Out | undefined;

let natRecord: Uint8Array | undefined;
let natV6 = false;
/** writeConntrack's visitor: one function for every request, writing through the shared cursor. */
const writeNatAttr = (dnat: boolean, at: number, port: number) => writeNat(cursor!, dnat ? CTA_NAT_DST : CTA_NAT_SRC, natRecord!, at, port, natV6);

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
  const v6 = r[roff + REC.family] === FAMILY_V6;
  buf[o.at] = v6 ? AF_INET6 : AF_INET;
  buf[o.at + 1] = 0;
  buf[o.at + 2] = 0;
  buf[o.at + 3] = 0;
  o.at += 4;
  const proto = r[roff]!;
  const oSrc = roff + REC.origSrc,
    oDst = roff + REC.origDst,
    oP1 = recU16(r, roff + REC.origP1),
    oP2 = recU16(r, roff + REC.origP2);
  writeTuple(o, CTA_TUPLE_ORIG, proto, r, oSrc, oDst, oP1, oP2, v6);
  let flags = NLM_F_REQUEST | (ack ? NLM_F_ACK : 0);
  let type = msgType(IPCTNL_MSG_CT_NEW);
  if (kind === 'delete') {
    type = msgType(IPCTNL_MSG_CT_DELETE);
  } else {
    if (kind === 'create') {
      flags |= NLM_F_CREATE | NLM_F_EXCL;
      // The reply tuple as if untranslated (ICMP: the echo reply's type); NAT setup rewrites it.
      const icmp = isIcmp(proto);
      writeTuple(o, CTA_TUPLE_REPLY, proto, r, oDst, oSrc, icmp ? oP1 : oP2, icmp ? recU16(r, roff + REC.replyP2) : oP1, v6);
      natRecord = r;
      natV6 = v6;
      eachNat(r, roff, writeNatAttr);
    }
    o.u32(CTA_STATUS, (recU32(r, roff + REC.status) & (IPS_SEEN_REPLY | IPS_ASSURED)) | IPS_CONFIRMED);
    o.u32(CTA_TIMEOUT, recU32(r, roff + REC.timeout) || 1);
    if (r[roff + 2]! & REC_HAS_MARK) o.u32(CTA_MARK, recU32(r, roff + REC.mark));
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
