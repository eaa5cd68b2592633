/**
 * DOC: the board file against the hardware that is really there
 *
 * What a board file cannot say by itself: whether the GPIO chip of each
 * bypass segment exists, and whether its line is within the chip's lines.
 * Each problem names the field of the board file, as the parser does, and
 * what to do. (Two segments on one line is caught by the parser already.)
 */
import type { Board } from '../board/board-file.js';
import { chipInfo, type ChipInfo } from './gpio.js';

export interface HardwareFinding {
  field: string;
  message: string;
}

export function checkBypassHardware(board: Board, info: (path: string) => ChipInfo = chipInfo): HardwareFinding[] {
  const findings: HardwareFinding[] = [];
  const chips = new Map<string, ChipInfo | Error>();
  board.bypass.forEach((seg, i) => {
    for (const [field, g] of [
      ['gpio', seg.gpio],
      ['disconnectGpio', seg.disconnectGpio],
    ] as const) {
      if (!g) continue;
      const at = `bypass[${i}].${field}`;
      let chip = chips.get(g.chip);
      if (!chip) {
        try {
          chip = info(g.chip);
        } catch (e) {
          chip = e as Error;
        }
        chips.set(g.chip, chip);
      }
      if (chip instanceof Error) {
        findings.push({ field: `${at}.chip`, message: `${g.chip} cannot be used for segment "${seg.name}": ${chip.message}` });
      } else if (g.line >= chip.lines) {
        findings.push({
          field: `${at}.line`,
          message: `line ${g.line} is out of range: ${g.chip} (${chip.label}) has ${chip.lines} lines, 0..${chip.lines - 1}`,
        });
      }
    }
  });
  return findings;
}
