/**
 * DOC: the cluster key: what a node keeps instead of the cluster password
 *
 * Managed clusters: key = scrypt(password, "tandem cluster v1 " + the
 * cluster's random salt), 32 bytes, made when the administrator types the
 * password at create or join and stored in the cluster store (root only);
 * the password itself is never written anywhere. Static configurations keep
 * the password in their password file and use its bytes as the key. Either
 * way the heartbeat tags (io/heartbeat-auth.ts) and the sync channel's PSK
 * (sync/channel.ts) are derived from this key, never from the password.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The cost of a guess: 16 MB and ~50 ms per try on the lab machine. */
const SCRYPT = { N: 1 << 14, r: 8, p: 1 };

export function deriveClusterKey(password: string, salt: string): Buffer {
  if (password.length === 0) throw new Error('the cluster password is empty: every member needs the same, non-empty password');
  return scryptSync(password, `tandem cluster v1 ${salt}`, 32, SCRYPT);
}

export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

/** The key a node authenticates with: from the store (managed) or the password file (static). */
export function clusterSecret(cluster: { passwordFile: string | null; key: string | null }): Buffer {
  if (cluster.key !== null) return Buffer.from(cluster.key, 'hex');
  if (cluster.passwordFile === null) throw new Error('the cluster has neither a password file nor a stored key');
  let password: string;
  try {
    password = readFileSync(cluster.passwordFile, 'utf8').trim();
  } catch (e) {
    throw new Error(`cannot read ${cluster.passwordFile}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (password.length === 0) throw new Error(`${cluster.passwordFile} is empty: it must hold the cluster password`);
  return Buffer.from(password, 'utf8');
}
