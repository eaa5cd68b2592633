/**
 * DOC: the local control socket (a Unix socket, mode 0600)
 *
 * One JSON request a line, one JSON answer a line: `status`, `why`,
 * `failover`, `resync`, `bypass`, `cluster` (membership operations),
 * `admin-password`, `diag-stall` (blocks the main thread for N ms: a
 * diagnostic that shows what a stall does), and `store-get` / `store-set` for the synchronised
 * stores (the appliance's services keep sessions there). The server turns commands into runtime inputs (never direct
 * adapter calls); the client is what `tandem status|why|failover` use.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

export const COMMANDS = ['status', 'why', 'failover', 'resync', 'store-get', 'store-set', 'bypass', 'cluster', 'admin-password', 'maintenance', 'note', 'diag-stall'] as const;
export type Command = (typeof COMMANDS)[number];
export interface Request {
  cmd: Command;
  /** store-get / store-set: which store (config, sessions), which key, what value (null deletes). */
  store?: string;
  key?: string;
  value?: unknown;
  /** store-set on a cluster on Corosync: many entries at once (a bulk import), each its own ordered change. */
  entries?: [string, unknown][];
  /** bypass: a segment and the mode to put it in (none: status); force to change an active node's. */
  segment?: string;
  mode?: string;
  force?: boolean;
  /** cluster: the operation (create, join, add-member ...) and its arguments; admin-password: {password}; maintenance: the step. */
  op?: string;
  args?: Record<string, unknown>;
  /** note: the administrator's text for the log. */
  text?: string;
  /** diag-stall: how long to block the main thread (a diagnostic of the heartbeat lease). */
  ms?: number;
}
export type Handler = (req: Request) => unknown | Promise<unknown>;

function jsonSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

export function serveControl(path: string, handle: Handler): Promise<Server> {
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true }); // a socket file left by a crashed run
  const server = createServer((conn) => {
    createInterface({ input: conn }).on('line', async (line) => {
      let answer: unknown;
      try {
        const req = JSON.parse(line) as Partial<Request>;
        if (!COMMANDS.includes(req.cmd as Command)) throw new Error(`unknown command ${JSON.stringify(req.cmd)} (known: ${COMMANDS.join(', ')})`);
        answer = { ok: true, result: await handle(req as Request) };
      } catch (e) {
        answer = { ok: false, error: (e as Error).message };
      }
      conn.end(JSON.stringify(answer, jsonSafe) + '\n');
    });
    conn.on('error', () => undefined);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      chmodSync(path, 0o600);
      resolve(server);
    });
  });
}

export function askControl(path: string, cmd: Command | Request, timeoutMs = 3000): Promise<unknown> {
  const req: Request = typeof cmd === 'string' ? { cmd } : cmd;
  return new Promise((resolve, reject) => {
    const conn = createConnection(path);
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`tandemd did not answer on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `tandemd is not running (no control socket at ${path})` : `${path}: ${e.message}`));
    });
    conn.write(JSON.stringify(req) + '\n');
    let answered = false;
    // A daemon that exits (a restart) while the request is open closes the connection unanswered.
    conn.once('close', () => {
      if (answered) return;
      clearTimeout(timer);
      reject(new Error(`tandemd closed ${path} without answering (it stopped or restarted meanwhile): see tandem status and the log`));
    });
    const lines = createInterface({ input: conn });
    lines.on('error', () => undefined); // the socket's own error handler above reports it
    lines.once('line', (line) => {
      answered = true;
      clearTimeout(timer);
      const answer = JSON.parse(line) as { ok: boolean; result?: unknown; error?: string };
      if (answer.ok) resolve(answer.result);
      else reject(new Error(`tandemd: ${answer.error}`));
    });
  });
}
