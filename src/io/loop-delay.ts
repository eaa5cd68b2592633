/**
 * DOC: how late the event loop runs, over a sliding window
 *
 * The heartbeat sender's service timer knows when it was due and when it
 * ran; the difference is the event-loop delay the administrator sees in
 * `tandem status` (max and 99th percentile over the last minute). Samples
 * older than the window are dropped as new ones arrive. No timers of its own.
 */
export class LoopDelay {
  private readonly samples: { at: number; ms: number }[] = [];

  constructor(private readonly windowMs: number) {}

  add(delayMs: number, nowMs: number): void {
    this.samples.push({ at: nowMs, ms: delayMs });
    this.prune(nowMs);
  }

  /** Max and p99 of the window in ms (0 with no sample). */
  stats(nowMs: number): { maxMs: number; p99Ms: number; samples: number } {
    this.prune(nowMs);
    if (this.samples.length === 0) return { maxMs: 0, p99Ms: 0, samples: 0 };
    const sorted = this.samples.map((s) => s.ms).sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
    return { maxMs: sorted[sorted.length - 1]!, p99Ms: p99, samples: sorted.length };
  }

  private prune(nowMs: number): void {
    let drop = 0;
    while (drop < this.samples.length && this.samples[drop]!.at < nowMs - this.windowMs) drop++;
    if (drop > 0) this.samples.splice(0, drop);
  }
}
