/**
 * DOC: the console's terminal: a bare VT100 on a serial line (or any TTY)
 *
 * Line input with its own echo (so a password is read without echo and
 * backspace works on any terminal), Ctrl-C as "back out" (the caller gets
 * null and changes nothing), and a screen painted from the top after a
 * VT100 clear. No colour, no cursor addressing beyond the clear: what a
 * serial terminal of the nineties shows. Every screen is checked against
 * 80x24 before it is written: a screen that would not fit is a bug.
 */
import type { ReadStream, WriteStream } from 'node:tty';

export const COLS = 80;
export const ROWS = 24;
const CLEAR = '\x1b[H\x1b[2J';

export interface ConsoleIo {
  /** Clears and paints a screen of at most 23 lines (the 24th is the prompt's). */
  screen(lines: readonly string[]): void;
  /** Writes a line under the screen (an error, a result) without clearing. */
  say(line: string): void;
  /** One line typed by the user; null on Ctrl-C. `secret`: no echo. */
  ask(prompt: string, opts?: { secret?: boolean }): Promise<string | null>;
}

export class ScreenTooLarge extends Error {}

/** Lines as the terminal will show them: none wider than 80, at most 23 (a prompt line stays free). */
export function fit(lines: readonly string[]): string[] {
  if (lines.length > ROWS - 1) throw new ScreenTooLarge(`a screen of ${lines.length} lines does not fit 80x24 (23 at most, plus the prompt)`);
  for (const l of lines) if (l.length > COLS) throw new ScreenTooLarge(`a line of ${l.length} characters does not fit 80 columns: "${l.slice(0, 40)}..."`);
  return [...lines];
}

export class TtyConsole implements ConsoleIo {
  private buffered = '';
  private waiting: (() => void) | undefined;

  constructor(
    private readonly input: ReadStream,
    private readonly output: WriteStream | NodeJS.WritableStream,
  ) {
    if (input.isTTY) input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', (d: string) => {
      this.buffered += d;
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
    });
  }

  close(): void {
    if (this.input.isTTY) this.input.setRawMode(false);
    this.input.pause();
  }

  private write(text: string): void {
    this.output.write(text.replace(/\n/g, '\r\n'));
  }

  screen(lines: readonly string[]): void {
    this.write(CLEAR + fit(lines).join('\n') + '\n');
  }

  say(line: string): void {
    for (const l of line.split('\n')) this.write(l.slice(0, COLS) + '\n');
  }

  private nextChar(): Promise<string> {
    return new Promise((resolve) => {
      const take = () => {
        const c = this.buffered[0]!;
        this.buffered = this.buffered.slice(1);
        resolve(c);
      };
      if (this.buffered.length > 0) take();
      else this.waiting = take;
    });
  }

  async ask(prompt: string, opts: { secret?: boolean } = {}): Promise<string | null> {
    this.write(prompt.slice(0, COLS - 1));
    let text = '';
    // Where the answer starts on its line: after the prompt, or at the left edge once it moved to a line of its own.
    let start = Math.min(prompt.length, COLS - 1);
    for (;;) {
      const c = await this.nextChar();
      if (c === '\x03') {
        this.write('^C\n');
        return null;
      }
      if (c === '\r' || c === '\n') {
        if (c === '\r' && this.buffered[0] === '\n') this.buffered = this.buffered.slice(1);
        this.write('\n');
        return text;
      }
      if (c === '\x7f' || c === '\b') {
        if (text.length > 0) {
          text = text.slice(0, -1);
          if (!opts.secret) this.write('\b \b');
        }
        continue;
      }
      if (c < ' ' || c === '\x1b') continue; // other control characters and escape sequences: ignored
      if (start + text.length >= COLS - 2) {
        // A long answer after a long prompt (an IPv6 address after its hint) moves to a line of its own, with
        // what was typed, rather than being cut: nothing typed is ever dropped unseen. A full line rings the bell.
        if (start === 0) {
          this.write('\x07');
          continue;
        }
        start = 0;
        this.write('\n' + (opts.secret ? '' : text));
      }
      text += c;
      if (!opts.secret) this.write(c);
    }
  }
}
