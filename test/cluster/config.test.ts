import test from 'ava';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolveBoard } from '../../src/board/board-file.js';
import { checkConfig } from '../../src/cluster/config-check.js';
import { DEFAULTS, managedConfig, parseConfig, parseLocal } from '../../src/cluster/config-file.js';
import * as M from '../../src/cluster/membership.js';
import { emptyStore } from '../../src/cluster/store.js';
import { factoryConfig, type Layout } from '../../src/image/units.js';
import { labNodeConfig } from '../../src/lab/lab-config.js';
import { clusterDefinition } from '../../src/runtime/pair/daemon.js';
import { planLab } from '../../src/lab/topology.js';

const exec = promisify(execFile);
const TANDEM = join(__dirname, '..', '..', '..', 'bin', 'tandem');
const board = resolveBoard('sim');
const plan = planLab(board, 2, 'tdm0c0f1');
const raw = (index = 1) =>
  labNodeConfig(plan, board, index, { passwordFile: '/etc/tandem/cluster.key', stateDir: '/tmp/x', controlSocket: '/tmp/x.sock' }) as {
    cluster: { id: number; passwordFile: string };
    node: { type: string; id: number };
    peer: { type: string; id: number };
    interfaces: Record<string, unknown>[];
    timers?: Record<string, number>;
  };
const check = (r: unknown) => checkConfig(parseConfig(r, 'n1.json'), board);

test('the lab configuration of either node is clean, with the documented defaults', (t) => {
  for (const i of [1, 2]) t.deepEqual(check(raw(i)), { errors: [], warnings: [] });
  const c = parseConfig(raw(), 'n1.json');
  t.is(c.timers.failoverTimeMs, DEFAULTS.failoverTimeMs);
  t.is(c.timers.heartbeatIntervalMs, DEFAULTS.heartbeatIntervalMs);
  t.deepEqual(c.interfaces[1]!.sharedIp, { address: '198.18.2.1', prefix: 24 });
});

type Mutation = [string, (r: ReturnType<typeof raw>) => unknown, string, RegExp];
const errors: Mutation[] = [
  ['both nodes master', (r) => ((r.peer.type = 'master'), r), 'peer.type', /both master: one must be master and the other slave/],
  ['both nodes slave', (r) => ((r.node.type = 'slave'), r), 'peer.type', /both slave/],
  [
    'shared IP equal to Master_IP',
    (r) => ((r.interfaces[0]!['sharedIp'] = r.interfaces[0]!['masterIp']), r),
    'interfaces[0].sharedIp',
    /equals masterIp 198\.18\.1\.11/,
  ],
  [
    'shared IP equal to Slave_IP',
    (r) => ((r.interfaces[1]!['sharedIp'] = r.interfaces[1]!['slaveIp']), r),
    'interfaces[1].sharedIp',
    /equals slaveIp 198\.18\.2\.12/,
  ],
  [
    'no interface able to carry heartbeats',
    (r) => (r.interfaces.forEach((i) => (i['heartbeats'] = false)), r),
    'interfaces',
    /no interface can carry heartbeats/,
  ],
  ['the same node ID twice', (r) => ((r.peer.id = r.node.id), r), 'peer.id', /heartbeat_from_myself/],
  ['an interface the board lacks', (r) => ((r.interfaces[2]!['name'] = 'eth7'), r), 'interfaces[2].name', /board sim has no NIC named "eth7"/],
  ['two sync interfaces', (r) => ((r.interfaces[0]!['sync'] = true), r), 'interfaces', /only one interface can be the sync interface/],
  [
    'a failover time under three heartbeats',
    (r) => ((r.timers = { heartbeatIntervalMs: 100, failoverTimeMs: 250 }), r),
    'timers.failoverTimeMs',
    /less than three heartbeat intervals/,
  ],
  [
    'a heartbeat lease shorter than the failover time',
    (r) => ((r.timers = { failoverTimeMs: 800, heartbeatLeaseMs: 500 }), r),
    'timers.heartbeatLeaseMs',
    /500 ms is shorter than the failover time \(800 ms\).*use at least 800/,
  ],
  [
    'sync on without a sync interface',
    (r) => (r.interfaces.forEach((i) => (i['sync'] = false)), r),
    'sync.enabled',
    /no interface has "sync": true: name the sync interface, or set sync.enabled to false/,
  ],
  [
    "a sync interface without the peer's address",
    (r) => (delete r.interfaces[3]!['slaveIp'], r),
    'interfaces[3].slaveIp',
    /the sync channel runs between masterIp and slaveIp/,
  ],
  [
    'a sync timeout under two heartbeats',
    (r) => (((r as Record<string, unknown>)['sync'] = { timeoutMs: 100 }), (r.timers = { heartbeatIntervalMs: 100, failoverTimeMs: 300 }), r),
    'sync.timeoutMs',
    /shorter than two heartbeat intervals/,
  ],
];
for (const [name, mutate, field, message] of errors) {
  test(`check refuses ${name}, naming ${field}`, (t) => {
    const r = check(mutate(raw()));
    const f = r.errors.find((e) => e.field === field);
    t.truthy(f, JSON.stringify(r.errors));
    t.regex(f!.message, message);
  });
}

