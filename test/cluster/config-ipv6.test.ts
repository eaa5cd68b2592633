import test from 'ava';
import { resolveBoard } from '../../src/board/board-file.js';
import { ValidationError } from '../../src/board/validate.js';
import { checkConfig } from '../../src/cluster/config-check.js';
import { managedConfig, parseConfig, parseLocal } from '../../src/cluster/config-file.js';
import * as M from '../../src/cluster/membership.js';
import { emptyStore } from '../../src/cluster/store.js';
import { labNodeConfig } from '../../src/lab/lab-config.js';
import { planLab } from '../../src/lab/topology.js';
import { clusterDefinition } from '../../src/runtime/pair/daemon.js';

const board = resolveBoard('sim');
const plan6 = planLab(board, 2, 'tdm0c0f6', true);
const raw = (index = 1) =>
  labNodeConfig(plan6, board, index, { passwordFile: '/etc/tandem/cluster.key', stateDir: '/tmp/x', controlSocket: '/tmp/x.sock' }) as {
    node: { type: string };
    interfaces: Record<string, unknown>[];
  };
const check = (r: unknown) => checkConfig(parseConfig(r, 'n1.json'), board);

test('a dual-stack lab configuration is clean on either node and carries the IPv6 twins', (t) => {
  for (const i of [1, 2]) t.deepEqual(check(raw(i)), { errors: [], warnings: [] });
  const c = parseConfig(raw(), 'n1.json');
  const lan = c.interfaces.find((i) => i.name === 'eth1')!;
  t.deepEqual(lan.sharedIp6, { address: '2001:2:0:2::1', prefix: 64 });
  t.deepEqual(lan.masterIp6, { address: '2001:2:0:2::11', prefix: 64 });
  t.deepEqual(lan.slaveIp6, { address: '2001:2:0:2::12', prefix: 64 });
  t.is(c.interfaces.find((i) => i.name === 'sync0')?.sharedIp6 ?? null, null, 'the sync link shares nothing');
});

test('IPv6 addresses are kept in canonical form, so two spellings of one address are one', (t) => {
  const r = raw();
  r.interfaces[1]!['sharedIp6'] = '2001:0002:0000:0002:0000:0000:0000:0001/64';
  t.deepEqual(parseConfig(r, 'n1.json').interfaces[1]!.sharedIp6, { address: '2001:2:0:2::1', prefix: 64 });
  r.interfaces[1]!['masterIp6'] = '2001:2:0:2:0::1/64';
  t.true(check(r).errors.some((e) => e.field === 'interfaces[1].sharedIp6' && /equals masterIp6 2001:2:0:2::1/.test(e.message)));
});

type Bad = [string, (r: ReturnType<typeof raw>) => unknown, string, RegExp];
const parseErrors: Bad[] = [
  ['not an address', (r) => (r.interfaces[1]!['sharedIp6'] = '2001:2::g/64'), 'interfaces[1].sharedIp6', /expected an IPv6 address with prefix length/],
  ['no prefix length', (r) => (r.interfaces[1]!['masterIp6'] = '2001:2:0:2::11'), 'interfaces[1].masterIp6', /expected an IPv6 address with prefix length/],
  ['prefix over 128', (r) => (r.interfaces[1]!['slaveIp6'] = '2001:2:0:2::12/129'), 'interfaces[1].slaveIp6', /expected an IPv6 address/],
  [
    'multicast',
    (r) => (r.interfaces[1]!['sharedIp6'] = 'ff02::1/64'),
    'interfaces[1].sharedIp6',
    /multicast address: a node or shared address must be unicast/,
  ],
  ['unspecified', (r) => (r.interfaces[1]!['sharedIp6'] = '::/64'), 'interfaces[1].sharedIp6', /unspecified address/],
  ['an IPv4 address in an IPv6 field', (r) => (r.interfaces[1]!['sharedIp6'] = '198.18.2.1/24'), 'interfaces[1].sharedIp6', /expected an IPv6 address/],
  ['a bad monitor target', (r) => (r.interfaces[1]!['monitorTargets'] = ['2001:2::1::2']), 'interfaces[1].monitorTargets', /IPv6 unicast addresses/],
];
for (const [what, mutate, field, message] of parseErrors) {
  test(`refused by the parser, naming the field: ${what}`, (t) => {
    const r = raw();
    mutate(r);
    const e = t.throws(() => parseConfig(r, 'n1.json'), { instanceOf: ValidationError });
    t.true(e.message.includes(field), e.message);
    t.regex(e.message, message);
    t.true(e.message.includes('n1.json'), 'names the file');
  });
}

const checkErrors: Bad[] = [
  [
    'shared equal to masterIp6',
    (r) => (r.interfaces[1]!['sharedIp6'] = r.interfaces[1]!['masterIp6']),
    'interfaces[1].sharedIp6',
    /equals masterIp6 2001:2:0:2::11/,
  ],
  [
    'shared equal to slaveIp6',
    (r) => (r.interfaces[1]!['sharedIp6'] = r.interfaces[1]!['slaveIp6']),
    'interfaces[1].sharedIp6',
    /equals slaveIp6 2001:2:0:2::12/,
  ],
  ['both nodes one address', (r) => (r.interfaces[1]!['slaveIp6'] = r.interfaces[1]!['masterIp6']), 'interfaces[1].slaveIp6', /equals masterIp6/],
  [
    'link-local shared',
    (r) => (r.interfaces[1]!['sharedIp6'] = 'fe80::1/64'),
    'interfaces[1].sharedIp6',
    /link-local \(fe80::\/10\).*comes from the shared MAC/,
  ],
  [
    'outside the node prefix',
    (r) => (r.interfaces[1]!['sharedIp6'] = '2001:2:0:9::1/64'),
    'interfaces[1].sharedIp6',
    /outside 2001:2:0:2::\/64, the prefix of this node's address on eth1/,
  ],
  [
    'mixed prefix lengths',
    (r) => (r.interfaces[1]!['sharedIp6'] = '2001:2:0:2::1/80'),
    'interfaces[1].sharedIp6',
    /\/80 differs from masterIp6's \/64 on eth1/,
  ],
];
for (const [what, mutate, field, message] of checkErrors) {
  test(`tandem check error naming the field: ${what}`, (t) => {
    const r = raw();
    mutate(r);
    const found = check(r).errors.find((e) => e.field === field);
    t.truthy(found, JSON.stringify(check(r)));
    t.regex(found!.message, message);
  });
}

