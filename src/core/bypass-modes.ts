/**
 * DOC: bypass segment modes and the relay lines that make them (pure)
 *
 * A segment is inline (traffic through the box), bypass (the two ports
 * coupled: fail-open, the box is a wire) or disconnect (both ports cut:
 * fail-closed). The board (src/board/board-file.ts) gives a bypass relay
 * line and optionally a disconnect relay line; the logical values (before
 * polarity) that make each mode:
 *
 *   mode         bypass line   disconnect line
 *   inline            0              0
 *   bypass            1              0
 *   disconnect        0              1        (only with a disconnect relay)
 *
 * Released lines are not a mode the software sets: the hardware then does
 * the board's `whenReleased`.
 */

export const BYPASS_MODES = ['inline', 'bypass', 'disconnect'] as const;
export type BypassMode = (typeof BYPASS_MODES)[number];

/** What a configured failure mode asks of a segment. */
export type FailureMode = 'fail-open' | 'fail-closed';

export function modeForFailure(f: FailureMode): BypassMode {
  return f === 'fail-open' ? 'bypass' : 'disconnect';
}

/** The logical line values for a mode: [bypass line] or [bypass line, disconnect line]. */
export function linesForMode(mode: BypassMode, hasDisconnect: boolean, segment: string): number[] {
  if (mode === 'disconnect' && !hasDisconnect) {
    throw new Error(`segment ${segment} has no disconnect relay (board file: bypass[].disconnectGpio): it can be inline or bypass only`);
  }
  const values = [mode === 'bypass' ? 1 : 0];
  if (hasDisconnect) values.push(mode === 'disconnect' ? 1 : 0);
  return values;
}

/** The mode the line values make (a disconnect relay wins over a bypass relay: the ports are cut). */
export function modeOfLines(values: readonly number[]): BypassMode {
  if (values[1] === 1) return 'disconnect';
  return values[0] === 1 ? 'bypass' : 'inline';
}
