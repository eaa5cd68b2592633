/**
 * DOC: `tandem check --config FILE`: the pre-flight an administrator runs
 * before starting tandemd (which runs the same check and refuses to start).
 */
import { resolveBoard } from '../board/board-file.js';
import { clusterSecret } from '../cluster/cluster-key.js';
import { checkConfig, type CheckResult } from '../cluster/config-check.js';
import { loadNode, type Loaded } from '../cluster/config-file.js';
import { str, UsageError, type Parsed } from './args.js';

export const CHECK_USAGE = `tandem check --config FILE [--json]
  Checks a node configuration against its board and seed 001's list of cluster misconfigurations.`;

/**
 * Loads, validates and checks; the board, the password file or the cluster store are read too. Throws on
 * a bad file. A standalone node (managed, no cluster yet) is checked for what it has: board, interfaces.
 */
export function preflight(path: string): { loaded: Loaded; result: CheckResult } {
  const loaded = loadNode(path);
  const board = resolveBoard(loaded.config.board);
  if (loaded.kind === 'standalone') {
    const result: CheckResult = { errors: [], warnings: [] };
    const c = loaded.config;
    c.interfaces.forEach((i, k) => {
      if (!board.nics.some((n) => n.name === i.name))
        result.errors.push({
          field: `interfaces[${k}].name`,
          message: `board ${board.name} has no NIC named "${i.name}" (it has ${board.nics.map((n) => n.name).join(', ')})`,
        });
    });
    if (!c.interfaces.some((i) => i.sync && i.address))
      result.warnings.push({ field: 'interfaces', message: "no sync interface with this node's address: the node cannot create or join a cluster" });
    return { loaded, result };
  }
  const config = loaded.config;
  const result = checkConfig(config, board);
  try {
    clusterSecret(config.cluster);
  } catch (e) {
    result.errors.push({ field: config.cluster.managed ? 'cluster store' : 'cluster.passwordFile', message: (e as Error).message });
  }
  return { loaded, result };
}

export function formatFindings(file: string, result: CheckResult): string {
  const lines = [
    ...result.errors.map((f) => `${file}: error: ${f.field}: ${f.message}`),
    ...result.warnings.map((f) => `${file}: warning: ${f.field}: ${f.message}`),
  ];
  return lines.join('\n');
}

export function checkCommand(p: Parsed): number {
  const path = str(p, 'config');
  if (!path) throw new UsageError('check needs --config FILE');
  const { result } = preflight(path);
  if (p.options['json'] === true) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const text = formatFindings(path, result);
    if (text) process.stdout.write(text + '\n');
    process.stdout.write(
      result.errors.length === 0
        ? `${path}: OK${result.warnings.length ? ` (${result.warnings.length} warning${result.warnings.length > 1 ? 's' : ''})` : ''}\n`
        : `${path}: ${result.errors.length} error${result.errors.length > 1 ? 's' : ''}\n`,
    );
  }
  return result.errors.length === 0 ? 0 : 1;
}
