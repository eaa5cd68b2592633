import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as M from '../../src/cluster/membership.js';
import { emptyStore } from '../../src/cluster/store.js';
import { BITS, describeBits, hex, statusBits, type MemberFacts } from '../../src/cluster/status-bits.js';

const created = () => M.create(emptyStore(), { name: 'labc', node: 'fw-a', address: '198.19.255.11', key: 'k', salt: 's'.repeat(32) });

test('create makes a cluster of one (the master), add-member the next ID as slave, not joined yet', (t) => {
  const s = M.addMember(created(), 'fw-b', '198.19.255.12');
  t.is(s.cluster!.members.length, 2);
  t.deepEqual(
    s.cluster!.members.map((m) => [m.name, m.id, m.type, m.joined]),
    [
      ['fw-a', 1, 'master', true],
      ['fw-b', 2, 'slave', false],
    ],
  );
  t.is(s.cluster!.revision, 2);
  t.is(s.cluster!.id, M.clusterIdFor('labc'));
  t.true(M.markJoined(s, 'fw-b').cluster!.members[1]!.joined);
});

test('refusals say what to do', (t) => {
  t.throws(() => M.create(created(), { name: 'x', node: 'y', address: '198.19.255.1', key: 'k', salt: 's' }), {
    message: /already member fw-a of cluster labc: run "tandem cluster leave" first/,
  });
  t.throws(() => M.addMember(emptyStore(), 'fw-b', '198.19.255.12'), { message: /standalone: run "tandem cluster create"/ });
  t.throws(() => M.addMember(created(), 'fw-b', '198.19.255.300'), { message: /address of fw-b: expected an IPv4 address/ });
  t.throws(() => M.addMember(created(), 'fw-b', '198.19.255.11'), { message: /already the address of fw-a/ });
  t.throws(() => M.addMember(M.addMember(created(), 'fw-b', '198.19.255.12'), 'fw-c', '198.19.255.13'), {
    message: /clusters of three and more members run on Corosync/,
  });
  t.throws(() => M.removeMember(created(), 'fw-a'), { message: /this node: run "tandem cluster leave"/ });
  t.throws(() => M.setEnabled(created(), 'fw-z', false), { message: /no member "fw-z" \(members: fw-a\)/ });
  t.throws(() => M.setDraining(M.setEnabled(created(), 'fw-a', false), 'fw-a', true), { message: /disabled: it serves nothing to drain/ });
  t.throws(() => M.setProperty(created(), 'mode', 'active-both'), { message: /mode: active-passive or active-active/ });
  t.throws(() => M.setProperty(created(), 'colour', 'red'), { message: /no property "colour"/ });
});

const memberOf = (c: { members: { name: string; enabled: boolean; draining: boolean }[] }, name: string) => c.members.find((m) => m.name === name)!;

test('enable does not end a drain (only undrain does); disable does, and enable then brings the member back not draining', (t) => {
  const draining = M.setDraining(created(), 'fw-a', true);
  t.throws(() => M.setEnabled(draining, 'fw-a', true), { message: 'fw-a is enabled and draining: "tandem cluster undrain fw-a" ends the drain' });
  t.true(memberOf(draining.cluster!, 'fw-a').draining, 'still draining');
  const disabled = M.setEnabled(draining, 'fw-a', false);
  t.like(memberOf(disabled.cluster!, 'fw-a'), { enabled: false, draining: false });
  t.like(memberOf(M.setEnabled(disabled, 'fw-a', true).cluster!, 'fw-a'), { enabled: true, draining: false });
  t.like(memberOf(M.setDraining(draining, 'fw-a', false).cluster!, 'fw-a'), { enabled: true, draining: false });
});

test('the newer definition wins on both members; equal revisions settle on the same one; a member removed is told', (t) => {
  const a = M.addMember(created(), 'fw-b', '198.19.255.12');
  const b = { ...a, me: 'fw-b' };
  const aDrained = M.setDraining(a, 'fw-b', true);
  const adopted = M.adopt(b, aDrained.cluster!)!;
  t.true(adopted.cluster!.members[1]!.draining);
  t.is(M.adopt(aDrained, a.cluster!), null, 'an older one is ignored');
  const x = M.setProperty(a, 'logSync', 'off');
  const y = M.setProperty(a, 'sync', 'off');
  const onX = M.adopt(x, y.cluster!);
  const onY = M.adopt(y, x.cluster!);
  t.true((onX === null) !== (onY === null), 'exactly one side adopts the other on a tie');
  t.throws(() => M.adopt(b, M.removeMember(a, 'fw-b').cluster!), { message: /no longer has member fw-b/ });
  t.throws(() => M.adopt(b, { ...a.cluster!, salt: 'other', revision: 9 }), { message: /another cluster/ });
});

const facts = (over: Partial<MemberFacts> = {}): MemberFacts => ({
  standalone: false,
  enabled: true,
  unreachable: null,
  syncingFrom: false,
  syncingTo: false,
  transitioning: false,
  links: [
    { name: 'eth0', up: true, targetsReachable: true },
    { name: 'eth1', up: true, targetsReachable: true },
  ],
  leader: false,
  serviceConnected: true,
  electing: false,
  ...over,
});

