/**
 * DOC: anti-replay window for one peer
 *
 * A sender numbers every heartbeat it sends, on any interface, from one
 * counter, and starts a new boot id (strictly greater than the last, see
 * src/io/boot-id.ts) each time it starts. Frames of one boot reach the
 * receiver over several interfaces and so out of order: a sliding window of
 * WINDOW sequence numbers (as IPsec's) accepts each number once and rejects
 * anything older than the window or from an older boot.
 *
 * Known limit: the first frame a receiver sees after its own start cannot be
 * told from a replay of an older frame of the same boot; it is accepted, and
 * the window closes behind it.
 */

export const WINDOW = 64n;
const FULL = (1n << WINDOW) - 1n;

export class ReplayWindow {
  private boot = -1n;
  private top = -1n;
  /** Bit i set: sequence (top - i) already seen. */
  private seen = 0n;

  /**
   * Records a sequence of the current boot that was read but not verified, because a newer authentic frame of the
   * same sender came in the same read (src/io/newest-first.ts): `seen` when it already was (a replay), `too_old`
   * when it is behind the window (nothing can be said), otherwise `recorded`, so that a later copy is a replay.
   */
  record(bootId: bigint, sequence: bigint): 'recorded' | 'seen' | 'too_old' {
    // Another boot: frames of the peer's previous run read beside its first of a new one are no replay.
    if (bootId !== this.boot) return 'too_old';
    if (sequence > this.top) return 'too_old';
    const age = this.top - sequence;
    if (age >= WINDOW) return 'too_old';
    const bit = 1n << age;
    if (this.seen & bit) return 'seen';
    this.seen |= bit;
    return 'recorded';
  }

  accept(bootId: bigint, sequence: bigint): boolean {
    if (bootId < this.boot) return false;
    if (bootId > this.boot) {
      this.boot = bootId;
      this.top = sequence;
      this.seen = 1n;
      return true;
    }
    if (sequence > this.top) {
      const shift = sequence - this.top;
      this.seen = shift >= WINDOW ? 1n : ((this.seen << shift) | 1n) & FULL;
      this.top = sequence;
      return true;
    }
    const age = this.top - sequence;
    if (age >= WINDOW) return false;
    const bit = 1n << age;
    if (this.seen & bit) return false;
    this.seen |= bit;
    return true;
  }
}
