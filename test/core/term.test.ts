import test from 'ava';
import fc from 'fast-check';
import { implausibleTerm, latestTerm, newerTerm, nextTerm, TERM_JUMP_MAX, TERM_MAX } from '../../src/core/term.js';

test('a takeover takes the next term; after 2^32 - 1 it goes on at 1, never 0', (t) => {
  t.is(nextTerm(0), 1);
  t.is(nextTerm(41), 42);
  t.is(nextTerm(TERM_MAX), 1);
  t.true(newerTerm(1, TERM_MAX), 'the term after the wrap is the newer');
  t.true(newerTerm(5, TERM_MAX - 3));
});

test('0 is never active: older than any term', (t) => {
  t.true(newerTerm(1, 0));
  t.true(newerTerm(TERM_MAX, 0));
  t.false(newerTerm(0, 1));
  t.false(newerTerm(0, 0));
});

test('newer is antisymmetric and total on distinct terms, the half circle included', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: TERM_MAX }), fc.integer({ min: 0, max: TERM_MAX }), (a, b) => {
      if (a === b) return !newerTerm(a, b) && !newerTerm(b, a);
      return newerTerm(a, b) !== newerTerm(b, a) && latestTerm(a, b) === latestTerm(b, a);
    }),
    { numRuns: 5000 },
  );
  t.true(newerTerm(0x80000001, 1) !== newerTerm(1, 0x80000001), 'exactly half the circle apart still orders');
});

test('a term far ahead of the highest seen is implausible; a run of takeovers is not', (t) => {
  t.false(implausibleTerm(12, 10));
  t.false(implausibleTerm(10 + TERM_JUMP_MAX, 10));
  t.true(implausibleTerm(11 + TERM_JUMP_MAX, 10));
  t.false(implausibleTerm(3, 10), 'an older term is never implausible');
  t.false(implausibleTerm(2, TERM_MAX - 1), 'across the wrap, two ahead');
});
