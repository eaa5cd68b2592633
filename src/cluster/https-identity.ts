/**
 * DOC: the management server's TLS identity: made at first start, or installed by the administrator
 *
 * Kept per node in `stateDir/https/`: `cert.pem` (the certificate, optionally
 * followed by its chain), `key.pem` (0600) and `origin` ("generated" or
 * "installed"). A generated one (src/cluster/self-signed.ts) is made again when it
 * no longer names the node's management address (the address was changed),
 * or is within 30 days of its end; an installed one is never replaced by tandem,
 * only reported. Installing checks everything a browser would otherwise
 * find out later: both files parse, the key is the certificate's, the
 * certificate is valid now; the files are written atomically, the key last
 * named in the error if anything is wrong.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { selfSigned, type Identity } from './self-signed.js';

export type Origin = 'generated' | 'installed';

export interface CertificateInfo {
  origin: Origin;
  subject: string;
  issuer: string;
  /** subjectAltName as OpenSSL prints it ("DNS:fw-a, IP Address:198.18.2.11"). */
  names: string;
  validFrom: string;
  validTo: string;
  /** SHA-256 of the certificate, colon-separated hex (what a browser shows). */
  fingerprint: string;
  /** base64 SHA-256 of the public key (SPKI): a pin for curl --pinnedpubkey or Chromium. */
  spkiPin: string;
}

export interface LoadedIdentity extends Identity {
  info: CertificateInfo;
  /** Why the files on disk were replaced now, if they were. */
  renewed?: string;
}

const dirOf = (stateDir: string) => join(stateDir, 'https');
/** The served certificate's file (its chain after it). */
export const certificatePath = (stateDir: string) => join(dirOf(stateDir), 'cert.pem');

/** The management server's URL on `address`; an IPv6 address goes in brackets (RFC 3986 3.2.2). */
export const managementUrl = (address: string, port: number) => `https://${address.includes(':') ? `[${address}]` : address}:${port}/`;

/** The URLs in a `tandem https` answer (its `addresses` and `port`), one per address the server listens on. */
export function servedUrls(answer: Record<string, unknown>): string[] {
  const addresses = Array.isArray(answer['addresses']) ? (answer['addresses'] as unknown[]).map(String) : [];
  return addresses.map((a) => managementUrl(a, Number(answer['port'])));
}

/** What a generated certificate must name: the node, and every address the management server listens on (IPv4 first). */
export interface Want {
  commonName: string;
  addresses: readonly string[];
}

/** The first certificate of a PEM file, read; throws naming `where`. */
export function parseCertificate(pem: string, where: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${where}: no PEM certificate in it (a "-----BEGIN CERTIFICATE-----" block)`);
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw new Error(`${where}: the certificate does not parse (${(e as Error).message})`);
  }
}

export function describe(pem: string, origin: Origin): CertificateInfo {
  const x = new X509Certificate(pem);
  const spki = x.publicKey.export({ type: 'spki', format: 'der' });
  return {
    origin,
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    names: x.subjectAltName ?? '',
    validFrom: new Date(x.validFrom).toISOString(),
    validTo: new Date(x.validTo).toISOString(),
    fingerprint: x.fingerprint256,
    spkiPin: createHash('sha256').update(spki).digest('base64'),
  };
}

/** Checks a certificate and key pair as `tandem https install` would; returns the certificate. Throws naming the file. */
export function checkPair(certPem: string, keyPem: string, names: { cert: string; key: string }, now = new Date()): X509Certificate {
  const x = parseCertificate(certPem, names.cert);
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new Error(`${names.key}: not a private key in PEM (unencrypted PKCS#8, PKCS#1 or SEC1) (${(e as Error).message})`);
  }
  if (!x.checkPrivateKey(key)) throw new Error(`${names.key}: this key does not belong to the certificate in ${names.cert}`);
  if (new Date(x.validFrom) > now) throw new Error(`${names.cert}: not valid before ${new Date(x.validFrom).toISOString()} (is the clock right?)`);
  if (new Date(x.validTo) <= now) throw new Error(`${names.cert}: expired on ${new Date(x.validTo).toISOString()}`);
  return x;
}

function readOrigin(dir: string): Origin | null {
  try {
    const o = readFileSync(join(dir, 'origin'), 'utf8').trim();
    return o === 'installed' || o === 'generated' ? o : null;
  } catch {
    return null;
  }
}

