/**
 * Clusters on Corosync in the lab, behind a real HAProxy: three and five members serve; a killed
 * member leaves the rotation and the rest serve on with no failed request; a sixth member added at
 * runtime takes the state and serves; concurrent changes land in one order on every member; a 3|2
 * partition of the sync network stops the side of two (and it says why), and healing converges.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { askControl } from '../../src/api/control-socket.js';
import { statusScreen } from '../../src/console/status-screen.js';
import { HttpProbe } from '../../src/lab/http-probe.js';
import { forwardWebService, Haproxy } from '../../src/lab/load-balancer.js';
import { netnsPids } from '../../src/lab/netns.js';
import { run } from '../../src/lab/run.js';
import { sleep, until } from '../helpers/lab.js';
import { addAndJoin, lanAddr, managedGroup, memberName, wanAddr } from '../helpers/group.js';

const INTERVAL = 300;
type Group = Awaited<ReturnType<typeof managedGroup>>;

async function behindHaproxy(t: ExecutionContext, g: Group, count: number) {
  await forwardWebService(g.lab);
  const haproxy = await Haproxy.start(
    g.lab,
    g.cluster.dir,
    Array.from({ length: count }, (_, k) => ({ name: memberName(k + 1), address: lanAddr(k + 1), checkAddress: lanAddr(k + 1), checkPort: 443 })),
    {
      // Over TLS, trusting each member's own certificate (a late joiner made its own at its standalone start).
      checkSsl: Haproxy.trust(
        g.cluster.dir,
        Array.from({ length: count }, (_, k) => join(g.cluster.dir, `n${k + 1}-state`)),
      ),
      listen: { address: '198.18.2.100', port: 8000 },
      servicePort: 80,
      intervalMs: INTERVAL,
      fall: 2,
      rise: 2,
    },
  );
  t.teardown(() => haproxy.stop());
  const web = await HttpProbe.start(g.lab, 'http://198.18.2.100:8000/', { everyMs: 20 });
  t.teardown(() => web.stop());
  const inRotation = async (names: string[]) => {
    const s = await haproxy.servers();
    return (
      Object.keys(s)
        .filter((n) => s[n])
        .sort()
        .join() === [...names].sort().join()
    );
  };
  return { haproxy, web, inRotation };
}

/** kill -9 of a member's tandemd (supervisor and worker); its Corosync ends with the worker. */
async function killMember(g: Group, i: number): Promise<void> {
  for (const pid of await netnsPids(g.lab.plan.nodes[i - 1]!.netns)) {
    const cmd = await run(['cat', `/proc/${pid}/cmdline`]).then(
      (x) => x.stdout,
      () => '',
    );
    if (cmd.includes('tandemd')) process.kill(pid, 'SIGKILL');
  }
}

const sessions = async (g: Group, i: number) => (await askControl(g.sock(i), { cmd: 'store-get', store: 'sessions' })) as Record<string, unknown>;
const servedBy = (web: HttpProbe, from: number, to: number) => [...new Set(web.between(from, to).map((r) => r.servedBy))].sort();

