/**
 * DOC: `tandemd`, the daemon (foreground)
 *
 * Parses, builds the heartbeat service, installs signal handlers behind a
 * shutdown guard and exits 128+signo. Until the failover core lands (issue
 * 3) the daemon runs heartbeats only: it sends on every heartbeat interface
 * of the board, receives with the full drop ladder and logs peers and
 * rejections; the node identity comes from options, later from --config.
 */
import { readFileSync } from 'node:fs';
import { resolveBoard } from '../board/board-file.js';
import { hmacAuth } from '../io/heartbeat-auth.js';
import { nextBootId } from '../io/boot-id.js';
import { HeartbeatNode } from '../runtime/heartbeat-node.js';
import { JsonLogger } from '../runtime/log.js';
import { flag, int, parseArgs, str, UsageError } from './args.js';

export const TANDEMD_USAGE = `tandemd --board NAME|FILE --cluster-id N --node-id N --type master|slave --password-file FILE
        [--node-name NAME] [--interval-ms N] [--disable IFACE,IFACE] [--stats-every-ms N] [--state-dir DIR]
  Runs the heartbeat service in the foreground and logs one JSON object a line.`;

const SIGNALS = { SIGTERM: 15, SIGINT: 2 } as const;

export function main(argv: readonly string[]): void {
  const log = new JsonLogger();
  let node: HeartbeatNode;
  try {
    const p = parseArgs(argv, {
      board: 'string', 'cluster-id': 'int', 'node-id': 'int', type: 'string', 'password-file': 'string', 'node-name': 'string',
      'interval-ms': 'int', disable: 'string', 'stats-every-ms': 'int', 'state-dir': 'string', help: 'boolean', version: 'boolean',
    });
    if (flag(p, 'help')) {
      process.stdout.write(TANDEMD_USAGE + '\n');
      return;
    }
    if (flag(p, 'version')) {
      process.stdout.write(`tandemd ${require('../../../package.json').version}\n`);
      return;
    }
    const need = (name: string): string => {
      const v = p.options[name];
      if (v === undefined) throw new UsageError(`--${name} is required`);
      return String(v);
    };
    const board = resolveBoard(need('board'));
    const clusterId = int(p, 'cluster-id', 0, 63)!;
    const nodeId = int(p, 'node-id', 1, 0xffffffff)!;
    need('cluster-id');
    need('node-id');
    const type = need('type');
    if (type !== 'master' && type !== 'slave') throw new UsageError(`--type must be master or slave, not "${type}"`);
    const password = readFileSync(need('password-file'), 'utf8').trim();
    const stateDir = str(p, 'state-dir');
    node = new HeartbeatNode(
      board,
      { clusterId, nodeId, nodeName: str(p, 'node-name') ?? `node${nodeId}`, nodeType: type, bootId: nextBootId(stateDir) },
      hmacAuth(password, clusterId),
      log,
      { intervalMs: int(p, 'interval-ms', 10, 10_000, 100)!, disabled: (str(p, 'disable') ?? '').split(',').filter(Boolean) },
    );
    node.start();
    const every = int(p, 'stats-every-ms', 100, 3_600_000);
    if (every !== undefined) setInterval(() => log.log('info', 'heartbeat_matrix', { matrix: node.matrix(), peers: node.peersSeen() }), every);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tandemd: ${e.message}\n${TANDEMD_USAGE}\n`);
      process.exit(2);
    }
    log.log('error', 'startup_failed', { error: (e as Error).message });
    process.exit(1);
  }
  let stopping = false;
  for (const [sig, no] of Object.entries(SIGNALS)) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      node.stop();
      log.log('info', 'stopped', { signal: sig });
      process.exit(128 + no);
    });
  }
}
