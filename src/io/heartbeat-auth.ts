/**
 * DOC: heartbeat authentication key
 *
 * The tag is HMAC-SHA256 truncated to 16 bytes, keyed with HKDF-SHA256 of the
 * cluster password (salt "tandem heartbeat v1", info the cluster ID), so the
 * password itself never keys anything directly and each cluster ID gets its
 * own key. Implements wire's HeartbeatAuth; node:crypto lives here, not in
 * src/wire.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { HeartbeatAuth } from '../wire/heartbeat-frame.js';

export function heartbeatKey(password: string, clusterId: number): Buffer {
  if (password.length === 0) throw new Error('the cluster password is empty: set one (it keys the heartbeat tags)');
  return Buffer.from(hkdfSync('sha256', password, 'tandem heartbeat v1', Uint8Array.of(clusterId & 0xff), 32));
}

export function hmacAuth(password: string, clusterId: number): HeartbeatAuth {
  const key = heartbeatKey(password, clusterId);
  return { sign: (data) => createHmac('sha256', key).update(data).digest() };
}
