/**
 * DOC: of the heartbeats read at once, each sender's newest is examined first
 *
 * The heartbeat thread holds every frame until the main loop drains them, a
 * few hundred milliseconds' worth at a time. What the failover core learns
 * from a sender is its newest authentic frame on each interface: older ones
 * say less (a past state, an older sequence, an earlier kernel stamp). So
 * each sender's frames (same socket, same source MAC) are examined from the
 * newest back, and the first one accepted ends the walk: the frames before it
 * are handed to `superseded` without being verified (the receiver records
 * their sequence numbers in the replay window, so a later replay of one is
 * caught, and counts one already seen as a replay). A frame that fails (a
 * forgery under a peer's MAC, a corrupt one) is counted and logged as ever and
 * the walk goes on to the next older, so a stream of bad frames never hides a
 * good one; it costs their verification, as it did before.
 *
 * This is where the heartbeat CPU went: verifying (HMAC, checksums, decoding)
 * every frame of 100 a second on the main loop. Pure.
 */

/** One frame of a drained batch (its bytes valid only until the next read of the ring). */
export interface BatchFrame {
  sock: number;
  frame: Buffer;
  stampNs: bigint;
  truncated: boolean;
}

function isSorted(list: readonly number[], cmp: (a: number, b: number) => number): boolean {
  for (let i = 1; i < list.length; i++) if (cmp(list[i - 1]!, list[i]!) > 0) return false;
  return true;
}

/** Bytes 6..11 of an Ethernet frame: its source MAC. */
const SRC_MAC = 6;
const MAC_LENGTH = 6;

/** The older frames of a sender left unexamined once `accepted`, its newer frame of the same drain, was accepted. */
export type SupersededFrames = (sock: number, older: readonly BatchFrame[], accepted: BatchFrame) => void;

/**
 * Hands each sender's frames to `examine`, newest first, until it accepts one; hands the older frames of that
 * sender, unexamined, to `superseded`. Frames too short to carry a source MAC are each examined on their own.
 */
export function examineNewestFirst(batch: readonly BatchFrame[], examine: (f: BatchFrame) => boolean, superseded: SupersededFrames): void {
  const senders = new Map<string, number[]>();
  batch.forEach((f, i) => {
    const key = f.frame.length >= SRC_MAC + MAC_LENGTH ? `${f.sock}/${f.frame.readUIntBE(SRC_MAC, MAC_LENGTH)}` : `${f.sock}/runt${i}`;
    const list = senders.get(key);
    if (list) list.push(i);
    else senders.set(key, [i]);
  });
  // Senders in the order their newest frames arrived: the replay window (src/wire/replay-window.ts) then sees
  // those frames in sequence order, as it saw every frame before. A sender re-signs its lease when a field
  // changes, so its sequence can jump by hundreds between two frames sent a tick apart on two interfaces: taken
  // the other way round, the older would fall behind the window and count as a replay.
  // By kernel stamp, not by position: the heartbeat thread and a drain read the same sockets at once
  // (native/pacer_rx.c), so a frame can be filed after a newer one. Stable: equal stamps keep their order.
  const byStamp = (a: number, b: number) => (batch[a]!.stampNs < batch[b]!.stampNs ? -1 : batch[a]!.stampNs > batch[b]!.stampNs ? 1 : a - b);
  for (const list of senders.values()) if (!isSorted(list, byStamp)) list.sort(byStamp);
  const order = [...senders.values()].sort((a, b) => byStamp(a[a.length - 1]!, b[b.length - 1]!));
  for (const list of order) {
    let k = list.length - 1;
    while (k >= 0 && !examine(batch[list[k]!]!)) k--;
    if (k > 0) {
      superseded(
        batch[list[0]!]!.sock,
        list.slice(0, k).map((i) => batch[i]!),
        batch[list[k]!]!,
      );
    }
  }
}
