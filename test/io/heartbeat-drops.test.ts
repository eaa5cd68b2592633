/**
 * Heartbeat drops counted where they happen: a flood fills the receiving socket's queue while nobody reads
 * it, and every frame sent is then either read (accepted or rejected, by reason) or counted as dropped by
 * the kernel: nothing vanishes uncounted.
 */
import test from 'ava';
import { HeartbeatReceiver } from '../../src/io/heartbeat-receiver.js';
import { PacketLink } from '../../src/io/packet-link.js';
import { encodeHeartbeat } from '../../src/wire/heartbeat-frame.js';
import { auth, CLUSTER, fields, link } from '../helpers/frames.js';
import { labFor } from '../helpers/lab.js';

test.serial('a flood the reader cannot keep up with: what was read plus what the kernel dropped is what was sent', async (t) => {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes as [(typeof lab.plan.nodes)[0], (typeof lab.plan.nodes)[0]];
  const rx = PacketLink.open({ ifname: 'eth1', netns: n2.netns });
  const tx = PacketLink.open({ ifname: 'eth1', netns: n1.netns });
  t.teardown(() => {
    rx.close();
    tx.close();
  });
  const receiver = new HeartbeatReceiver(new Map([['eth1', { link: rx, nn: 9, isSync: false }]]), { clusterId: CLUSTER, nodeId: 2, auth });
  const SENT = 20_000;
  // Each frame its own sequence, so that nothing is rejected as a replay: the read ones are accepted.
  for (let i = 0; i < SENT; i++) tx.send(encodeHeartbeat(fields({ sequence: BigInt(100 + i) }), link, auth));
  while (receiver.drain() > 0); // a drain reads at most 128 at a time (a flood must not hold the loop)
  const c = receiver.stats().get('eth1')!;
  t.true(c.kernelDrops > 0, 'the queue overflowed (its 1 MiB holds a few hundred frames)');
  t.is(c.received + c.kernelDrops, SENT, `read ${c.received} (accepted ${c.accepted}), dropped by the kernel ${c.kernelDrops}`);
  t.is(c.accepted, c.received);
  t.log(`read ${c.received}, dropped by the kernel ${c.kernelDrops} of ${SENT}`);
});
