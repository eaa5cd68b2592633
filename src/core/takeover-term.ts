/**
 * DOC: what the failover core does with takeover terms: adopt the peer's, take the next, raise ours
 *
 * The state transitions around src/core/term.ts's arithmetic, for failover.ts: every authentic heartbeat's term
 * joins the highest seen (bounded), every change to active takes the one after it, and an active node that hears
 * a newer term from a peer that no longer serves takes the next, so the node serving holds the pair's highest.
 * Each change of the highest term asks the shell to persist it. Pure.
 */
import { log } from './core-view.js';
import type { CoreState, Effect, HeartbeatInfo } from './failover-types.js';
import { implausibleTerm, latestTerm, newerTerm, nextTerm, TERM_MAX } from './term.js';

/** The peer's term joins the highest seen, unless it runs further ahead than any run of takeovers could (logged once). */
export function seenTerm(s: CoreState, from: HeartbeatInfo, effects: Effect[]): CoreState {
  if (implausibleTerm(from.term, s.highestTerm)) {
    if (s.implausibleLogged === from.term) return s;
    effects.push(log('warn', 'term_implausible', { peerTerm: from.term, highestTerm: s.highestTerm, peer: from.name }));
    return { ...s, implausibleLogged: from.term };
  }
  const highest = latestTerm(s.highestTerm, from.term);
  if (highest === s.highestTerm) return s;
  effects.push({ type: 'persist-term', term: highest });
  return { ...s, highestTerm: highest };
}

/**
 * We serve and the peer, not active, advertises a newer term than ours (it took over once and lost the role since:
 * cut off, stepped down): take the term after it, so the node serving holds the pair's highest term and a later
 * comparison between two nodes that are not active (rank.ts rule 7) finds our table the freshest.
 */
export function raiseTerm(s: CoreState, effects: Effect[]): CoreState {
  const peer = s.peer!;
  if (!newerTerm(peer.term, s.term) || newerTerm(peer.term, s.highestTerm)) return s;
  const t = takeTerm(s, effects);
  effects.push(log('info', 'term_raised', { from: s.term, to: t.term, peerTerm: peer.term, why: 'the peer held a newer term and no longer serves' }));
  return t;
}

/** The term after the highest seen, for a change to active (the shell writes it to the state directory). */
export function takeTerm(s: CoreState, effects: Effect[]): CoreState {
  const term = nextTerm(s.highestTerm);
  if (s.highestTerm === TERM_MAX) effects.push(log('warn', 'term_wrapped', { from: s.highestTerm, to: term }));
  effects.push({ type: 'persist-term', term });
  return { ...s, term, highestTerm: term };
}
