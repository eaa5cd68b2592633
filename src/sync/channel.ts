/**
 * DOC: the sync channel: TLS 1.2 ECDHE-PSK-CHACHA20-POLY1305 between the two nodes
 *
 * The pre-shared key is derived from the cluster key (src/cluster/cluster-key.ts)
 * with scrypt (salt "tandem sync v1" + the cluster ID), so neither the
 * password nor the key crosses the wire or is synchronised (seed 000); a
 * wrong password fails the handshake.
 * After the handshake both sides exchange a `hello` (cluster ID, node,
 * software version, protocol version); a mismatch closes the channel with a
 * named reason that status shows as the peer's unreachable reason. Messages
 * are framed by src/wire/sync-frame.ts. The protocol on top (snapshot,
 * incremental updates) is built on `send`/`onMessage`.
 */
import { scryptSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { encodeSyncMessage, SyncDecoder, type SyncMessage } from '../wire/sync-frame.js';

export const SYNC_PROTOCOL = 1;
const CIPHER = 'ECDHE-PSK-CHACHA20-POLY1305';

export type ChannelFailure =
  | 'wrong_password'
  | 'cluster_mismatch'
  | 'software_version_mismatch'
  | 'protocol_mismatch'
  | 'cluster_definition_mismatch'
  | 'group_mode_mismatch'
  | 'bad_framing'
  | 'unreachable';

export interface Identity {
  clusterId: number;
  nodeId: number;
  nodeName: string;
  softwareVersion: string;
  /** A fingerprint of the cluster definition both nodes must share (members, shared addresses). */
  definition?: string;
  /** active-passive (this issue) or active-active. */
  groupMode?: string;
}

/** `secret`: the cluster key (a password's bytes in a static configuration). */
export function syncPsk(secret: string | Uint8Array, clusterId: number): Buffer {
  if (secret.length === 0) throw new Error('the cluster password is empty: set one (it keys the sync channel)');
  return scryptSync(secret, `tandem sync v1 ${clusterId}`, 32, { N: 1 << 14, r: 8, p: 1 });
}

function tlsOptions(psk: Buffer, clusterId: number) {
  return { ciphers: CIPHER, minVersion: 'TLSv1.2' as const, maxVersion: 'TLSv1.2' as const, psk, identity: `tandem-${clusterId}` };
}

/** A failed handshake's alert, named for the administrator. */
export function classifyTlsError(err: Error & { code?: string }): ChannelFailure {
  const text = `${err.code ?? ''} ${err.message}`.toLowerCase();
  if (/decrypt|bad.?record.?mac|psk|unknown.?psk|handshake failure|alert number 51|alert number 20/.test(text)) return 'wrong_password';
  return 'unreachable';
}

/** One established, verified channel. Events: 'message' (SyncMessage), 'closed' (reason or undefined). */
export class SyncChannel extends EventEmitter {
  private readonly decoder = new SyncDecoder();
  peer: Identity | undefined;
  private closedReason: ChannelFailure | undefined | null = null;

  constructor(
    private readonly socket: tls.TLSSocket,
    private readonly me: Identity,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => {
      const r = this.decoder.feed(chunk);
      if (!r.ok) return this.fail('bad_framing');
      for (const m of r.messages) this.receive(m);
    });
    socket.on('close', () => this.finish(undefined));
    socket.on('error', (e: Error) => this.finish(this.peer ? 'unreachable' : classifyTlsError(e)));
  }

  /** Resolves with the peer's identity once hellos match; rejects with the failure's name. */
  hello(timeoutMs = 5000): Promise<Identity> {
    this.send({ type: 'hello', protocol: SYNC_PROTOCOL, ...this.me });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('unreachable')), timeoutMs);
      const onHello = () => {
        clearTimeout(timer);
        resolve(this.peer!);
      };
      this.once('verified', onHello);
      this.once('closed', (reason?: ChannelFailure) => {
        clearTimeout(timer);
        this.off('verified', onHello);
        reject(new Error(reason ?? 'unreachable'));
      });
    });
  }

  /** False when the socket's buffer is full: wait for drained() before sending more bulk. */
  send(m: SyncMessage): boolean {
    if (this.closedReason !== null) throw new Error(`sync channel closed (${this.closedReason ?? 'by the peer'})`);
    return this.socket.write(encodeSyncMessage(m));
  }

  get open(): boolean {
    return this.closedReason === null;
  }

  /** Resolves when the socket's buffer has room again, or the channel closed. */
  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.closedReason !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.off('closed', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.on('closed', done);
    });
  }

  /** Ends the channel at once (a silent peer: no TCP goodbye will come). */
  destroy(): void {
    this.finish(undefined);
    this.socket.destroy();
  }

  close(): void {
    this.finish(undefined);
    this.socket.end();
  }

  private receive(m: SyncMessage): void {
    if (!this.peer) {
      if (m.type !== 'hello') return this.fail('protocol_mismatch');
      const verdict = this.check(m);
      if (verdict) {
        // Tell the peer why before closing, so both sides can report the same reason.
        this.socket.write(encodeSyncMessage({ type: 'refused', reason: verdict }));
        return this.fail(verdict);
      }
      this.peer = {
        clusterId: Number(m['clusterId']),
        nodeId: Number(m['nodeId']),
        nodeName: String(m['nodeName']),
        softwareVersion: String(m['softwareVersion']),
      };
      if (typeof m['definition'] === 'string') this.peer.definition = m['definition'];
      if (typeof m['groupMode'] === 'string') this.peer.groupMode = m['groupMode'];
      this.emit('verified');
      return;
    }
    if (m.type === 'refused') return this.fail(String(m['reason']) as ChannelFailure);
    this.emit('message', m);
  }

  private check(m: SyncMessage): ChannelFailure | undefined {
    if (m['protocol'] !== SYNC_PROTOCOL) return 'protocol_mismatch';
    if (m['clusterId'] !== this.me.clusterId) return 'cluster_mismatch';
    if (m['softwareVersion'] !== this.me.softwareVersion) return 'software_version_mismatch';
    if (this.me.definition !== undefined && m['definition'] !== this.me.definition) return 'cluster_definition_mismatch';
    if (this.me.groupMode !== undefined && m['groupMode'] !== this.me.groupMode) return 'group_mode_mismatch';
    return undefined;
  }

  private fail(reason: ChannelFailure): void {
    this.finish(reason);
    this.socket.end();
  }

  private finish(reason: ChannelFailure | undefined): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.emit('closed', reason);
  }
}

