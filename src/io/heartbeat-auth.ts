/**
 * DOC: heartbeat authentication key
 *
 * The tag is HMAC-SHA256 (RFC 2104) truncated to 16 bytes, keyed with
 * HKDF-SHA256 of the cluster key (src/cluster/cluster-key.ts; salt "tandem
 * heartbeat v1", info the cluster ID), so the key itself never keys
 * anything directly and each cluster ID gets its own. Implements wire's HeartbeatAuth; node:crypto
 * lives here, not in src/wire.
 *
 * HMAC is computed as H(K^opad || H(K^ipad || m)) with two one-shot
 * crypto.hash() calls into preallocated buffers: a heartbeat is signed a few
 * dozen times a second from a cold cache, where createHmac's object, key
 * handling and three native calls cost several times the hashing itself.
 * The test suite checks it against createHmac.
 */
import { createHmac, hash, hkdfSync } from 'node:crypto';
import type { HeartbeatAuth } from '../wire/heartbeat-frame.js';

const BLOCK = 64;
const DIGEST = 32;

/** `secret`: the cluster key (a password's bytes in a static configuration). */
export function heartbeatKey(secret: string | Uint8Array, clusterId: number): Buffer {
  if (secret.length === 0) throw new Error('the cluster password is empty: set one (it keys the heartbeat tags)');
  return Buffer.from(hkdfSync('sha256', secret, 'tandem heartbeat v1', Uint8Array.of(clusterId & 0xff), 32));
}

/** HMAC-SHA256 for messages of at most `maxLength` bytes. */
export function hmacSha256(key: Uint8Array, maxLength: number): (data: Uint8Array) => Buffer {
  if (typeof hash !== 'function') {
    return (data) => createHmac('sha256', key).update(data).digest();
  }
  if (key.length > BLOCK) throw new Error('HMAC key longer than a block');
  const inner = Buffer.alloc(BLOCK + maxLength);
  const outer = Buffer.alloc(BLOCK + DIGEST);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (key[i] ?? 0) ^ 0x36;
    outer[i] = (key[i] ?? 0) ^ 0x5c;
  }
  return (data) => {
    if (data.length > maxLength) return createHmac('sha256', key).update(data).digest();
    inner.set(data, BLOCK);
    const innerDigest = hash('sha256', inner.subarray(0, BLOCK + data.length), 'buffer') as Buffer;
    outer.set(innerDigest, BLOCK);
    return hash('sha256', outer, 'buffer') as Buffer;
  };
}

export function hmacAuth(secret: string | Uint8Array, clusterId: number): HeartbeatAuth {
  const sign = hmacSha256(heartbeatKey(secret, clusterId), 128);
  return { sign };
}
