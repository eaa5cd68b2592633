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
    const at = `bypass[${i}].gpio`;
    let chip = chips.get(seg.gpio.chip);
    if (!chip) {
      try {
        chip = info(seg.gpio.chip);
      } catch (e) {
        chip = e as Error;
      }
      chips.set(seg.gpio.chip, chip);
    }
    if (chip instanceof Error) {
      findings.push({ field: `${at}.chip`, message: `${seg.gpio.chip} cannot be used for segment "${seg.name}": ${chip.message}` });
    } else if (seg.gpio.line >= chip.lines) {
      findings.push({ field: `${at}.line`, message: `line ${seg.gpio.line} is out of range: ${seg.gpio.chip} (${chip.label}) has ${chip.lines} lines, 0..${chip.lines - 1}` });
    }
  });
  return findings;
}
