import test from 'ava';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPair, installIdentity, loadIdentity, unnamedAddresses } from '../../src/cluster/https-identity.js';
import { certificatePem, selfSigned } from '../../src/cluster/self-signed.js';

function stateDir(t: { teardown(f: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'tdm-https-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const want = { commonName: 'fw-a', addresses: ['198.18.2.11'] };

test('the self-signed certificate is one OpenSSL accepts: verifies against itself, names the node and the address, serverAuth', (t) => {
  const dir = stateDir(t);
  const id = selfSigned({ commonName: 'fw-a', addresses: ['198.18.2.11', '2001:2::11'] });
  const cert = join(dir, 'c.pem');
  writeFileSync(cert, id.certPem);
  t.regex(execFileSync('openssl', ['verify', '-CAfile', cert, cert]).toString(), /: OK/);
  const text = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-text']).toString();
  t.regex(text, /DNS:fw-a, IP Address:198\.18\.2\.11, IP Address:2001:2:0:0:0:0:0:11/);
  t.regex(text, /CA:FALSE/);
  t.regex(text, /TLS Web Server Authentication/);
  t.regex(text, /ASN1 OID: prime256v1/);
  const x = new X509Certificate(id.certPem);
  t.is(x.checkIP('198.18.2.11'), '198.18.2.11');
  t.is(x.checkIP('198.18.2.12'), undefined);
  t.true(new Date(x.validTo).getTime() - Date.now() > 3600 * 86_400_000, 'about ten years');
});

test('two nodes with the same host name: each certificate verifies against a CA file holding both (HAProxy ca-file)', (t) => {
  const dir = stateDir(t);
  const a = selfSigned({ commonName: 'vm', addresses: ['198.18.2.11'] });
  const b = selfSigned({ commonName: 'vm', addresses: ['198.18.2.12'] });
  const both = join(dir, 'both.pem');
  writeFileSync(both, a.certPem + b.certPem);
  for (const [n, id] of [
    ['a', a],
    ['b', b],
  ] as const) {
    writeFileSync(join(dir, `${n}.pem`), id.certPem);
    t.regex(execFileSync('openssl', ['verify', '-CAfile', both, join(dir, `${n}.pem`)]).toString(), /: OK/, n);
  }
  t.not(new X509Certificate(a.certPem).subject, new X509Certificate(b.certPem).subject);
});

test('a date after 2049 is a GeneralizedTime (RFC 5280), and a long name a long-form DER length', (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = certificatePem(
    { commonName: 'x'.repeat(200), addresses: ['198.18.0.1'], notBefore: new Date('2045-01-01T00:00:00Z'), validDays: 3650 },
    privateKey,
    publicKey,
  );
  const x = new X509Certificate(pem);
  t.is(new Date(x.validTo).getUTCFullYear(), 2054);
  t.true(x.subject.includes('x'.repeat(200)));
  t.true(x.verify(publicKey));
});

test('first start makes one (0600 key); the next start reuses it; a new management address makes a new one', (t) => {
  const dir = stateDir(t);
  const first = loadIdentity(dir, want);
  t.is(first.renewed, 'none yet');
  t.is(first.info.origin, 'generated');
  t.is(statSync(join(dir, 'https', 'key.pem')).mode & 0o777, 0o600);
  t.is(statSync(join(dir, 'https')).mode & 0o777, 0o700);
  const again = loadIdentity(dir, want);
  t.is(again.renewed, undefined);
  t.is(again.info.fingerprint, first.info.fingerprint);
  t.is(loadIdentity(dir, { ...want, commonName: 'fw-renamed' }).info.fingerprint, first.info.fingerprint, 'a new name alone keeps it (pinned clients)');
  const moved = loadIdentity(dir, { ...want, addresses: ['198.18.2.21'] });
  t.regex(moved.renewed ?? '', /does not name the management address 198\.18\.2\.21/);
  t.not(moved.info.fingerprint, first.info.fingerprint);
  // An IPv6 management address added later (address6): the certificate must name it too, beside the IPv4 one.
  const dual = loadIdentity(dir, { ...want, addresses: ['198.18.2.21', '2001:2:0:2::11'] });
  t.regex(dual.renewed ?? '', /does not name the management address 2001:2:0:2::11$/);
  t.regex(dual.info.names, /IP Address:198\.18\.2\.21/);
  t.regex(dual.info.names, /IP Address:2001:2:0:2:0:0:0:11/);
  t.is(loadIdentity(dir, { ...want, addresses: ['198.18.2.21', '2001:2:0:2::11'] }).renewed, undefined, 'both named: kept');
});

test('a crash between writing the key and the certificate leaves a pair that does not match: a generated one is made anew', (t) => {
  const dir = stateDir(t);
  loadIdentity(dir, want);
  writeFileSync(join(dir, 'https', 'key.pem'), selfSigned({ commonName: 'x', addresses: [] }).keyPem);
  const id = loadIdentity(dir, want);
  t.regex(id.renewed ?? '', /this key does not belong to the certificate/);
  t.notThrows(() => checkPair(id.certPem, id.keyPem, { cert: 'c', key: 'k' }));
});

test('installing checks the pair and names the file at fault; an installed certificate is never replaced by tandem', (t) => {
  const dir = stateDir(t);
  const names = { cert: '/root/fw.crt', key: '/root/fw.key' };
  const a = selfSigned({ commonName: 'gw.example', addresses: ['198.18.9.9'] });
  const b = selfSigned({ commonName: 'other', addresses: [] });
  const here = { addresses: want.addresses, force: true };
  t.throws(() => installIdentity(dir, 'hello', a.keyPem, names, here), { message: /^\/root\/fw\.crt: no PEM certificate in it/ });
  t.throws(() => installIdentity(dir, a.certPem, 'not a key', names, here), { message: /^\/root\/fw\.key: not a private key in PEM/ });
  t.throws(() => installIdentity(dir, a.certPem, b.keyPem, names, here), {
    message: '/root/fw.key: this key does not belong to the certificate in /root/fw.crt',
  });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const old = certificatePem({ commonName: 'old', addresses: [], notBefore: new Date('2020-01-01T00:00:00Z'), validDays: 30 }, privateKey, publicKey);
  t.throws(() => installIdentity(dir, old, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), names, here), {
    message: '/root/fw.crt: expired on 2020-01-31T00:00:00.000Z',
  });
  // Issue 33 item 1: a certificate that does not name the management address is refused, naming the file and the address.
  t.throws(() => installIdentity(dir, a.certPem, a.keyPem, names, { addresses: want.addresses }), {
    message: /^\/root\/fw\.crt: it does not name the management address 198\.18\.2\.11 \(it names: DNS:gw\.example, IP Address:198\.18\.9\.9\): every client/,
  });
  t.throws(() => readFileSync(join(dir, 'https', 'origin'), 'utf8'), undefined, 'nothing was written');
  t.deepEqual(unnamedAddresses(a.certPem, want.addresses), ['198.18.2.11']);
  const { info } = installIdentity(dir, a.certPem, a.keyPem, names, here);
  t.is(info.origin, 'installed');
  // It does not name 198.18.2.11: installed with --force, still served, as the administrator chose.
  const served = loadIdentity(dir, want);
  t.is(served.info.fingerprint, info.fingerprint);
  t.is(served.renewed, undefined);
  // Broken on disk: an error that says what to do, never a silent replacement.
  writeFileSync(join(dir, 'https', 'cert.pem'), 'garbage');
  t.throws(() => loadIdentity(dir, want), { message: /installed HTTPS certificate cannot be used: .*cert\.pem: no PEM certificate in it .*; install another/ });
  t.is(readFileSync(join(dir, 'https', 'origin'), 'utf8'), 'installed\n');
});
