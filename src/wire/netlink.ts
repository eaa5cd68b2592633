/**
 * DOC: netlink message framing (RFC 3549): headers, attributes, acks
 *
 * Pure byte work for rtnetlink.ts and (later) ctnetlink: build a message
 * from a fixed header and attributes, split a datagram into messages, read
 * attributes, and decode NLMSG_ERROR into an errno and the kernel's extended
 * ack text. Headers and attribute headers are in host byte order
 * (little-endian on every platform tandem targets). The parsers are total:
 * malformed input yields a typed error, never a throw.
 */

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** In an NLMSG_ERROR: extended-ack attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;

export const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

export const HEADER = 16;

const align4 = (n: number) => (n + 3) & ~3;

export type Attr = { type: number; value: Uint8Array | Attr[] };

export function attrU32(type: number, v: number): Attr {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return { type, value: b };
}

export function attrU8(type: number, v: number): Attr {
  return { type, value: Uint8Array.of(v & 0xff) };
}

export function attrString(type: number, s: string): Attr {
  const enc = new TextEncoder().encode(s);
  const b = new Uint8Array(enc.length + 1);
  b.set(enc);
  return { type, value: b };
}

export function attrBytes(type: number, b: Uint8Array): Attr {
  return { type, value: b };
}

export function attrNested(type: number, children: Attr[]): Attr {
  return { type: type | NLA_F_NESTED, value: children };
}

function attrSize(a: Attr): number {
  return 4 + (Array.isArray(a.value) ? a.value.reduce((n, c) => n + align4(attrSize(c)), 0) : a.value.length);
}

function writeAttrs(buf: Uint8Array, view: DataView, at: number, attrs: Attr[]): number {
  for (const a of attrs) {
    const size = attrSize(a);
    view.setUint16(at, size, true);
    view.setUint16(at + 2, a.type, true);
    if (Array.isArray(a.value)) writeAttrs(buf, view, at + 4, a.value);
    else buf.set(a.value, at + 4);
    at += align4(size);
  }
  return at;
}

/** One netlink message: header, the family's fixed header, attributes. */
export function encodeMessage(type: number, flags: number, seq: number, fixed: Uint8Array, attrs: Attr[] = []): Uint8Array {
  const len = HEADER + align4(fixed.length) + attrs.reduce((n, a) => n + align4(attrSize(a)), 0);
  const buf = new Uint8Array(len);
  const view = new DataView(buf.buffer);
  view.setUint32(0, len, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq >>> 0, true);
  view.setUint32(12, 0, true);
  buf.set(fixed, HEADER);
  writeAttrs(buf, view, HEADER + align4(fixed.length), attrs);
  return buf;
}

export interface Message {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The payload after the netlink header (fixed header + attributes). */
  body: Uint8Array;
}

export type SplitResult = { ok: true; messages: Message[] } | { ok: false; reason: 'truncated' | 'bad_length' };

/** Splits one received datagram into its messages. */
export function splitMessages(buf: Uint8Array): SplitResult {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const messages: Message[] = [];
  let at = 0;
  while (at + HEADER <= buf.length) {
    const len = view.getUint32(at, true);
    if (len < HEADER) return { ok: false, reason: 'bad_length' };
    if (at + len > buf.length) return { ok: false, reason: 'truncated' };
    messages.push({
      type: view.getUint16(at + 4, true),
      flags: view.getUint16(at + 6, true),
      seq: view.getUint32(at + 8, true),
      pid: view.getUint32(at + 12, true),
      body: buf.subarray(at + HEADER, at + len),
    });
    at += align4(len);
  }
  return { ok: true, messages };
}

/** Attributes of a region (top level, or inside a nested attribute); stops at the first malformed one. */
export function parseAttrs(buf: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at + 4 <= buf.length) {
    const len = view.getUint16(at, true);
    if (len < 4 || at + len > buf.length) break;
    out.set(view.getUint16(at + 2, true) & NLA_TYPE_MASK, buf.subarray(at + 4, at + len));
    at += align4(len);
  }
  return out;
}

export function readU32(b: Uint8Array | undefined): number | undefined {
  return b && b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : undefined;
}

export function readString(b: Uint8Array | undefined): string | undefined {
  if (!b) return undefined;
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}

/** An NLMSG_ERROR: errno 0 is an ack; otherwise the kernel's errno and, if sent, its own words. */
export function decodeError(m: Message): { errno: number; message?: string } | undefined {
  if (m.type !== NLMSG_ERROR || m.body.length < 4) return undefined;
  const view = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const errno = -view.getInt32(0, true) || 0; // no -0 for an ack
  const out: { errno: number; message?: string } = { errno };
  if (m.flags & NLM_F_ACK_TLVS && m.body.length >= 4 + HEADER) {
    // The original request's header follows (its payload too unless capped); then the TLVs.
    const origLen = view.getUint32(4, true);
    const capped = (m.flags & 0x100) !== 0; // NLM_F_CAPPED
    const tlvAt = 4 + (capped ? HEADER : align4(origLen));
    const text = readString(parseAttrs(m.body.subarray(tlvAt)).get(NLMSGERR_ATTR_MSG));
    if (text) out.message = text;
  }
  return out;
}
