import test, { type ExecutionContext } from 'ava';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabCluster } from '../../src/lab/cluster.js';
import { run } from '../../src/lab/run.js';
import { simDevices, SIM_LIB } from '../helpers/hw-sim.js';
import { board, eventually, labFor, sleep, until } from '../helpers/lab.js';

/** A cluster whose slave (n2) fences with `fence`; n1 (the master) is active and gets powered off. */
async function fencing(t: ExecutionContext, fence: (dir: string) => Record<string, unknown>, env?: (node: string) => Record<string, string>) {
  const lab = await labFor(t);
  const dir = mkdtempSync(join(tmpdir(), `${lab.name}-fence-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const n2Fence = fence(dir);
  const cluster = await LabCluster.start(lab, board, {
    timers: { initialSilenceMs: 800 },
    configFor: (node) => (node === 'n2' ? { fence: n2Fence } : {}),
    ...(env ? { env } : {}),
  });
  t.teardown(async () => {
    await cluster.stop();
    cluster.cleanup();
  });
  return { lab, cluster };
}

function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const sharedLinks = async (netns: string) => [...(await run(['ip', '-n', netns, '-o', 'link', 'show'])).stdout.matchAll(/^\d+: (tsh[0-9a-f]{2})@/gm)].length;

test.serial('STONITH: the dead peer is fenced before the survivor brings up the shared addresses', async (t) => {
  const lab = await labFor(t);
  const dir = mkdtempSync(join(tmpdir(), `${lab.name}-fence-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stonith = script(dir, 'stonith.sh', `echo "$1 $2" > ${dir}/fenced`);
  const cluster = await LabCluster.start(lab, board, {
    timers: { initialSilenceMs: 800 },
    configFor: (n) => (n === 'n2' ? { fence: { command: stonith } } : {}),
  });
  t.teardown(async () => {
    await cluster.stop();
    cluster.cleanup();
  });
  t.is((await cluster.settled(15_000)).active, 'n1');
  await lab.powerOff('n1');
  t.true(await eventually(() => cluster.events('n2', 'takeover').length > 0, 5000));
  t.is(readFileSync(join(dir, 'fenced'), 'utf8').trim(), 'n1 1', "the command got the peer's name and ID");
  const order = cluster.node('n2').events.map((e) => e.event);
  t.true(order.indexOf('peer_fenced') >= 0 && order.indexOf('peer_fenced') < order.indexOf('takeover'), 'fenced, then the shared addresses');
  t.like(cluster.events('n2', 'peer_fenced')[0], { peer: 'n1', how: `command ${stonith}` });
});

test.serial('a STONITH command that fails: with the default policy the survivor stays inactive and says why', async (t) => {
  const { lab, cluster } = await fencing(t, (dir) => ({ command: script(dir, 'fail.sh', 'echo "no power switch answered" >&2; exit 3') }));
  t.is((await cluster.settled(15_000)).active, 'n1');
  await lab.powerOff('n1');
  t.true(await eventually(() => cluster.events('n2', 'takeover_withheld').length > 0, 5000));
  t.regex(String(cluster.events('n2', 'fence_failed')[0]!['error']), /failed \(exit 3\): no power switch answered/);
  t.like(cluster.events('n2', 'fence_failed')[0], { policy: 'stay-inactive' });
  await sleep(1500);
  t.is((await cluster.status('n2')).role, 'inactive');
  t.is(cluster.events('n2', 'takeover').length, 0, 'the shared addresses never came up');
  t.is(await sharedLinks(lab.plan.nodes[1]!.netns), 0);
  // The log tells what happened: fencing, then back to inactive; never a takeover or a release.
  const changes = cluster.events('n2', 'role_change').map((e) => `${String(e['from'])}->${String(e['to'])} ${String(e['reason'])}`);
  t.deepEqual(changes.slice(-2), ['inactive->fencing peer_dead', 'fencing->inactive fence_failed']);
  t.false(
    changes.some((c) => c.includes('->active')),
    changes.join(', '),
  );
  t.is(cluster.events('n2', 'shared_addresses_released').length, 0);
});

test.serial('a STONITH command that hangs is killed at its timeout; with policy take-over the survivor takes over anyway', async (t) => {
  const { lab, cluster } = await fencing(t, (dir) => ({ command: script(dir, 'hang.sh', 'sleep 30'), timeoutMs: 1500, onFailure: 'take-over' }));
  t.is((await cluster.settled(15_000)).active, 'n1');
  await lab.powerOff('n1');
  // While the fence runs, the node says it is fencing, and holds nothing.
  t.true(await until(async () => (await cluster.status('n2')).role === 'fencing', 3000, 50), 'status shows fencing during the fence');
  t.is((await cluster.status('n2')).sharedAddresses, 'released');
  t.true(await eventually(() => cluster.events('n2', 'takeover').length > 0, 5000));
  const failed = cluster.events('n2', 'fence_failed')[0]!;
  t.regex(String(failed['error']), /did not finish within 1500 ms and was killed/);
  t.true(Number(failed['tookMs']) >= 1500 && Number(failed['tookMs']) < 3000);
  t.like(cluster.events('n2', 'role_change').at(-1), { from: 'fencing', to: 'active', reason: 'fence_failed_taking_over' });
  const order = cluster.node('n2').events.map((e) => e.event);
  t.true(order.indexOf('fence_failed') < order.indexOf('takeover'));
});

test.serial('fencing through a bypass segment: the relay is set before the shared addresses come up', async (t) => {
  const sims = { n1: simDevices(t, { chips: { 0: 'relays 2' } }), n2: simDevices(t, { chips: { 0: 'relays 2' } }) };
  const seg = (
    JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'board', 'sim.json'), 'utf8')) as { bypass: Parameters<(typeof sims)['n1']['segmentMode']>[0][] }
  ).bypass[0]!;
  const { lab, cluster } = await fencing(
    t,
    () => ({ bypassSegment: 'wan-lan', bypassMode: 'disconnect' }),
    (node) => ({ LD_PRELOAD: SIM_LIB, TANDEM_HW_SIM_DIR: sims[node as 'n1' | 'n2'].dir }),
  );
  t.is((await cluster.settled(15_000)).active, 'n1');
  t.true(await eventually(() => sims.n2.segmentMode(seg) === 'inline', 3000));
  await lab.powerOff('n1');
  t.true(await eventually(() => cluster.events('n2', 'takeover').length > 0, 5000));
  t.like(cluster.events('n2', 'peer_fenced')[0], { peer: 'n1', how: 'bypass segment wan-lan disconnect' });
  const order = cluster.node('n2').events.map((e) => e.event);
  t.true(order.indexOf('peer_fenced') < order.indexOf('takeover'));
  t.is(sims.n2.segmentMode(seg), 'disconnect');
});
