/**
 * DOC: running an administrator's command (a STONITH fence, a maintenance apply) with a time limit
 *
 * Resolves with its output; rejects with a message that names the command,
 * and says whether it was killed at its limit or failed with an exit code
 * (with the end of its standard error).
 */
import { execFile } from 'node:child_process';

export function runCommand(command: string, args: string[], o: { timeoutMs: number; label?: string; env?: Record<string, string> }): Promise<string> {
  const label = o.label ?? command;
  return new Promise((resolve, reject) =>
    execFile(
      command,
      args,
      { timeout: o.timeoutMs, maxBuffer: 1024 * 1024, ...(o.env ? { env: { ...process.env, ...o.env } } : {}) },
      (err, stdout, stderr) => {
        if (!err) return resolve(`${stdout}${stderr}`.trim());
        const e = err as Error & { killed?: boolean; code?: number | string };
        if (e.killed) return reject(new Error(`${label} did not finish within ${o.timeoutMs} ms and was killed`));
        reject(new Error(`${label} failed (exit ${String(e.code)}): ${`${stderr}`.trim().slice(-500) || e.message}`));
      },
    ),
  );
}
