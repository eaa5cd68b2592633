import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabCluster } from '../../src/lab/cluster.js';
import { run } from '../../src/lab/run.js';
import { BOARD_DIR } from '../../src/board/board-file.js';
import { simDevices, SIM_LIB } from '../helpers/hw-sim.js';
import { board, eventually, labFor, sleep } from '../helpers/lab.js';

test.serial('the worker feeds the watchdog; SIGSTOP lets it fire on that node only; a clean stop disarms it', async (t) => {
  const lab = await labFor(t);
  const sims = { n1: simDevices(t, { watchdogs: [0] }), n2: simDevices(t, { watchdogs: [0] }) };
  // The sim board with a 2 s watchdog, so the test need not wait the shipped 10 s.
  const raw = JSON.parse(readFileSync(join(BOARD_DIR, 'sim.json'), 'utf8')) as { watchdog: { timeoutSeconds: number } };
  raw.watchdog.timeoutSeconds = 2;
  const boardFile = join(sims.n1.dir, 'sim-2s.json');
  writeFileSync(boardFile, JSON.stringify(raw));
  const cluster = await LabCluster.start(lab, board, {
    timers: { initialSilenceMs: 800 },
    boardRef: boardFile,
    env: (node) => ({ LD_PRELOAD: SIM_LIB, TANDEM_HW_SIM_DIR: sims[node as 'n1' | 'n2'].dir }),
  });
  t.teardown(async () => {
    await cluster.stop();
    cluster.cleanup();
  });
  const { active, inactive } = await cluster.settled(15_000);
  for (const n of ['n1', 'n2']) t.true(await eventually(() => cluster.events(n, 'watchdog_armed').length === 1, 3000), `${n} armed its watchdog`);
  t.like(cluster.events(active, 'watchdog_armed')[0], { device: '/dev/watchdog0', timeoutSeconds: 2 });
  await sleep(2500);
  t.is(sims.n1.watchdog(0).state, 'armed', 'fed: it has not fired');
  t.is(sims.n2.watchdog(0).state, 'armed');
  const pid = cluster.node(active).process.pid!;
  const worker = Number((await run(['cat', `/proc/${pid}/task/${pid}/children`])).stdout.trim());
  process.kill(worker, 'SIGSTOP');
  try {
    t.true(await eventually(() => sims[active as 'n1' | 'n2'].watchdog(0).state === 'fired', 4000), 'the hung worker let its watchdog fire');
    t.is(sims[inactive as 'n1' | 'n2'].watchdog(0).state, 'armed', 'the healthy node keeps feeding its own');
  } finally {
    process.kill(worker, 'SIGCONT');
  }
  await cluster.stop();
  for (const n of ['n1', 'n2'] as const) {
    t.is(sims[n].watchdog(0).state, 'disarmed', `${n}: a clean stop is a magic close`);
    t.is(cluster.events(n, 'watchdog_stopped').length, 1);
  }
});

test.serial('a board whose watchdog is missing: logged, and the node runs on', async (t) => {
  const lab = await labFor(t);
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800 } });
  t.teardown(async () => {
    await cluster.stop();
    cluster.cleanup();
  });
  await cluster.settled(15_000);
  const ev = cluster.events('n1', 'watchdog_unavailable')[0];
  t.truthy(ev);
  t.regex(String(ev!['error']), /watchdog \/dev\/watchdog0: open failed with ENOENT: no such device/);
});
