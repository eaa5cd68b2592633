/**
 * DOC: `tandem console`: the setup menu on the serial console (or this terminal)
 *
 * With --device (default: the board's console device when --serial is
 * given) the line is set to the board's speed, 8N1, and the menu runs on it
 * for ever, as the appliance's getty would; without, it runs on this
 * terminal. Source of the menu: src/console/.
 */
import { execFileSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import { boardOf } from '../board/board-file.js';
import { loadLocal } from '../cluster/config-file.js';
import { ConsoleMenu } from '../console/menu.js';
import { nodeAccess } from '../console/node-access.js';
import { TtyConsole } from '../console/terminal.js';
import { VERSION } from '../runtime/version.js';
import { flag, str, UsageError, type Parsed } from './args.js';

export const CONSOLE_USAGE = `tandem console --config FILE [--serial | --device DEV] [--reboot-command CMD] [--poweroff-command CMD]
  The setup menu: network, create/join a cluster, status, bypass test, restart. --serial runs it on the
  board's console device at its speed (8N1), as the appliance's unit does.`;

export async function consoleCommand(p: Parsed): Promise<number> {
  const config = str(p, 'config') ?? '/etc/tandem/node.json';
  const local = () => loadLocal(config);
  const board = boardOf(local());
  const device = str(p, 'device') ?? (flag(p, 'serial') ? board.console?.device : undefined);
  if (flag(p, 'serial') && !device) throw new UsageError(`board ${board.name} names no console device: give --device DEV`);
  let input: ReadStream;
  let output: WriteStream | NodeJS.WriteStream;
  if (device) {
    const baud = board.console?.baud ?? 115200;
    // 8N1 at the board's speed, no flow control, as a bare VT100 expects.
    execFileSync('stty', ['-F', device, String(baud), 'cs8', '-parenb', '-cstopb', '-crtscts']);
    const fd = openSync(device, 'r+');
    input = new ReadStream(fd);
    output = new WriteStream(fd);
  } else {
    if (!process.stdin.isTTY) throw new UsageError('the console needs a terminal: run it on one, or give --device DEV');
    input = process.stdin as ReadStream;
    output = process.stdout;
  }
  const io = new TtyConsole(input, output);
  const menu = new ConsoleMenu(
    io,
    nodeAccess({
      configFile: config,
      board,
      loadLocal: local,
      reboot: str(p, 'reboot-command') ?? 'systemctl reboot',
      poweroff: str(p, 'poweroff-command') ?? 'systemctl poweroff',
    }),
    VERSION.text,
  );
  await menu.run();
  return 0;
}
