/**
 * DOC: a tracked connection as a fixed 88-byte record, IPv4 or IPv6
 *
 * The sync channel moves whole conntrack tables (100k entries in well under
 * a second), so an entry travels, and is kept in both nodes' tables, as one
 * fixed binary record rather than an object: parsed once from ctnetlink,
 * copied as bytes, encoded straight back into ctnetlink on the standby.
 * Layout (big-endian, docs/wire-format.md "Sync channel"):
 *
 *   0 proto  1 tcp state (0xff: none)  2 flags (1 destroyed, 2 has mark)  3 family (4 or 6)
 *   4 orig src (16)  20 orig dst (16)  36 orig sport|icmp id  38 orig dport|icmp type<<8|code
 *  40 reply src (16) 56 reply dst (16) 72 reply sport|id      74 reply dport|type<<8|code
 *  76 status   80 timeout (s)   84 mark
 *
 * An IPv4 address takes the first 4 bytes of its 16 (the rest zero). One
 * size for both families keeps one table, one stream and one writer; an IPv4
 * table of 100k entries takes 8.8 MB instead of the 4 MB a 40-byte record
 * did (measured by bench/sync, docs/benchmarks.md).
 *
 * The key of an entry is its protocol, family and original tuple: the kernel
 * looks entries up by that tuple too. An IPv4 key holds only the IPv4 bytes
 * (13 characters), an IPv6 key all of them (38): the two never collide.
 */
import { formatIpv4, parseIpv4 } from './ipv4.js';
import { formatIpv6, parseIpv6 } from './ipv6.js';

export const RECORD_BYTES = 88;
/** Where each field starts (orig tuple, reply tuple, then the rest). */
export const REC = {
  family: 3,
  origSrc: 4,
  origDst: 20,
  origP1: 36,
  origP2: 38,
  replySrc: 40,
  replyDst: 56,
  replyP1: 72,
  replyP2: 74,
  status: 76,
  timeout: 80,
  mark: 84,
} as const;
/** A tuple's layout from its start: src, dst, then the two ports (or ICMP id and type/code). */
const T_DST = 16;
const T_P1 = 32;
const T_P2 = 34;
export const FAMILY_V4 = 4;
export const FAMILY_V6 = 6;
export const REC_DESTROYED = 1;
export const REC_HAS_MARK = 2;
export const NO_TCP_STATE = 0xff;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

/** ICMP of either family: its tuple has an id and a type/code instead of ports. */
export const isIcmp = (proto: number) => proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6;

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

/** The readable form of a record (tests, status, the CLI). */
export interface ConnEntry {
  orig: Tuple;
  reply: Tuple;
  status: number;
  /** Seconds left. */
  timeout?: number;
  mark?: number;
  /** TCP conntrack state (TCP_CONNTRACK_*: 3 = ESTABLISHED). */
  tcpState?: number;
  /** A destroy event (or a deletion in a sync update). */
  destroyed: boolean;
}

const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;

export function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export function putU16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export const recU32 = u32;
export const recU16 = u16;

/** The lookup key: protocol + original tuple, as a short string (13 characters for IPv4, 38 for IPv6). */
export function recordKey(r: Uint8Array, off = 0): string {
  if (r[off + REC.family] !== FAMILY_V6) {
    return String.fromCharCode(
      r[off]!,
      r[off + 4]!,
      r[off + 5]!,
      r[off + 6]!,
      r[off + 7]!,
      r[off + 20]!,
      r[off + 21]!,
      r[off + 22]!,
      r[off + 23]!,
      r[off + 36]!,
      r[off + 37]!,
      r[off + 38]!,
      r[off + 39]!,
    );
  }
  let k = String.fromCharCode(r[off]!, FAMILY_V6);
  for (let i = 4; i < 40; i += 4) k += String.fromCharCode(r[off + i]!, r[off + i + 1]!, r[off + i + 2]!, r[off + i + 3]!);
  return k;
}

const V4_KEY_BYTES = [4, 5, 6, 7, 20, 21, 22, 23, 36, 37, 38, 39];

/** A 32-bit FNV-1a hash of the key's bytes: the tables' order-free digest is the XOR of these. */
export function keyHash(r: Uint8Array, off = 0): number {
  let h = Math.imul(0x811c9dc5 ^ r[off]!, 0x01000193);
  if (r[off + REC.family] !== FAMILY_V6) {
    for (const i of V4_KEY_BYTES) h = Math.imul(h ^ r[off + i]!, 0x01000193);
  } else {
    for (let i = 4; i < 40; i++) h = Math.imul(h ^ r[off + i]!, 0x01000193);
  }
  return h >>> 0;
}

