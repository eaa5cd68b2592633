/**
 * The receiver's replay memory covers the frames a drain leaves unverified (src/io/newest-first.ts): their
 * sequence numbers are recorded once a newer frame of the sender is accepted, so a later copy of one is a replay,
 * counted and reported as such, also while the sender lives.
 */
import test from 'ava';
import { HeartbeatReceiver } from '../../src/io/heartbeat-receiver.js';
import type { FrameLink } from '../../src/io/packet-link.js';
import { encodeHeartbeat } from '../../src/wire/heartbeat-frame.js';
import type { RejectionReason } from '../../src/wire/heartbeat-verify.js';
import { auth, CLUSTER, fields, link } from '../helpers/frames.js';

const frame = (sequence: bigint, bootId = 1_700_000_000_000_000n) => Buffer.from(encodeHeartbeat(fields({ sequence, bootId, nn: 9 }), link, auth));

function receiver() {
  const rejected: { reason: RejectionReason; nodeId: number | undefined }[] = [];
  // onFrame and onSuperseded take frames read elsewhere (the heartbeat thread): the link is never read here.
  const closed = { closed: true } as unknown as FrameLink;
  const r = new HeartbeatReceiver(
    new Map([['eth1', { link: closed, nn: 9, isSync: false }]]),
    { clusterId: CLUSTER, nodeId: 2, auth },
    { rejected: (_i, reason, _s, nodeId) => rejected.push({ reason, nodeId }) },
  );
  return { r, rejected, counters: () => r.stats().get('eth1')! };
}

test('superseded frames are recorded: a later copy of one is rejected as replayed', (t) => {
  const { r, rejected, counters } = receiver();
  t.true(r.onFrame('eth1', frame(100n), 1n, false));
  r.onSuperseded('eth1', [frame(97n), frame(99n)], frame(100n));
  t.like(counters(), { received: 3, accepted: 1, superseded: 2 });
  // A foreign host replays frame 99, which nobody verified: it is a replay, not news.
  t.false(r.onFrame('eth1', frame(99n), 2n, false));
  t.is(counters().rejected.replayed, 1);
  // 98 was never read: still acceptable once (frames of one sender cross several interfaces out of order).
  t.true(r.onFrame('eth1', frame(98n), 3n, false));
  t.deepEqual(
    rejected.map((x) => x.reason),
    ['replayed'],
  );
});

test('a copy of a frame already seen, read beside a newer one of the live sender, counts as replayed, not superseded', (t) => {
  const { r, rejected, counters } = receiver();
  t.true(r.onFrame('eth1', frame(200n), 1n, false));
  t.true(r.onFrame('eth1', frame(201n), 2n, false));
  // The next drain: a replay of 200 and the sender's own 202, newest accepted first.
  t.true(r.onFrame('eth1', frame(202n), 3n, false));
  r.onSuperseded('eth1', [frame(200n)], frame(202n));
  t.like(counters(), { accepted: 3, superseded: 0 });
  t.is(counters().rejected.replayed, 1);
  t.deepEqual(rejected, [{ reason: 'replayed', nodeId: 1 }]);
});

test("frames of the sender's previous boot beside its first of a new boot are no replay; frames behind the window say nothing", (t) => {
  const { r, counters } = receiver();
  t.true(r.onFrame('eth1', frame(5n, 2n), 1n, false));
  r.onSuperseded('eth1', [frame(900n, 1n)], frame(5n, 2n));
  t.true(r.onFrame('eth1', frame(1000n, 2n), 2n, false));
  r.onSuperseded('eth1', [frame(6n, 2n)], frame(1000n, 2n));
  t.like(counters(), { superseded: 2 });
  t.is(counters().rejected.replayed, undefined);
});
