import test from 'ava';
import { join } from 'node:path';
import type { SyncWorkerData } from '../../src/sync/worker.js';
import { SyncClient } from '../../src/runtime/pair/sync-client.js';

const FAKE = join(__dirname, '..', 'helpers', 'fake-sync-worker.js');

function logger() {
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  return { events, log: { log: (_l: string, event: string, fields: Record<string, unknown> = {}) => void events.push({ event, fields }) } };
}

const wait = async (check: () => boolean, ms = 3000) => {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return check();
};

test('a commit the worker does not answer is given up at its deadline, so the takeover goes on', async (t) => {
  const { log } = logger();
  const c = await SyncClient.start({ hangCommit: true } as unknown as SyncWorkerData, log, { script: FAKE, commitDeadlineMs: 100 });
  t.teardown(() => c.stop());
  const t0 = performance.now();
  await t.throwsAsync(c.commitForTakeover(0), { message: 'the sync worker did not answer commit within 100 ms' });
  t.true(performance.now() - t0 < 1000);
});

test('a worker that ends is started again and told the role; meanwhile the heartbeats say unknown, not its last word', async (t) => {
  const { events, log } = logger();
  const c = await SyncClient.start({} as SyncWorkerData, log, { script: FAKE, restartDelayMs: 50 });
  t.teardown(() => c.stop());
  t.true(await wait(() => c.heartbeatFields().syncStatus === 'in-sync'));
  await c.setRole(true);
  let changes = 0;
  c.onChange = () => changes++;
  await t.throwsAsync(c.request({ op: 'crash' as never }), { message: /the sync worker exited \(7\)/ });
  t.is(c.heartbeatFields().syncStatus, 'unknown');
  t.is(c.status().status, 'unknown');
  t.true(changes >= 1, 'the heartbeats were told');
  t.like(events.find((e) => e.event === 'sync_worker_failed')?.fields, { restartInMs: 50 });
  await t.throwsAsync(c.commitForTakeover(0), { message: /not running/ });
  t.true(await wait(() => events.some((e) => e.event === 'sync_worker_restarted')), 'restarted');
  t.like(events.filter((e) => e.event === 'sync_role').at(-1)?.fields, { op: 'setRole', active: true }, 'the new worker was told the role');
  t.true(await wait(() => c.heartbeatFields().syncStatus === 'in-sync'));
  t.is(await c.commitForTakeover(0), 'commit');
});

test('a stopped client does not start the worker again', async (t) => {
  const { events, log } = logger();
  const c = await SyncClient.start({} as SyncWorkerData, log, { script: FAKE, restartDelayMs: 20 });
  await c.stop();
  await new Promise((r) => setTimeout(r, 100));
  t.false(events.some((e) => e.event === 'sync_worker_failed' || e.event === 'sync_worker_restarted'));
});
