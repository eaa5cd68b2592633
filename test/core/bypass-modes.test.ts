import test from 'ava';
import { BYPASS_MODES, linesForMode, modeForFailure, modeOfLines } from '../../src/core/bypass-modes.js';

test('each mode has its line values and reads back as itself', (t) => {
  for (const mode of BYPASS_MODES) t.is(modeOfLines(linesForMode(mode, true, 's')), mode);
  t.deepEqual(linesForMode('inline', true, 's'), [0, 0]);
  t.deepEqual(linesForMode('bypass', true, 's'), [1, 0]);
  t.deepEqual(linesForMode('disconnect', true, 's'), [0, 1]);
  t.deepEqual(linesForMode('bypass', false, 's'), [1]);
  t.is(modeOfLines([1, 1]), 'disconnect', 'a cut beats a coupling');
});

test('disconnect without a disconnect relay is refused, naming the segment and the board field', (t) => {
  t.throws(() => linesForMode('disconnect', false, 'wan-lan'), {
    message: /segment wan-lan has no disconnect relay \(board file: bypass\[\]\.disconnectGpio\)/,
  });
});

test('failure modes', (t) => {
  t.is(modeForFailure('fail-open'), 'bypass');
  t.is(modeForFailure('fail-closed'), 'disconnect');
});
