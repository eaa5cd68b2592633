/**
 * Runs the real `tandem` CLI (bin/tandem) as the administrator would, with a
 * time bound, and returns its exit code and output.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const TANDEM = join(__dirname, '..', '..', '..', 'bin', 'tandem');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function tandem(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [TANDEM, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`tandem ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30_000} ms\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    p.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(opts.input ?? '');
  });
}
