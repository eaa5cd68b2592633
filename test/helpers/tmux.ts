/**
 * A real pseudo-terminal for the console tests: a tmux server of our own
 * (its socket named after the lab), one 80x24 pane running the command;
 * keys go in as a terminal would send them, the screen comes back as text.
 */
import { execFile } from 'node:child_process';

const tmux = (sock: string, args: readonly string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile('tmux', ['-L', sock, ...args], { timeout: 5000 }, (e, out, err) => (e ? reject(new Error(`tmux ${args[0]}: ${err || e.message}`)) : resolve(out))),
  );

export class Pane {
  /** Every distinct screen seen, in order (for the 80x24 check). */
  readonly screens: string[] = [];

  private constructor(private readonly sock: string) {}

  static async start(sock: string, command: string): Promise<Pane> {
    await tmux(sock, ['-f', '/dev/null', 'new-session', '-d', '-s', 'console', '-x', '80', '-y', '24', command]);
    await tmux(sock, ['set-option', '-t', 'console', 'remain-on-exit', 'on']);
    return new Pane(sock);
  }

  async text(): Promise<string> {
    const t = await tmux(this.sock, ['capture-pane', '-p', '-t', 'console']);
    if (this.screens.at(-1) !== t) this.screens.push(t);
    return t;
  }

  /** Literal text, then Enter (unless `enter` is false). */
  async type(text: string, enter = true): Promise<void> {
    if (text.length > 0) await tmux(this.sock, ['send-keys', '-t', 'console', '-l', text]);
    if (enter) await tmux(this.sock, ['send-keys', '-t', 'console', 'Enter']);
  }

  async ctrlC(): Promise<void> {
    await tmux(this.sock, ['send-keys', '-t', 'console', 'C-c']);
  }

  /** Waits until the screen matches; returns it (throws with the screen after `ms`). */
  async waitFor(re: RegExp, ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    let t = '';
    while (Date.now() < deadline) {
      t = await this.text();
      if (re.test(t)) return t;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the console did not show ${re} within ${ms} ms; it shows:\n${t}`);
  }

  async kill(): Promise<void> {
    await tmux(this.sock, ['kill-server']).catch(() => undefined);
  }
}
