/**
 * DOC: asking the administrator: a password without echo, a yes/no confirmation
 *
 * A password comes from --password-file FILE, --password-fd N (a pipe from
 * a provisioning script) or, on a terminal, typed without echo. A
 * confirmation needs a terminal or --yes; without either the command
 * refuses rather than guess.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';

export interface Asker {
  password(what: string, opts: { file?: string | undefined; fd?: number | undefined; confirm?: boolean }): Promise<string>;
  confirm(question: string, yes: boolean): Promise<boolean>;
}

function readLineRaw(prompt: string): Promise<string> {
  const input = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let text = '';
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    const done = (err?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('cancelled (Ctrl-C): nothing was changed'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else if (ch >= ' ') text += ch;
      }
    };
    input.on('data', onData);
  });
}

function readLine(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    process.stderr.write(prompt);
    process.stdin.resume();
    process.stdin.setEncoding('utf8');
    process.stdin.once('data', (d: string) => {
      process.stdin.pause();
      resolve(d.split(/\r?\n/)[0] ?? '');
    });
  });
}

export const terminal: Asker = {
  async password(what, o) {
    if (o.file !== undefined) return readFileSync(o.file, 'utf8').replace(/\r?\n$/, '');
    if (o.fd !== undefined) return readFileSync(o.fd, 'utf8').replace(/\r?\n$/, '');
    if (!process.stdin.isTTY) throw new UsageError(`no terminal to ask the ${what} on: give --password-file FILE or --password-fd N`);
    const first = await readLineRaw(`${what}: `);
    if (o.confirm) {
      const again = await readLineRaw(`${what} again: `);
      if (again !== first) throw new Error(`the two ${what}s differ: nothing was changed`);
    }
    return first;
  },
  async confirm(question, yes) {
    if (yes) return true;
    if (!process.stdin.isTTY) throw new UsageError(`${question}\nno terminal to confirm on: repeat with --yes`);
    const answer = await readLine(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  },
};
