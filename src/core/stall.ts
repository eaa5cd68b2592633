/**
 * DOC: the failover core's stall check (seed 001's CPU stalls)
 *
 * Run by failover.ts on every input, before anything else: it notices that this process did not run for longer
 * than the failover time, and what follows from it for the next failover time (listen before silence counts; an
 * active node says it stalled). Pure.
 */
import { log } from './core-view.js';
import { ms, type CoreState, type Effect, type Ns } from './failover-types.js';

/**
 * Seed 001 names CPU stalls as a cause of both-active. The check timer is
 * re-armed at every input; an input arriving more than the failover time
 * after the check was due means this process did not run in between, which
 * is logged as evidence. Heartbeats carry their kernel stamps, older than
 * the moment they are read after a stall, so the check runs on when each
 * input was read (`clock`), never on a stamp.
 *
 * After a stall the peer's silence proves nothing: what the kernel queued
 * meanwhile is old (and, after a long stall, the newest frames were dropped
 * from a full queue), so we listen for a failover time before a silence can
 * make us take over. An active node that finds the peer active in that time
 * hands over to it (evaluate, case active): the peer took over meanwhile.
 */
export function checkStall(s: CoreState, ranAt: Ns, effects: Effect[]): CoreState {
  const failover = ms(s.config.failoverTimeMs);
  const clock = ranAt > s.clock ? ranAt : s.clock;
  let { stalledUntil, listenUntil } = s;
  if (s.stallCheckDue !== undefined && clock - s.stallCheckDue > failover) {
    effects.push(log('warn', 'stall_detected', { stalledMs: Number(clock - s.stallCheckDue) / 1e6, role: s.role }));
    listenUntil = clock + failover;
    effects.push({ type: 'arm-timer', name: 'listen', at: listenUntil });
    // Active: for a failover time our heartbeats say so, and of two active nodes the one back from a stall loses
    // (rank.ts rule 3): while we did not run only the peer could serve, whatever the terms say (a partition may
    // have hidden our takeover from it), so its table is the fresher one. Advertised, so both nodes agree at once.
    if (s.role === 'active') {
      stalledUntil = clock + failover;
      effects.push(log('warn', 'stall_yielding', { forMs: s.config.failoverTimeMs, term: s.term }));
    }
  }
  if (stalledUntil !== undefined && clock >= stalledUntil) stalledUntil = undefined;
  const due = clock + failover / 2n;
  effects.push({ type: 'arm-timer', name: 'stall-check', at: due });
  return { ...s, clock, stallCheckDue: due, stalledUntil, listenUntil };
}
