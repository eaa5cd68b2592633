import test from 'ava';
import {
  decodeHeartbeat,
  encodeHeartbeat,
  FRAME_LENGTH,
  HEARTBEAT_VERSION,
  PAYLOAD_OFFSET,
  PREVIOUS_HEARTBEAT_VERSION,
  SIGNED_LENGTH,
  type FrameRejection,
} from '../../src/wire/heartbeat-frame.js';
import { internetChecksum } from '../../src/wire/ipv4.js';
import { hmacAuth } from '../../src/io/heartbeat-auth.js';
import { auth, CLUSTER, fields, link, previousFormatFrame } from '../helpers/frames.js';

const ctx = { clusterId: CLUSTER, auth };

test('a frame round-trips every field', (t) => {
  const f = fields({ fromSync: true, flags: 3, state: 'inactive', nodeType: 'slave', syncStatus: 'out-of-sync' });
  const d = decodeHeartbeat(encodeHeartbeat(f, link, auth), ctx);
  if (!d.ok) return t.fail(d.reason);
  t.deepEqual(d.frame.fields, { ...f, version: HEARTBEAT_VERSION });
  t.is(d.frame.ttl, 255);
  t.is(d.frame.srcIp, link.srcIp);
  t.is(d.frame.dstIp, link.broadcastIp);
  t.deepEqual([...d.frame.srcMac], [...link.srcMac]);
});

test('the Ethernet, IPv4 and UDP headers are as seed 001 describes', (t) => {
  const buf = encodeHeartbeat(fields({ nn: 0x29, clusterId: CLUSTER }), link, auth);
  const v = new DataView(buf.buffer);
  t.is(buf.length, FRAME_LENGTH);
  t.deepEqual([...buf.subarray(0, 6)], [0x11, 0, 0, 0, 0x29, CLUSTER]);
  t.is(v.getUint16(12), 0x0800);
  t.is(buf[14 + 8], 255, 'TTL');
  t.is(buf[14 + 9], 17, 'UDP');
  t.is(v.getUint16(34), 999);
  t.is(v.getUint16(36), 999);
  // Deliberately wrong checksums: recompute the right ones and compare.
  const ipSum = v.getUint16(24);
  v.setUint16(24, 0);
  t.not(ipSum, internetChecksum(buf, 14, 34));
  v.setUint16(24, ipSum);
  t.not(internetChecksum(buf, 14, 34), 0, 'header does not verify');
  t.not(v.getUint16(40), 0, 'UDP checksum present (not "none")');
});

test('the long name is cut at 16 bytes', (t) => {
  const d = decodeHeartbeat(encodeHeartbeat(fields({ nodeName: 'a-very-long-node-name' }), link, auth), ctx);
  t.true(d.ok && d.frame.fields.nodeName === 'a-very-long-node');
});

type Mutation = [FrameRejection, (b: Uint8Array) => Uint8Array];
const P = PAYLOAD_OFFSET;
const mutations: Mutation[] = [
  ['truncated', (b) => b.subarray(0, 30)],
  ['truncated', (b) => b.subarray(0, FRAME_LENGTH - 1)],
  ['not_heartbeat', (b) => ((b[12] = 0x86), (b[13] = 0xdd), b)],
  ['not_heartbeat', (b) => ((b[14 + 9] = 6), b)],
  ['not_heartbeat', (b) => ((b[37] = 0x10), b)],
  ['bad_magic', (b) => ((b[P] = 0x58), b)],
  ['bad_version', (b) => ((b[P + 4] = 3), b)],
  ['malformed', (b) => ((b[P + 6] = 9), b)],
  ['ttl_too_low', (b) => ((b[22] = 254), b)],
  ['ttl_too_low', (b) => ((b[22] = 1), b)],
  ['wrong_cluster', (b) => ((b[P + 5] = CLUSTER + 1), b)],
  ['wrong_cluster', (b) => ((b[5] = CLUSTER + 1), b)],
  ['bad_tag', (b) => ((b[P + SIGNED_LENGTH] = b[P + SIGNED_LENGTH]! ^ 1), b)],
  ['bad_tag', (b) => ((b[P + 32] = b[P + 32]! ^ 0x80), b)],
];
for (const [reason, mutate] of mutations) {
  test(`decoder rejects ${reason} (${mutate.toString().slice(7, 40)})`, (t) => {
    const d = decodeHeartbeat(mutate(encodeHeartbeat(fields(), link, auth)), ctx);
    t.false(d.ok);
    t.is(!d.ok && d.reason, reason);
  });
}

test('a frame tagged with another password is bad_tag', (t) => {
  const d = decodeHeartbeat(encodeHeartbeat(fields(), link, hmacAuth('other password', CLUSTER)), ctx);
  t.is(!d.ok && d.reason, 'bad_tag');
});

test('the key differs per cluster ID', (t) => {
  const a = hmacAuth('same', 1).sign(new Uint8Array(8));
  const b = hmacAuth('same', 2).sign(new Uint8Array(8));
  t.notDeepEqual([...a], [...b]);
});

test('an empty password is refused with a clear message', (t) => {
  t.throws(() => hmacAuth('', 1), { message: /password is empty/ });
});

test('the term travels in the payload after the node name, covered by the tag', (t) => {
  const buf = encodeHeartbeat(fields({ term: 0xfffffffe }), link, auth);
  t.is(new DataView(buf.buffer).getUint32(PAYLOAD_OFFSET + 72), 0xfffffffe);
  const d = decodeHeartbeat(buf, ctx);
  t.true(d.ok && d.frame.fields.term === 0xfffffffe);
  buf[PAYLOAD_OFFSET + 75] ^= 1;
  t.like(decodeHeartbeat(buf, ctx), { ok: false, reason: 'bad_tag' }, 'a changed term fails the tag');
});

test('a frame of the previous format is read with its own layout (no term), and never mistaken for the current one', (t) => {
  const old = previousFormatFrame(fields({ term: 0, sequence: 77n, state: 'active' }));
  t.is(old.length, FRAME_LENGTH - 4);
  const d = decodeHeartbeat(old, ctx);
  if (!d.ok) return t.fail(d.reason);
  t.is(d.frame.fields.version, PREVIOUS_HEARTBEAT_VERSION);
  t.is(d.frame.fields.term, 0);
  t.is(d.frame.fields.sequence, 77n);
  t.is(d.frame.fields.state, 'active');
  // A current frame relabelled as the previous format: its tag is not where that format has it.
  const relabelled = encodeHeartbeat(fields(), link, auth);
  relabelled[PAYLOAD_OFFSET + 4] = PREVIOUS_HEARTBEAT_VERSION;
  t.like(decodeHeartbeat(relabelled, ctx), { ok: false, reason: 'bad_tag' });
  // A previous-format frame relabelled as the current one is too short to carry a term and a tag.
  const up = Buffer.from(old);
  up[PAYLOAD_OFFSET + 4] = HEARTBEAT_VERSION;
  t.like(decodeHeartbeat(up, ctx), { ok: false, reason: 'truncated' });
});