/** At most this many connections to the sync port at once: the peer needs one (two while it redials). */
export const SYNC_MAX_CONNECTIONS = 8;

/** Why an attempt on the sync port failed: a channel failure, or what only the listener sees. */
export type ListenFailure = ChannelFailure | 'handshake_timeout' | 'too_many_connections';

const addressOf = (socket: { remoteAddress?: string | undefined }) => (socket.remoteAddress ?? '?').replace(/^::ffff:/, '');

/**
 * Listens for the peer; each verified channel goes to onChannel, each failure to onFailure with the address it
 * came from. A connection must finish its TLS handshake and hello within `handshakeMs` (Node's own limit is two
 * minutes: idle connections from a stranger would sit there); at most SYNC_MAX_CONNECTIONS at once. The server
 * sends no PSK identity hint (the identity names the cluster ID: a stranger learns nothing by connecting).
 */
export function listenSync(
  secret: string | Uint8Array,
  me: Identity,
  address: { host: string; port: number },
  onChannel: (c: SyncChannel, from: string) => void,
  onFailure: (reason: ListenFailure, from: string) => void,
  handshakeMs = 3000,
): Promise<tls.Server> {
  const o = tlsOptions(syncPsk(secret, me.clusterId), me.clusterId);
  const server = tls.createServer({
    // On the TCP socket itself: the TLS socket's setNoDelay does not reach it, and Nagle with
    // delayed ACKs held small updates back by up to 200 ms.
    noDelay: true,
    ciphers: o.ciphers,
    minVersion: o.minVersion,
    maxVersion: o.maxVersion,
    handshakeTimeout: handshakeMs,
    pskCallback: (_socket, identity) => (identity === o.identity ? o.psk : null),
  });
  server.maxConnections = SYNC_MAX_CONNECTIONS;
  server.on('drop', (d?: { remoteAddress?: string }) => onFailure('too_many_connections', addressOf(d ?? {})));
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    // Read now: a destroyed socket no longer knows its peer ("?"), and a refusal from the peer's own address is
    // what `tandem status` shows as the reason it is unreachable.
    const from = addressOf(socket);
    const c = new SyncChannel(socket, me);
    c.hello(handshakeMs).then(
      () => onChannel(c, from),
      (e: Error) => {
        c.destroy();
        onFailure(e.message as ChannelFailure, from);
      },
    );
  });
  server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
    const from = addressOf(socket);
    // Node reports a handshake that timed out but leaves the connection open.
    socket.destroy();
    onFailure(/timeout/i.test(err.message) ? 'handshake_timeout' : classifyTlsError(err), from);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve(server));
  });
}

/** Connects to the peer and verifies it; rejects with an Error whose message is the failure's name. */
export function connectSync(
  secret: string | Uint8Array,
  me: Identity,
  to: { host: string; port: number; localAddress?: string },
  timeoutMs = 5000,
): Promise<SyncChannel> {
  const o = tlsOptions(syncPsk(secret, me.clusterId), me.clusterId);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: to.host,
      port: to.port,
      ...(to.localAddress ? { localAddress: to.localAddress } : {}),
      ciphers: o.ciphers,
      minVersion: o.minVersion,
      maxVersion: o.maxVersion,
      pskCallback: () => ({ psk: o.psk, identity: o.identity }),
      checkServerIdentity: () => undefined, // the PSK is the identity
      timeout: timeoutMs,
    });
    const onError = (e: Error) => reject(new Error(classifyTlsError(e)));
    socket.once('error', onError);
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error('unreachable'));
    });
    socket.setNoDelay(true); // on a client TLS socket this reaches the TCP socket tls.connect made
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      socket.setTimeout(0);
      const c = new SyncChannel(socket, me);
      c.hello(timeoutMs).then(() => resolve(c), reject);
    });
  });
}

export function portOf(server: tls.Server): number {
  return (server.address() as AddressInfo).port;
}
