/**
 * DOC: ctnetlink messages: the kernel's connection tracking table
 * (linux/netfilter/nfnetlink_conntrack.h)
 *
 * Builders for a table dump and for creating an entry (the standby writes
 * the entries it receives), and a total parser for entries from dumps and
 * event groups. Values inside ctnetlink attributes are in network byte
 * order; the attribute headers, like every netlink header, in host order.
 * Pure; the socket is src/io/netlink-socket.ts (NETLINK_NETFILTER).
 */
import { formatIpv4, parseIpv4 } from './ipv4.js';
import {
  attrBytes,
  attrNested,
  encodeMessage,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  parseAttrs,
  type Attr,
  type Message,
} from './netlink.js';

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
const CTA_TIMEOUT = 7;
const CTA_MARK = 8;
const CTA_ID = 12;
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

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export interface Tuple {
  src: string;
  dst: string;
  proto: number;
  sport?: number;
  dport?: number;
  icmpId?: number;
  icmpType?: number;
  icmpCode?: number;
}

export interface ConnEntry {
  orig: Tuple;
  reply: Tuple;
  status: number;
  /** Seconds left. */
  timeout?: number;
  mark?: number;
  id?: number;
  /** TCP conntrack state (TCP_CONNTRACK_*: 3 = ESTABLISHED). */
  tcpState?: number;
  /** Which event: new/update (IPCTNL_MSG_CT_NEW) or destroy. */
  destroyed: boolean;
}

const msgType = (msg: number) => (NFNL_SUBSYS_CTNETLINK << 8) | msg;

function nfgenmsg(): Uint8Array {
  return Uint8Array.of(AF_INET, 0, 0, 0);
}

function be16(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}

function be32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function dumpConntrack(seq: number): Uint8Array {
  return encodeMessage(msgType(IPCTNL_MSG_CT_GET), NLM_F_REQUEST | NLM_F_DUMP, seq, nfgenmsg());
}

function tupleAttrs(type: number, t: Tuple): Attr {
  const src = parseIpv4(t.src);
  const dst = parseIpv4(t.dst);
  if (src === undefined || dst === undefined) throw new Error(`not IPv4 addresses: ${t.src} ${t.dst}`);
  const proto: Attr[] = [{ type: CTA_PROTO_NUM, value: Uint8Array.of(t.proto) }];
  if (t.sport !== undefined) proto.push(attrBytes(CTA_PROTO_SRC_PORT, be16(t.sport)));
  if (t.dport !== undefined) proto.push(attrBytes(CTA_PROTO_DST_PORT, be16(t.dport)));
  if (t.icmpId !== undefined) proto.push(attrBytes(CTA_PROTO_ICMP_ID, be16(t.icmpId)));
  if (t.icmpType !== undefined) proto.push({ type: CTA_PROTO_ICMP_TYPE, value: Uint8Array.of(t.icmpType) });
  if (t.icmpCode !== undefined) proto.push({ type: CTA_PROTO_ICMP_CODE, value: Uint8Array.of(t.icmpCode) });
  return attrNested(type, [attrNested(CTA_TUPLE_IP, [attrBytes(CTA_IP_V4_SRC, be32(src)), attrBytes(CTA_IP_V4_DST, be32(dst))]), attrNested(CTA_TUPLE_PROTO, proto)]);
}

/** IPS_CONFIRMED: an entry created through ctnetlink is confirmed at once, and the kernel refuses (EBUSY) a status that says otherwise. */
const IPS_CONFIRMED = 1 << 3;

