/**
 * DOC: the takeover term kept across restarts
 *
 * The highest term a node has seen (src/core/term.ts) lives in
 * `stateDir/term`, so a worker restarted by its supervisor, or a node after a
 * reboot, takes its next term above every one it knew: a node that came
 * back with 0 and took over in a partition would otherwise lose the both-active
 * comparison to an older takeover. Written atomically off the main loop (the
 * write never delays a claim); writes are serialised and only the newest
 * value waits. Read once at start.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicAsync } from '../../cluster/atomic-file.js';
import { TERM_MAX } from '../../core/term.js';

export function termFile(stateDir: string): string {
  return join(stateDir, 'term');
}

/** The persisted term; 0 when there is none yet. A damaged file is an error naming the file and what is wrong. */
export function readTerm(stateDir: string): number {
  const file = termFile(stateDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  const t = Number(text.trim());
  if (!/^\d+\s*$/.test(text) || !Number.isSafeInteger(t) || t > TERM_MAX) {
    throw new Error(`${file}: expected a takeover term 0..${TERM_MAX}, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return t;
}

export class TermWriter {
  private writing: Promise<void> | undefined;
  private pending: number | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly onFailed: (error: string) => void,
  ) {}

  write(term: number): void {
    this.pending = term;
    if (!this.writing) this.writing = this.flush();
  }

  /** Resolves once every term handed over so far is on disk (or failed). */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async flush(): Promise<void> {
    while (this.pending !== undefined) {
      const term = this.pending;
      this.pending = undefined;
      try {
        await writeFileAtomicAsync(termFile(this.stateDir), `${term}\n`);
      } catch (e) {
        this.onFailed((e as Error).message);
      }
    }
    this.writing = undefined;
  }
}
