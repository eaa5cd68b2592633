/**
 * DOC: the sync link: one verified channel to the peer, kept up, watched for silence
 *
 * Both nodes listen on their own address of the sync interface; the node
 * with the lower ID dials the other (from its own sync address), so there is
 * exactly one channel, and dials again after a failure (250 ms, then up to
 * 2 s apart). A channel on which nothing arrived for `timeoutMs` is dead:
 * the link logs `hasync_connection_failed_timeout`, drops it and reports
 * the link down; each side pings when it has sent nothing for a third of the
 * timeout, so an idle channel is never mistaken for a dead one. Why the peer
 * is unreachable (wrong password, another software version, nothing
 * listening) is kept for status on both nodes.
 */
import { EventEmitter } from 'node:events';
import type { Server } from 'node:tls';
import type { SyncMessage } from '../wire/sync-frame.js';
import { connectSync, listenSync, type ChannelFailure, type Identity, type ListenFailure, type SyncChannel } from './channel.js';

/** A refused attempt on the sync port is logged at most this often per source address. */
const REFUSAL_LOG_MS = 60_000;

/** The events state synchronisation logs (the runtime's catalogue must hold each: src/runtime/logging/events.ts checks it). */
export type SyncEvent =
  | 'conntrack_events_overrun'
  | 'conntrack_redump_failed'
  | 'hasync_connection_failed_timeout'
  | 'state_committed'
  | 'sync_apply_failed'
  | 'sync_channel_down'
  | 'sync_channel_up'
  | 'sync_gap'
  | 'sync_leftovers_checked'
  | 'sync_message_refused'
  | 'sync_out_of_sync'
  | 'sync_packet_on_nonsync_iface'
  | 'sync_peer_unreachable'
  | 'sync_connection_refused'
  | 'sync_resumed'
  | 'sync_role'
  | 'sync_table_drift'
  | 'sync_transfer_abandoned'
  | 'sync_transfer_applied'
  | 'sync_transfer_sent'
  | 'sync_transfer_started';

export interface SyncLog {
  log(level: 'debug' | 'info' | 'warn' | 'error', event: SyncEvent, fields?: Record<string, unknown>): void;
}

export interface SyncLinkOptions {
  /** The cluster key (src/cluster/cluster-key.ts). */
  secret: string | Uint8Array;
  me: Identity;
  /** This node's address on the sync interface, and the port both nodes listen on. */
  local: string;
  peer: string;
  port: number;
  dial: boolean;
  timeoutMs: number;
  log: SyncLog;
}

export class SyncLink extends EventEmitter {
  private channel: SyncChannel | undefined;
  private server: Server | undefined;
  private lastHeard = 0;
  private lastSent = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private backoffMs = 250;
  private stopped = false;
  /** Why the peer is unreachable now (null while the channel is up). */
  unreachable: ChannelFailure | 'timeout' | 'not_started' | null = 'not_started';
  upSince: number | null = null;

  constructor(private readonly o: SyncLinkOptions) {
    super();
  }

  get up(): boolean {
    return this.channel !== undefined;
  }

  async start(): Promise<void> {
    this.server = await listenSync(
      this.o.secret,
      this.o.me,
      { host: this.o.local, port: this.o.port },
      (c, from) => {
        // State sync belongs on the sync network: a channel from any other address of the peer (a data
        // interface, a route) is refused and named, as Clavister drops sync packets on other interfaces.
        if (from !== this.o.peer) {
          this.o.log.log('warn', 'sync_packet_on_nonsync_iface', { from, expected: this.o.peer });
          return c.destroy();
        }
        this.adopt(c);
      },
      (reason, from) => this.failed(reason, from),
      Math.min(this.o.timeoutMs, 3000),
    );
    this.watchdog = setInterval(() => this.watch(), Math.max(20, Math.floor(this.o.timeoutMs / 6)));
    if (this.o.dial) this.dial();
  }