test.serial('three members behind HAProxy: all serve, the leader killed, the other two serve on with no failed request', async (t) => {
  const g = await managedGroup(t, 3);
  const { web, inRotation } = await behindHaproxy(t, g, 3);
  const all = [1, 2, 3].map(memberName);
  t.true(await until(() => inRotation(all), 5000), 'HAProxy has the three in rotation');
  const t0 = Date.now();
  await sleep(1500);
  t.deepEqual(servedBy(web, t0, Date.now() - 300), [1, 2, 3].map(wanAddr), 'requests go through all three');

  for (let k = 0; k < 90; k++) await askControl(g.sock((k % 3) + 1), { cmd: 'store-set', store: 'sessions', key: `s${k}`, value: { user: `u${k}` } });
  for (const i of [1, 2, 3]) t.is(Object.keys(await sessions(g, i)).length, 90, `${memberName(i)} has every session`);
  const big = await askControl(g.sock(2), { cmd: 'store-set', store: 'sessions', key: 'big', value: 'x'.repeat(200_000) }).then(
    () => '',
    (e: Error) => e.message,
  );
  t.regex(big, /the change is \d+ bytes as JSON; one change carries at most 131072/, 'an oversized value is refused, the member unharmed');
  t.is((await g.status(2))!.cluster.leader, 'fw-a');

  const killedAt = Date.now();
  await killMember(g, 1);
  t.true(await until(() => inRotation(['fw-b', 'fw-c']), 3000), 'fw-a out of rotation');
  t.true(await until(async () => (await g.status(2))?.cluster.leader === 'fw-b' && (await g.status(3))?.cluster.leader === 'fw-b', 5000), 'fw-b leads now');
  const s2 = (await g.status(2))!;
  t.true(s2.healthCheck.ok && (await g.serving(3)), 'the other two still serve (2 of 3 is quorum)');
  t.deepEqual(s2.group.view, [2, 3]);
  t.log(
    `fw-a killed: out of rotation, fw-b leads; Corosync as fw-b sees it: quorate ${String(s2.group.corosync.quorate)}, members ${s2.group.corosync.members.map((m) => m.name).join(',')}`,
  );
  const text = (await g.cli(2, 'status')).stdout;
  t.log(text);
  t.regex(text, /this member fw-b: in a group of fw-b, fw-c; 3 members count, quorum 2: quorate; holds the cluster state/);
  t.regex(text, /Corosync \(pid \d+\): node 2, quorate, votes 2 of 3 expected \(quorum 2\); members fw-b\(2\) fw-c\(3\)/);
  t.regex(text, /fw-a +198\.19\.255\.11 +unreachable/);
  const screen = statusScreen((await askControl(g.sock(2), 'status')) as Record<string, unknown>);
  t.true(screen.length <= 20 && screen.every((l) => l.length <= 80), "the console's status screen fits 80x24");
  t.true(screen.includes('Cluster labc (active-active on Corosync), leader fw-b'));
  t.true(
    screen.some((l) => l.startsWith('Group: 2 of 3 members, quorum 2: quorate; holds the state')),
    screen.join('\n'),
  );
  await askControl(g.sock(3), { cmd: 'store-set', store: 'sessions', key: 'after', value: 1 });
  t.is((await sessions(g, 2))['after'], 1, 'writes go on');
  await sleep(1000);
  t.deepEqual(servedBy(web, Date.now() - 700, Date.now() - 100), [2, 3].map(wanAddr));

  // Disable fw-c from fw-b (an ordered change): fw-c says so and leaves the rotation; enabled, it is back.
  let r = await g.cli(2, 'cluster', 'disable', 'fw-c', '--yes');
  t.is(r.code, 0, r.stderr);
  t.true(await until(async () => (await g.status(3))?.healthCheck.text === 'Cluster Disabled: this member is disabled', 3000), 'fw-c knows it is disabled');
  t.true(await until(() => inRotation(['fw-b']), 3000), 'fw-c out of rotation');
  r = await g.cli(3, 'cluster', 'enable', 'fw-c');
  t.is(r.code, 0, r.stderr);
  t.true(await until(() => inRotation(['fw-b', 'fw-c']), 3000), 'fw-c back in rotation');
  const failed = web.between(t0, Date.now()).filter((x) => !x.ok);
  t.deepEqual(failed, [], `no request failed (${web.between(t0, Date.now()).length} requests, ${web.between(killedAt, Date.now()).length} after the kill)`);
});

