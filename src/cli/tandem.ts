/**
 * DOC: `tandem`, the administrator's CLI: parse, dispatch, exit status
 *
 * 0 success, 1 the command failed (message on stderr), 2 usage error.
 */
import { CAPTURE_USAGE, captureCommand } from './capture-command.js';
import { CHECK_USAGE, checkCommand } from './check-command.js';
import { DIAG_USAGE, diagCommand, STATUS_USAGE, statusCommand } from './status-command.js';
import { whyCommand } from './why-command.js';
import { MAINTENANCE_USAGE, maintenanceCommand } from './maintenance-command.js';
import { LAB_USAGE, labCommand } from './lab-command.js';
import { BYPASS_USAGE, bypassCommand } from './bypass-command.js';
import { adminPasswordCommand, CLUSTER_USAGE, clusterCommand, restartCommand } from './cluster-command.js';
import { CONSOLE_USAGE, consoleCommand } from './console-command.js';
import { EVENTS_USAGE, eventsCommand } from './events-command.js';
import { HTTPS_USAGE, httpsCommand, metricsTokenCommand } from './https-command.js';
import { NFT_NAMES_USAGE, nftNamesCommand } from './nft-names-command.js';
import { parseArgs, UsageError } from './args.js';
import { tool } from '../lab/run.js';

const USAGE = `usage: tandem COMMAND ...

${STATUS_USAGE}

${MAINTENANCE_USAGE}

${BYPASS_USAGE}

${CLUSTER_USAGE}

${CONSOLE_USAGE}

${HTTPS_USAGE}

${EVENTS_USAGE}

${CHECK_USAGE}

${NFT_NAMES_USAGE}

${CAPTURE_USAGE}

${LAB_USAGE}

${DIAG_USAGE}

tandem version`;

const OPTIONS = {
  board: 'string',
  nodes: 'int',
  members: 'int',
  json: 'boolean',
  all: 'boolean',
  seconds: 'int',
  count: 'int',
  'cluster-id': 'int',
  'password-file': 'string',
  salt: 'string',
  netns: 'string',
  help: 'boolean',
  config: 'string',
  socket: 'string',
  force: 'boolean',
  name: 'string',
  node: 'string',
  mode: 'string',
  engine: 'string',
  member: 'string',
  yes: 'boolean',
  'password-fd': 'int',
  'only-this': 'boolean',
  markdown: 'boolean',
  serial: 'boolean',
  device: 'string',
  'reboot-command': 'string',
  'poweroff-command': 'string',
  list: 'boolean',
  pem: 'boolean',
} as const;

export async function main(argv: readonly string[]): Promise<void> {
  // `tandem events | head`: a reader that went away ends the output, not with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  let code: number;
  try {
    const [command, ...rest] = argv;
    const p = parseArgs(rest, OPTIONS);
    switch (command) {
      case 'capture': {
        const ns = p.options['netns'];
        // libpcap cannot enter a namespace: run ourselves inside it instead.
        code = typeof ns === 'string' ? await reexecIn(ns, argv) : await captureCommand(p);
        break;
      }
      case 'bypass':
        code = await bypassCommand(p);
        break;
      case 'cluster':
        code = await clusterCommand(p);
        break;
      case 'restart':
        code = await restartCommand(p);
        break;
      case 'events':
        code = eventsCommand(p);
        break;
      case 'console':
        code = await consoleCommand(p);
        break;
      case 'admin-password':
        code = await adminPasswordCommand(p);
        break;
      case 'https':
        code = await httpsCommand(p);
        break;
      case 'metrics-token':
        code = await metricsTokenCommand(p);
        break;
      case 'lab':
        code = await labCommand(p);
        break;
      case 'check':
        code = checkCommand(p);
        break;
      case 'nft-names':
        code = nftNamesCommand(p);
        break;
      case 'why':
        code = await whyCommand(p);
        break;
      case 'update':
      case 'upgrade':
        code = await maintenanceCommand(command, p);
        break;
      case 'status':
      case 'note':
      case 'failover':
      case 'resync':
        code = await statusCommand(command as 'status' | 'failover' | 'resync' | 'note', p);
        break;
      case 'diag':
        code = await diagCommand(p);
        break;
      case 'version':
        process.stdout.write(`tandem ${require('../../../package.json').version}\n`);
        code = 0;
        break;
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(USAGE + '\n');
        code = 0;
        break;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tandem: ${e.message}\n\n${USAGE}\n`);
      code = 2;
    } else {
      process.stderr.write(`tandem: ${(e as Error).message}\n`);
      code = 1;
    }
  }
  process.exitCode = code;
}

async function reexecIn(netns: string, argv: readonly string[]): Promise<number> {
  const { spawn } = await import('node:child_process');
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--netns') i++;
    else if (!argv[i]!.startsWith('--netns=')) rest.push(argv[i]!);
  }
  const child = spawn(tool('ip'), ['netns', 'exec', netns, process.execPath, process.argv[1]!, ...rest], { stdio: 'inherit' });
  const forward = () => child.kill('SIGINT');
  process.once('SIGINT', forward);
  return new Promise((resolve) => child.once('exit', (c, sig) => resolve(c ?? (sig ? 128 + 2 : 1))));
}