function write(stateDir: string, id: Identity, origin: Origin): void {
  const dir = dirOf(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The key first: a crash between the two leaves a pair that does not match, which load() replaces (generated)
  // or reports (installed); never a certificate served with a key of another.
  writeFileAtomic(join(dir, 'key.pem'), id.keyPem);
  writeFileAtomic(join(dir, 'cert.pem'), id.certPem);
  writeFileAtomic(join(dir, 'origin'), origin + '\n');
}

/**
 * Why a generated certificate must be made again for `want`, or null if it serves. Not a new name (a
 * standalone node that becomes member fw-a): every client that pinned or trusted it would have to learn
 * it again for nothing; `tandem https generate` makes one with the new name when the administrator wants.
 */
function staleReason(x: X509Certificate, want: Want, now: Date): string | null {
  const missing = want.addresses.filter((a) => !x.checkIP(a));
  if (missing.length) return `it does not name the management address${missing.length > 1 ? 'es' : ''} ${missing.join(', ')}`;
  if (new Date(x.validTo).getTime() - now.getTime() < 30 * 86_400_000) return `it ends on ${new Date(x.validTo).toISOString()}`;
  return null;
}

/**
 * The identity to serve: what is on disk, or a new self-signed one (first start, a generated one that no
 * longer fits, or unreadable files that tandem made). An installed pair that does not load is an error
 * naming the file: tandem never silently replaces what the administrator installed.
 */
export function loadIdentity(stateDir: string, want: Want, now = new Date()): LoadedIdentity {
  const dir = dirOf(stateDir);
  const origin = readOrigin(dir);
  const names = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  let renewed = origin === null ? 'none yet' : undefined;
  if (origin !== null) {
    try {
      const certPem = readFileSync(names.cert, 'utf8');
      const keyPem = readFileSync(names.key, 'utf8');
      const x = checkPair(certPem, keyPem, names, now);
      const stale = origin === 'generated' ? staleReason(x, want, now) : null;
      if (!stale) return { certPem, keyPem, info: describe(certPem, origin) };
      renewed = stale;
    } catch (e) {
      if (origin === 'installed')
        throw new Error(
          `the installed HTTPS certificate cannot be used: ${(e as Error).message}; install another with "tandem https install CERT KEY" or go back to a generated one with "tandem https generate"`,
        );
      renewed = (e as Error).message;
    }
  }
  return { ...generateIdentity(stateDir, want), renewed };
}

/** The management addresses a certificate does not name (a client that checks the name refuses the server there). */
export function unnamedAddresses(certPem: string, addresses: readonly string[]): string[] {
  const x = new X509Certificate(certPem);
  return addresses.filter((a) => !x.checkIP(a));
}

/**
 * Installs the administrator's pair after checkPair; `names` are where they came from, for errors. A certificate
 * that does not name every management address is refused unless `force` (one meant for a name tandem cannot know).
 */
export function installIdentity(
  stateDir: string,
  certPem: string,
  keyPem: string,
  names: { cert: string; key: string },
  o: { addresses: readonly string[]; force?: boolean },
  now = new Date(),
): LoadedIdentity {
  const x = checkPair(certPem, keyPem, names, now);
  const missing = o.addresses.filter((a) => !x.checkIP(a));
  if (missing.length > 0 && !o.force)
    throw new Error(
      `${names.cert}: it does not name the management address${missing.length > 1 ? 'es' : ''} ${missing.join(', ')} (it names: ${
        x.subjectAltName ?? 'nothing'
      }): every client that checks the name (curl, HAProxy check-ssl verify, a browser) would refuse the server; get one with those addresses in its subjectAltName, or give --force for a certificate meant for a name tandem cannot know`,
    );
  write(stateDir, { certPem, keyPem }, 'installed');
  return { certPem, keyPem, info: describe(certPem, 'installed') };
}

/** Replaces whatever is installed with a new self-signed pair. */
export function generateIdentity(stateDir: string, want: Want): LoadedIdentity {
  const id = selfSigned({ commonName: want.commonName, addresses: want.addresses });
  write(stateDir, id, 'generated');
  return { ...id, info: describe(id.certPem, 'generated') };
}
