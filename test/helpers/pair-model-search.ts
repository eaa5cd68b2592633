/**
 * DOC: a randomised search over the pair model (test/helpers/pair-model.ts), with shrinking
 *
 * fast-check draws fault sequences (and the seed of the model's own randomness), runs each through a fresh
 * PairModel, and shrinks a failing one to a short counterexample. Used by the test in `make test` (a minute at
 * most) and by `make bench-model` (a longer search that prints its size). Mutants of the core, the fixes of
 * issue 30 reverted, show that the search finds what the properties are there to catch.
 */
import fc from 'fast-check';
import { step as coreStep } from '../../src/core/failover.js';
import type { CoreState, Input, Transition } from '../../src/core/failover-types.js';
import { describe, MODEL_IFACES, PairModel, type Action, type ModelOptions, type StepFn, type TimedAction, type Violation } from './pair-model.js';

const node = fc.constantFrom<0 | 1>(0, 1);
const iface = fc.constantFrom(...MODEL_IFACES);

/** Faults weighted towards the ones that move roles: freezes, power, cables. */
export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom<'freeze' | 'thaw'>('freeze', 'thaw'), node }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom<'power-off' | 'power-on'>('power-off', 'power-on'), node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom<'restart-worker' | 'failover'>('restart-worker', 'failover'), node }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom<'cut' | 'repair'>('cut', 'repair'), node, iface }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom<'drop-heartbeats' | 'pass-heartbeats' | 'lossy' | 'lossless'>('drop-heartbeats', 'pass-heartbeats', 'lossy', 'lossless'),
      iface,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant<'delay'>('delay'), iface, delayMs: fc.constantFrom(0, 20, 120, 400) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant<'replay'>('replay'),
      iface,
      from: node,
      count: fc.integer({ min: 1, max: 40 }),
      forMs: fc.integer({ min: 200, max: 4000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant<'connections'>('connections'), node, count: fc.integer({ min: 0, max: 1000 }) }) },
);

export const sequenceArb = (maxLength: number): fc.Arbitrary<TimedAction[]> =>
  fc.array(fc.record({ gapMs: gapArb, action: actionArb }), { minLength: 1, maxLength });

/** Faults that come close together (within a failover time or two) as often as faults seconds apart. */
const gapArb = fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 2500 }));

export interface SearchResult {
  runs: number;
  /** Model events handled over every run: the size of what was explored. */
  events: number;
  counterexample?: { actions: TimedAction[]; seed: number; violations: Violation[]; story: string };
  seed: number;
}

/** Runs `numRuns` random sequences; returns the first failure found, shrunk. */
export function search(opts: { numRuns: number; maxLength: number; seed: number; model?: ModelOptions }): SearchResult {
  let events = 0;
  let runs = 0;
  const property = fc.property(sequenceArb(opts.maxLength), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (actions, seed) => {
    runs++;
    const m = new PairModel({ ...opts.model, seed });
    const v = m.runSequence(actions);
    events += m.steps;
    return v.length === 0;
  });
  const out = fc.check(property, { numRuns: opts.numRuns, seed: opts.seed, endOnFailure: false });
  const result: SearchResult = { runs, events, seed: opts.seed };
  if (out.failed && out.counterexample) {
    const [actions, seed] = out.counterexample;
    const m = new PairModel({ ...opts.model, seed });
    const violations = m.runSequence(actions);
    result.counterexample = {
      actions,
      seed,
      violations,
      story: `${describe(actions)}\n-- the model's trace, last 40 lines:\n${m.trace.slice(-40).join('\n')}`,
    };
  }
  return result;
}

/**
 * Issue 30's first defect back: no term between two active nodes (each node is told its peer's term is its own)
 * and no stall rule (the stall is never noticed), so incumbency and node type decide as the took-over flag did.
 */
export const withoutTerms: StepFn = (s: CoreState, input: Input): Transition => {
  const i = input.type === 'heartbeat' ? { ...input, from: { ...input.from, term: s.term } } : input;
  return coreStep({ ...s, stallCheckDue: undefined, stalledUntil: undefined }, i);
};

/**
 * Issue 30's second defect back: a frame older than the newest accepted from the peer's boot is taken as proof of
 * life (what it says is ignored, the peer's last-heard time moves on). Run with `forgetSuperseded`.
 */
export const staleIsLife: StepFn = (s: CoreState, input: Input): Transition => {
  const p = s.peer;
  if (input.type !== 'heartbeat' || !p || p.nodeId !== input.from.nodeId || p.bootId !== input.from.bootId || input.from.sequence > p.sequence) {
    return coreStep(s, input);
  }
  const t = coreStep({ ...s, peer: { ...p, sequence: input.from.sequence - 1n } }, { ...input, from: { ...p, sequence: input.from.sequence } });
  return { ...t, state: { ...t.state, peer: t.state.peer && { ...t.state.peer, sequence: p.sequence } } };
};