test('an interface with IPv6 addresses only carries heartbeats; without any address it cannot', (t) => {
  const r = raw();
  delete r.interfaces[1]!['masterIp'];
  delete r.interfaces[1]!['slaveIp'];
  delete r.interfaces[1]!['sharedIp'];
  t.deepEqual(check(r), { errors: [], warnings: [] });
  delete r.interfaces[1]!['masterIp6'];
  t.true(check(r).warnings.some((w) => w.field === 'interfaces[1].masterIp' && /heartbeats on but no address for this node/.test(w.message)));
});

test('monitor targets of both families; IPv6 ones in canonical form', (t) => {
  const r = raw();
  r.interfaces[1]!['monitorTargets'] = ['198.18.2.254', '2001:2:0:2:0:0:0:FE'];
  t.deepEqual(parseConfig(r, 'n1.json').interfaces[1]!.monitorTargets, ['198.18.2.254', '2001:2:0:2::fe']);
});

test('a link-local node address is a warning: the kernel makes one anyway', (t) => {
  const r = raw();
  r.interfaces[1]!['masterIp6'] = 'fe80::11/64';
  delete r.interfaces[1]!['sharedIp6'];
  t.true(check(r).warnings.some((w) => w.field === 'interfaces[1].masterIp6' && /link-local/.test(w.message)));
});

test('managed clusters: shared6.IFACE is a property, given to every member, canonical; a link-local or malformed one is refused', (t) => {
  let s = M.create(emptyStore(), { name: 'c6', node: 'fw-a', address: '198.19.255.11', key: 'ab', salt: 'cd', shared6: { eth1: '2001:2:0:2::1/64' } });
  t.deepEqual(s.cluster!.shared6, { eth1: '2001:2:0:2::1/64' });
  s = M.setProperty(s, 'shared6.eth0', '2001:0002:0:1::0001/64');
  t.deepEqual(s.cluster!.shared6, { eth1: '2001:2:0:2::1/64', eth0: '2001:2:0:1::1/64' });
  t.throws(() => M.setProperty(s, 'shared6.eth0', 'fe80::1/64'), { message: /shared6\.eth0: fe80::1 is link-local/ });
  t.throws(() => M.setProperty(s, 'shared6.eth0', '2001:2:0:1::1'), { message: /shared6\.eth0: expected an IPv6 address with prefix length/ });
  t.throws(() => M.setProperty(s, 'shared.eth0', '2001:2:0:1::1/64'), { message: /shared\.eth0: an address with its prefix length such as 198/ });
  const local = parseLocal({ board: 'sim', interfaces: [{ name: 'eth0', address: '198.18.1.11/24', address6: '2001:2:0:1::11/64' }] }, 'node.json');
  const c = managedConfig(local, s);
  t.deepEqual(c.interfaces[0]!.sharedIp6, { address: '2001:2:0:1::1', prefix: 64 });
  t.true(c.interfaces[0]!.monitor, 'an interface given a shared address is monitored');
  s = M.setProperty(s, 'shared6.eth0', 'none');
  t.deepEqual(s.cluster!.shared6, { eth1: '2001:2:0:2::1/64' });
});

test('a cluster without IPv6 keeps the definition and topology it had (members running older code agree)', (t) => {
  const s = M.create(emptyStore(), { name: 'c4', node: 'fw-a', address: '198.19.255.11', key: 'ab', salt: 'cd', shared: { eth1: '198.18.2.1/24' } });
  t.false('shared6' in s.cluster!, 'no shared6 key at all');
  t.is(M.topology(s.cluster!), '1:fw-a:master:198.19.255.11|eth1=198.18.2.1/24', 'the topology string of before');
  t.is(M.topology(M.setProperty(s, 'shared6.eth1', '2001:2:0:2::1/64').cluster!), '1:fw-a:master:198.19.255.11|eth1=198.18.2.1/24|eth1=2001:2:0:2::1/64');
  const four = planLab(board, 2, 'tdm0c0f4');
  const c4 = parseConfig(labNodeConfig(four, board, 1, { passwordFile: '/k', stateDir: '/tmp/x', controlSocket: '/tmp/x.sock' }), 'n1.json');
  const c6 = parseConfig(raw(), 'n1.json');
  t.not(clusterDefinition(c4), clusterDefinition(c6), 'the shared IPv6 addresses are part of what both nodes must agree on');
});

test('management.gateway6: kept canonical; anything else names the field', (t) => {
  const local = (gateway6: string) =>
    parseLocal({ board: 'sim', interfaces: [{ name: 'eth1', address: '198.18.2.11/24' }], management: { interface: 'eth1', gateway6 } }, 'node.json')
      .management;
  t.is(local('2001:2:0:2:0:0:0:FE')?.gateway6, '2001:2:0:2::fe');
  t.throws(() => local('198.18.2.254'), { message: 'node.json: management.gateway6: expected an IPv6 address such as 2001:2:0:2::fe, got "198.18.2.254"' });
});
