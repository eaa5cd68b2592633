import test from 'ava';
import { board, heartbeatNode, labFor, sleep } from '../helpers/lab.js';

test.serial('node A heartbeats are received and accepted by node B on every interface; sync carries more than twice any other', async (t) => {
  const lab = await labFor(t);
  const a = heartbeatNode(t, lab, 1);
  const b = heartbeatNode(t, lab, 2);
  b.node.receiver.start();
  a.node.sender.start();
  await sleep(1500);
  a.node.sender.stop();
  await sleep(100);

  const sent = a.node.sender.stats();
  const received = b.node.receiver.stats();
  for (const nic of board.nics) {
    const r = received.get(nic.name)!;
    t.true(r.accepted > 0, `${nic.name}: accepted ${r.accepted}`);
    t.is(r.accepted, sent.get(nic.name)!.sent, `${nic.name}: every frame sent arrived and was accepted`);
    t.deepEqual(r.rejected, {}, `${nic.name}: nothing rejected`);
  }
  const sync = received.get('eth3')!.accepted;
  for (const nic of board.nics.filter((n) => n.role !== 'sync')) {
    const other = received.get(nic.name)!.accepted;
    t.true(sync > 2 * other, `sync ${sync} > 2 x ${nic.name} ${other}`);
  }
  t.deepEqual(
    b.node.peersSeen().map((p) => [p.nodeId, p.name, p.type]),
    [[1, 'n1', 'master']],
  );
  t.is(b.log.events('peer_heartbeat_first_seen').length, 1);
});

test.serial('a cut cable stops heartbeats on that interface only, and the sender skips it', async (t) => {
  const lab = await labFor(t);
  const a = heartbeatNode(t, lab, 1);
  const b = heartbeatNode(t, lab, 2);
  await lab.cutLink('n1', 'eth1');
  b.node.receiver.start();
  a.node.sender.start();
  await sleep(800);
  a.node.sender.stop();
  t.is(b.node.receiver.stats().get('eth1')!.accepted, 0);
  t.true(a.node.sender.stats().get('eth1')!.skippedNoLink > 0);
  t.true(b.node.receiver.stats().get('eth0')!.accepted > 0);
  t.true(b.node.receiver.stats().get('eth3')!.accepted > 0);
});

test.serial('a cut sync cable takes carrier from both ends', async (t) => {
  const lab = await labFor(t);
  await lab.cutLink('n1', 'eth3');
  const s = await lab.status();
  t.is(s.nodes[0]!.links['eth3'], 'no-carrier');
  t.is(s.nodes[1]!.links['eth3'], 'no-carrier');
  t.is(s.nodes[0]!.links['eth0'], 'up');
  await lab.restoreLink('n1', 'eth3');
  await lab.waitCarrier(3000);
  t.is((await lab.status()).nodes[1]!.links['eth3'], 'up');
});
