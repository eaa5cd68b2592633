import test from 'ava';
import fc from 'fast-check';
import { encodeSyncMessage, MAX_MESSAGE, SyncDecoder, type SyncMessage } from '../../src/wire/sync-frame.js';

const message = fc.record(
  {
    type: fc.string({ minLength: 1, maxLength: 8 }),
    n: fc.integer(),
    s: fc.string(),
    body: fc.option(fc.uint8Array({ minLength: 1, maxLength: 300 }), { nil: undefined }),
  },
  { requiredKeys: ['type', 'n', 's'] },
);

test('messages and their binary bodies survive any chunking of the stream', (t) => {
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 17 }), (msgs, step) => {
      const stream = Buffer.concat(msgs.map((m) => Buffer.from(encodeSyncMessage(m as SyncMessage))));
      const d = new SyncDecoder();
      const out: SyncMessage[] = [];
      for (let i = 0; i < stream.length; i += step) {
        const r = d.feed(stream.subarray(i, i + step));
        if (!r.ok) return false;
        out.push(...r.messages);
      }
      const norm = (m: Record<string, unknown>) => ({ ...m, body: m['body'] ? [...(m['body'] as Uint8Array)] : undefined });
      return JSON.stringify(out.map(norm)) === JSON.stringify(msgs.map(norm));
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('a large message in many small chunks decodes in linear time', (t) => {
  const body = new Uint8Array(4 * 1024 * 1024).map((_, i) => i & 0xff);
  const wire = encodeSyncMessage({ type: 'snapshot-chunk', body });
  const d = new SyncDecoder();
  const t0 = process.hrtime.bigint();
  let got: SyncMessage[] = [];
  for (let i = 0; i < wire.length; i += 1460) {
    const r = d.feed(wire.subarray(i, i + 1460));
    if (!r.ok) return t.fail(r.reason);
    got = got.concat(r.messages);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  t.is(got.length, 1);
  t.is(Buffer.compare(got[0]!.body!, body), 0);
  // Re-joining the buffer on every chunk would copy ~6 GB here; linear is a few ms. Generous for a loaded machine.
  t.true(ms < 2000, `${ms} ms`);
});

test('garbage gives a reason, never a throw (random and mutated frames)', (t) => {
  const tooLong = new Uint8Array(4);
  new DataView(tooLong.buffer).setUint32(0, MAX_MESSAGE + 1);
  t.deepEqual(new SyncDecoder().feed(tooLong), { ok: false, reason: 'too_long' });
  t.deepEqual(new SyncDecoder().feed(Uint8Array.of(0, 0, 0, 6, 0, 0, 0, 9, 0x7b, 0x7d)), { ok: false, reason: 'bad_header' });
  t.deepEqual(new SyncDecoder().feed(Uint8Array.of(0, 0, 0, 6, 0, 0, 0, 2, 0x7b, 0x7b)), { ok: false, reason: 'not_json' });
  t.deepEqual(new SyncDecoder().feed(Buffer.concat([Buffer.of(0, 0, 0, 6, 0, 0, 0, 2), Buffer.from('{}')])), { ok: false, reason: 'not_a_message' });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => (new SyncDecoder().feed(b), true)),
    { numRuns: 3000 },
  );
  const good = encodeSyncMessage({ type: 'update', seq: 5, provider: 'conntrack', body: new Uint8Array(80).fill(7) });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (flips) => {
      const m = good.slice();
      for (const [at, v] of flips) m[at] = v;
      const r = new SyncDecoder().feed(m);
      return r.ok || typeof r.reason === 'string';
    }),
    { numRuns: 3000 },
  );
});