test('the heartbeat lease: 1000 ms by default, the failover time when that is longer; the real-time priority off; a bad priority names its field', (t) => {
  t.deepEqual([parseConfig(raw(), 'n1.json').timers.heartbeatLeaseMs, parseConfig(raw(), 'n1.json').timers.heartbeatRtPriority], [1000, 0]);
  t.is(parseConfig({ ...raw(), timers: { failoverTimeMs: 1500 } }, 'n1.json').timers.heartbeatLeaseMs, 1500);
  t.is(parseConfig({ ...raw(), timers: { failoverTimeMs: 1500, heartbeatLeaseMs: 4000 } }, 'n1.json').timers.heartbeatLeaseMs, 4000);
  t.throws(() => parseConfig({ ...raw(), timers: { heartbeatRtPriority: 120 } }, 'n1.json'), {
    message: /n1\.json: timers\.heartbeatRtPriority: expected an integer 0\.\.99, got 120/,
  });
});

test('sync defaults, and sync off needs no sync interface', (t) => {
  const c = parseConfig(raw(), 'n1.json');
  t.deepEqual(c.sync, { enabled: true, port: 4900, timeoutMs: 3000 });
  const r = raw();
  r.interfaces.forEach((i) => (i['sync'] = false));
  (r as Record<string, unknown>)['sync'] = { enabled: false };
  t.deepEqual(check(r).errors, []);
  t.throws(() => parseConfig({ ...raw(), sync: { port: 70000 } }, 'n1.json'), { message: /n1\.json: sync\.port: expected an integer 1\.\.65535, got 70000/ });
});

test('a cluster ID out of range is refused by the parser with the field path', (t) => {
  const r = raw();
  r.cluster.id = 64;
  t.throws(() => parseConfig(r, 'n1.json'), { message: 'n1.json: cluster.id: expected an integer 0..63, got 64' });
});

test('a monitor target that is no IPv4 address (an octet over 255) is refused by the parser, naming the field (it used to pass check and fail at start)', (t) => {
  const r = raw();
  r.interfaces[1]!['monitorTargets'] = ['198.18.2.100', '300.1.1.1'];
  t.throws(() => parseConfig(r, 'n1.json'), {
    message: /n1\.json: interfaces\[1\]\.monitorTargets: expected IPv4 addresses \(such as 198\.18\.1\.254\) or IPv6 unicast addresses .*, got "300\.1\.1\.1"/,
  });
});

test('the periodic ARP refresh: off by default, a second or more, and anything shorter refused naming the field', (t) => {
  t.is(parseConfig(raw(), 'n1.json').garp.refreshMs, 0);
  const r = raw() as Record<string, unknown>;
  r['garp'] = { refreshMs: 30_000 };
  t.like(parseConfig(r, 'n1.json').garp, { count: 5, intervalMs: 100, refreshMs: 30_000 });
  r['garp'] = { refreshMs: 500 };
  t.throws(() => parseConfig(r, 'n1.json'), { message: 'n1.json: garp.refreshMs: expected 0 (off) or at least 1000 ms, got 500' });
});

test('a board reference of any length is refused naming the field, its value cut short', (t) => {
  const r = raw() as Record<string, unknown>;
  r['board'] = 'x'.repeat(5_000_000);
  const e = t.throws(() => parseConfig(r, 'n1.json'));
  t.true(e.message.startsWith('n1.json: board: expected the name of a shipped board or the path of a board file'), e.message);
  t.true(e.message.length < 300, `${e.message.length} characters`);
});

