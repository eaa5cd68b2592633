/**
 * DOC: framing of the sync channel: length-prefixed messages in a byte stream
 *
 * Each message is a 4-byte big-endian length and that many bytes of JSON
 * (the protocol's messages are small, and the bulk conntrack payloads will
 * get a binary body of their own). The decoder is incremental (feed it any
 * chunking of the stream) and total: a length over the limit or a body that
 * is not a JSON object is an error with a reason, never a throw.
 */

export const MAX_MESSAGE = 4 * 1024 * 1024;

export type SyncMessage = { type: string } & Record<string, unknown>;

export function encodeSyncMessage(m: SyncMessage): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(m));
  if (body.length > MAX_MESSAGE) throw new Error(`sync message ${m.type} is ${body.length} bytes, over the ${MAX_MESSAGE} limit`);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

export type FeedResult = { ok: true; messages: SyncMessage[] } | { ok: false; reason: 'too_long' | 'not_json' | 'not_a_message' };

export class SyncDecoder {
  private buf = new Uint8Array(0);
  private readonly text = new TextDecoder('utf-8', { fatal: true });

  feed(chunk: Uint8Array): FeedResult {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const messages: SyncMessage[] = [];
    let at = 0;
    const view = new DataView(joined.buffer);
    while (joined.length - at >= 4) {
      const len = view.getUint32(at);
      if (len > MAX_MESSAGE) return { ok: false, reason: 'too_long' };
      if (joined.length - at - 4 < len) break;
      let parsed: unknown;
      try {
        parsed = JSON.parse(this.text.decode(joined.subarray(at + 4, at + 4 + len)));
      } catch {
        return { ok: false, reason: 'not_json' };
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as { type?: unknown }).type !== 'string') {
        return { ok: false, reason: 'not_a_message' };
      }
      messages.push(parsed as SyncMessage);
      at += 4 + len;
    }
    this.buf = joined.slice(at);
    return { ok: true, messages };
  }
}