test.serial(
  'five members behind HAProxy: one order for concurrent changes; one powered off; a sixth added at runtime takes the state and serves',
  async (t) => {
    const g = await managedGroup(t, 6, { lateJoiners: 1 });
    const { web, inRotation } = await behindHaproxy(t, g, 6);
    const five = [1, 2, 3, 4, 5];
    t.true(await until(() => inRotation(five.map(memberName)), 5000), 'HAProxy has the five in rotation (fw-f is not a member yet)');
    const t0 = Date.now();
    await sleep(1500);
    t.deepEqual(servedBy(web, t0, Date.now() - 300), five.map(wanAddr), 'requests go through all five');

    // Concurrent writes of one key from every member: one order, so one last value everywhere.
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        five.map((i) => askControl(g.sock(i), { cmd: 'store-set', store: 'config', key: 'motd', value: `round ${round} from ${memberName(i)}` })),
      );
      const values = await Promise.all(five.map(async (i) => (await askControl(g.sock(i), { cmd: 'store-get', store: 'config', key: 'motd' })) as string));
      t.is(new Set(values).size, 1, `round ${round}: every member ends with the same value (${values[0]})`);
    }
    // Concurrent cluster-wide changes from two members: the same definition (revision and value) everywhere.
    const [a, b] = await Promise.all([g.cli(2, 'cluster', 'properties', 'logSync=off'), g.cli(4, 'cluster', 'properties', 'logSync=on')]);
    t.is(a.code, 0, a.stderr);
    t.is(b.code, 0, b.stderr);
    // Each answered once its own change applied there; the other's may still be on its way to some members.
    const defs = async () =>
      Promise.all(
        five.map(async (i) => (await askControl(g.sock(i), { cmd: 'cluster', op: 'properties' })) as { revision: number; properties: { logSync: boolean } }),
      );
    const before = (await defs())[0]!.revision;
    t.true(
      await until(
        async () =>
          (await defs()).every((d) => d.revision === before || d.revision === before + 1) &&
          new Set((await defs()).map((d) => `${d.revision}:${String(d.properties.logSync)}`)).size === 1,
        3000,
      ),
      'one definition everywhere',
    );
    const d = (await defs())[0]!;
    t.log(`two concurrent property changes: revision ${d.revision}, logSync ${String(d.properties.logSync)} on every member`);

    for (let k = 0; k < 200; k++) await askControl(g.sock((k % 5) + 1), { cmd: 'store-set', store: 'sessions', key: `s${k}`, value: { user: `u${k}`, at: k } });

    // A member powered off (processes frozen, cables cut): HAProxy and the group drop it; nothing fails.
    const offAt = Date.now();
    await g.lab.powerOff('n5');
    t.true(await until(() => inRotation([1, 2, 3, 4].map(memberName)), 3000), 'fw-e out of rotation');
    t.true(await until(async () => (await g.status(1))?.group.view.join() === '1,2,3,4', 5000), 'fw-e left the group');
    t.log(`fw-e powered off: out of the group after ${Date.now() - offAt} ms`);

    // The sixth member, added from fw-b while fw-e is down: it takes the state from the group and serves.
    const addAt = Date.now();
    await addAndJoin(g, t, 6, 2);
    t.log(`fw-f added and serving after ${Date.now() - addAt} ms`);
    t.deepEqual(await sessions(g, 6), await sessions(g, 1), 'fw-f holds every session');
    t.is(
      (await askControl(g.sock(6), { cmd: 'store-get', store: 'config', key: 'motd' })) as string,
      (await askControl(g.sock(1), { cmd: 'store-get', store: 'config', key: 'motd' })) as string,
    );
    t.true(await until(() => inRotation([1, 2, 3, 4, 6].map(memberName)), 3000), 'fw-f in rotation');
    await sleep(1000);
    t.true(servedBy(web, Date.now() - 700, Date.now() - 100).includes(wanAddr(6)), 'fw-f forwards requests');
    const s6 = (await g.status(6))!;
    t.is(s6.group.configured, 6, 'fw-f counts: six members, five present');
    t.true(s6.group.quorate);
    const failed = web.between(t0, Date.now()).filter((r) => !r.ok);
    t.deepEqual(failed, [], `no request failed (${web.between(t0, Date.now()).length} requests)`);
    await g.lab.powerOn('n5');
    t.true(await until(() => g.serving(5), 15_000), 'fw-e back: it rejoins, takes the state and serves');
    t.deepEqual(await sessions(g, 5), await sessions(g, 1));

    // fw-f leaves (ordered like any change): it is standalone, the others count five members again.
    const left = await g.cli(6, 'cluster', 'leave', '--yes');
    t.is(left.code, 0, left.stderr);
    t.true(
      await until(async () => ((await askControl(g.sock(6), 'status').catch(() => null)) as { standalone?: boolean } | null)?.standalone === true, 15_000),
      'fw-f is standalone',
    );
    t.true(
      await until(
        async () => (await Promise.all(five.map(async (i) => (await g.status(i))?.group.configured === 5 && (await g.serving(i))))).every(Boolean),
        10_000,
      ),
      'the five count five members and serve',
    );
    t.false(/fw-f/.test(readFileSync(join(g.cluster.dir, 'n1-state', 'corosync', 'corosync.conf'), 'utf8')), "fw-f is out of Corosync's node list");
  },
);

