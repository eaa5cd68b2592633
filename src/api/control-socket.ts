/**
 * DOC: the local control socket (a Unix socket, mode 0600)
 *
 * One JSON request a line, one JSON answer a line: `status`, `why`,
 * `failover`, `resync`, `bypass`, `cluster` (membership operations),
 * `admin-password`, `metrics-token`, `https` (the management server's
 * certificate), `diag-stall` (blocks the main thread for N ms: a
 * diagnostic that shows what a stall does), and `store-get` / `store-set` for the synchronised
 * stores (the appliance's services keep sessions there). The server turns commands into runtime inputs (never direct
 * adapter calls); the client is what `tandem status|why|failover` use.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

export const COMMANDS = [
  'status',
  'why',
  'failover',
  'resync',
  'store-get',
  'store-set',
  'bypass',
  'cluster',
  'admin-password',
  'metrics-token',
  'https',
  'firmware',
  'maintenance',
  'note',
  'diag-stall',
] as const;
export type Command = (typeof COMMANDS)[number];

/** Which front end asked: the CLI (the default), the serial console; the web console calls in-process. */
export const FRONT_ENDS = ['cli', 'console', 'web'] as const;
export type FrontEnd = (typeof FRONT_ENDS)[number];

/** Who asked for a change: the front end and, from the web console, the address and session. */
export interface Asker {
  via: FrontEnd;
  source?: string;
  session?: string;
}

/** One request of the control socket: each command with the fields it takes, and no others (the dispatchers switch on `cmd`). */
export type Request = { via?: 'cli' | 'console' } & (
  | { cmd: 'status' | 'why' | 'failover' | 'resync' }
  /** Which store (config, sessions) and key. */
  | { cmd: 'store-get'; store?: string; key?: string }
  /** What value (null deletes); on a cluster on Corosync `entries` sets many at once (a bulk import), each its own ordered change. */
  | { cmd: 'store-set'; store?: string; key?: string; value?: unknown; entries?: [string, unknown][] }
  /** A segment and the mode to put it in (no mode: status); force to change an active node's. */
  | { cmd: 'bypass'; segment?: string; mode?: string; force?: boolean }
  /** cluster: the operation (create, join, add-member ...) and its arguments; maintenance: the step; admin-password: {password}. */
  | { cmd: 'cluster' | 'maintenance'; op: string; args?: Record<string, unknown> }
  | { cmd: 'admin-password'; args: Record<string, unknown> }
  /** metrics-token: new (the default), show, revoke; https: show, generate, install {certPem, keyPem, certPath, keyPath}. */
  | { cmd: 'metrics-token' | 'https'; op?: string; args?: Record<string, unknown> }
  /** firmware: status (the default), install {path, reboot}. */
  | { cmd: 'firmware'; op?: string; args?: Record<string, unknown> }
  /** The administrator's text for the log. */
  | { cmd: 'note'; text: string }
  /** How long to block the main thread (a diagnostic of the heartbeat lease). */
  | { cmd: 'diag-stall'; ms: number }
);

/** A request as it came off the socket, checked: the command known, each field of the type its command takes. */
export function parseRequest(raw: unknown): Request {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('a request is a JSON object with a "cmd"');
  const r = raw as Record<string, unknown>;
  const cmd = r['cmd'];
  if (!COMMANDS.includes(cmd as Command)) throw new Error(`unknown command ${JSON.stringify(cmd)} (known: ${COMMANDS.join(', ')})`);
  const field = (name: string, type: 'string' | 'number' | 'boolean' | 'object', required = false) => {
    const v = r[name];
    if (v === undefined) {
      if (required) throw new Error(`${String(cmd)}: "${name}" is required`);
      return;
    }
    if (typeof v !== type || (type === 'object' && (v === null || Array.isArray(v))))
      throw new Error(`${String(cmd)}: "${name}" must be ${type === 'object' ? 'an object' : `a ${type}`}, not ${JSON.stringify(v)}`);
  };
  if (r['via'] !== undefined && r['via'] !== 'cli' && r['via'] !== 'console') throw new Error(`"via" is cli or console, not ${JSON.stringify(r['via'])}`);
  switch (cmd as Command) {
    case 'store-get':
    case 'store-set':
      field('store', 'string');
      field('key', 'string');
      if (r['entries'] !== undefined && !Array.isArray(r['entries'])) throw new Error(`${String(cmd)}: "entries" must be a list of [key, value]`);
      break;
    case 'bypass':
      field('segment', 'string');
      field('mode', 'string');
      field('force', 'boolean');
      break;
    case 'cluster':
    case 'maintenance':
      field('op', 'string', true);
      field('args', 'object');
      break;
    case 'admin-password':
      field('args', 'object', true);
      break;
    case 'metrics-token':
    case 'https':
    case 'firmware':
      field('op', 'string');
      field('args', 'object');
      break;
    case 'note':
      field('text', 'string', true);
      break;
    case 'diag-stall':
      field('ms', 'number', true);
      break;
    default:
      break;
  }
  return r as unknown as Request;
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
        answer = { ok: true, result: await handle(parseRequest(JSON.parse(line))) };
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

/** What a failed connection to the control socket means, said so that the administrator knows what to do. */
function controlSocketError(path: string, e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return `tandemd is not running (no control socket at ${path})`;
  if (e.code === 'EACCES' || e.code === 'EPERM')
    return `${path}: permission denied: the control socket is root's alone; run this command as root (sudo tandem ...)`;
  return `${path}: ${e.message}`;
}

export function askControl(path: string, cmd: 'status' | 'why' | 'failover' | 'resync' | Request, timeoutMs = 3000): Promise<unknown> {
  const req: Request = typeof cmd === 'string' ? { cmd } : cmd;
  return new Promise((resolve, reject) => {
    const conn = createConnection(path);
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`tandemd did not answer on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(controlSocketError(path, e)));
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