test("a managed node's file without monitor: the interfaces the cluster gives a shared address are monitored, the others not (the factory file marked every data port)", (t) => {
  const local = parseLocal(
    {
      board: 'sim',
      interfaces: [
        { name: 'eth0', heartbeats: true },
        { name: 'eth1', heartbeats: true },
        { name: 'eth2', heartbeats: true, monitor: false },
        { name: 'eth3', heartbeats: true, sync: true, address: '198.19.255.11/24' },
      ],
      stateDir: '/tmp/x',
      controlSocket: '/tmp/x.sock',
    },
    'node.json',
  );
  const store = M.setProperty(
    M.setProperty(
      M.create(emptyStore(), { name: 'labc', node: 'fw-a', address: '198.19.255.11', key: 'k', salt: 's'.repeat(32) }),
      'shared.eth1',
      '198.18.2.1/24',
    ),
    'shared.eth2',
    '198.18.3.1/24',
  );
  const monitored = managedConfig(local, store).interfaces.map((i) => [i.name, i.monitor]);
  t.deepEqual(monitored, [
    ['eth0', false],
    ['eth1', true],
    ['eth2', false],
    ['eth3', false],
  ]);
  const factory = factoryConfig(board, { etc: '/etc/tandem', lib: '/usr/lib/tandem', state: '/var/lib/tandem' } as Layout, 'sim');
  t.false(JSON.stringify(factory).includes('monitor'), 'the factory file leaves monitor to the cluster');
});

test('a malformed address names its field', (t) => {
  const r = raw();
  r.interfaces[1]!['masterIp'] = '198.18.2.300/24';
  t.throws(() => parseConfig(r, 'n1.json'), { message: /n1\.json: interfaces\[1\]\.masterIp: expected an IPv4 address with prefix length/ });
});

test('only one interface with heartbeats is a warning, not an error (seed 001: very sensitive)', (t) => {
  const r = raw();
  r.interfaces.slice(1).forEach((i) => (i['heartbeats'] = false));
  const res = check(r);
  t.deepEqual(res.errors, []);
  t.regex(res.warnings.find((w) => w.field === 'interfaces')!.message, /only eth0 carries heartbeats/);
});

test('`tandem check` prints every finding with file and field and exits 1 on errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-check-'));
  writeFileSync(join(dir, 'key'), 'secret\n');
  const good = raw();
  good.cluster.passwordFile = 'key';
  writeFileSync(join(dir, 'good.json'), JSON.stringify(good));
  chmodSync(join(dir, 'key'), 0o644);
  const loose = await exec(TANDEM, ['check', '--config', join(dir, 'good.json')]);
  t.regex(
    loose.stdout,
    /good\.json: warning: cluster\.passwordFile: .*key is mode 0644: every user of the system can read the cluster password .*; chmod 600 /,
  );
  t.regex(loose.stdout, /good\.json: OK \(1 warning\)/);
  chmodSync(join(dir, 'key'), 0o600);
  const ok = await exec(TANDEM, ['check', '--config', join(dir, 'good.json')]);
  t.is(ok.stdout, `${join(dir, 'good.json')}: OK\n`);
  const bad = raw();
  bad.cluster.passwordFile = 'missing-key';
  bad.peer.type = 'master';
  writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
  const e = (await t.throwsAsync(exec(TANDEM, ['check', '--config', join(dir, 'bad.json')]))) as Error & { code: number; stdout: string };
  t.is(e.code, 1);
  t.regex(e.stdout, /bad\.json: error: peer\.type: this node and its peer are both master/);
  t.regex(e.stdout, /bad\.json: error: cluster\.passwordFile: cannot read .*missing-key/);
  t.regex(e.stdout, /bad\.json: 2 errors/);
});

test('both nodes of a cluster compute the same definition fingerprint; a different shared address changes it', (t) => {
  const one = clusterDefinition(parseConfig(raw(1), 'n1.json'));
  t.is(clusterDefinition(parseConfig(raw(2), 'n2.json')), one);
  const r = raw(2);
  r.interfaces[0]!['sharedIp'] = '198.18.1.2/24';
  t.not(clusterDefinition(parseConfig(r, 'n2.json')), one);
});