test.serial('a 3|2 partition of the sync network: the two stop serving and say why; healed, all five converge and serve', async (t) => {
  const g = await managedGroup(t, 5);
  const { inRotation } = await behindHaproxy(t, g, 5);
  const five = [1, 2, 3, 4, 5];
  t.true(await until(() => inRotation(five.map(memberName)), 5000));
  for (let k = 0; k < 50; k++) await askControl(g.sock((k % 5) + 1), { cmd: 'store-set', store: 'sessions', key: `s${k}`, value: k });

  const cutAt = Date.now();
  await g.lab.partition('sync', ['n1', 'n2', 'n3'], ['n4', 'n5']);
  t.true(await until(async () => !(await g.serving(4)) && !(await g.serving(5)), 10_000), 'the side of two stops serving');
  const s4 = (await g.status(4))!;
  t.log(`partition: the two stopped after ${Date.now() - cutAt} ms; fw-d says "${s4.healthCheck.text}"`);
  t.regex(s4.healthCheck.text, /^No quorum: 2 of 5 members in this member's group, 3 needed/);
  t.false(s4.group.quorate);
  t.false(s4.group.corosync.quorate ?? true, 'Corosync agrees: no quorum on that side');
  const why = (await g.cli(4, 'why')).stdout.trim();
  t.log(`tandem why on fw-d: ${why}`);
  const m = /^(\S+ \S+) UTC: stopped serving: No quorum: 2 of 5 members in this member's group, 3 needed; .*; group: fw-d, fw-e; leader: none$/.exec(why);
  t.truthy(m, why);
  const at = Date.parse(`${m![1]!.replace(' ', 'T')}Z`);
  t.true(at >= cutAt && at <= cutAt + 10_000, 'when it stopped, between the cut and its detection');
  const text = (await g.cli(4, 'status')).stdout;
  t.regex(text, /health check: 500 No quorum/);
  t.regex(text, /in a group of fw-d, fw-e; 5 members count, quorum 3: NO QUORUM/);
  t.regex(text, /Corosync \(pid \d+\): node 4, NOT quorate, votes 2 of 5 expected/);
  for (const i of [1, 2, 3]) t.true(await g.serving(i), `${memberName(i)} serves on the side of three`);
  t.true(await until(() => inRotation([1, 2, 3].map(memberName)), 3000), 'HAProxy keeps only the three');
  const refused = await askControl(g.sock(4), { cmd: 'store-set', store: 'sessions', key: 'lost', value: 1 }).then(
    () => null,
    (e: Error) => e.message,
  );
  t.regex(refused ?? '', /takes no writes: it has no quorum/);
  for (let k = 50; k < 80; k++) await askControl(g.sock((k % 3) + 1), { cmd: 'store-set', store: 'sessions', key: `s${k}`, value: k });

  const healAt = Date.now();
  await g.lab.heal();
  t.true(await until(async () => (await Promise.all(five.map((i) => g.serving(i)))).every(Boolean), 20_000), 'all five serve again');
  t.log(`healed: all five serve after ${Date.now() - healAt} ms`);
  t.regex((await g.cli(4, 'why')).stdout, /UTC: started serving: Cluster Enabled; group: fw-a, fw-b, fw-c, fw-d, fw-e; leader: fw-a\n$/);
  t.regex((await g.cli(4, 'why', '--list')).stdout, /started serving[\s\S]*stopped serving: No quorum[\s\S]*started serving/);
  const ref = await sessions(g, 1);
  t.is(Object.keys(ref).length, 80);
  for (const i of [4, 5]) t.deepEqual(await sessions(g, i), ref, `${memberName(i)} took the state written during the partition`);
  t.true(await until(() => inRotation(five.map(memberName)), 3000), 'HAProxy has the five again');
});
