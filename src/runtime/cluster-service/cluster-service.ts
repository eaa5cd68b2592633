/**
 * DOC: the cluster service: join, leave, definition updates and restarts between members
 *
 * Each member listens on its sync address, port sync.port + 1 (seed 000's
 * handshake range 4900-4910), with the same TLS 1.2 ECDHE-PSK suite as the
 * sync channel. The server's PSK identity hint carries the cluster ID and
 * salt, so a node that knows only the password and a member's address (the
 * joining one) can derive the cluster key; a wrong password fails the
 * handshake, and nothing is said to a peer that does not hold the key.
 * One request and one answer per connection, framed as sync messages:
 *
 *   join {address, softwareVersion, cluster?} -> welcome {cluster, name, systemState} | refused {reason, message}
 *   definition {cluster}                   -> definition {cluster}   (the newer one wins on both)
 *   leave {name}                           -> done
 *   restart {from}                         -> done | refused          (seed 000: one member restarts them all)
 *   maintenance-* {...}                    -> see maintenance.ts      (tandem update|upgrade)
 *   log-batch {messages}                   -> done {sent} | refused   (log sync: to the log-server leader)
 *
 * A request is read within 5 s; a maintenance request may then take as
 * long as its handler allows (an apply command has its own time limit).
 */
import * as tls from 'node:tls';
import { deriveClusterKey } from '../../cluster/cluster-key.js';
import type { ClusterDefinition } from '../../cluster/store.js';
import { ownAddress } from '../../cluster/config-check.js';
import type { LocalConfig, NodeConfig } from '../../cluster/config-file.js';
import { syncPsk } from '../../sync/channel.js';
import { encodeSyncMessage, SyncDecoder, type SyncMessage } from '../../wire/sync-frame.js';

/** The address a node's cluster service listens on: its sync address, sync port + 1. */
export function servicePort(local: LocalConfig): number {
  return local.sync.port + 1;
}

export function ownSyncAddress(local: LocalConfig, config: NodeConfig | null): string {
  const sync = local.interfaces.find((i) => i.sync);
  const a = sync && (config ? ownAddress(config, sync) : sync.address);
  if (!sync || !a)
    throw new Error(`${local.file}: no sync interface with this node's address (interfaces[].sync and .address): members reach each other there`);
  return a.address;
}

const CIPHER = 'ECDHE-PSK-CHACHA20-POLY1305';
const HINT = /^tandem-cluster (\d{1,2}) ([0-9a-f]{32})$/;

export type Refusal = 'unknown_member' | 'address_mismatch' | 'software_version_mismatch' | 'cluster_mismatch' | 'not_a_member' | 'disabled' | 'busy';

export class RefusedError extends Error {
  constructor(
    readonly reason: Refusal | 'wrong_password' | 'unreachable' | 'timeout',
    message: string,
  ) {
    super(message);
    this.name = 'RefusedError';
  }
}

export interface ServiceHandlers {
  join(req: {
    address: string;
    softwareVersion: string;
    from: string;
    cluster?: string;
  }): Promise<{ cluster: ClusterDefinition; name: string; systemState: Record<string, unknown> }>;
  definition(theirs: ClusterDefinition): ClusterDefinition;
  leave(name: string): void;
  restart(from: string): void;
  maintenance(m: SyncMessage): Promise<SyncMessage>;
  /** Log sync: messages of another member for the syslog server; refused unless this member is the leader. */
  logBatch(messages: string[], from: string): number | Promise<number>;
  /** This member's newest events (another member's web console shows them). */
  events(): readonly unknown[];
}

export interface ServiceKey {
  clusterId: number;
  salt: string;
  key: Buffer;
}

export function refuse(reason: Refusal, message: string): never {
  throw new RefusedError(reason, message);
}

/**
 * The PSK of a cluster key, derived once: scrypt costs ~50 ms of the main loop (the heartbeats' loop), and
 * members ask each other again and again (definition exchanges).
 */
const pskCache = new Map<string, Buffer>();
function pskOf(key: Buffer, clusterId: number): Buffer {
  const id = `${clusterId}:${key.toString('hex')}`;
  let psk = pskCache.get(id);
  if (!psk) {
    psk = syncPsk(key, clusterId);
    pskCache.clear(); // one cluster key at a time: a password change replaces it
    pskCache.set(id, psk);
  }
  return psk;
}

