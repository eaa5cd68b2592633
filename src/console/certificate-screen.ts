/**
 * DOC: the console's HTTPS certificate screen: what the management server presents, and replacing it
 *
 * An administrator at the serial console reads the fingerprint here to
 * compare with what the browser shows on first connection (the node's own
 * certificate is self-signed), makes a new one, or installs a CA-signed pair
 * from files on the appliance (copied there beforehand). The same control
 * socket operations as `tandem https` (src/cli/https-command.ts).
 */
import { readFileSync } from 'node:fs';
import { servedUrls } from '../cluster/https-identity.js';
import type { NodeAccess } from './node-access.js';
import { ask, checks, confirm, pause } from './prompts.js';
import type { ConsoleIo } from './terminal.js';

/** A serial console has 80 columns: a long value is cut (names) or split (the fingerprint, 16 bytes a line). */
const fit = (line: string) => (line.length <= 80 ? line : line.slice(0, 76) + ' ...');

/** One line per address the server listens on (an IPv6 URL is too long to share a line with the IPv4 one). */
function servedOn(c: Record<string, unknown>): string[] {
  const urls = servedUrls(c);
  if (urls.length === 0) return [`  served on    no address: the server could not listen  (${String(c['origin'])})`];
  return urls.map((u, k) => fit(`  ${k === 0 ? 'served on' : '         '}    ${u}${k === 0 ? `  (${String(c['origin'])})` : ''}`));
}

function describe(c: Record<string, unknown>): string[] {
  const fp = String(c['fingerprint']);
  return [
    ...servedOn(c),
    fit(`  names        ${String(c['names'] || '(none)')}`),
    `  valid until  ${String(c['validTo'])}`,
    `  SHA-256      ${fp.slice(0, 47)}`,
    `               ${fp.slice(48)}`,
    `  SPKI pin     ${String(c['spkiPin'])}`,
  ];
}

const readable: (what: string) => (a: string) => { ok: true; value: { path: string; pem: string } } | { ok: false; why: string } = (what) => (a) => {
  if (!a.startsWith('/')) return { ok: false, why: `give the full path of the ${what} file (it starts with /)` };
  try {
    return { ok: true, value: { path: a, pem: readFileSync(a, 'utf8') } };
  } catch (e) {
    return { ok: false, why: `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
};

export async function certificateScreen(io: ConsoleIo, node: NodeAccess, header: string[]): Promise<void> {
  let current: Record<string, unknown>;
  try {
    current = await node.https('show');
  } catch (e) {
    io.say(`No HTTPS certificate here: ${(e as Error).message}`);
    return pause(io);
  }
  io.screen([
    ...header,
    '',
    'The status page, /status.json, /metrics and the health check are served with:',
    '',
    ...describe(current),
    '',
    'A browser shows the SHA-256 fingerprint at first: compare it with this one.',
    '',
    '  1  Back to the main menu',
    '  2  Make a new self-signed certificate (clients must trust the new one)',
    '  3  Install a certificate and its key from files on this appliance (PEM)',
    '',
  ]);
  const pick = await ask(io, { label: 'Choose', hint: '1-3', fallback: '1', check: checks.choice(3) });
  if (pick === null || pick === 1) return;
  let args: Record<string, unknown> | undefined;
  if (pick === 3) {
    const cert = await ask(io, { label: 'Certificate file', hint: 'full path; the chain may follow it', check: readable('certificate') });
    if (cert === null) return;
    const key = await ask(io, { label: 'Key file', hint: 'full path, unencrypted PEM', check: readable('key') });
    if (key === null) return;
    args = { certPem: cert.pem, keyPem: key.pem, certPath: cert.path, keyPath: key.path };
  }
  if (!(await confirm(io, 'Replace the certificate now?'))) {
    io.say('Nothing was changed.');
    return pause(io);
  }
  try {
    const after = await node.https(pick === 2 ? 'generate' : 'install', args);
    io.say('Replaced: new connections get this certificate.');
    for (const l of describe(after)) io.say(l);
  } catch (e) {
    io.say(`Not replaced: ${(e as Error).message}`);
  }
  await pause(io);
}