/** An address of the record at `at` as text, by the record's family. */
export function addressAt(r: Uint8Array, at: number, family: number): string {
  return family === FAMILY_V6 ? formatIpv6(r.subarray(at, at + 16)) : formatIpv4(u32(r, at));
}

/** Whether the addresses at `a` and `b` of the record are the same (16 bytes: IPv4 ones are zero-padded). */
export function sameAddress(r: Uint8Array, a: number, b: number): boolean {
  for (let i = 0; i < 16; i++) if (r[a + i] !== r[b + i]) return false;
  return true;
}

function putAddress(r: Uint8Array, at: number, text: string, family: number): void {
  if (family === FAMILY_V6) {
    const a = parseIpv6(text);
    if (a === undefined) throw new Error(`not an IPv6 address: ${text}`);
    r.set(a, at);
  } else {
    const a = parseIpv4(text);
    if (a === undefined) throw new Error(`not an IPv4 address: ${text}`);
    putU32(r, at, a);
  }
}

function putTuple(r: Uint8Array, at: number, t: Tuple, family: number): void {
  putAddress(r, at, t.src, family);
  putAddress(r, at + T_DST, t.dst, family);
  if (isIcmp(t.proto)) {
    putU16(r, at + T_P1, t.icmpId ?? 0);
    putU16(r, at + T_P2, ((t.icmpType ?? 0) << 8) | (t.icmpCode ?? 0));
  } else {
    putU16(r, at + T_P1, t.sport ?? 0);
    putU16(r, at + T_P2, t.dport ?? 0);
  }
}

export function recordFromEntry(e: Omit<ConnEntry, 'destroyed'> & { destroyed?: boolean }): Uint8Array {
  const r = new Uint8Array(RECORD_BYTES);
  const family = e.orig.src.includes(':') ? FAMILY_V6 : FAMILY_V4;
  r[0] = e.orig.proto;
  r[1] = e.tcpState ?? NO_TCP_STATE;
  r[2] = (e.destroyed ? REC_DESTROYED : 0) | (e.mark !== undefined ? REC_HAS_MARK : 0);
  r[REC.family] = family;
  putTuple(r, REC.origSrc, e.orig, family);
  putTuple(r, REC.replySrc, e.reply, family);
  putU32(r, REC.status, e.status >>> 0);
  putU32(r, REC.timeout, e.timeout ?? 0);
  putU32(r, REC.mark, e.mark ?? 0);
  return r;
}

function tupleAt(r: Uint8Array, at: number, proto: number, family: number): Tuple {
  const t: Tuple = { src: addressAt(r, at, family), dst: addressAt(r, at + T_DST, family), proto };
  if (isIcmp(proto)) {
    t.icmpId = u16(r, at + T_P1);
    t.icmpType = r[at + T_P2]!;
    t.icmpCode = r[at + T_P2 + 1]!;
  } else {
    t.sport = u16(r, at + T_P1);
    t.dport = u16(r, at + T_P2);
  }
  return t;
}

export function entryFromRecord(r: Uint8Array, off = 0): ConnEntry {
  const rec = r.subarray(off, off + RECORD_BYTES);
  const proto = rec[0]!;
  const family = rec[REC.family]!;
  const e: ConnEntry = {
    orig: tupleAt(rec, REC.origSrc, proto, family),
    reply: tupleAt(rec, REC.replySrc, proto, family),
    status: u32(rec, REC.status),
    destroyed: (rec[2]! & REC_DESTROYED) !== 0,
  };
  e.timeout = u32(rec, REC.timeout);
  if (rec[2]! & REC_HAS_MARK) e.mark = u32(rec, REC.mark);
  if (rec[1] !== NO_TCP_STATE) e.tcpState = rec[1]!;
  return e;
}

/** One line for logs and the CLI, in the kernel's own /proc order. */
export function describeRecord(r: Uint8Array, off = 0): string {
  const e = entryFromRecord(r, off);
  const ports = (t: Tuple) => (t.sport !== undefined ? ` sport=${t.sport} dport=${t.dport}` : ` id=${t.icmpId}`);
  return `proto=${e.orig.proto} src=${e.orig.src} dst=${e.orig.dst}${ports(e.orig)} reply src=${e.reply.src} dst=${e.reply.dst}${ports(e.reply)}`;
}
