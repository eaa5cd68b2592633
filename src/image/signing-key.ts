/**
 * The key that signs update bundles (make bundle) and whose public half the image carries
 * (/etc/systemd/import-pubring.gpg, where systemd-sysupdate looks): an OpenPGP key in a GnuPG home of its own.
 * Made at the first build when none is given (image/signing-key/, never committed); a builder gives theirs with
 * SIGNING_KEY=DIR (a GnuPG home holding one secret signing key). gpg is the signer because gpg is what
 * systemd-sysupdate verifies with.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, chmodSync } from 'node:fs';
import { hostname } from 'node:os';

export interface SigningKey {
  /** The GnuPG home. */
  home: string;
  /** The key's fingerprint (40 hex digits). */
  fingerprint: string;
}

function gpg(home: string, args: readonly string[], input?: Buffer | string): Buffer {
  return execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--no-tty', ...args], {
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function secretFingerprints(home: string): string[] {
  const out = gpg(home, ['--with-colons', '--list-secret-keys']).toString();
  return out
    .split('\n')
    .filter((l) => l.startsWith('fpr:'))
    .map((l) => l.split(':')[9]!)
    .filter((f, i, all) => all.indexOf(f) === i);
}

/** The key in `home`; when `make` is true and the home holds none, a new ed25519 signing key made there. */
export function signingKey(home: string, make: boolean): SigningKey {
  if (!existsSync(home)) {
    if (!make) throw new Error(`${home}: no such GnuPG home (SIGNING_KEY names a directory holding one secret signing key)`);
    mkdirSync(home, { recursive: true });
  }
  chmodSync(home, 0o700);
  let fprs = secretFingerprints(home);
  if (fprs.length === 0 && make) {
    gpg(home, ['--passphrase', '', '--quick-generate-key', `tandem update key (made by make image on ${hostname()})`, 'ed25519', 'sign', 'never']);
    fprs = secretFingerprints(home);
  }
  if (fprs.length !== 1) throw new Error(`${home}: ${fprs.length} secret keys; the signing home must hold exactly one`);
  return { home, fingerprint: fprs[0]! };
}

/** The public key as an OpenPGP keyring file (what gpg --keyring and gpgv --keyring read). */
export function publicKeyring(key: SigningKey): Buffer {
  return gpg(key.home, ['--export', key.fingerprint]);
}

/** A detached binary signature of `data`. */
export function sign(key: SigningKey, data: Buffer): Buffer {
  return gpg(key.home, ['--local-user', key.fingerprint, '--detach-sign', '--output', '-'], data);
}
