/**
 * DOC: bench/hb-threads: where a tandemd worker's heartbeat CPU goes, thread by thread
 *
 * Two real tandemd on the bench's 5-interface board at the default 80 ms
 * heartbeat cycle; for the busier worker, each thread's CPU (schedstat) and
 * wakeups (voluntary context switches) over N seconds. One JSON line per
 * thread ({name, unit, value, peer}); the thread's name is in `name`.
 *
 * Usage: node dist/bench/hb-threads.js [--seconds N] [--interval MS] [--warmup S]
 */
import { LabCluster } from '../src/lab/cluster.js';
import { Lab, sleep } from '../src/lab/lab.js';
import { emit } from './emit.js';
import { FIVE_PORTS, threadUse, writeBenchBoard, workerOf } from './five-ports.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const seconds = opt('seconds', 10);
  const interval = opt('interval', 80);
  // Start-up is not the steady state: V8 shrinks each heap once some seconds after start (its memory reducer) and
  // compiles the daemon's functions as they turn hot, for a minute or two (bench/heartbeat.ts, daemonCost).
  const warmup = opt('warmup', 150);
  const lab = await Lab.up(FIVE_PORTS);
  const { boardFile, cleanup } = writeBenchBoard();
  try {
    const cluster = await LabCluster.start(lab, FIVE_PORTS, {
      boardRef: boardFile,
      timers: { heartbeatIntervalMs: interval, failoverTimeMs: 400, initialSilenceMs: 500 },
    });
    try {
      await cluster.settled(10_000);
      await sleep(warmup * 1000);
      // The supervisor is measured too: bench/heartbeat counts the whole tandemd, supervisor and worker.
      const supervisors = cluster.nodes.map((n) => n.process.pid!);
      const workers = supervisors.map(workerOf);
      const before = workers.map(threadUse);
      const supBefore = supervisors.map(threadUse);
      await sleep(seconds * 1000);
      const after = workers.map(threadUse);
      const supAfter = supervisors.map(threadUse);
      supervisors.forEach((_pid, k) => {
        let total = 0;
        for (const [tid, a] of supAfter[k]!) total += a.cpuNs - (supBefore[k]!.get(tid)?.cpuNs ?? 0);
        const pct = (100 * total) / 1e9 / seconds;
        emit(`supervisor${k + 1}_total`, '% of one core', pct);
      });
      workers.forEach((pid, k) => {
        let total = 0;
        for (const [tid, a] of after[k]!) {
          const b = before[k]!.get(tid) ?? { cpuNs: 0, wakeups: 0 };
          const pct = (100 * (a.cpuNs - b.cpuNs)) / 1e9 / seconds;
          total += pct;
          emit(`worker${k + 1}_${a.comm}_${tid === pid ? 'main' : tid}`, '% of one core', pct, 'tandem', { wakeups_per_s: (a.wakeups - b.wakeups) / seconds });
        }
        emit(`worker${k + 1}_total`, '% of one core', total);
      });
    } finally {
      await cluster.stop();
      cluster.cleanup();
    }
  } finally {
    cleanup();
    await lab.down();
  }
}

main().catch((e) => {
  process.stderr.write(`bench/hb-threads: ${(e as Error).stack}\n`);
  process.exit(1);
});