  private dial(): void {
    if (this.stopped || this.channel) return;
    connectSync(this.o.secret, this.o.me, { host: this.o.peer, port: this.o.port, localAddress: this.o.local }, Math.min(this.o.timeoutMs, 3000)).then(
      (c) => {
        if (this.stopped) return c.close();
        this.backoffMs = 250;
        this.adopt(c);
      },
      (e: Error) => {
        this.failed(e.message as ListenFailure, this.o.peer);
        this.redial();
      },
    );
  }

  private redial(): void {
    if (this.stopped || !this.o.dial || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.dial();
    }, this.backoffMs);
    this.backoffMs = Math.min(2000, this.backoffMs * 2);
  }

  /**
   * A failed attempt. Only one from the peer's own sync address, while no channel is up, says why the peer is
   * unreachable; any other (a stranger on the sync segment, or a stray attempt while the channel is up) is a
   * refusal, logged once a minute per address with the reason and how many there were.
   */
  private failed(reason: ListenFailure, from: string): void {
    if (this.channel || from !== this.o.peer) return this.refused(reason, from);
    const why: ChannelFailure | 'timeout' = reason === 'handshake_timeout' ? 'timeout' : reason === 'too_many_connections' ? 'unreachable' : reason;
    if (why !== this.unreachable) this.o.log.log('warn', 'sync_peer_unreachable', { reason: why, peer: from });
    this.unreachable = why;
  }

  private readonly refusals = new Map<string, { loggedAt: number; unlogged: number }>();

  private refused(reason: ListenFailure, from: string): void {
    const now = performance.now();
    const r = this.refusals.get(from);
    if (r && now - r.loggedAt < REFUSAL_LOG_MS) {
      r.unlogged++;
      return;
    }
    this.refusals.delete(from);
    if (this.refusals.size >= 1000) this.refusals.delete(this.refusals.keys().next().value!);
    this.refusals.set(from, { loggedAt: now, unlogged: 0 });
    this.o.log.log('warn', 'sync_connection_refused', { from, reason, ...(r?.unlogged ? { moreSinceLast: r.unlogged } : {}) });
  }

  private adopt(c: SyncChannel): void {
    const old = this.channel;
    if (old) {
      // The peer dialled again: it gave up on the old channel before we noticed.
      this.channel = undefined;
      old.destroy();
      this.emit('down', 'replaced');
    }
    this.channel = c;
    this.unreachable = null;
    this.upSince = performance.now();
    this.lastHeard = this.lastSent = performance.now();
    c.on('message', (m: SyncMessage) => {
      if (this.channel !== c) return;
      this.lastHeard = performance.now();
      if (m.type !== 'ping') this.emit('message', m);
    });
    c.once('closed', (reason?: ChannelFailure) => {
      if (this.channel !== c) return;
      this.lost(reason ?? 'unreachable');
    });
    this.o.log.log('info', 'sync_channel_up', { peer: c.peer?.nodeName, dialled: this.o.dial });
    this.emit('up');
  }

  private lost(reason: ChannelFailure | 'timeout'): void {
    const c = this.channel;
    this.channel = undefined;
    this.upSince = null;
    this.unreachable = reason;
    c?.destroy();
    this.o.log.log('warn', 'sync_channel_down', { reason });
    this.emit('down', reason);
    this.redial();
  }

  private watch(): void {
    const c = this.channel;
    if (!c) return;
    const now = performance.now();
    if (now - this.lastHeard > this.o.timeoutMs) {
      this.o.log.log('warn', 'hasync_connection_failed_timeout', { silentMs: Math.round(now - this.lastHeard), timeoutMs: this.o.timeoutMs });
      return this.lost('timeout');
    }
    if (now - this.lastSent > this.o.timeoutMs / 3) this.send({ type: 'ping' });
  }

  /** Sends if the channel is up; false when it is not, or its buffer is full (see drained). */
  send(m: SyncMessage): boolean {
    const c = this.channel;
    if (!c || !c.open) return false;
    this.lastSent = performance.now();
    return c.send(m);
  }

  drained(): Promise<void> {
    return this.channel?.drained() ?? Promise.resolve();
  }

  /** The channel a bulk transfer runs on: it must stop when this changes. */
  get current(): SyncChannel | undefined {
    return this.channel;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.retry) clearTimeout(this.retry);
    this.channel?.close();
    this.channel = undefined;
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
