/**
 * DOC: make bench-chaos: random fault sequences on the real pair, with live connections, tandem and keepalived (issue 30)
 *
 * src/lab/chaos.ts on a dual-stack lab: the pair as stateful IPv4 and IPv6 firewalls, 20 TCP connections of each
 * family and a UDP datagram every 5 ms, through random faults for --seconds (default 600), seed printed
 * (--seed S replays a sequence). Each seed runs tandem, then keepalived with conntrackd (chaos-keepalived.ts) on a
 * fresh lab with the same draws (--peer tandem|keepalived runs one). Prints one JSON line per fault, then per peer
 * the counts: connections lost per family, both-active intervals (count and longest, against that peer's detection
 * time), the client's longest outage, faults not recovered, and every role change by reason. --runs N repeats
 * with seeds S, S+1, ... Exit status 1 when tandem lost a connection, had two owners for a failover time or did
 * not recover; keepalived's figures are the comparison, not a pass mark.
 */
import { resolveBoard } from '../src/board/board-file.js';
import { runChaos, type ChaosPair, type ChaosResult } from '../src/lab/chaos.js';
import { tandemPair } from '../src/lab/chaos-tandem.js';
import { Lab } from '../src/lab/lab.js';
import { keepalivedPair } from './chaos-keepalived.js';
import { emit } from './emit.js';
import { numberFlag } from './flags.js';

const seconds = numberFlag('seconds', 600);
const runs = numberFlag('runs', 1);
const firstSeed = numberFlag('seed', Date.now() % 2 ** 31);
const only = process.argv.includes('--peer') ? process.argv[process.argv.indexOf('--peer') + 1] : undefined;
if (only !== undefined && only !== 'tandem' && only !== 'keepalived') throw new Error(`--peer is tandem or keepalived, not ${JSON.stringify(only)}`);
const board = resolveBoard('sim');
const CONNECTIONS = 20;

const all: { peer: string; start: (lab: Lab) => Promise<ChaosPair> }[] = [
  { peer: 'tandem', start: (lab) => tandemPair(lab, board) },
  { peer: 'keepalived', start: (lab) => keepalivedPair(lab) },
];
const peers = all.filter((p) => only === undefined || p.peer === only);

function report(res: ChaosResult): void {
  const { peer, seed } = res;
  for (const c of res.connections)
    process.stdout.write(
      JSON.stringify({
        name: 'chaos_connections_lost',
        unit: 'connections',
        value: c.lost,
        peer,
        seed,
        family: c.family,
        of: c.of,
        maxGapMs: c.maxGapMs,
        lostAtFault: c.lostAt,
      }) + '\n',
    );
  emit('chaos_both_active_intervals', 'intervals', res.bothActiveMs.length, peer, {
    seed,
    longestMs: res.bothActiveMs[0] ?? 0,
    failoverTimeMs: res.failoverTimeMs,
    overFailoverTime: res.bothActiveMs.filter((ms) => ms >= res.failoverTimeMs).length,
  });
  emit('chaos_client_outage_max', 'ms', res.udp.maxGapMs, peer, { seed, sent: res.udp.sent, lost: res.udp.lost });
  emit('chaos_faults', 'faults', res.faults.length, peer, { seed, unrecovered: res.faults.filter((f) => f.recoveredMs < 0).length });
  const line: Record<string, unknown> = {
    name: 'chaos_role_changes',
    peer,
    seed,
    unit: 'changes',
    value: Object.values(res.roleChanges).reduce((a, b) => a + b, 0),
    byReason: res.roleChanges,
  };
  if (res.aborted !== undefined) line['aborted'] = res.aborted;
  process.stdout.write(JSON.stringify(line) + '\n');
}

async function main(): Promise<boolean> {
  let failed = false;
  for (let r = 0; r < runs; r++) {
    const seed = firstSeed + r;
    for (const { peer, start } of peers) {
      process.stderr.write(`chaos run ${r + 1}/${runs}, ${peer}: ${seconds} s, seed ${seed}\n`);
      const lab = await Lab.up(board, { nodes: 2, ipv6: true });
      try {
        const res = await runChaos(lab, start, {
          seconds,
          seed,
          connections: CONNECTIONS,
          onFault: (f) => process.stdout.write(JSON.stringify({ name: 'chaos_fault', peer, seed, ...f }) + '\n'),
        });
        report(res);
        if (peer === 'tandem')
          failed ||=
            res.aborted !== undefined ||
            res.connections.some((c) => c.lost > 0) ||
            (res.bothActiveMs[0] ?? 0) >= res.failoverTimeMs ||
            res.faults.some((f) => f.recoveredMs < 0);
      } finally {
        await lab.down();
      }
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
