/**
 * DOC: `tandem https ...` and `tandem metrics-token ...`: the management server's certificate and the scraper's token
 *
 * Both ask the running daemon over the control socket (root only): it holds
 * the files in its state directory and serves the new certificate to the next
 * connection without a restart. The CLI reads the administrator's PEM files
 * itself, so that paths are relative to where the command runs and errors
 * name the file.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { askControl } from '../api/control-socket.js';
import { flag, UsageError, type Parsed } from './args.js';
import { socketPath } from './status-command.js';
import { servedUrls } from '../cluster/https-identity.js';

export const HTTPS_USAGE = `tandem https [show] [--pem]          the management server's certificate: its file, fingerprint, names, validity,
    SPKI pin (--pem: the certificate itself, for curl --cacert or a scraper's ca_file)
tandem https install CERT.pem KEY.pem [--force]   use the administrator's certificate (chain after it) and key; it
    must name this node's management addresses (--force: one meant for a name tandem cannot know)
tandem https generate                 a new self-signed certificate (replaces an installed one)
tandem metrics-token [show | new | revoke]   the read-only bearer token for /metrics (show: whether one is set, the
    default; new: a new one, printed once, the previous one revoked; revoke: none)`;

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function describe(r: Record<string, unknown>): string {
  return [
    `certificate  ${String(r['origin'])} (served on ${servedUrls(r).join(' and ') || 'no address: the server could not listen'})`,
    `subject      ${String(r['subject'])}`,
    `issuer       ${String(r['issuer'])}`,
    `names        ${String(r['names'] || '(none)')}`,
    `valid        ${String(r['validFrom'])} .. ${String(r['validTo'])}`,
    `sha256       ${String(r['fingerprint'])}`,
    `spki pin     ${String(r['spkiPin'])}   (curl --pinnedpubkey sha256//PIN, chromium --ignore-certificate-errors-spki-list=PIN)`,
    `file         ${String(r['certFile'])}   (curl --cacert FILE, Prometheus tls_config.ca_file; or tandem https --pem)`,
  ].join('\n');
}

export async function httpsCommand(p: Parsed): Promise<number> {
  const [op = 'show', cert, key] = p.positionals;
  let args: Record<string, unknown> | undefined;
  if (op === 'install') {
    if (!cert || !key) throw new UsageError('tandem https install CERT.pem KEY.pem');
    const certPath = resolve(cert);
    const keyPath = resolve(key);
    args = { certPem: readPem(certPath, 'certificate'), keyPem: readPem(keyPath, 'key'), certPath, keyPath, force: flag(p, 'force') };
  } else if (op !== 'show' && op !== 'generate') throw new UsageError(`tandem https: unknown operation "${op}" (show, install, generate)`);
  const r = (await askControl(socketPath(p), { cmd: 'https', op, ...(args ? { args } : {}) })) as Record<string, unknown>;
  if (flag(p, 'pem')) process.stdout.write(String(r['certPem']));
  else if (flag(p, 'json')) process.stdout.write(JSON.stringify(r, null, 1) + '\n');
  else {
    const unnamed = (r['unnamed'] as string[] | undefined) ?? [];
    process.stdout.write((op === 'show' ? '' : 'replaced: new connections get this certificate\n') + describe(r) + '\n');
    if (unnamed.length) process.stdout.write(`warning: it does not name ${unnamed.join(', ')}: clients that check the name refuse the server there\n`);
  }
  return 0;
}

export async function metricsTokenCommand(p: Parsed): Promise<number> {
  // Showing is the default: a new token revokes the one the scraper uses, so it must be asked for by name.
  const [op = 'show'] = p.positionals;
  if (op !== 'new' && op !== 'show' && op !== 'revoke') throw new UsageError(`tandem metrics-token: unknown operation "${op}" (new, show, revoke)`);
  const r = (await askControl(socketPath(p), { cmd: 'metrics-token', op })) as Record<string, unknown>;
  if (flag(p, 'json')) process.stdout.write(JSON.stringify(r) + '\n');
  else if (op === 'new')
    process.stdout.write(
      `${String(r['token'])}\n(shown once; the previous token no longer works. Prometheus: authorization: {type: Bearer, credentials: TOKEN})\n`,
    );
  else if (op === 'show')
    process.stdout.write(r['set'] ? 'a metrics token is set (its value is not kept)\n' : 'no metrics token: /metrics takes the admin password only\n');
  else process.stdout.write(r['revoked'] ? 'metrics token revoked\n' : 'there was no metrics token\n');
  return 0;
}
