/**
 * DOC: running the system tools the lab drives (ip, tc, nft)
 *
 * Every command has a time limit and fails with the command line and its
 * stderr in the message, so a broken lab step says which step broke.
 */
import { execFile } from 'node:child_process';

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
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : null;
          const why = err.killed ? `${stderr}\n(timed out after ${opts.timeoutMs ?? 20_000} ms)` : stderr || err.message;
          reject(new CommandError(argv, why, code));
        } else resolve({ stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs many `ip` commands in one process (`ip -batch -`): atomic enough to cut several links at once. */
export function ipBatch(lines: readonly string[], netns?: string): Promise<RunResult> {
  const argv = netns ? ['ip', '-n', netns, '-batch', '-'] : ['ip', '-batch', '-'];
  return run(argv, { input: lines.join('\n') + '\n' });
}

export function inNetns(netns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', netns, ...argv];
}
