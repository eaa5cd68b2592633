import test from 'ava';
import { askControl } from '../../src/api/control-socket.js';
import { tandem } from '../helpers/cli.js';
import { until } from '../helpers/lab.js';
import { managedPair, SYNC_ADDR } from '../helpers/managed.js';

test.serial("create, add-member, join: the joining node gets the member's system state field by field and loses its own sessions", async (t) => {
  const { pw, sock, cli, status, cluster } = await managedPair(t);
  t.true(await until(async () => (await status('n1'))?.standalone === true && (await status('n2'))?.standalone === true, 10_000), 'both start standalone');

  // Each node has system state of its own before the cluster exists.
  const set = (n: string, store: string, key: string, value: unknown) => askControl(sock(n), { cmd: 'store-set', store, key, value });
  await set('n1', 'config', 'dns', { servers: ['198.18.1.53'] });
  await set('n1', 'config', 'auth.radius', { host: '198.18.2.20', port: 1812 });
  await set('n2', 'config', 'dns', { servers: ['198.18.9.9'] });
  await set('n2', 'config', 'only-on-n2', true);
  await set('n2', 'sessions', 'cookie-1', { user: 'alice' });

  let r = await cli('n1', 'cluster', 'create', '--name', 'labc', '--node', 'fw-a', '--password-file', pw);
  t.is(r.code, 0, r.stderr);
  t.true(await until(async () => (await status('n1'))?.role === 'active', 15_000), 'fw-a serves as a cluster of one');

  r = await cli('n1', 'cluster', 'add-member', 'fw-b', SYNC_ADDR.n2);
  t.is(r.code, 0, r.stderr);
  // Added on one side, never joined from the other: unreachable, and why.
  t.true(await until(async () => (await status('n1'))?.cluster?.members.find((m) => m.name === 'fw-b')?.unreachable === 'never_joined', 15_000));
  const b = (await status('n1'))!.cluster!.members.find((m) => m.name === 'fw-b')!;
  t.true((b.bits & 0x8) !== 0, `unreachable bit set in ${b.hex}`);

  // The CLI refuses to overwrite without a confirmation it cannot ask for.
  r = await cli('n2', 'cluster', 'join', '--member', SYNC_ADDR.n1, '--password-file', pw);
  t.not(r.code, 0);
  t.regex(
    r.stderr,
    /overwrites this node's state with that of the member at [\d.]+: its system state \(2 keys here\) is replaced and its 1 sessions end[\s\S]*--yes/,
  );

  r = await cli('n2', 'cluster', 'join', '--member', SYNC_ADDR.n1, '--password-file', pw, '--yes');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /joined cluster labc as fw-b/);
  // The CLI's join reached the daemon's one cluster dispatcher (the serial console's and the web console's do too:
  // test/lab/console.test.ts, test/lab/web-console.test.ts).
  t.true(cluster.node('n2').events.some((e) => e.event === 'cluster_operation' && e['op'] === 'join' && e['via'] === 'cli'));

  t.true(
    await until(async () => {
      const s = await status('n2');
      return s?.cluster?.members.length === 2 && s.role === 'inactive' && 'role' in s.sync && s.sync.status === 'in-sync';
    }, 20_000),
    'fw-b runs as the standby, in sync',
  );
  const config = (await askControl(sock('n2'), { cmd: 'store-get', store: 'config' })) as Record<string, unknown>;
  t.deepEqual(
    config,
    { dns: { servers: ['198.18.1.53'] }, 'auth.radius': { host: '198.18.2.20', port: 1812 } },
    "fw-b holds fw-a's system state and nothing of its own",
  );
  t.deepEqual(await askControl(sock('n2'), { cmd: 'store-get', store: 'sessions' }), {}, "fw-b's own sessions are gone");

  // Both see both members, reachable; exactly one leader.
  t.true(
    await until(async () => {
      const [s1, s2] = [await status('n1'), await status('n2')];
      const ok = (s: typeof s1) => s?.cluster?.members.every((m) => m.unreachable === null) && s.cluster.members.filter((m) => m.leader).length === 1;
      return ok(s1) && ok(s2) && s1!.cluster!.leader === s2!.cluster!.leader;
    }, 15_000),
    'both members reachable and agree on one leader',
  );
  // One reading shows the settled cluster: the leader with seed 000's good state 0x18004, the other member 0x10004.
  let text = '';
  const good = async () => {
    text = (await tandem(['status', '--socket', sock('n1')])).stdout;
    const rows = text.split('\n').filter((l) => /^fw-[ab]/.test(l));
    return (
      rows.length === 2 &&
      rows.filter((l) => / 0x18004  enabled, leader, cluster service connected/.test(l)).length === 1 &&
      rows.filter((l) => / 0x10004  enabled, cluster service connected/.test(l)).length === 1
    );
  };
  t.true(await until(good, 10_000), text);
  t.regex(text, /cluster labc \(active-passive\)/);
});
