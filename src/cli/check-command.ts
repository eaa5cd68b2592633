/**
 * DOC: `tandem check --config FILE`: the pre-flight an administrator runs
 * before starting tandemd (which runs the same check and refuses to start).
 */
import { readFileSync } from 'node:fs';
import { resolveBoard } from '../board/board-file.js';
import { checkConfig, type CheckResult } from '../cluster/config-check.js';
import { loadConfig, type NodeConfig } from '../cluster/config-file.js';
import { str, UsageError, type Parsed } from './args.js';

export const CHECK_USAGE = `tandem check --config FILE [--json]
  Checks a node configuration against its board and seed 001's list of cluster misconfigurations.`;

/** Loads, validates and checks; the board and the password file are read too. Throws on a bad file. */
export function preflight(path: string): { config: NodeConfig; result: CheckResult } {
  const config = loadConfig(path);
  const board = resolveBoard(config.board);
  const result = checkConfig(config, board);
  try {
    if (readFileSync(config.cluster.passwordFile, 'utf8').trim().length === 0) {
      result.errors.push({ field: 'cluster.passwordFile', message: `${config.cluster.passwordFile} is empty: it must hold the cluster password` });
    }
  } catch (e) {
    result.errors.push({ field: 'cluster.passwordFile', message: `cannot read ${config.cluster.passwordFile}: ${(e as Error).message}` });
  }
  return { config, result };
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
    process.stdout.write(result.errors.length === 0 ? `${path}: OK${result.warnings.length ? ` (${result.warnings.length} warning${result.warnings.length > 1 ? 's' : ''})` : ''}\n` : `${path}: ${result.errors.length} error${result.errors.length > 1 ? 's' : ''}\n`);
  }
  return result.errors.length === 0 ? 0 : 1;
}
