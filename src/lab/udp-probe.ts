/**
 * DOC: a UDP probe through the cluster: one numbered datagram every interval, every echo accounted for
 *
 *   node udp-probe.js server PORT [4|6]
 *   node udp-probe.js client HOST PORT INTERVAL_MS   (HOST of either family)
 *
 * The server echoes each datagram. The client sends a sequence number every
 * interval (1 ms in the maintenance test) and marks each echo; on SIGTERM
 * it stops sending, waits 500 ms for echoes in flight and prints one JSON
 * line: how many were sent, echoed, the numbers never echoed, and the
 * longest time between two echoes. UdpProbe (below) runs both in a lab.
 */
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import type { Lab } from './lab.js';

export interface UdpReport {
  sent: number;
  echoed: number;
  lost: number[];
  maxGapMs: number;
}

function server(port: number, family: number): void {
  const s = createSocket(family === 6 ? 'udp6' : 'udp4');
  s.on('message', (m, from) => s.send(m, from.port, from.address));
  s.bind(port, () => process.stdout.write(JSON.stringify({ listening: port }) + '\n'));
}

function client(host: string, port: number, intervalMs: number): void {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const echoed = new Uint8Array(1 << 24);
  let sent = 0;
  let count = 0;
  let last = 0;
  let maxGapMs = 0;
  s.on('message', (m) => {
    const seq = m.readUInt32BE(0);
    if (seq >= sent || echoed[seq]) return;
    echoed[seq] = 1;
    count++;
    const now = performance.now();
    if (last) maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  });
  s.on('error', () => undefined);
  const buf = Buffer.alloc(32);
  const tick = setInterval(() => {
    if (sent >= echoed.length) return;
    buf.writeUInt32BE(sent++, 0);
    s.send(buf, port, host);
  }, intervalMs);
  const end = () => {
    clearInterval(tick);
    setTimeout(() => {
      const lost: number[] = [];
      for (let i = 0; i < sent; i++) if (!echoed[i]) lost.push(i);
      process.stdout.write(JSON.stringify({ sent, echoed: count, lost: lost.slice(0, 1000), maxGapMs } satisfies UdpReport) + '\n');
      process.exit(0);
    }, 500);
  };
  process.on('SIGTERM', end);
  process.on('SIGINT', end);
}

export class UdpProbe {
  private report: UdpReport | undefined;
  private constructor(
    private readonly server: ChildProcess,
    private readonly client: ChildProcess,
  ) {
    createInterface({ input: client.stdout! }).on('line', (l) => {
      try {
        this.report = JSON.parse(l) as UdpReport;
      } catch {
        // not a report
      }
    });
  }

  /** The echo server in the lab's server namespace, the client in the client's; starts when the server listens. */
  /** `family` 6: to the server's IPv6 address (a dual-stack lab). */
  /**
   * `rtPriority`: both ends under SCHED_FIFO at that priority (chrt), so a probe sends and echoes on time while
   * the daemons it measures keep the machine's cores busy (a takeover does; the benches use it).
   */
  static async start(lab: Lab, opts: { port?: number; intervalMs?: number; family?: 4 | 6; rtPriority?: number } = {}): Promise<UdpProbe> {
    const c = lab.plan.hosts.find((h) => h.name === 'client');
    const s = lab.plan.hosts.find((h) => h.name === 'server');
    if (!c || !s) throw new Error('the lab has no client or no server');
    const port = opts.port ?? 7009;
    const rt = opts.rtPriority ? ['chrt', '-f', String(opts.rtPriority)] : [];
    const srv = lab.spawn(s.netns, [...rt, process.execPath, __filename, 'server', String(port), String(opts.family ?? 4)]);
    const up = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      createInterface({ input: srv.stdout! }).once('line', () => (clearTimeout(timer), resolve(true)));
    });
    if (!up) {
      srv.kill('SIGKILL');
      throw new Error(`the UDP echo server did not listen on ${port} within 5 s`);
    }
    return new UdpProbe(
      srv,
      lab.spawn(c.netns, [
        ...rt,
        process.execPath,
        __filename,
        'client',
        (opts.family === 6 ? s.iface.address6 : s.iface.address).split('/')[0]!,
        String(port),
        String(opts.intervalMs ?? 1),
      ]),
    );
  }

  async stop(): Promise<UdpReport> {
    // Ended already (a second stop, from a teardown): by an exit code or by a signal.
    const done = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;
    const exited = (p: ChildProcess) => (done(p) ? Promise.resolve() : new Promise<void>((r) => p.once('exit', () => r())));
    if (!done(this.client)) this.client.kill('SIGTERM');
    await exited(this.client);
    if (!done(this.server)) this.server.kill('SIGTERM');
    await exited(this.server);
    if (!this.report) throw new Error('the UDP probe ended without a report');
    return this.report;
  }
}

if (require.main === module) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'server') server(Number(args[0]), Number(args[1] ?? 4));
  else if (mode === 'client') client(args[0]!, Number(args[1]), Number(args[2]));
  else {
    process.stderr.write('usage: udp-probe server PORT [4|6] | client HOST PORT INTERVAL_MS\n');
    process.exit(2);
  }
}