test("status bits: seed 000's good state, and each sub-state in its bit with words", (t) => {
  t.is(hex(statusBits(facts({ leader: true }))), '0x18004');
  t.is(hex(statusBits(facts())), '0x10004');
  t.is(statusBits(facts({ standalone: true, leader: true })), BITS.standalone);
  t.is(statusBits(facts({ enabled: false, serviceConnected: false })), BITS.disabled);
  const b = statusBits(
    facts({
      unreachable: 'wrong_password',
      serviceConnected: false,
      syncingFrom: true,
      links: [
        { name: 'eth0', up: false, targetsReachable: true },
        { name: 'eth1', up: true, targetsReachable: false },
      ],
    }),
  );
  t.is(b, BITS.enabled | BITS.unreachable | BITS.syncingFrom | BITS.initialSync | BITS.linkLoss0 | BITS.gatewayUnreachable1);
  t.deepEqual(describeBits(b, ['eth0', 'eth1']), [
    'enabled',
    'unreachable',
    'syncing state from another member',
    'eth0 no carrier',
    'initial synchronisation',
    'eth1 monitor targets unreachable',
  ]);
  // Seed 000: the leader is the member whose fourth hex digit is 8..e.
  t.regex(hex(statusBits(facts({ leader: true, syncingTo: true }))), /^0x1[8-9a-e]/);
});

test("shared addresses are the cluster's: taken at create, changed as properties, part of what members must agree on", (t) => {
  const s = M.create(emptyStore(), { name: 'labc', node: 'fw-a', address: '198.19.255.11', key: 'k', salt: 's'.repeat(32), shared: { eth0: '198.18.1.1/24' } });
  t.deepEqual(s.cluster!.shared, { eth0: '198.18.1.1/24' });
  const more = M.setProperty(s, 'shared.eth1', '198.18.2.1/24');
  t.deepEqual(more.cluster!.shared, { eth0: '198.18.1.1/24', eth1: '198.18.2.1/24' });
  t.not(M.topology(more.cluster!), M.topology(s.cluster!), 'a change of shared addresses restarts the service');
  t.deepEqual(M.setProperty(more, 'shared.eth0', 'none').cluster!.shared, { eth1: '198.18.2.1/24' });
  t.throws(() => M.setProperty(s, 'shared.eth1', '198.18.2.1'), { message: /shared\.eth1: an address with its prefix length/ });
  const aa = M.create(emptyStore(), {
    name: 'aa',
    node: 'fw-a',
    address: '198.19.255.11',
    key: 'k',
    salt: 's',
    mode: 'active-active',
    shared: { eth0: '198.18.1.1/24' },
  });
  t.deepEqual(aa.cluster!.shared, {}, 'active/active has none');
  t.throws(() => M.setProperty(aa, 'shared.eth0', '198.18.1.1/24'), { message: /active\/active cluster has no shared addresses/ });
});

test('a cluster on Corosync: active/active only, up to 16 members, engine fixed at create; ordered changes are the same functions', (t) => {
  t.throws(() => M.create(emptyStore(), { name: 'labc', node: 'fw-a', address: '198.19.255.11', key: 'k', salt: 's', engine: 'corosync' }), {
    message: /runs active\/active behind a load balancer: add --mode active-active/,
  });
  let s = M.create(emptyStore(), { name: 'labc', node: 'fw-a', address: '198.19.255.11', key: 'k', salt: 's', engine: 'corosync', mode: 'active-active' });
  t.is(M.engineOf(s.cluster!), 'corosync');
  for (let i = 2; i <= 16; i++) s = M.orderedChange('add-member', { name: `fw-${i}`, address: `198.19.255.${10 + i}` })(s);
  t.is(s.cluster!.members.length, 16);
  t.throws(() => M.addMember(s, 'fw-17', '198.19.255.27'), { message: /16 members, the most a cluster on Corosync runs/ });
  t.throws(() => M.setProperty(s, 'engine', 'heartbeat'), { message: /engine is chosen when the cluster is created/ });
  t.throws(() => M.setProperty(s, 'mode', 'active-passive'), { message: /a cluster on Corosync runs active\/active only/ });
  const d = M.orderedChange('disable', { node: 'fw-3' })(s);
  t.false(d.cluster!.members.find((m) => m.name === 'fw-3')!.enabled);
  t.is(
    M.orderedChange('properties', {
      set: [
        ['logSync', 'off'],
        ['healthCheckFailsWhileSyncing', 'off'],
      ],
    })(s).cluster!.revision,
    s.cluster!.revision + 2,
  );
  t.throws(() => M.orderedChange('add-member', { name: 'fw-x' })(s), { message: /add-member: missing address/ });
  t.is(M.engineOf(created().cluster!), 'heartbeat', 'a store written before engines existed is a pair');
});

test("docs/cluster.md's bit table has a row for every bit the code knows (seed 000's list)", (t) => {
  const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'cluster.md'), 'utf8');
  const rows = new Set([...doc.matchAll(/^\| (0x[0-9a-f]{6})(?: \/ (0x[0-9a-f]{6}))? \|/gm)].flatMap((m) => [m[1], m[2]]).filter(Boolean));
  const missing = Object.entries(BITS)
    .filter(([, bit]) => !rows.has('0x' + bit.toString(16).padStart(6, '0')))
    .map(([name, bit]) => `${name} 0x${bit.toString(16)}`);
  t.deepEqual(missing, []);
});
