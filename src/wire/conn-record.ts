/**
 * DOC: a tracked connection as a fixed 40-byte record
 *
 * The sync channel moves whole conntrack tables (100k entries in well under
 * a second), so an entry travels, and is kept in both nodes' tables, as one
 * fixed binary record rather than an object: parsed once from ctnetlink,
 * copied as bytes, encoded straight back into ctnetlink on the standby.
 * Layout (big-endian, docs/wire-format.md "Sync channel"):
 *
 *   0 proto  1 tcp state (0xff: none)  2 flags (1 destroyed, 2 has mark)  3 zero
 *   4 orig src  8 orig dst  12 orig sport|icmp id  14 orig dport|icmp type<<8|code
 *  16 reply src 20 reply dst 24 reply sport|id    26 reply dport|type<<8|code
 *  28 status   32 timeout (s)   36 mark
 *
 * The key of an entry is its protocol and original tuple (bytes 0 and 4..15):
 * the kernel looks entries up by that tuple too.
 */
import { formatIpv4, parseIpv4 } from './ipv4.js';

export const RECORD_BYTES = 40;
export const REC_DESTROYED = 1;
export const REC_HAS_MARK = 2;
export const NO_TCP_STATE = 0xff;

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

/** The lookup key: protocol + original tuple, as a short string. */
export function recordKey(r: Uint8Array, off = 0): string {
  return String.fromCharCode(
    r[off]!,
    r[off + 4]!,
    r[off + 5]!,
    r[off + 6]!,
    r[off + 7]!,
    r[off + 8]!,
    r[off + 9]!,
    r[off + 10]!,
    r[off + 11]!,
    r[off + 12]!,
    r[off + 13]!,
    r[off + 14]!,
    r[off + 15]!,
  );
}

/** A 32-bit FNV-1a hash of the key: the tables' order-free digest is the XOR of these. */
export function keyHash(r: Uint8Array, off = 0): number {
  let h = Math.imul(0x811c9dc5 ^ r[off]!, 0x01000193);
  for (let i = 4; i < 16; i++) h = Math.imul(h ^ r[off + i]!, 0x01000193);
  return h >>> 0;
}

function putTuple(r: Uint8Array, at: number, t: Tuple): void {
  const src = parseIpv4(t.src);
  const dst = parseIpv4(t.dst);
  if (src === undefined || dst === undefined) throw new Error(`not IPv4 addresses: ${t.src} ${t.dst}`);
  putU32(r, at, src);
  putU32(r, at + 4, dst);
  if (t.proto === IPPROTO_ICMP) {
    putU16(r, at + 8, t.icmpId ?? 0);
    putU16(r, at + 10, ((t.icmpType ?? 0) << 8) | (t.icmpCode ?? 0));
  } else {
    putU16(r, at + 8, t.sport ?? 0);
    putU16(r, at + 10, t.dport ?? 0);
  }
}

export function recordFromEntry(e: Omit<ConnEntry, 'destroyed'> & { destroyed?: boolean }): Uint8Array {
  const r = new Uint8Array(RECORD_BYTES);
  r[0] = e.orig.proto;
  r[1] = e.tcpState ?? NO_TCP_STATE;
  r[2] = (e.destroyed ? REC_DESTROYED : 0) | (e.mark !== undefined ? REC_HAS_MARK : 0);
  putTuple(r, 4, e.orig);
  putTuple(r, 16, e.reply);
  putU32(r, 28, e.status >>> 0);
  putU32(r, 32, e.timeout ?? 0);
  putU32(r, 36, e.mark ?? 0);
  return r;
}

function tupleAt(r: Uint8Array, at: number, proto: number): Tuple {
  const t: Tuple = { src: formatIpv4(u32(r, at)), dst: formatIpv4(u32(r, at + 4)), proto };
  if (proto === IPPROTO_ICMP) {
    t.icmpId = u16(r, at + 8);
    t.icmpType = r[at + 10]!;
    t.icmpCode = r[at + 11]!;
  } else {
    t.sport = u16(r, at + 8);
    t.dport = u16(r, at + 10);
  }
  return t;
}

export function entryFromRecord(r: Uint8Array, off = 0): ConnEntry {
  const rec = r.subarray(off, off + RECORD_BYTES);
  const proto = rec[0]!;
  const e: ConnEntry = { orig: tupleAt(rec, 4, proto), reply: tupleAt(rec, 16, proto), status: u32(rec, 28), destroyed: (rec[2]! & REC_DESTROYED) !== 0 };
  e.timeout = u32(rec, 32);
  if (rec[2]! & REC_HAS_MARK) e.mark = u32(rec, 36);
  if (rec[1] !== NO_TCP_STATE) e.tcpState = rec[1]!;
  return e;
}

/** One line for logs and the CLI, in the kernel's own /proc order. */
export function describeRecord(r: Uint8Array, off = 0): string {
  const e = entryFromRecord(r, off);
  const ports = (t: Tuple) => (t.sport !== undefined ? ` sport=${t.sport} dport=${t.dport}` : ` id=${t.icmpId}`);
  return `proto=${e.orig.proto} src=${e.orig.src} dst=${e.orig.dst}${ports(e.orig)} reply src=${e.reply.src} dst=${e.reply.dst}${ports(e.reply)}`;
}
