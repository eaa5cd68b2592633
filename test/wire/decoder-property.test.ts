import test from 'ava';
import fc from 'fast-check';
import { encodeHeartbeat, FRAME_LENGTH, PAYLOAD_OFFSET } from '../../src/wire/heartbeat-frame.js';
import { ReplayMemory, verifyHeartbeat, REJECTION_REASONS } from '../../src/wire/heartbeat-verify.js';
import { auth, CLUSTER, fields, link } from '../helpers/frames.js';

const ctx = { clusterId: CLUSTER, auth, selfNodeId: 2, nn: 9, isSync: false };

test('random bytes never crash the decoder and always get a known reason', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (bytes) => {
      const r = verifyHeartbeat(bytes, ctx, new ReplayMemory());
      return !r.ok && REJECTION_REASONS.includes(r.reason);
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

test('random bytes behind a heartbeat header never crash the decoder', (t) => {
  const valid = encodeHeartbeat(fields(), link, auth);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (tail) => {
      const buf = new Uint8Array(PAYLOAD_OFFSET + tail.length);
      buf.set(valid.subarray(0, PAYLOAD_OFFSET));
      buf.set(tail, PAYLOAD_OFFSET);
      const r = verifyHeartbeat(buf, ctx, new ReplayMemory());
      return !r.ok;
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

test('any change to the authenticated payload or the destination MAC is rejected', (t) => {
  const valid = encodeHeartbeat(fields(), link, auth);
  const covered = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 22, max: 22 }), fc.integer({ min: PAYLOAD_OFFSET, max: FRAME_LENGTH - 1 }));
  fc.assert(
    fc.property(fc.array(fc.tuple(covered, fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
      const buf = valid.slice();
      for (const [at, xor] of edits) buf[at] = buf[at]! ^ xor;
      const changed = buf.some((b, i) => b !== valid[i]);
      const r = verifyHeartbeat(buf, ctx, new ReplayMemory());
      return changed ? !r.ok : r.ok;
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

test('random field values round-trip through encode and verify', (t) => {
  fc.assert(
    fc.property(
      fc.record({
        nodeId: fc.integer({ min: 3, max: 0xffffffff }),
        bootId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        sequence: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        connections: fc.integer({ min: 0, max: 0xffffffff }),
        flags: fc.integer({ min: 0, max: 0xffff }),
        nodeName: fc.string({ unit: 'grapheme-ascii', maxLength: 16 }).filter((s) => !s.includes('\0')),
      }),
      (over) => {
        const f = fields(over);
        const r = verifyHeartbeat(encodeHeartbeat(f, link, auth), ctx, new ReplayMemory());
        return r.ok && r.frame.fields.nodeId === f.nodeId && r.frame.fields.sequence === f.sequence && r.frame.fields.nodeName === f.nodeName;
      },
    ),
    { numRuns: 2000 },
  );
  t.pass();
});
