import test from 'ava';
import { join } from 'node:path';
import { askControl } from '../../src/api/control-socket.js';
import { HttpProbe } from '../../src/lab/http-probe.js';
import { forwardWebService, Haproxy } from '../../src/lab/load-balancer.js';
import { run } from '../../src/lab/run.js';
import { netnsPids } from '../../src/lab/netns.js';
import { sleep, until } from '../helpers/lab.js';
import { form, managedPair } from '../helpers/managed.js';

const INTERVAL = 500;
const MEMBERS = [
  { name: 'fw-a', node: 'n1', lan: '198.18.2.11', wan: '198.18.1.11' },
  { name: 'fw-b', node: 'n2', lan: '198.18.2.12', wan: '198.18.1.12' },
] as const;

test.serial(
  'Active/Active behind a real HAProxy: both serve; drain, disable, kill take a member out within two check intervals, enable brings it back, no request fails',
  async (t) => {
    const p = await managedPair(t, false);
    await form(t, p, 'active-active');
    await forwardWebService(p.lab);
    t.true(
      await until(async () => (await p.status('n1'))?.healthCheck?.ok === true && (await p.status('n2'))?.healthCheck?.ok === true, 10_000),
      'both members answer the health check with Cluster Enabled',
    );

    const haproxy = await Haproxy.start(
      p.lab,
      p.cluster.dir,
      MEMBERS.map((m) => ({ name: m.name, address: m.lan, checkAddress: m.lan, checkPort: 443 })),
      {
        checkSsl: Haproxy.trust(
          p.cluster.dir,
          MEMBERS.map((m) => join(p.cluster.dir, `${m.node}-state`)),
        ),
        listen: { address: '198.18.2.100', port: 8000 },
        servicePort: 80,
        intervalMs: INTERVAL,
        fall: 2,
        rise: 2,
      },
    );
    t.teardown(() => haproxy.stop());
    const web = await HttpProbe.start(p.lab, 'http://198.18.2.100:8000/', { everyMs: 20 });
    t.teardown(() => web.stop());
    const inRotation = async (name: string) => (await haproxy.servers())[name] === true;
    t.true(await until(async () => (await inRotation('fw-a')) && (await inRotation('fw-b')), 5000), 'HAProxy has both members in rotation');

    // Both serve: requests reach the server through each member's own address.
    let t0 = Date.now();
    await sleep(2000);
    const served = new Set(web.between(t0, Date.now() - 500).map((r) => r.servedBy));
    t.deepEqual([...served].sort(), ['198.18.1.11', '198.18.1.12'], 'requests go through both members');

    /** Time from `at` until HAProxy takes `name` out of (in=false) or back into rotation. */
    const rotationChange = async (name: string, inside: boolean, at: number, within: number): Promise<number> => {
      t.true(await until(async () => (await inRotation(name)) === inside, within, 20), `${name} ${inside ? 'back in' : 'out of'} rotation within ${within} ms`);
      return Date.now() - at;
    };

    // Drain: the health check answers 500, HAProxy takes fw-a out; fw-a keeps forwarding what it has.
    const cycleStart = Date.now();
    t0 = Date.now();
    let r = await p.cli('n1', 'cluster', 'drain', 'fw-a');
    t.is(r.code, 0, r.stderr);
    const drainMs = await rotationChange('fw-a', false, t0, 2 * INTERVAL + 400);
    t.log(`drain: out of rotation after ${drainMs} ms (check interval ${INTERVAL} ms, fall 2)`);
    await sleep(1000);
    const afterDrain = web.between(Date.now() - 800, Date.now() - 100);
    t.true(afterDrain.length > 10 && afterDrain.every((x) => x.servedBy === '198.18.1.12'), 'after the drain only fw-b gets new requests');

    // Undrain: back in rotation.
    t0 = Date.now();
    r = await p.cli('n1', 'cluster', 'undrain', 'fw-a');
    t.is(r.code, 0, r.stderr);
    const undrainMs = await rotationChange('fw-a', true, t0, 2 * INTERVAL + 1500);
    t.log(`undrain: back in rotation after ${undrainMs} ms`);

    // Disable, from the other member: the change travels to fw-a, which stops serving, and HAProxy takes it out.
    t0 = Date.now();
    r = await p.cli('n2', 'cluster', 'disable', 'fw-a', '--yes');
    t.is(r.code, 0, r.stderr);
    const disableMs = await rotationChange('fw-a', false, t0, 2 * INTERVAL + 400);
    t.log(`disable (from fw-b): out of rotation after ${disableMs} ms`);
    t.true(
      await until(async () => (await p.status('n1'))?.role === 'inactive' && (await p.status('n1'))?.disabled === true, 5000),
      'fw-a learnt it is disabled and stopped serving',
    );
    const aSeenByB = async () => (await p.status('n2'))!.cluster!.members.find((m) => m.name === 'fw-a')!;
    t.true(await until(async () => ((await aSeenByB()).bits & 0x6) === 0x2, 2000), 'fw-b shows fw-a disabled');
    const seen = await aSeenByB();
    t.log(`fw-a as fw-b sees it: ${seen.hex} (${seen.words.join(', ')})`);

    // Enable: back in rotation after `rise` good checks.
    t0 = Date.now();
    r = await p.cli('n1', 'cluster', 'enable', 'fw-a');
    t.is(r.code, 0, r.stderr);
    const enableMs = await rotationChange('fw-a', true, t0, 2 * INTERVAL + 1500);
    t.log(`enable: back in rotation after ${enableMs} ms`);
    await sleep(1500);
    const cycle = web.between(cycleStart, Date.now() - 500);
    const failed = cycle.filter((x) => !x.ok);
    t.deepEqual(failed, [], `no request failed in the drain/disable/enable cycle (${cycle.length} requests)`);
    t.deepEqual(
      [...new Set(web.between(Date.now() - 1200, Date.now() - 300).map((x) => x.servedBy))].sort(),
      ['198.18.1.11', '198.18.1.12'],
      'both members serve again',
    );

    // State both ways: a session written on either member is on the other.
    await askControl(p.sock('n1'), { cmd: 'store-set', store: 'sessions', key: 'from-a', value: { user: 'alice' } });
    await askControl(p.sock('n2'), { cmd: 'store-set', store: 'sessions', key: 'from-b', value: { user: 'bob' } });
    const both = async (n: string) => {
      const s = (await askControl(p.sock(n), { cmd: 'store-get', store: 'sessions' })) as Record<string, unknown>;
      return s['from-a'] !== undefined && s['from-b'] !== undefined;
    };
    t.true(await until(async () => (await both('n1')) && (await both('n2')), 3000), 'sessions synchronise both ways');

    // Kill one member's tandemd (supervisor and worker, kill -9): its health check stops answering.
    t0 = Date.now();
    const pids = await netnsPids(p.lab.plan.nodes[1]!.netns);
    for (const pid of pids) {
      const cmd = await run(['cat', `/proc/${pid}/cmdline`]).then(
        (x) => x.stdout,
        () => '',
      );
      if (cmd.includes('tandemd')) process.kill(pid, 'SIGKILL');
    }
    const killMs = await rotationChange('fw-b', false, t0, 2 * INTERVAL + 400);
    t.log(`kill -9 of fw-b's tandemd: out of rotation after ${killMs} ms`);
    const after = web.between(t0, Date.now());
    t.log(`requests during the kill: ${after.length}, failed ${after.filter((x) => !x.ok).length}`);
  },
);
