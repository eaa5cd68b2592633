/**
 * DOC: `tandem bypass`: the bypass segments of the running node
 *
 *   tandem bypass status
 *   tandem bypass inline|bypass|disconnect SEGMENT [--force]
 *
 * A segment of the active node carries live traffic: changing it needs
 * --force (the daemon refuses otherwise and says why).
 */
import { askControl } from '../api/control-socket.js';
import { flag, UsageError, type Parsed } from './args.js';
import { socketPath } from './status-command.js';

export const BYPASS_USAGE = `tandem bypass status [--json] [--socket PATH | --config FILE]
tandem bypass inline|bypass|disconnect SEGMENT [--force] [--socket PATH | --config FILE]`;

type Status = Record<string, { mode: string; failureMode: string; ports: [string, string] }>;

export async function bypassCommand(p: Parsed): Promise<number> {
  const [verb, segment] = p.positionals;
  if (verb === undefined || verb === 'status') {
    const s = (await askControl(socketPath(p), { cmd: 'bypass' })) as Status;
    if (flag(p, 'json')) process.stdout.write(JSON.stringify(s) + '\n');
    else for (const [name, b] of Object.entries(s)) process.stdout.write(`${name} (${b.ports.join('-')}): ${b.mode} (failure mode ${b.failureMode})\n`);
    return 0;
  }
  if (!['inline', 'bypass', 'disconnect'].includes(verb)) throw new UsageError(`unknown bypass command "${verb}"`);
  if (!segment) throw new UsageError(`tandem bypass ${verb} needs a SEGMENT`);
  const s = (await askControl(socketPath(p), { cmd: 'bypass', segment, mode: verb, force: flag(p, 'force') })) as Status;
  process.stdout.write(`${segment}: ${s[segment]?.mode ?? verb}\n`);
  return 0;
}
