/**
 * DOC: the bypass segments over the daemon's life
 *
 * At start every segment is put in its configured failure mode (fail-open:
 * bypass, fail-closed: disconnect) and stays there until the node is ready
 * (its first role decision), then goes inline. A clean stop puts every
 * segment back in its failure mode before the lines are released; a crash
 * releases them with the process, and the hardware does the board's
 * `whenReleased` (the pre-flight warns when that differs from the failure
 * mode); a hang is caught by the watchdog (watchdog-feeder.ts).
 */
import type { Board } from '../../board/board-file.js';
import type { NodeConfig } from '../../cluster/config-file.js';
import { modeForFailure, type BypassMode, type FailureMode } from '../../core/bypass-modes.js';
import { BypassRelays } from '../../io/bypass-relays.js';
import type { Logger } from '../logging/log.js';

export type BypassStatus = Record<string, { mode: BypassMode; failureMode: FailureMode; ports: [string, string] }>;

export class BypassControl {
  private readyDone = false;

  private constructor(
    private readonly relays: BypassRelays,
    private readonly failure: Record<string, FailureMode>,
    private readonly ports: Record<string, [string, string]>,
    private readonly log: Logger,
  ) {}

  static start(board: Board, config: NodeConfig, log: Logger): BypassControl | undefined {
    if (board.bypass.length === 0) return undefined;
    const failure = Object.fromEntries(board.bypass.map((s) => [s.name, config.bypass[s.name]?.failureMode ?? 'fail-open'])) as Record<string, FailureMode>;
    let relays: BypassRelays;
    try {
      relays = BypassRelays.open(board.bypass, (s) => modeForFailure(failure[s.name]!), `tandem-${config.node.name}`.slice(0, 24));
    } catch (e) {
      log.log('error', 'bypass_unavailable', { error: (e as Error).message });
      return undefined;
    }
    log.log('info', 'bypass_failure_mode', { why: 'starting: not ready to serve', modes: relays.modes() });
    return new BypassControl(relays, failure, Object.fromEntries(board.bypass.map((s) => [s.name, s.ports])), log);
  }

  /** The node can serve: every segment inline (once). */
  ready(): void {
    if (this.readyDone) return;
    this.readyDone = true;
    this.setAll(() => 'inline', 'bypass_inline', 'ready');
  }

  /** Clean stop: failure modes set explicitly, then the lines handed back. */
  stop(): void {
    this.setAll((name) => modeForFailure(this.failure[name]!), 'bypass_failure_mode', 'stopping');
    this.relays.release();
  }

  private setAll(mode: (segment: string) => BypassMode, event: 'bypass_inline' | 'bypass_failure_mode', why: string): void {
    for (const name of Object.keys(this.failure)) {
      try {
        this.relays.set(name, mode(name));
      } catch (e) {
        this.log.log('error', 'bypass_unavailable', { segment: name, error: (e as Error).message });
      }
    }
    this.log.log('info', event, { why, modes: this.relays.modes() });
  }

  /** An administrator's choice (`tandem bypass MODE SEGMENT`, through the failover core); it holds until the next start or stop. */
  setByAdmin(segment: string, mode: BypassMode): void {
    if (!(segment in this.failure)) throw new Error(`no bypass segment "${segment}" (segments: ${Object.keys(this.failure).join(', ')})`);
    this.relays.set(segment, mode); // logged and recorded by the failover runtime (a change of standing)
  }

  /** Fencing: the segment wired to cut the dead peer's path. */
  setForFence(segment: string, mode: BypassMode): void {
    if (!(segment in this.failure)) throw new Error(`no bypass segment "${segment}" (segments: ${Object.keys(this.failure).join(', ')})`);
    this.relays.set(segment, mode);
  }

  status(): BypassStatus {
    const modes = this.relays.modes();
    return Object.fromEntries(Object.keys(this.failure).map((n) => [n, { mode: modes[n]!, failureMode: this.failure[n]!, ports: this.ports[n]! }]));
  }
}
