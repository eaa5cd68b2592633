/**
 * DOC: a real syslog server in the lab: Debian's rsyslogd in the server's namespace
 *
 * Listens on UDP and TCP 514 (TCP with octet-counted framing, as tandem
 * sends it) and writes one line per message: the sender's address, the
 * MSGID (tandem's event name), the structured data and the message, so a
 * test can count who sent what. Its own config, work directory and pid file
 * in the lab's directory: nothing of the machine's rsyslog is touched.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { sleep } from './lab.js';
import { run, tool } from './run.js';

export interface Received {
  from: string;
  /** The message's HOSTNAME field. */
  hostname: string;
  msgId: string;
  severity: string;
  sd: string;
  msg: string;
}

export class Rsyslog {
  private readonly exited: Promise<void>;

  private constructor(
    private readonly proc: ChildProcess,
    readonly file: string,
  ) {
    this.exited = new Promise((r) => proc.once('exit', () => r()));
  }

  static async start(lab: Lab, dir: string): Promise<Rsyslog> {
    const server = lab.plan.hosts.find((h) => h.name === 'server');
    if (!server) throw new Error('the lab has no server host');
    const work = join(dir, 'rsyslog');
    mkdirSync(work, { recursive: true });
    const file = join(work, 'messages');
    const conf = join(work, 'rsyslog.conf');
    writeFileSync(
      conf,
      [
        // No reverse lookups of senders: the lab has no DNS, and each lookup would hold messages for seconds.
        `global(workDirectory="${work}" net.enableDNS="off")`,
        'module(load="imudp")',
        'module(load="imtcp")',
        'input(type="imudp" port="514")',
        'input(type="imtcp" port="514")',
        'template(name="lab" type="string" string="%fromhost-ip%\\t%hostname%\\t%msgid%\\t%syslogseverity-text%\\t%structured-data%\\t%msg%\\n")',
        `action(type="omfile" file="${file}" template="lab")`,
        '',
      ].join('\n'),
    );
    await run([tool('rsyslogd'), '-N1', '-f', conf]);
    const r = new Rsyslog(lab.spawn(server.netns, ['rsyslogd', '-n', '-f', conf, '-i', join(work, 'pid')]), file);
    // Ready when it listens on both.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const ss = await run(['ip', 'netns', 'exec', server.netns, tool('ss'), '-lntu']).catch(() => ({ stdout: '' }));
      if (/udp.*:514\b/.test(ss.stdout) && /tcp.*:514\b/.test(ss.stdout)) return r;
      await sleep(50);
    }
    await r.stop();
    throw new Error('rsyslogd did not listen on 514 within 5 s');
  }

  received(): Received[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => {
        const [from, hostname, msgId, severity, sd, ...msg] = l.split('\t');
        return { from: from!, hostname: hostname!, msgId: msgId!, severity: severity!, sd: sd!, msg: msg.join('\t') };
      });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
    await this.exited;
  }
}
