/**
 * DOC: the takeover term: which of two takeovers is the newer
 *
 * Every time a node becomes active it takes a term one above the highest it
 * has seen, its own and every authentic heartbeat's (failover.ts), and
 * carries it in its heartbeats. Of two active nodes, the higher term took
 * over last: the other was frozen, starved or cut off when it happened, and
 * its table is the stale one (rank.ts).
 *
 * A term is an unsigned 32-bit number on the wire, compared as a serial
 * number (RFC 1982): a counter that reaches 2^32 - 1 goes on at 1 and still
 * compares as newer. 0 means "never active". Terms a node adopts from its
 * peer are bounded (TERM_JUMP_MAX above the highest it knew): a corrupt
 * value never drives its own counter, so no bug can push it towards the
 * wrap. Pure.
 */

export const TERM_MAX = 0xffffffff;
const HALF = 0x80000000;

/** A term may run ahead of the highest one seen by at most this much and still be adopted. */
export const TERM_JUMP_MAX = 0x10000;

/** How far `a` runs ahead of `b`, in serial arithmetic (0 when `b` is newer or equal; 0 is the oldest). */
export function termAhead(a: number, b: number): number {
  if (a === b || a === 0) return 0;
  if (b === 0) return a;
  const d = (a - b + 2 ** 32) % 2 ** 32;
  // At exactly half the circle serial arithmetic is undefined: the numerically larger is taken as newer,
  // so that the comparison stays antisymmetric (both nodes must agree on it).
  return d < HALF || (d === HALF && a > b) ? d : 0;
}

/** True when `a` is a newer takeover than `b`. */
export function newerTerm(a: number, b: number): boolean {
  return termAhead(a, b) > 0;
}

/** The newer of two terms. */
export function latestTerm(a: number, b: number): number {
  return newerTerm(b, a) ? b : a;
}

/** The term a takeover takes after `highest`: one more, going on at 1 after 2^32 - 1 (0 is never a takeover). */
export function nextTerm(highest: number): number {
  return highest >= TERM_MAX ? 1 : highest + 1;
}

/** A peer's term that runs further ahead of ours than any run of takeovers could: counted, never adopted. */
export function implausibleTerm(peer: number, highest: number): boolean {
  return termAhead(peer, highest) > TERM_JUMP_MAX;
}