test('bypass in the pre-flight: an unknown segment is refused; a failure mode the hardware would not keep after a crash is a warning; fail-closed needs a disconnect relay', (t) => {
  const withBypass = (b: Record<string, unknown>) => ({ ...raw(), bypass: b });
  t.regex(
    check(withBypass({ 'wan-dmz': { failureMode: 'fail-open' } })).errors.find((e) => e.field === 'bypass.wan-dmz')!.message,
    /board sim has no bypass segment "wan-dmz" \(it has wan-lan\)/,
  );
  const closed = check(withBypass({ 'wan-lan': { failureMode: 'fail-closed' } }));
  t.deepEqual(closed.errors, []);
  t.regex(closed.warnings.find((w) => w.field === 'bypass.wan-lan.failureMode')!.message, /after a crash the hardware does "bypass"/);
  const noDisconnect = { ...board, bypass: board.bypass.map((s) => ({ ...s, disconnectGpio: null })) };
  const e = checkConfig(parseConfig(withBypass({ 'wan-lan': { failureMode: 'fail-closed' } }), 'n1.json'), noDisconnect).errors;
  t.regex(e.find((x) => x.field === 'bypass.wan-lan.failureMode')!.message, /fail-closed needs a disconnect relay/);
  t.deepEqual(check(raw()).warnings, [], 'the lab default (fail-open on a board that bypasses when released) is clean');
});

test('corosync settings: defaults, and a bad value names its field', (t) => {
  const d = parseConfig(raw(), 'n1.json');
  t.deepEqual(d.corosync, { manage: true, privateRun: false, port: 5405, tokenMs: 1000 });
  t.is(d.cluster.engine, 'heartbeat', 'a static configuration is a pair on heartbeats');
  const r = { ...raw(), corosync: { manage: false, port: 70000 } };
  t.throws(() => parseConfig(r, 'n1.json'), { message: /n1\.json: corosync\.port: expected an integer 1\.\.65535, got 70000/ });
  const ok = parseConfig({ ...raw(), corosync: { manage: false, tokenMs: 3000 } }, 'n1.json');
  t.deepEqual(ok.corosync, { manage: false, privateRun: false, port: 5405, tokenMs: 3000 });
});

test('the management server is HTTPS on 443 unless the file says http (then 8080); anything else is an error naming the field', (t) => {
  const local = (management: Record<string, unknown>) =>
    parseLocal({ board: 'sim', interfaces: [{ name: 'eth1', address: '198.18.2.11/24' }], management: { interface: 'eth1', ...management } }, 'node.json')
      .management;
  t.deepEqual(local({}), { interface: 'eth1', protocol: 'https', port: 443, gateway: null, gateway6: null, protocolImplied: true, portGiven: false });
  t.deepEqual(local({ protocol: 'http' }), {
    interface: 'eth1',
    protocol: 'http',
    port: 8080,
    gateway: null,
    gateway6: null,
    protocolImplied: false,
    portGiven: false,
  });
  t.is(local({ protocol: 'https', port: 8443 })?.port, 8443);
  const e = t.throws(() => local({ protocol: 'ftp' }));
  t.regex(e.message, /^node\.json: management\.protocol: .*"https" \(the default\) or "http"/);
});

test('`tandem check` says what a file from before HTTPS gets: a port and no protocol is HTTPS on that port (issue 33 item 7)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-check-'));
  const file = (management: Record<string, unknown>) => {
    const path = join(dir, `${Object.values(management).join('-')}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        board: 'sim',
        stateDir: dir,
        interfaces: [{ name: 'eth1', address: '198.18.2.11/24' }],
        management: { interface: 'eth1', ...management },
      }),
    );
    return path;
  };
  const old = await exec(TANDEM, ['check', '--config', file({ port: 8080 })]);
  t.regex(
    old.stdout,
    /warning: management\.protocol: not set: the management server speaks HTTPS on port 8080 \(tandem builds before the HTTPS server spoke plain HTTP there.*set "protocol": "https" to say so, or "http" to keep plain HTTP/,
  );
  for (const said of [{ port: 8080, protocol: 'http' }, { port: 8443, protocol: 'https' }, {}])
    t.notRegex((await exec(TANDEM, ['check', '--config', file(said)])).stdout, /management\.protocol/, JSON.stringify(said));
});

test("a static pair's members carry the sync addresses the file gives (Master_IP, Slave_IP of the sync interface)", (t) => {
  const c = parseConfig(raw(), 'n1.json');
  const sync = raw().interfaces.find((i) => i['sync'] === true)!;
  t.deepEqual(
    c.members.map((m) => [m.type, m.address]),
    [
      ['master', String(sync['masterIp']).split('/')[0]],
      ['slave', String(sync['slaveIp']).split('/')[0]],
    ],
  );
  t.regex(c.members[0]!.address, /^198\.19\.255\.\d+$/);
});
