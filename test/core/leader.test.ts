import test from 'ava';
import { compareCandidates, shouldLead, type LeaderCandidate } from '../../src/core/leader.js';

const c = (nodeId: number, over: Partial<LeaderCandidate> = {}): LeaderCandidate => ({ nodeId, stateComplete: true, generation: 3, enabled: true, ...over });

test('alone: a member claims only after it has listened for a while, and keeps what it holds', (t) => {
  t.false(shouldLead({ me: c(1), holding: false, listened: false, peer: null }));
  t.true(shouldLead({ me: c(1), holding: false, listened: true, peer: null }));
  t.true(shouldLead({ me: c(1), holding: true, listened: false, peer: { ...c(2), alive: false, holding: true } }));
});

test('better placed, first difference wins: enabled, complete state, newer definition; a tie leaves it with the holder', (t) => {
  t.true(compareCandidates(c(2), c(1, { enabled: false })) > 0);
  t.true(compareCandidates(c(2), c(1, { stateComplete: false })) > 0);
  t.true(compareCandidates(c(2, { generation: 4 }), c(1)) > 0);
  t.is(compareCandidates(c(2), c(1)), 0);
  // The holder keeps it on a tie even with the higher ID.
  t.true(shouldLead({ me: c(2), holding: true, listened: true, peer: { ...c(1), alive: true, holding: false } }));
  // It lets go when the peer is better placed; the peer claims only once it has let go.
  t.false(shouldLead({ me: c(2, { stateComplete: false }), holding: true, listened: true, peer: { ...c(1), alive: true, holding: false } }));
  t.false(shouldLead({ me: c(1), holding: false, listened: true, peer: { ...c(2, { stateComplete: false }), alive: true, holding: true } }));
  t.true(shouldLead({ me: c(1), holding: false, listened: true, peer: { ...c(2, { stateComplete: false }), alive: true, holding: false } }));
});

/**
 * Two members exchanging their claims with a delay, facts changing at random: while both are alive and
 * hear each other, never do both hold the role at once in what an observer reads from their heartbeats
 * (the lease), and one holds it once things are quiet.
 */
test('never two leaders while members hear each other; one leader once the facts settle (random runs)', (t) => {
  let rng = 7;
  const rand = () => (rng = (rng * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let run = 0; run < 300; run++) {
    const facts = [c(1), c(2)];
    const holding = [false, false];
    // What each has heard of the other: its claim as of its last heartbeat (one step old).
    const heard = [false, false];
    let both = 0;
    for (let step = 0; step < 60; step++) {
      if (step < 40 && rand() < 0.2) {
        const k = rand() < 0.5 ? 0 : 1;
        facts[k] = c(k + 1, { stateComplete: rand() < 0.6, generation: 3 + Math.floor(rand() * 2), enabled: rand() < 0.9 });
      }
      // Each decides on what it heard; then heartbeats carry the new claims.
      const next = [0, 1].map((k) =>
        shouldLead({ me: facts[k]!, holding: holding[k]!, listened: true, peer: { ...facts[1 - k]!, alive: true, holding: heard[k]! } }),
      );
      // One acts before it has heard the other's latest: that is exactly the window a lease must cover.
      holding[0] = next[0]!;
      holding[1] = next[1]!;
      heard[0] = holding[1];
      heard[1] = holding[0];
      if (holding[0] && holding[1]) both++;
    }
    t.is(both, 0, `run ${run}: both held the leader role`);
    t.is(holding.filter(Boolean).length, 1, `run ${run}: one leader at the end`);
  }
});
