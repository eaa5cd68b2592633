/**
 * DOC: make bench-chaos: random fault sequences on the real pair, with live connections (issue 30)
 *
 * src/lab/chaos.ts on a dual-stack lab: the pair as stateful IPv4 and IPv6 firewalls, 20 TCP connections of each
 * family and a UDP datagram every 5 ms, through random faults for --seconds (default 600), seed printed
 * (--seed S replays a sequence). Prints one JSON line per fault, then the counts: connections lost per family,
 * both-active intervals (count and longest, against the failover time), the client's longest outage, and every
 * role change by reason and rule. --runs N repeats with seeds S, S+1, ...
 *
 * keepalived with conntrackd on the same sequences is not here yet (issue 30 asks for it as the peer figure).
 */
import { resolveBoard } from '../src/board/board-file.js';
import { runChaos } from '../src/lab/chaos.js';
import { Lab } from '../src/lab/lab.js';
import { emit } from './emit.js';
import { numberFlag } from './flags.js';

const seconds = numberFlag('seconds', 600);
const runs = numberFlag('runs', 1);
const firstSeed = numberFlag('seed', Date.now() % 2 ** 31);
const board = resolveBoard('sim');

async function main(): Promise<boolean> {
  let failed = false;
  for (let r = 0; r < runs; r++) {
    const seed = firstSeed + r;
    process.stderr.write(`chaos run ${r + 1}/${runs}: ${seconds} s, seed ${seed}\n`);
    const lab = await Lab.up(board, { nodes: 2, ipv6: true });
    try {
      const res = await runChaos(lab, board, {
        seconds,
        seed,
        onFault: (f) => process.stdout.write(JSON.stringify({ name: 'chaos_fault', peer: 'tandem', seed, ...f }) + '\n'),
      });
      for (const c of res.connections)
        emit('chaos_connections_lost', 'connections', c.lost, 'tandem', { seed, family: c.family, of: c.of, maxGapMs: c.maxGapMs });
      emit('chaos_both_active_intervals', 'intervals', res.bothActiveMs.length, 'tandem', {
        seed,
        longestMs: res.bothActiveMs[0] ?? 0,
        failoverTimeMs: res.failoverTimeMs,
      });
      emit('chaos_client_outage_max', 'ms', res.udp.maxGapMs, 'tandem', { seed, sent: res.udp.sent, lost: res.udp.lost });
      emit('chaos_faults', 'faults', res.faults.length, 'tandem', { seed, unrecovered: res.faults.filter((f) => f.recoveredMs < 0).length });
      process.stdout.write(
        JSON.stringify({
          name: 'chaos_role_changes',
          peer: 'tandem',
          seed,
          unit: 'changes',
          value: Object.values(res.roleChanges).reduce((a, b) => a + b, 0),
          byReason: res.roleChanges,
        }) + '\n',
      );
      failed ||= res.connections.some((c) => c.lost > 0) || (res.bothActiveMs[0] ?? 0) >= res.failoverTimeMs || res.faults.some((f) => f.recoveredMs < 0);
    } finally {
      await lab.down();
    }
  }
  return failed;
}

main().then(
  (failed) => (process.exitCode = failed ? 1 : 0),
  (e: Error) => {
    process.stderr.write(`chaos: ${e.stack ?? e.message}\n`);
    process.exitCode = 2;
  },
);
