/**
 * DOC: make bench-model: the longer search of the pair model (test/helpers/pair-model.ts)
 *
 * Random fault sequences over two real failover cores, as the test in `make test` runs them, but more and
 * longer: prints the size of the search (sequences, model events, simulated time) and any counterexample, shrunk,
 * with its story; then the same search against the fixes of issue 30 reverted, to show what it catches and how
 * soon. Flags: --runs N (default 5000), --length L (faults a sequence, default 30), --seed S (default: the clock,
 * printed: rerun with it to replay the search exactly).
 */
import { search, staleIsLife, withoutTerms } from '../test/helpers/pair-model-search.js';
import { emit } from './emit.js';
import { numberFlag } from './flags.js';

const runs = numberFlag('runs', 5000);
const length = numberFlag('length', 30);
const seed = numberFlag('seed', Date.now() % 2 ** 31);

const variants = [
  { name: 'model_search', model: {}, expect: 'no counterexample' },
  { name: 'model_search_without_terms', model: { step: withoutTerms }, expect: 'a counterexample (P2)' },
  { name: 'model_search_replays_as_life', model: { step: staleIsLife, forgetSuperseded: true }, expect: 'a counterexample (P3)' },
];

let failed = false;
for (const v of variants) {
  const t0 = performance.now();
  // The mutants stop at their first counterexample; the real core runs every sequence.
  const r = search({ numRuns: runs, maxLength: length, seed, model: v.model });
  const seconds = (performance.now() - t0) / 1000;
  const found = r.counterexample !== undefined;
  emit(v.name, 'sequences', r.runs, 'tandem', { events: r.events, seconds, seed, maxLength: length, counterexample: found ? 1 : 0 });
  if (found) {
    const c = r.counterexample!;
    process.stderr.write(`${v.name}: ${c.violations.map((x) => `${x.property} at ${x.atMs} ms: ${x.what}`).join('; ')}\n${c.story}\n\n`);
  }
  if ((v.name === 'model_search') === found) {
    failed = true;
    process.stderr.write(`${v.name}: expected ${v.expect}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
