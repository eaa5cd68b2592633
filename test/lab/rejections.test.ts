import test from 'ava';
import { encodeHeartbeat, TAG_LENGTH, FRAME_LENGTH } from '../../src/wire/heartbeat-frame.js';
import { hmacAuth } from '../../src/io/heartbeat-auth.js';
import { PacketLink } from '../../src/io/packet-link.js';
import { ifaceFacts } from '../../src/io/native.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { auth, fields } from '../helpers/frames.js';
import { eventually, heartbeatNode, labFor, sleep } from '../helpers/lab.js';

/** Each rejection reason produced by a real frame crossing the lab switch to node n2. */
test.serial('every drop reason is produced by a real frame, counted per interface and logged by name once', async (t) => {
  const lab = await labFor(t);
  const a = heartbeatNode(t, lab, 1);
  const b = heartbeatNode(t, lab, 2);
  b.node.receiver.start();
  const rejected = (iface: string, reason: string) => (b.node.receiver.stats().get(iface)!.rejected as Record<string, number>)[reason] ?? 0;

  // TTL 254: as if it had crossed a router.
  for (let i = 0; i < 3; i++) a.node.sender.sendOn('eth1', {}, 254);
  t.true(await eventually(() => rejected('eth1', 'ttl_too_low') === 3, 2000), 'ttl_too_low');

  // A data-interface heartbeat arriving on the sync interface.
  a.node.sender.sendOn('eth3', { fromSync: false });
  t.true(await eventually(() => rejected('eth3', 'disallowed_on_sync_iface') === 1, 2000), 'disallowed_on_sync_iface');

  // Hardware settings differ: n1 claims another bus/slot/port for eth2.
  a.node.sender.sendOn('eth2', { nn: 0x3f });
  t.true(await eventually(() => rejected('eth2', 'nn_mismatch') === 1, 2000), 'nn_mismatch');

  // A foreign appliance on the LAN segment: another cluster, a forged tag, a replay.
  const fx = await lab.addForeignHost('lan');
  const facts = ifaceFacts(fx.ifname, fx.netns);
  const fxLink = PacketLink.open({ ifname: fx.ifname, netns: fx.netns });
  t.teardown(() => fxLink.close());
  const fxAddr = { srcMac: facts.mac, srcIp: parseIpv4(facts.ipv4!)!, broadcastIp: parseIpv4(facts.broadcast!)! };

  fxLink.send(encodeHeartbeat(fields({ clusterId: 9, nodeId: 900, nn: 9 }), fxAddr, hmacAuth('another cluster', 9)));
  t.true(await eventually(() => rejected('eth1', 'wrong_cluster') === 1, 2000), 'wrong_cluster');

  const forged = encodeHeartbeat(fields({ nodeId: 1, nn: 9, sequence: 1_000_000n }), fxAddr, auth);
  forged[FRAME_LENGTH - TAG_LENGTH] = forged[FRAME_LENGTH - TAG_LENGTH]! ^ 0x01;
  fxLink.send(forged);
  t.true(await eventually(() => rejected('eth1', 'bad_tag') === 1, 2000), 'bad_tag');

  // Replay: a genuine n1 frame that n2 accepted, sent again by the foreign host.
  const genuine = a.node.sender.sendOn('eth1')!;
  t.true(await eventually(() => b.node.receiver.stats().get('eth1')!.accepted === 1, 2000), 'genuine accepted');
  fxLink.send(genuine);
  t.true(await eventually(() => rejected('eth1', 'replayed') === 1, 2000), 'replayed');

  // Logged by the reason's name, rate-limited: three ttl_too_low frames give one line.
  for (const reason of ['ttl_too_low', 'disallowed_on_sync_iface', 'nn_mismatch', 'wrong_cluster', 'bad_tag', 'replayed']) {
    t.is(b.log.events(reason).length, 1, `one ${reason} log line`);
  }
  t.is(b.log.events('wrong_cluster')[0]!.fields['fromNodeId'], 900);
});

test.serial('a mirrored switch port reflects a node its own heartbeats: heartbeat_from_myself, never a peer', async (t) => {
  const lab = await labFor(t);
  const a = heartbeatNode(t, lab, 1);
  await lab.mirrorPort('n1', 'eth1');
  a.node.start();
  await sleep(600);
  a.node.sender.stop();
  const eth1 = a.node.receiver.stats().get('eth1')!;
  t.true((eth1.rejected.heartbeat_from_myself ?? 0) > 0, JSON.stringify(eth1));
  t.is(eth1.accepted, 0);
  t.deepEqual(a.node.peersSeen(), []);
  t.is(a.log.events('heartbeat_from_myself').length, 1);
  // Only the mirrored port reflects.
  t.is(a.node.receiver.stats().get('eth0')!.rejected.heartbeat_from_myself, undefined);
});
