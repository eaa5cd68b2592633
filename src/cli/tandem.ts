/**
 * DOC: `tandem`, the administrator's CLI: parse, dispatch, exit status
 *
 * 0 success, 1 the command failed (message on stderr), 2 usage error.
 */
import { firmwareCommand, FIRMWARE_USAGE } from './firmware-command.js';
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
import { parseArgs, UsageError, type Parsed } from './args.js';
import { VERSION } from '../runtime/version.js';
import { tool } from '../lab/run.js';

/**
 * Every command once: the names it answers to, its usage text (printed in this order), and what runs it. The
 * flags are parsed from one table (OPTIONS) for all: a flag means the same to every command that takes it.
 */
interface Command {
  names: readonly string[];
  usage: string;
  run(p: Parsed, name: string, argv: readonly string[]): Promise<number> | number;
}

const COMMANDS: readonly Command[] = [
  {
    names: ['status', 'note', 'failover', 'resync'],
    usage: STATUS_USAGE,
    run: (p, name) => statusCommand(name as 'status' | 'failover' | 'resync' | 'note', p),
  },
  { names: ['why'], usage: '', run: (p) => whyCommand(p) },
  { names: ['update', 'upgrade'], usage: MAINTENANCE_USAGE, run: (p, name) => maintenanceCommand(name as 'update' | 'upgrade', p) },
  { names: ['bypass'], usage: BYPASS_USAGE, run: (p) => bypassCommand(p) },
  { names: ['cluster'], usage: CLUSTER_USAGE, run: (p) => clusterCommand(p) },
  { names: ['restart'], usage: '', run: (p) => restartCommand(p) },
  { names: ['admin-password'], usage: '', run: (p) => adminPasswordCommand(p) },
  { names: ['console'], usage: CONSOLE_USAGE, run: (p) => consoleCommand(p) },
  { names: ['https'], usage: HTTPS_USAGE, run: (p) => httpsCommand(p) },
  { names: ['firmware'], usage: FIRMWARE_USAGE, run: (p) => firmwareCommand(p) },
  { names: ['metrics-token'], usage: '', run: (p) => metricsTokenCommand(p) },
  { names: ['events'], usage: EVENTS_USAGE, run: (p) => eventsCommand(p) },
  { names: ['check'], usage: CHECK_USAGE, run: (p) => checkCommand(p) },
  { names: ['nft-names'], usage: NFT_NAMES_USAGE, run: (p) => nftNamesCommand(p) },
  {
    names: ['capture'],
    usage: CAPTURE_USAGE,
    // libpcap cannot enter a namespace: run ourselves inside it instead.
    run: (p, _name, argv) => (typeof p.options['netns'] === 'string' ? reexecIn(p.options['netns'], argv) : captureCommand(p)),
  },
  { names: ['lab'], usage: LAB_USAGE, run: (p) => labCommand(p) },
  { names: ['diag'], usage: DIAG_USAGE, run: (p) => diagCommand(p) },
  {
    names: ['version'],
    usage: 'tandem version',
    run: () => {
      process.stdout.write(`tandem ${VERSION.text}\n`);
      return 0;
    },
  },
];

const USAGE = `usage: tandem COMMAND ...\n\n${COMMANDS.map((c) => c.usage)
  .filter((u) => u.length > 0)
  .join('\n\n')}`;

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
  'no-reboot': 'boolean',
  vm: 'boolean',
  factory: 'boolean',
  managed: 'boolean',
  image: 'string',
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
    if (command === undefined || command === 'help' || command === '--help') {
      process.stdout.write(USAGE + '\n');
      code = 0;
    } else {
      const found = COMMANDS.find((c) => c.names.includes(command));
      if (!found) throw new UsageError(`unknown command "${command}"`);
      code = await found.run(p, command, argv);
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
