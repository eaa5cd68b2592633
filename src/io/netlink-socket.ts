/**
 * DOC: a netlink socket with request/response and events
 *
 * request() numbers a message, sends it and resolves with the answers that
 * carry its sequence number once the kernel acks (or ends a dump); a refusal
 * rejects with a NetlinkError that has the errno's name as .code and the
 * kernel's own words when it sent them (extended ack). Messages nobody asked
 * for (multicast events) go to the event handler. Runs on the main loop.
 */
import { constants } from 'node:os';
import { decodeError, NLMSG_DONE, NLMSG_ERROR, splitMessages, type Message } from '../wire/netlink.js';
import { netnsPath, sys } from './native.js';
import { NativeSocket } from './native-socket.js';

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, no]) => [no, name]));

export class NetlinkError extends Error {
  constructor(
    readonly code: string,
    readonly errno: number,
    what: string,
    kernelSays?: string,
  ) {
    super(`${what}: the kernel refused with ${code}${kernelSays ? ` (${kernelSays})` : ''}`);
    this.name = 'NetlinkError';
  }
}

export interface NetlinkOptions {
  netns?: string;
  /** Multicast groups to listen to (a bind() bitmask). */
  groups?: number;
  /** Receive buffer in bytes, forced past rmem_max (event sockets). */
  rcvbuf?: number;
}

interface Pending {
  what: string;
  answers: Message[];
  /** Answers go here instead of being kept (large dumps). */
  onAnswer: ((m: Message) => void) | undefined;
  resolve(m: Message[]): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class NetlinkSocket extends NativeSocket {
  readonly portId: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly pending = new Map<number, Pending>();
  private onEvent: (m: Message) => void = () => undefined;
  private onError: (e: Error) => void = () => undefined;

  private constructor(protocol: number, opts: NetlinkOptions) {
    super(`netlink${opts.netns ? ` (netns ${opts.netns})` : ''}`, 65536);
    this.portId = sys(this.where, (b) => b.tandem_netlink_open(protocol, opts.groups ?? 0, netnsPath(opts.netns), this.handle, opts.rcvbuf ?? 0));
    this.receive(
      (data) => this.dispatch(data),
      (err) => {
        for (const p of this.pending.values()) (clearTimeout(p.timer), p.reject(err));
        this.pending.clear();
        this.onError(err);
      },
      8,
    );
  }

  static open(protocol: number, opts: NetlinkOptions = {}): NetlinkSocket {
    return new NetlinkSocket(protocol, opts);
  }

  events(handler: (m: Message) => void): void {
    this.onEvent = handler;
  }

  /** Receive errors (ENOBUFS: the kernel dropped events because we fell behind). */
  errors(handler: (e: Error) => void): void {
    this.onError = handler;
  }

  /** Sends a request; with onAnswer, each answer goes there (valid during the call) and the promise resolves with none. */
  request(what: string, build: (seq: number) => Uint8Array, timeoutMs = 5000, onAnswer?: (m: Message) => void): Promise<Message[]> {
    this.ensureOpen('request');
    const seq = (this.seq = (this.seq + 1) & 0x7fffffff || 1);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`${what}: no answer from the kernel within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, { what, answers: [], onAnswer, resolve, reject, timer });
      try {
        this.send(build(seq));
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(seq);
        reject(e as Error);
      }
    });
  }

  private dispatch(data: Buffer): void {
    const split = splitMessages(data);
    if (!split.ok) return;
    for (const m of split.messages) {
      const p = m.pid === this.portId || m.seq !== 0 ? this.pending.get(m.seq) : undefined;
      if (!p) {
        this.onEvent(m);
        continue;
      }
      if (m.type === NLMSG_ERROR) {
        const e = decodeError(m);
        this.finish(m.seq);
        if (!e || e.errno === 0) p.resolve(p.answers);
        else p.reject(new NetlinkError(ERRNO_NAMES.get(e.errno) ?? `errno ${e.errno}`, e.errno, p.what, e.message));
      } else if (m.type === NLMSG_DONE) {
        this.finish(m.seq);
        p.resolve(p.answers);
      } else if (p.onAnswer) {
        p.onAnswer(m);
      } else {
        p.answers.push({ ...m, body: m.body.slice() });
      }
    }
  }

  private finish(seq: number): void {
    const p = this.pending.get(seq);
    if (p) clearTimeout(p.timer);
    this.pending.delete(seq);
  }

  override close(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`${p.what}: the netlink socket was closed`));
    }
    this.pending.clear();
    super.close();
  }
}