export function serveCluster(
  k: ServiceKey,
  at: { host: string; port: number },
  h: ServiceHandlers,
  onError: (e: Error, from: string) => void,
): Promise<tls.Server> {
  const psk = pskOf(k.key, k.clusterId);
  const identity = `tandem-cluster-${k.clusterId}`;
  const server = tls.createServer({
    ciphers: CIPHER,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    pskIdentityHint: `tandem-cluster ${k.clusterId} ${k.salt}`,
    pskCallback: (_s, id) => (id === identity ? psk : null),
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    const from = socket.remoteAddress ?? '?';
    socket.setTimeout(5000, () => socket.destroy());
    readOne(socket)
      .then((m) => {
        if (m.type.startsWith('maintenance-')) socket.setTimeout(0);
        return answer(m, from, h);
      })
      .then(
        (reply) => socket.end(encodeSyncMessage(reply)),
        () => socket.destroy(),
      );
    socket.on('error', () => undefined);
  });
  server.on('tlsClientError', (e: Error, s: tls.TLSSocket) => onError(e, s.remoteAddress ?? '?'));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => resolve(server));
  });
}

async function answer(m: SyncMessage, from: string, h: ServiceHandlers): Promise<SyncMessage> {
  try {
    switch (m.type) {
      case 'join':
        return {
          type: 'welcome',
          ...(await h.join({
            address: String(m['address']),
            softwareVersion: String(m['softwareVersion']),
            from,
            ...(typeof m['cluster'] === 'string' ? { cluster: m['cluster'] } : {}),
          })),
        };
      case 'definition':
        return { type: 'definition', cluster: h.definition(m['cluster'] as ClusterDefinition) };
      case 'leave':
        h.leave(String(m['name']));
        return { type: 'done' };
      case 'restart':
        h.restart(String(m['from']));
        return { type: 'done' };
      case 'events':
        return { type: 'events', entries: h.events() };
      case 'log-batch': {
        const messages = m['messages'];
        if (!Array.isArray(messages) || !messages.every((x) => typeof x === 'string'))
          return { type: 'refused', reason: 'busy', message: 'log-batch: messages must be strings' };
        return { type: 'done', sent: await h.logBatch(messages as string[], from) };
      }
      default:
        if (m.type.startsWith('maintenance-')) return await h.maintenance(m);
        return { type: 'refused', reason: 'busy', message: `unknown request ${m.type}` };
    }
  } catch (e) {
    const r = e instanceof RefusedError ? e.reason : 'busy';
    return { type: 'refused', reason: r, message: (e as Error).message };
  }
}

function readOne(socket: tls.TLSSocket): Promise<SyncMessage> {
  const decoder = new SyncDecoder();
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      const r = decoder.feed(chunk);
      if (!r.ok) return reject(new Error('bad framing'));
      if (r.messages.length > 0) resolve(r.messages[0]!);
    });
    socket.once('close', () => reject(new Error('closed before an answer')));
    socket.once('error', reject);
  });
}

/**
 * One request to a member's cluster service. `secret`: the cluster key, or
 * the password (a joining node: the key is derived from the salt the member
 * announces).
 */
export function askMember(
  to: { host: string; port: number; localAddress?: string },
  secret: { key: Buffer } | { password: string },
  request: SyncMessage,
  timeoutMs = 5000,
): Promise<SyncMessage> {
  let hinted: { clusterId: number; salt: string } | undefined;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: to.host,
      port: to.port,
      ...(to.localAddress ? { localAddress: to.localAddress } : {}),
      ciphers: CIPHER,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      checkServerIdentity: () => undefined, // the PSK is the identity
      pskCallback: (hint) => {
        const m = HINT.exec(hint ?? '');
        if (!m) return null;
        hinted = { clusterId: Number(m[1]), salt: m[2]! };
        // A member's key: its PSK is cached; a joining node's password: derived once, for this one join.
        const psk = 'key' in secret ? pskOf(secret.key, hinted.clusterId) : syncPsk(deriveClusterKey(secret.password, hinted.salt), hinted.clusterId);
        return { psk, identity: `tandem-cluster-${hinted.clusterId}` };
      },
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RefusedError('timeout', `${to.host}:${to.port} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (e: Error & { code?: string }) => {
      clearTimeout(timer);
      const text = `${e.code ?? ''} ${e.message}`.toLowerCase();
      if (/decrypt|bad.?record.?mac|psk|handshake failure|alert number 51|alert number 20/.test(text)) {
        reject(new RefusedError('wrong_password', `${to.host} refused the handshake: the password is not the cluster's`));
      } else
        reject(
          new RefusedError('unreachable', `no cluster service at ${to.host}:${to.port} (${e.message}): is tandemd running there, and is it a cluster member?`),
        );
    });
    socket.once('secureConnect', () => {
      socket.write(encodeSyncMessage(request));
      readOne(socket).then(
        (m) => {
          clearTimeout(timer);
          socket.end();
          if (m.type === 'refused') reject(new RefusedError(m['reason'] as Refusal, String(m['message'])));
          else resolve({ ...m, ...(hinted ? { hint: hinted } : {}) });
        },
        (e: Error) => {
          clearTimeout(timer);
          reject(new RefusedError('unreachable', `${to.host}: ${e.message}`));
        },
      );
    });
  });
}
