import test from 'ava';
import fc from 'fast-check';
import { encodeSyncMessage, MAX_MESSAGE, SyncDecoder } from '../../src/wire/sync-frame.js';

test('messages survive any chunking of the stream', (t) => {
  fc.assert(
    fc.property(fc.array(fc.record({ type: fc.string({ minLength: 1, maxLength: 8 }), n: fc.integer(), s: fc.string() }), { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 17 }), (msgs, step) => {
      const stream = Buffer.concat(msgs.map((m) => Buffer.from(encodeSyncMessage(m))));
      const d = new SyncDecoder();
      const out: unknown[] = [];
      for (let i = 0; i < stream.length; i += step) {
        const r = d.feed(stream.subarray(i, i + step));
        if (!r.ok) return false;
        out.push(...r.messages);
      }
      return JSON.stringify(out) === JSON.stringify(msgs);
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('garbage gives a reason, never a throw', (t) => {
  const tooLong = new Uint8Array(4);
  new DataView(tooLong.buffer).setUint32(0, MAX_MESSAGE + 1);
  t.deepEqual(new SyncDecoder().feed(tooLong), { ok: false, reason: 'too_long' });
  const notJson = Uint8Array.of(0, 0, 0, 2, 0x7b, 0x7b);
  t.deepEqual(new SyncDecoder().feed(notJson), { ok: false, reason: 'not_json' });
  const noType = Buffer.concat([Buffer.of(0, 0, 0, 2), Buffer.from('{}')]);
  t.deepEqual(new SyncDecoder().feed(noType), { ok: false, reason: 'not_a_message' });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => (new SyncDecoder().feed(b), true)), { numRuns: 3000 });
});
