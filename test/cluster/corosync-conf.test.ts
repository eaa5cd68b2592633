import test from 'ava';
import { corosyncAuthkey, corosyncConf, groupName } from '../../src/cluster/corosync-conf.js';
import { GroupCore } from '../../src/core/group.js';

const plan = (n: number) => ({
  clusterName: 'labc',
  members: Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `fw-${i + 1}`, address: `198.19.255.${11 + i}` })),
  keyfile: '/var/lib/tandem/corosync/authkey',
  stateDir: '/var/lib/tandem/corosync',
  logFile: '/var/lib/tandem/corosync/corosync.log',
  port: 5405,
  tokenMs: 1000,
});

test('the configuration: knet on the sync addresses, encrypted with our keyfile, member IDs as node IDs', (t) => {
  const text = corosyncConf(plan(3));
  t.regex(text, /transport: knet/);
  t.regex(text, /crypto_cipher: aes256\n\tcrypto_hash: sha256\n\tkeyfile: \/var\/lib\/tandem\/corosync\/authkey/);
  t.regex(text, /token: 1000\n\ttoken_coefficient: 0/);
  t.regex(text, /node \{\n\t\tring0_addr: 198\.19\.255\.13\n\t\tname: fw-3\n\t\tnodeid: 3\n\t\}/);
  t.regex(text, /two_node: 0/, 'three members: no two_node');
  t.regex(corosyncConf(plan(2)), /two_node: 1/, 'a pair: two_node');
  t.regex(text, /state_dir: \/var\/lib\/tandem\/corosync/);
  t.throws(() => corosyncConf(plan(0)), { message: /at least one member/ });
});

test('the authkey is derived from the cluster key, 256 bytes, different per cluster key', (t) => {
  const a = corosyncAuthkey(Buffer.alloc(32, 1));
  t.is(a.length, 256);
  t.deepEqual(a, corosyncAuthkey(Buffer.alloc(32, 1)));
  t.notDeepEqual(a, corosyncAuthkey(Buffer.alloc(32, 2)));
});

test('quorum is more than half; the group is named for the cluster', (t) => {
  const quorumOf = (n: number) =>
    new GroupCore(
      1,
      Array.from({ length: n }, (_, i) => i + 1),
      0,
    ).quorum;
  t.deepEqual([1, 2, 3, 4, 5, 6].map(quorumOf), [1, 2, 2, 3, 3, 4]);
  t.is(groupName('labc'), 'tandem-labc');
});
