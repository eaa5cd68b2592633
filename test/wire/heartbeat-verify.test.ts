import test from 'ava';
import { encodeHeartbeat } from '../../src/wire/heartbeat-frame.js';
import { ReplayMemory, verifyHeartbeat, type ReceiverContext } from '../../src/wire/heartbeat-verify.js';
import { auth, CLUSTER, fields, link } from '../helpers/frames.js';

const ctx: ReceiverContext = { clusterId: CLUSTER, auth, selfNodeId: 2, nn: 9, isSync: false };

test('a peer heartbeat is accepted once and its replay rejected', (t) => {
  const mem = new ReplayMemory();
  const frame = encodeHeartbeat(fields(), link, auth);
  t.true(verifyHeartbeat(frame, ctx, mem).ok);
  const again = verifyHeartbeat(frame, ctx, mem);
  t.deepEqual(again, { ok: false, reason: 'replayed', nodeId: 1 });
});

test('our own heartbeat is heartbeat_from_myself', (t) => {
  const r = verifyHeartbeat(encodeHeartbeat(fields({ nodeId: 2 }), link, auth), ctx, new ReplayMemory());
  t.is(!r.ok && r.reason, 'heartbeat_from_myself');
});

test('a heartbeat for another bus/slot/port is nn_mismatch', (t) => {
  const r = verifyHeartbeat(encodeHeartbeat(fields({ nn: 10 }), link, auth), ctx, new ReplayMemory());
  t.is(!r.ok && r.reason, 'nn_mismatch');
});

test('a data-interface heartbeat on the sync interface is disallowed_on_sync_iface, and the reverse too', (t) => {
  const onSync = verifyHeartbeat(encodeHeartbeat(fields(), link, auth), { ...ctx, isSync: true }, new ReplayMemory());
  t.is(!onSync.ok && onSync.reason, 'disallowed_on_sync_iface');
  const onData = verifyHeartbeat(encodeHeartbeat(fields({ fromSync: true }), link, auth), ctx, new ReplayMemory());
  t.is(!onData.ok && onData.reason, 'sync_heartbeat_on_data_iface');
});

test('frames of an older boot are replays; a newer boot is accepted', (t) => {
  const mem = new ReplayMemory();
  t.true(verifyHeartbeat(encodeHeartbeat(fields({ bootId: 10n, sequence: 5n }), link, auth), ctx, mem).ok);
  const old = verifyHeartbeat(encodeHeartbeat(fields({ bootId: 9n, sequence: 500n }), link, auth), ctx, mem);
  t.is(!old.ok && old.reason, 'replayed');
  t.true(verifyHeartbeat(encodeHeartbeat(fields({ bootId: 11n, sequence: 1n }), link, auth), ctx, mem).ok);
});

test('rejections before authentication carry the claimed node id when readable', (t) => {
  const buf = encodeHeartbeat(fields({ nodeId: 77 }), link, auth);
  buf[22] = 254;
  t.deepEqual(verifyHeartbeat(buf, ctx, new ReplayMemory()), { ok: false, reason: 'ttl_too_low', nodeId: 77 });
});
