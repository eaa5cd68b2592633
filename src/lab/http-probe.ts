/**
 * DOC: web requests through the cluster: a server that says who forwarded each request, and a client
 *
 *   node http-probe.js server PORT          answers every request with "served-by ADDRESS" (the
 *                                           request's source: the member that forwarded it)
 *   node http-probe.js client URL MS        one GET every MS ms (a new connection each), one JSON
 *                                           line per request: {at, ok, status, servedBy, error}
 *
 * HttpProbe runs both in a lab (server on the server host, client on the
 * client host) and counts what failed.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, get } from 'node:http';
import { createInterface } from 'node:readline';
import type { Lab } from './lab.js';

export interface RequestResult {
  at: number;
  ok: boolean;
  status: number | null;
  servedBy: string | null;
  error: string | null;
}

function serve(port: number): void {
  createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`served-by ${(req.socket.remoteAddress ?? '?').replace(/^::ffff:/, '')}\n`);
  }).listen(port, () => process.stdout.write(`listening ${port}\n`));
}

function probe(url: string, everyMs: number): void {
  const once = () => {
    const at = Date.now();
    const done = (r: Omit<RequestResult, 'at'>) => process.stdout.write(JSON.stringify({ at, ...r }) + '\n');
    const req = get(url, { agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        const m = /^served-by (\S+)/.exec(body);
        done({ ok: res.statusCode === 200 && m !== null, status: res.statusCode ?? null, servedBy: m?.[1] ?? null, error: null });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => done({ ok: false, status: null, servedBy: null, error: e.message }));
  };
  setInterval(once, everyMs);
}

if (require.main === module) {
  const [mode, a, b] = process.argv.slice(2);
  if (mode === 'server') serve(Number(a));
  else if (mode === 'client') probe(String(a), Number(b));
  else {
    process.stderr.write('usage: http-probe server PORT | client URL MS\n');
    process.exit(2);
  }
}

const SCRIPT = __filename;

export class HttpProbe {
  readonly results: RequestResult[] = [];
  private client: ChildProcess | undefined;
  private readonly exits: Promise<void>[] = [];

  private constructor(private readonly server: ChildProcess) {
    this.exits.push(new Promise((r) => server.once('exit', () => r())));
  }

  /** The web server on the server host (waits until it listens), then the client's requests to `url`. */
  static async start(lab: Lab, url: string, opts: { port?: number; everyMs?: number } = {}): Promise<HttpProbe> {
    const client = lab.plan.hosts.find((h) => h.name === 'client');
    const server = lab.plan.hosts.find((h) => h.name === 'server');
    if (!client || !server) throw new Error('the lab has no client or no server');
    const p = new HttpProbe(lab.spawn(server.netns, [process.execPath, SCRIPT, 'server', String(opts.port ?? 80)]));
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      createInterface({ input: p.server.stdout! }).once('line', () => (clearTimeout(timer), resolve(true)));
    });
    if (!ok) {
      await p.stop();
      throw new Error('the web server did not listen within 5 s');
    }
    const c = lab.spawn(client.netns, [process.execPath, SCRIPT, 'client', url, String(opts.everyMs ?? 20)]);
    p.client = c;
    p.exits.push(new Promise((r) => c.once('exit', () => r())));
    createInterface({ input: c.stdout! }).on('line', (line) => {
      try {
        p.results.push(JSON.parse(line) as RequestResult);
      } catch {
        // not a result
      }
    });
    return p;
  }

  /** Results of requests started in [from, to). */
  between(from: number, to = Infinity): RequestResult[] {
    return this.results.filter((r) => r.at >= from && r.at < to);
  }

  async stop(): Promise<void> {
    for (const c of [this.client, this.server]) if (c && c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(this.exits);
  }
}
