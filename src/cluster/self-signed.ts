/**
 * DOC: the appliance's own certificate: a self-signed X.509 certificate built at first boot
 *
 * An appliance has no CA to ask on first boot, and its image must not carry
 * a key shared by every unit, so each node makes its own: an ECDSA P-256 key
 * and a certificate naming the node and its management address (subjectAltName
 * IP and DNS), valid ten years, serverAuth only. DER is written here by hand
 * (node:crypto makes keys and signatures but no certificates); the result is
 * read back with X509Certificate, and the tests have openssl and curl check it.
 * An administrator who has a CA replaces it (src/cluster/https-identity.ts).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  organization: '2.5.4.10',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.of(tag), length(body.length), body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const octets = (b: Buffer) => tlv(0x04, b);
const explicit = (n: number, c: Buffer) => tlv(0xa0 + n, c);

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A non-negative INTEGER from big-endian bytes. */
function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.of(0), v]) : v);
}

/** UTCTime up to 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

/**
 * O=tandem, CN=the node, serialNumber=this certificate's serial. The last makes every node's name unique: two
 * nodes with the same host name would otherwise be two issuers of one name in a client's CA file (HAProxy's
 * ca-file with every member's certificate), and OpenSSL would check one's certificate against the other's key.
 */
function name(commonName: string, serial: Buffer): Buffer {
  return seq(
    set(seq(oid(OID.organization), utf8('tandem'))),
    set(seq(oid(OID.commonName), utf8(commonName))),
    set(seq(oid(OID.serialNumber), tlv(0x13, Buffer.from(serial.toString('hex'), 'ascii')))),
  );
}

function ipBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  if (!isIPv6(address)) throw new Error(`certificate: ${address} is not an IP address`);
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(all.map((g) => Buffer.of(parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff)));
}

export interface CertificateRequest {
  /** The node's name: the subject's CN and a DNS subjectAltName. */
  commonName: string;
  /** Addresses the certificate is valid for (the management address). */
  addresses: readonly string[];
  notBefore?: Date;
  validDays?: number;
}

export interface Identity {
  certPem: string;
  keyPem: string;
}

const DNS_LABELS = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A fresh P-256 key and a self-signed certificate for it. */
export function selfSigned(req: CertificateRequest): Identity {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { certPem: certificatePem(req, privateKey, publicKey), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export function certificatePem(req: CertificateRequest, privateKey: KeyObject, publicKey: KeyObject): string {
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const notBefore = req.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (req.validDays ?? 3650) * 86_400_000);
  const alg = seq(oid(OID.ecdsaWithSha256));
  const altNames = [
    ...(DNS_LABELS.test(req.commonName) ? [tlv(0x82, Buffer.from(req.commonName, 'ascii'))] : []),
    ...req.addresses.map((a) => tlv(0x87, ipBytes(a))),
  ];
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // RFC 5280 4.2.1.2 method 1: SHA-1 of the public key's bits (the SPKI's BIT STRING after its unused-bits byte).
  const keyId = createHash('sha1')
    .update(spki.subarray(spki.length - 65))
    .digest();
  const extensions = seq(
    seq(oid(OID.basicConstraints), tlv(0x01, Buffer.of(0xff)), octets(seq())),
    // digitalSignature: what an ECDHE_ECDSA handshake uses the key for.
    seq(oid(OID.keyUsage), tlv(0x01, Buffer.of(0xff)), octets(tlv(0x03, Buffer.of(7, 0x80)))),
    seq(oid(OID.extKeyUsage), octets(seq(oid(OID.serverAuth)))),
    seq(oid(OID.subjectKeyIdentifier), octets(octets(keyId))),
    seq(oid(OID.authorityKeyIdentifier), octets(seq(tlv(0x80, keyId)))),
    ...(altNames.length ? [seq(oid(OID.subjectAltName), octets(seq(...altNames)))] : []),
  );

  const tbs = seq(
    explicit(0, integer(Buffer.of(2))),
    integer(serial),
    alg,
    name(req.commonName, serial),
    seq(time(notBefore), time(notAfter)),
    name(req.commonName, serial),
    spki,
    tlv(0xa3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, alg, tlv(0x03, Buffer.of(0), signature));
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}
