/**
 * DOC: running the system tools the lab drives (ip, tc, nft)
 *
 * Every command has a time limit and fails with the command line and its
 * stderr in the message, so a broken lab step says which step broke.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const resolved = new Map<string, string>();

/**
 * The system's binary for a tool name. Never found through PATH: under npm
 * and ava, node_modules/.bin comes first and holds an unrelated `nft`
 * (@vercel/nft), so a bare name would run the wrong program.
 */
export function tool(name: string): string {
  if (name.includes('/')) return name;
  let path = resolved.get(name);
  if (!path) {
    path = SYSTEM_DIRS.map((d) => `${d}/${name}`).find((p) => existsSync(p)) ?? name;
    resolved.set(name, path);
  }
  return path;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`\`${argv.join(' ')}\` failed (exit ${exitCode ?? 'signal'}): ${stderr.trim() || 'no message'}`);
    this.name = 'CommandError';
  }
}

export function run(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(tool(argv[0]!), argv.slice(1), { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof err.code === 'number' ? err.code : null;
        const why = err.killed ? `${stderr}\n(timed out after ${opts.timeoutMs ?? 20_000} ms)` : stderr || err.message;
        reject(new CommandError(argv, why, code));
      } else resolve({ stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs many `ip` commands in one process (`ip -batch -`): atomic enough to cut several links at once. */
export function ipBatch(lines: readonly string[], netns?: string): Promise<RunResult> {
  const argv = netns ? ['ip', '-n', netns, '-batch', '-'] : ['ip', '-batch', '-'];
  return run(argv, { input: lines.join('\n') + '\n' });
}
