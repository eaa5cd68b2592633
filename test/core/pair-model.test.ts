/**
 * The pair's protocol checked against its properties (issue 30): random fault sequences over two real cores
 * (test/helpers/pair-model.ts for the model and the properties P1-P4), shrunk to a counterexample on failure;
 * and the same search run against the fixes reverted, which it must catch. The longer search: make bench-model.
 */
import test from 'ava';
import { PairModel } from '../helpers/pair-model.js';
import { search, staleIsLife, withoutTerms } from '../helpers/pair-model-search.js';

const report = (r: ReturnType<typeof search>) =>
  r.counterexample ? `${r.counterexample.violations.map((v) => `${v.property} at ${v.atMs} ms: ${v.what}`).join('; ')}\n${r.counterexample.story}` : '';

test('the pair keeps P1-P4 through random fault sequences (freezes, power, worker restarts, cables, loss, delay, replays)', (t) => {
  const r = search({ numRuns: 400, maxLength: 16, seed: 30 });
  t.log(`${r.runs} sequences, ${r.events} model events`);
  t.is(r.counterexample, undefined, report(r));
});

test('the search finds the first defect when the term and the stall rule are reverted (the stale node wins a both-active)', (t) => {
  const r = search({ numRuns: 400, maxLength: 16, seed: 30, model: { step: withoutTerms } });
  t.not(r.counterexample, undefined, `no counterexample in ${r.runs} sequences`);
  t.true(
    r.counterexample!.violations.some((v) => v.property === 'P2'),
    report(r),
  );
  t.log(`found after ${r.runs} sequences; shrunk to ${r.counterexample!.actions.length} actions:\n${report(r)}`);
});

test('the search finds the second defect when replays count as life again (a dead peer kept alive by a foreign host)', (t) => {
  const r = search({ numRuns: 400, maxLength: 16, seed: 30, model: { step: staleIsLife, forgetSuperseded: true } });
  t.not(r.counterexample, undefined, `no counterexample in ${r.runs} sequences`);
  t.true(
    r.counterexample!.violations.some((v) => v.property === 'P3'),
    report(r),
  );
  t.log(`found after ${r.runs} sequences; shrunk to ${r.counterexample!.actions.length} actions:\n${report(r)}`);
});

test("issue 30's sequence in the model: power off and back n1, n2, n1, ... twelve returns, no violation, the newest takeover serves", (t) => {
  const m = new PairModel({ seed: 7 });
  m.runFor(3000);
  for (let k = 0; k < 12; k++) {
    const active = m.roles().indexOf('active') as 0 | 1;
    t.true(active === 0 || active === 1, `round ${k}: one active`);
    // The lab's power-off: the switch drops the node's frames and the process stops; a second later it all comes back.
    m.apply({ kind: 'freeze', node: active });
    m.runFor(1500);
    m.apply({ kind: 'thaw', node: active });
    m.runFor(1500);
    t.deepEqual(m.roles()[active], 'inactive', `round ${k}: the returning node yields`);
  }
  t.deepEqual(m.violations, []);
});
