/**
 * DOC: a small seedable random generator (mulberry32), for fault sequences that replay exactly from their seed
 *
 * Used by the lab's random fault sequences (chaos.ts) and the pair model (test/helpers/pair-model.ts). Not for
 * anything secret.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
