/**
 * DOC: heartbeats received by the heartbeat thread, handed over by interface name
 *
 * Once this is called the pacer's thread reads the heartbeat sockets (nothing
 * else may; native/pacer_rx.c): it rings `onDoorbell` on the main loop when a
 * frame is news (it differs from the last one on its interface outside
 * HEARTBEAT_VOLATILE_RANGES, or follows more than `gapNs` of silence) and
 * holds every frame, with its kernel stamp, until drained. Decides nothing.
 */
import { HEARTBEAT_VOLATILE_RANGES } from '../wire/heartbeat-frame.js';
import type { Pacer } from './heartbeat-pacer.js';

export type NamedFrameHandler = (ifname: string, frame: Buffer, stampNs: bigint, truncated: boolean) => void;

/** Returns the drain; undefined without a native pacer (a test's fake): the caller reads the sockets itself. */
export function receiveThroughPacer(
  paced: { pacer: Pacer; names: readonly string[] } | undefined,
  onDoorbell: () => void,
  gapNs: bigint,
): ((onFrame: NamedFrameHandler) => number) | undefined {
  const p = paced?.pacer;
  if (!paced || !p?.receive || !p.drain) return undefined;
  p.receive(onDoorbell, HEARTBEAT_VOLATILE_RANGES, gapNs);
  const drain = p.drain.bind(p);
  return (onFrame) => drain((sock, frame, stamp, truncated) => onFrame(paced.names[sock]!, frame, stamp, truncated));
}
