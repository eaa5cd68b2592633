/**
 * DOC: carrier of the heartbeat interfaces, as the sender needs it
 *
 * An interface without carrier gets no heartbeats scheduled. Carrier comes
 * from the node's link monitor (netlink events, the fast path) through
 * changed(); until the first event, and once a second after that as a safety
 * net, read() polls it by ioctl (every service tick before events come). Runs
 * on the main loop.
 */
import type { FrameLink } from './packet-link.js';

/** Carrier is read by ioctl at most this often once link events arrive. */
const CARRIER_POLL_MS = 1000;

export class CarrierWatch {
  private readonly state = new Map<string, boolean>();
  private moved = false;
  private fromEvents = false;
  private polledAt = 0;

  constructor(
    private readonly ifaces: ReadonlyMap<string, { link: FrameLink }>,
    private readonly pollMs: number,
  ) {}

  /** Carrier as last known (undefined: never read). */
  up(name: string): boolean | undefined {
    return this.state.get(name);
  }

  changed(name: string, up: boolean): void {
    this.fromEvents = true;
    if (this.state.get(name) === up) return;
    this.state.set(name, up);
    this.moved = true;
  }

  /** True if carrier changed on any interface since the last read (polled when it is due). */
  read(): boolean {
    const moved = this.moved;
    this.moved = false;
    if (this.polledAt > 0 && performance.now() - this.polledAt < (this.fromEvents ? CARRIER_POLL_MS : this.pollMs)) return moved;
    this.polledAt = performance.now();
    let changed = moved;
    for (const [name, iface] of this.ifaces) {
      let up: boolean;
      try {
        up = iface.link.hasCarrier();
      } catch {
        up = false;
      }
      if (this.state.get(name) !== up) changed = true;
      this.state.set(name, up);
    }
    return changed;
  }
}
