/**
 * DOC: framing of the sync channel: length-prefixed messages in a byte stream
 *
 * Each message is
 *   u32 total length (of what follows) | u32 header length | header JSON | body
 * (big-endian). The header is a JSON object with a string `type`; the body,
 * possibly empty, is raw bytes (packed 88-byte conntrack records), so a table
 * of 100k entries costs neither a JSON encoding nor a parse. The decoder is
 * incremental (feed it any chunking of the stream, in linear time: chunks are
 * joined only once a whole message is there) and total: a length over the
 * limit, a header that is not a JSON message, is an error with a reason,
 * never a throw.
 */

export const MAX_MESSAGE = 8 * 1024 * 1024;

export type SyncMessage = { type: string; body?: Uint8Array } & Record<string, unknown>;

const encoder = new TextEncoder();

export function encodeSyncMessage(m: SyncMessage): Uint8Array {
  const { body, ...header } = m;
  const head = encoder.encode(JSON.stringify(header));
  const bodyLen = body?.length ?? 0;
  const total = 4 + head.length + bodyLen;
  if (total > MAX_MESSAGE) throw new Error(`sync message ${m.type} is ${total} bytes, over the ${MAX_MESSAGE} limit`);
  const out = new Uint8Array(4 + total);
  const view = new DataView(out.buffer);
  view.setUint32(0, total);
  view.setUint32(4, head.length);
  out.set(head, 8);
  if (body) out.set(body, 8 + head.length);
  return out;
}

export type FeedResult = { ok: true; messages: SyncMessage[] } | { ok: false; reason: 'too_long' | 'bad_header' | 'not_json' | 'not_a_message' };

export class SyncDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private readonly text = new TextDecoder('utf-8', { fatal: true });

  feed(chunk: Uint8Array): FeedResult {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const messages: SyncMessage[] = [];
    while (this.buffered >= 4) {
      const len = this.peekLength();
      if (len > MAX_MESSAGE) return { ok: false, reason: 'too_long' };
      if (this.buffered < 4 + len) break;
      const whole = this.take(4 + len);
      const m = this.parse(whole);
      if (!m.ok) return m;
      messages.push(m.message);
    }
    return { ok: true, messages };
  }

  private peekLength(): number {
    const b = this.chunks[0]!.length >= 4 ? this.chunks[0]! : this.join(4);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }

  /** The first n buffered bytes as one array (without consuming them). */
  private join(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.chunks) {
      if (at >= n) break;
      const part = c.subarray(0, n - at);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    let out: Uint8Array;
    if (first.length >= n) {
      out = first.subarray(0, n);
    } else {
      out = this.join(n);
    }
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    return out;
  }

  private parse(whole: Uint8Array): { ok: true; message: SyncMessage } | { ok: false; reason: 'bad_header' | 'not_json' | 'not_a_message' } {
    if (whole.length < 8) return { ok: false, reason: 'bad_header' };
    const headLen = ((whole[4]! << 24) | (whole[5]! << 16) | (whole[6]! << 8) | whole[7]!) >>> 0;
    if (8 + headLen > whole.length) return { ok: false, reason: 'bad_header' };
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.text.decode(whole.subarray(8, 8 + headLen)));
    } catch {
      return { ok: false, reason: 'not_json' };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as { type?: unknown }).type !== 'string') {
      return { ok: false, reason: 'not_a_message' };
    }
    const m = parsed as SyncMessage;
    delete m.body; // only the frame's own body is a body
    // Copied: the chunk it came in belongs to the socket's stream.
    if (whole.length > 8 + headLen) m.body = whole.slice(8 + headLen);
    return { ok: true, message: m };
  }
}
