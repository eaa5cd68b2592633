/**
 * DOC: runs GPIO and watchdog operations through the production modules, in a process that has the
 * simulator (hw-sim.so) preloaded; one JSON result per operation on stdout.
 *
 *   node driver.js '[{"op":"request","path":"/dev/gpiochip0","offsets":[0],"values":[1],"consumer":"t"}, ...]'
 */
import { parseBoard } from '../../src/board/board-file.js';
import { checkBypassHardware } from '../../src/io/board-hardware.js';
import { BypassRelays } from '../../src/io/bypass-relays.js';
import type { BypassMode } from '../../src/core/bypass-modes.js';
import { chipInfo, GpioLines, lineInfo, type OutputLines } from '../../src/io/gpio.js';
import { Watchdog } from '../../src/io/watchdog.js';

type Op = { op: string; [k: string]: unknown };

const lines: OutputLines[] = [];
const dogs: Watchdog[] = [];
let relays: BypassRelays | undefined;

function run(o: Op): unknown {
  switch (o.op) {
    case 'chipInfo':
      return chipInfo(String(o['path']));
    case 'lineInfo':
      return lineInfo(String(o['path']), Number(o['offset']));
    case 'request':
      lines.push(GpioLines.request(String(o['path']), o['offsets'] as number[], o['values'] as number[], String(o['consumer']), o['activeLow'] === true));
      return { handle: lines.length - 1 };
    case 'set':
      return lines[Number(o['handle'])]!.set(o['values'] as number[]) ?? { set: true };
    case 'get':
      return { values: lines[Number(o['handle'])]!.get() };
    case 'release':
      return lines[Number(o['handle'])]!.release() ?? { released: true };
    case 'watchdog':
      dogs.push(Watchdog.open(String(o['path']), Number(o['timeout'])));
      return { handle: dogs.length - 1, timeout: dogs.at(-1)!.timeout };
    case 'keepalive':
      return dogs[Number(o['handle'])]!.keepalive() ?? { fed: true };
    case 'stop':
      return dogs[Number(o['handle'])]!.stop() ?? { stopped: true };
    case 'abandon':
      return dogs[Number(o['handle'])]!.abandon() ?? { abandoned: true };
    case 'checkBoard':
      return { findings: checkBypassHardware(parseBoard(o['board'], 'board.json')) };
    case 'bypassOpen':
      relays = BypassRelays.open(parseBoard(o['board'], 'board.json').bypass, () => o['start'] as BypassMode);
      return { modes: relays.modes() };
    case 'bypassSet':
      relays!.set(String(o['segment']), o['mode'] as BypassMode);
      return { read: relays!.read(String(o['segment'])) };
    case 'bypassRelease':
      return relays!.release() ?? { released: true };
    case 'hang':
      // Stay alive holding what was requested, until killed.
      setInterval(() => undefined, 1000);
      process.stdout.write(JSON.stringify({ hanging: process.pid }) + '\n');
      return undefined;
    default:
      throw new Error(`unknown op ${o.op}`);
  }
}

for (const o of JSON.parse(process.argv[2] ?? '[]') as Op[]) {
  try {
    const r = run(o);
    if (r !== undefined) process.stdout.write(JSON.stringify({ ok: true, result: r }) + '\n');
  } catch (e) {
    const err = e as Error & { code?: string };
    process.stdout.write(JSON.stringify({ ok: false, code: err.code ?? null, message: err.message }) + '\n');
  }
}
