import test from 'ava';
import fc from 'fast-check';
import { canonicalIpv6, formatIpv6, isLinkLocal6, linkLocalOf, multicastMac6, parseIpv6, samePrefix6, solicitedNode } from '../../src/wire/ipv6.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('the text forms of RFC 4291 section 2.2 parse', (t) => {
  t.is(hex(parseIpv6('2001:2:0:0:0:0:0:1')!), '20010002000000000000000000000001');
  t.is(hex(parseIpv6('2001:2::1')!), '20010002000000000000000000000001');
  t.is(hex(parseIpv6('::')!), '0'.repeat(32));
  t.is(hex(parseIpv6('::1')!), '0'.repeat(31) + '1');
  t.is(hex(parseIpv6('fe80::')!), 'fe80' + '0'.repeat(28));
  t.is(hex(parseIpv6('::ffff:198.18.1.1')!), '00000000000000000000ffffc6120101');
  t.is(hex(parseIpv6('2001:2:0:1::198.18.0.1')!), '20010002000000010000' + '0000' + 'c6120001');
  t.is(hex(parseIpv6('2001:2:0:1:0:0:0:AbCd')!), '2001000200000001000000000000abcd');
});

test('what is not an IPv6 address is refused', (t) => {
  for (const bad of [
    '',
    ':',
    ':::',
    '1::2::3',
    '2001:2::1%eth0',
    '2001:2:0:0:0:0:0:0:1',
    '2001:2:0:0:0:0:1',
    '2001:2::12345',
    '198.18.1.1',
    '::198.18.1.1:0',
    '2001:2::1/64',
    '2001:2::g',
    '1:2:3:4:5:6:7::8',
    '::ffff:198.18.1.256',
    ' 2001:2::1',
  ]) {
    t.is(parseIpv6(bad), undefined, bad);
  }
});

test('addresses print in the canonical form of RFC 5952', (t) => {
  t.is(canonicalIpv6('2001:0DB8:0000:0000:0000:0000:0002:0001'), '2001:db8::2:1');
  t.is(canonicalIpv6('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1'); // a single zero group stays
  t.is(canonicalIpv6('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1'); // the longest run
  t.is(canonicalIpv6('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1'); // the first of equal runs
  t.is(canonicalIpv6('0:0:0:0:0:0:0:0'), '::');
  t.is(canonicalIpv6('1:0:0:0:0:0:0:0'), '1::');
});

test('any 16 bytes print as text that parses back to them', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (a) => hex(parseIpv6(formatIpv6(a))!) === hex(a)),
    { numRuns: 5000 },
  );
  // and sparse addresses, where the zero runs are
  fc.assert(
    fc.property(fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff), { minLength: 8, maxLength: 8 }), (words) => {
      const a = new Uint8Array(16);
      words.forEach((w, i) => {
        a[2 * i] = w >> 8;
        a[2 * i + 1] = w & 0xff;
      });
      return hex(parseIpv6(formatIpv6(a))!) === hex(a);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('random text never throws', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%/ g'.split('')), maxLength: 50 }), (s) => {
      const a = parseIpv6(s);
      return a === undefined || a.length === 16;
    }),
    { numRuns: 10000 },
  );
  t.pass();
});

test('solicited-node group, its MAC, link-local and prefixes', (t) => {
  const a = parseIpv6('2001:2:0:1::12:3456')!;
  t.is(formatIpv6(solicitedNode(a)), 'ff02::1:ff12:3456');
  t.is(hex(multicastMac6(solicitedNode(a))), '3333ff123456');
  t.true(isLinkLocal6(parseIpv6('fe80::1')!));
  t.true(isLinkLocal6(parseIpv6('febf::1')!));
  t.false(isLinkLocal6(parseIpv6('fec0::1')!));
  t.true(samePrefix6(a, parseIpv6('2001:2:0:1::1')!, 64));
  t.false(samePrefix6(a, parseIpv6('2001:2:0:2::1')!, 64));
  t.true(samePrefix6(a, parseIpv6('2001:2:0:3::1')!, 62)); // 0:1 and 0:3 differ in bit 63 only
  t.false(samePrefix6(a, parseIpv6('2001:2:0:3::1')!, 63));
  t.true(samePrefix6(a, parseIpv6('::')!, 0));
});

test('the link-local address of a MAC is its modified EUI-64', (t) => {
  t.is(formatIpv6(linkLocalOf(Uint8Array.of(0x10, 0, 0, 0, 0x09, 0x05))), 'fe80::1200:ff:fe00:905');
  t.is(formatIpv6(linkLocalOf(Uint8Array.of(0x02, 0x42, 0xac, 0x11, 0, 0x02))), 'fe80::42:acff:fe11:2');
});
