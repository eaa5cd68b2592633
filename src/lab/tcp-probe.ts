/**
 * DOC: long-lived TCP connections through the cluster, checked byte by byte
 *
 *   node tcp-probe.js server PORT
 *   node tcp-probe.js client HOST PORT CONNECTIONS INTERVAL_MS
 *
 * The server echoes. Each client connection writes 16 bytes every interval
 * (TCP_NODELAY) from a known byte sequence and checks every echoed byte
 * against it, so a lost, duplicated or corrupted byte is seen, as well as a
 * reset. The client prints one JSON line per second with the connections'
 * state, and on SIGTERM or SIGINT stops writing, waits for the echoes in
 * flight and prints a final report; lab tests and the sync
 * benchmark read these (src/lab/cluster.ts TcpProbe).
 */
import { createConnection, createServer, type Socket } from 'node:net';

const byteAt = (i: number) => (i * 7 + 13) % 251;

export interface ConnReport {
  id: number;
  connected: boolean;
  sent: number;
  echoed: number;
  /** The first problem seen: a reset, a wrong byte, a close. */
  error: string | null;
  /** The longest time between two echoes, and when the last one came. */
  maxGapMs: number;
  lastEchoAt: number;
}

function server(port: number): void {
  createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => undefined);
  }).listen(port, () => process.stdout.write(JSON.stringify({ listening: port }) + '\n'));
}

function client(host: string, port: number, count: number, intervalMs: number): void {
  const conns: (ConnReport & { socket: Socket })[] = [];
  for (let id = 0; id < count; id++) {
    const socket = createConnection({ host, port });
    socket.setNoDelay(true);
    const c = { id, connected: false, sent: 0, echoed: 0, error: null as string | null, maxGapMs: 0, lastEchoAt: 0, socket };
    conns.push(c);
    socket.on('connect', () => {
      c.connected = true;
      c.lastEchoAt = Date.now();
    });
    socket.on('data', (d: Buffer) => {
      const now = Date.now();
      c.maxGapMs = Math.max(c.maxGapMs, now - c.lastEchoAt);
      c.lastEchoAt = now;
      for (const b of d) {
        if (c.error === null && b !== byteAt(c.echoed)) c.error = `byte ${c.echoed} is ${b}, expected ${byteAt(c.echoed)}`;
        c.echoed++;
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (c.error ??= e.code ?? e.message));
    socket.on('close', () => (c.error ??= 'closed'));
  }
  const tick = setInterval(() => {
    for (const c of conns) {
      if (!c.connected || c.error !== null || c.socket.writableNeedDrain) continue;
      const chunk = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) chunk[i] = byteAt(c.sent + i);
      c.sent += 16;
      c.socket.write(chunk);
    }
  }, intervalMs);
  const report = (final: boolean) => process.stdout.write(JSON.stringify({ final, at: Date.now(), conns: conns.map(({ socket: _s, ...r }) => r) }) + '\n');
  const every = setInterval(() => report(false), 1000);
  // At the end: stop writing, let the echoes in flight come back (2 s at most), then report.
  const end = () => {
    clearInterval(tick);
    const deadline = Date.now() + 2000;
    const settle = setInterval(() => {
      if (Date.now() < deadline && conns.some((c) => c.error === null && c.echoed < c.sent)) return;
      clearInterval(settle);
      clearInterval(every);
      report(true);
      for (const c of conns) c.socket.destroy();
      process.exit(0);
    }, 10);
  };
  process.on('SIGTERM', end);
  process.on('SIGINT', end);
}

if (require.main === module) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'server') server(Number(args[0]));
  else if (mode === 'client') client(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]));
  else {
    process.stderr.write('usage: tcp-probe server PORT | client HOST PORT CONNECTIONS INTERVAL_MS\n');
    process.exit(2);
  }
}
