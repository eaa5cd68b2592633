/**
 * DOC: sending syslog messages to a server: UDP (RFC 5426) or TCP with octet counting (RFC 6587)
 *
 * One message per datagram over UDP; over TCP a connection kept open and
 * reopened after a failure (250 ms, then up to 5 s apart). Messages wait in
 * a bounded queue while the server cannot be reached; when the bound is
 * hit the oldest are dropped, counted, and the count is reported once the
 * server takes messages again, so a loss is never silent.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';

/**
 * UDP datagrams sent back to back before a pause, and the pause: at most 32 per 5 ms (6,400/s). A server's socket
 * holds about 200 small datagrams; at 32 per ms a server descheduled for 10 ms (a busy 2-core box) lost a
 * forwarded batch's middle (lab: 16 notes of 230 in one full-suite run). A log-server leader's whole batch of 500
 * still leaves in 80 ms.
 */
const UDP_BURST = 32;
const UDP_PACE_MS = 5;
import { createConnection, type Socket } from 'node:net';
import { octetCounted } from '../wire/syslog.js';

export interface SyslogTarget {
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
  /** Messages kept while the server is unreachable. */
  queueMax: number;
}

export class SyslogSender {
  private readonly queue: string[] = [];
  private dropped = 0;
  private tcp: Socket | undefined;
  private connected = false;
  private udp: UdpSocket | undefined;
  private retry: NodeJS.Timeout | undefined;
  private backoffMs = 250;
  private closed = false;
  /** UDP datagrams handed to the kernel but not yet sent. */
  private inFlight = 0;
  private paced: NodeJS.Timeout | undefined;
  /** UDP datagrams sent since the last pause (counted across calls: a batch arrives one send() at a time). */
  private burst = 0;
  /** Called with the number dropped when the server takes messages again. */
  onDropped: (count: number) => void = () => undefined;

  constructor(private readonly t: SyslogTarget) {
    if (t.transport === 'udp') {
      this.udp = createSocket('udp4');
      this.udp.on('error', () => undefined); // ICMP unreachable and the like: UDP syslog is best effort
      this.connected = true;
    } else this.connect();
  }

  get stats(): { queued: number; dropped: number; connected: boolean } {
    return { queued: this.queue.length, dropped: this.dropped, connected: this.connected };
  }

  send(message: string): void {
    if (this.closed) return;
    this.queue.push(message);
    if (this.queue.length > this.t.queueMax) {
      this.queue.shift();
      this.dropped++;
    }
    this.pump();
  }

  private pump(): void {
    if (!this.connected) return;
    if (this.dropped > 0) {
      const n = this.dropped;
      this.dropped = 0;
      this.onDropped(n);
    }
    while (this.queue.length > 0 && this.connected) {
      if (this.udp && this.burst >= UDP_BURST) {
        // A log-server leader hands on a forwarded batch of up to 500 at once: sent in one burst they
        // overflow a server's socket buffer (about 200 small datagrams by default) and are lost there.
        this.paced ??= setTimeout(() => {
          this.paced = undefined;
          this.burst = 0;
          this.pump();
        }, UDP_PACE_MS);
        return;
      }
      const m = this.queue.shift()!;
      if (this.udp) {
        this.inFlight++;
        this.burst++;
        this.udp.send(m, this.t.port, this.t.host, () => this.inFlight--);
      } else if (this.tcp && !this.tcp.write(octetCounted(m))) break; // the socket buffers it; wait for drain
    }
  }

  private connect(): void {
    if (this.closed) return;
    const s = createConnection({ host: this.t.host, port: this.t.port });
    s.setNoDelay(true);
    s.on('connect', () => {
      this.tcp = s;
      this.connected = true;
      this.backoffMs = 250;
      this.pump();
    });
    s.on('drain', () => this.pump());
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.tcp === s) this.tcp = undefined;
      this.connected = false;
      if (this.closed || this.retry) return;
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.connect();
      }, this.backoffMs);
      this.backoffMs = Math.min(5000, this.backoffMs * 2);
    });
  }

  /** Resolves once what was sent has left (before the process exits), or after `timeoutMs`. */
  flush(timeoutMs = 1000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve) => {
      const check = () => {
        const tcpIdle = !this.tcp || this.tcp.writableLength === 0;
        if ((this.queue.length === 0 || !this.connected) && this.inFlight === 0 && tcpIdle) return resolve();
        if (Date.now() >= deadline) return resolve();
        setTimeout(check, 5);
      };
      check();
    });
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.paced) clearTimeout(this.paced);
    this.tcp?.end();
    this.udp?.close();
  }
}
