/**
 * The short chaos run of issue 30 (make bench-chaos runs ten minutes): a minute of random faults with a fixed
 * seed on the real pair, 20 TCP connections of each family through stateful firewalls.
 */
import test from 'ava';
import { runChaos } from '../../src/lab/chaos.js';
import { tandemPair } from '../../src/lab/chaos-tandem.js';
import { board, labFor } from '../helpers/lab.js';

test.serial('a minute of random faults (seed 30): no connection lost, never two owners for a failover time, every fault recovered', async (t) => {
  const lab = await labFor(t, 2, { ipv6: true });
  const res = await runChaos(lab, (l) => tandemPair(l, board), { seconds: 60, seed: 30 });
  t.is(res.aborted, undefined);
  t.log(
    `faults: ${res.faults.map((f) => `${f.fault}${f.detail ? ` ${f.detail}` : ''} on ${f.node} ${f.holdMs} ms, recovered in ${f.recoveredMs} ms`).join('; ')}`,
  );
  t.log(
    `role changes: ${JSON.stringify(res.roleChanges)}; both active (running) ${JSON.stringify(res.bothActiveMs)} ms; client outage at most ${res.udp.maxGapMs} ms`,
  );
  t.true(res.faults.length >= 5, `${res.faults.length} faults`);
  t.deepEqual(
    res.faults.filter((f) => f.recoveredMs < 0),
    [],
    'every fault: one active, one inactive, the standby in sync again',
  );
  for (const c of res.connections) t.is(c.lost, 0, `IPv${c.family}: ${c.lost} of ${c.of} connections lost`);
  t.true((res.bothActiveMs[0] ?? 0) < res.failoverTimeMs, `the longest both-active interval ${res.bothActiveMs[0] ?? 0} ms`);
});
