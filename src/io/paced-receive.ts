/**
 * DOC: heartbeats received by the heartbeat thread, handed over by interface name
 *
 * Once this is called the pacer's thread reads the heartbeat sockets (nothing
 * else may; native/pacer_rx.c): it rings `onDoorbell` on the main loop when a
 * frame is news (it differs from the last one on its interface outside
 * HEARTBEAT_VOLATILE_RANGES, or follows more than `gapNs` of silence) and
 * holds every frame, with its kernel stamp, until drained. A drain examines
 * each sender's frames newest first (src/io/newest-first.ts). Decides nothing.
 */
import { HEARTBEAT_VOLATILE_RANGES } from '../wire/heartbeat-frame.js';
import type { Pacer } from './heartbeat-pacer.js';

/** Examines one frame; true if it was accepted (the sender's older frames of the drain are then superseded). */
export type NamedFrameHandler = (ifname: string, frame: Buffer, stampNs: bigint, truncated: boolean) => boolean;
/** A sender's older frames of a drain, left unexamined because `accepted` (newer, same sender) was accepted. */
export type SupersededHandler = (ifname: string, older: readonly Buffer[], accepted: Buffer) => void;

/** Returns the drain; undefined without a native pacer (a test's fake): the caller reads the sockets itself. */
export function receiveThroughPacer(
  paced: { pacer: Pacer; names: readonly string[] } | undefined,
  onDoorbell: () => void,
  gapNs: bigint,
): ((examine: NamedFrameHandler, superseded: SupersededHandler) => number) | undefined {
  const p = paced?.pacer;
  if (!paced || !p?.receive || !p.drainNewest) return undefined;
  p.receive(onDoorbell, HEARTBEAT_VOLATILE_RANGES, gapNs);
  const drain = p.drainNewest.bind(p);
  const names = paced.names;
  return (examine, superseded) =>
    drain(
      (f) => examine(names[f.sock]!, f.frame, f.stampNs, f.truncated),
      (sock, older, accepted) =>
        superseded(
          names[sock]!,
          older.map((f) => f.frame),
          accepted.frame,
        ),
    );
}