/** Creates an entry (fails with EEXIST if the kernel has it). NAT entries (reply not the inverse of orig) need NAT attributes: not yet. */
export function newConntrack(seq: number, e: Omit<ConnEntry, 'destroyed' | 'id'>): Uint8Array {
  const attrs: Attr[] = [tupleAttrs(CTA_TUPLE_ORIG, e.orig), tupleAttrs(CTA_TUPLE_REPLY, e.reply), attrBytes(CTA_STATUS, be32((e.status | IPS_CONFIRMED) >>> 0))];
  attrs.push(attrBytes(CTA_TIMEOUT, be32(e.timeout ?? 120)));
  if (e.mark !== undefined) attrs.push(attrBytes(CTA_MARK, be32(e.mark)));
  if (e.tcpState !== undefined) {
    attrs.push(attrNested(CTA_PROTOINFO, [attrNested(CTA_PROTOINFO_TCP, [{ type: CTA_PROTOINFO_TCP_STATE, value: Uint8Array.of(e.tcpState) }])]));
  }
  return encodeMessage(msgType(IPCTNL_MSG_CT_NEW), NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, nfgenmsg(), attrs);
}

const u8 = (b: Uint8Array | undefined) => (b && b.length >= 1 ? b[0] : undefined);
const u16be = (b: Uint8Array | undefined) => (b && b.length >= 2 ? (b[0]! << 8) | b[1]! : undefined);
const u32be = (b: Uint8Array | undefined) => (b && b.length >= 4 ? ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 : undefined);

function parseTuple(b: Uint8Array | undefined): Tuple | undefined {
  if (!b) return undefined;
  const t = parseAttrs(b);
  const ip = t.get(CTA_TUPLE_IP);
  const proto = t.get(CTA_TUPLE_PROTO);
  if (!ip || !proto) return undefined;
  const ips = parseAttrs(ip);
  const src = u32be(ips.get(CTA_IP_V4_SRC));
  const dst = u32be(ips.get(CTA_IP_V4_DST));
  const p = parseAttrs(proto);
  const num = u8(p.get(CTA_PROTO_NUM));
  if (src === undefined || dst === undefined || num === undefined) return undefined;
  const out: Tuple = { src: formatIpv4(src), dst: formatIpv4(dst), proto: num };
  const fields: [keyof Tuple, number | undefined][] = [
    ['sport', u16be(p.get(CTA_PROTO_SRC_PORT))],
    ['dport', u16be(p.get(CTA_PROTO_DST_PORT))],
    ['icmpId', u16be(p.get(CTA_PROTO_ICMP_ID))],
    ['icmpType', u8(p.get(CTA_PROTO_ICMP_TYPE))],
    ['icmpCode', u8(p.get(CTA_PROTO_ICMP_CODE))],
  ];
  for (const [k, v] of fields) if (v !== undefined) (out as unknown as Record<string, number>)[k] = v;
  return out;
}

/** An IPv4 entry from a dump answer or an event; undefined for anything else or anything malformed. */
export function parseConntrack(m: Message): ConnEntry | undefined {
  const sub = m.type >> 8;
  const msg = m.type & 0xff;
  if (sub !== NFNL_SUBSYS_CTNETLINK || (msg !== IPCTNL_MSG_CT_NEW && msg !== IPCTNL_MSG_CT_DELETE) || m.body.length < 4) return undefined;
  if (m.body[0] !== AF_INET) return undefined;
  const a = parseAttrs(m.body.subarray(4));
  const orig = parseTuple(a.get(CTA_TUPLE_ORIG));
  const reply = parseTuple(a.get(CTA_TUPLE_REPLY));
  const status = u32be(a.get(CTA_STATUS));
  if (!orig || !reply) return undefined;
  const e: ConnEntry = { orig, reply, status: status ?? 0, destroyed: msg === IPCTNL_MSG_CT_DELETE };
  const timeout = u32be(a.get(CTA_TIMEOUT));
  if (timeout !== undefined) e.timeout = timeout;
  const mark = u32be(a.get(CTA_MARK));
  if (mark !== undefined) e.mark = mark;
  const id = u32be(a.get(CTA_ID));
  if (id !== undefined) e.id = id;
  const protoinfo = a.get(CTA_PROTOINFO);
  if (protoinfo) {
    const tcp = parseAttrs(protoinfo).get(CTA_PROTOINFO_TCP);
    const state = tcp ? u8(parseAttrs(tcp).get(CTA_PROTOINFO_TCP_STATE)) : undefined;
    if (state !== undefined) e.tcpState = state;
  }
  return e;
}
