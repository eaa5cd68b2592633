/**
 * DOC: the bypass relays of a board, driven through GPIO lines
 *
 * One request per segment and chip, held for the life of the daemon: the
 * lines are requested with the values of the segment's starting mode (its
 * failure mode, until the node is ready), so the relays never pass through
 * inline while the node cannot yet serve. Releasing (release(), or the
 * process dying) leaves each segment to the hardware's `whenReleased`.
 */
import type { BypassSegment } from '../board/board-file.js';
import { linesForMode, modeOfLines, type BypassMode } from '../core/bypass-modes.js';
import { GpioLines, type OutputLines } from './gpio.js';

interface Held {
  segment: BypassSegment;
  /** Index 0 the bypass relay, 1 the disconnect relay (when the board has one); one request per chip. */
  requests: { lines: OutputLines; indexes: number[] }[];
  mode: BypassMode;
}

export class BypassRelays {
  private readonly held = new Map<string, Held>();

  private constructor(private readonly consumer: string) {}

  /** Requests every segment's lines at the values of its starting mode. */
  static open(segments: readonly BypassSegment[], start: (segment: BypassSegment) => BypassMode, consumer = 'tandem-bypass'): BypassRelays {
    const r = new BypassRelays(consumer);
    try {
      for (const seg of segments) r.openSegment(seg, start(seg));
    } catch (e) {
      r.release();
      throw e;
    }
    return r;
  }

  private openSegment(seg: BypassSegment, mode: BypassMode): void {
    const values = linesForMode(mode, seg.disconnectGpio !== null, seg.name);
    const lines = seg.disconnectGpio ? [seg.gpio, seg.disconnectGpio] : [seg.gpio];
    const requests: Held['requests'] = [];
    // Lines of one chip with the same polarity share a request; otherwise one request each.
    const groups = new Map<string, number[]>();
    lines.forEach((l, i) => {
      const key = `${l.chip}|${l.activeLow}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    for (const indexes of groups.values()) {
      const first = lines[indexes[0]!]!;
      requests.push({
        lines: GpioLines.request(
          first.chip,
          indexes.map((i) => lines[i]!.line),
          indexes.map((i) => values[i]!),
          `${this.consumer}-${seg.name}`.slice(0, 31),
          first.activeLow,
        ),
        indexes,
      });
    }
    this.held.set(seg.name, { segment: seg, requests, mode });
  }

  private segment(name: string): Held {
    const h = this.held.get(name);
    if (!h) throw new Error(`no bypass segment "${name}" (segments: ${[...this.held.keys()].join(', ') || 'none'})`);
    return h;
  }

  set(name: string, mode: BypassMode): void {
    const h = this.segment(name);
    const values = linesForMode(mode, h.segment.disconnectGpio !== null, name);
    for (const req of h.requests) req.lines.set(req.indexes.map((i) => values[i]!));
    h.mode = mode;
  }

  /** The mode each segment's lines make, read back from the chip. */
  read(name: string): BypassMode {
    const h = this.segment(name);
    const values: number[] = [];
    for (const req of h.requests) req.lines.get().forEach((v, k) => (values[req.indexes[k]!] = v));
    return modeOfLines(values);
  }

  modes(): Record<string, BypassMode> {
    return Object.fromEntries([...this.held].map(([name, h]) => [name, h.mode]));
  }

  /** Hands every line back: each segment goes to what its hardware does when released. */
  release(): void {
    for (const h of this.held.values()) for (const req of h.requests) req.lines.release();
    this.held.clear();
  }
}
