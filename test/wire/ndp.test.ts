import test from 'ava';
import fc from 'fast-check';
import { formatIpv6, icmpv6Sum, parseIpv6 } from '../../src/wire/ipv6.js';
import { NDP_FRAME_LENGTH, NDP_NA, NDP_NS, neighbourSolicitation, parseNdp, unsolicitedAdvertisement } from '../../src/wire/ndp.js';

const MAC = Uint8Array.of(0x10, 0, 0, 0, 0x09, 0x05);
const SHARED = parseIpv6('2001:2:0:1::1')!;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('an unsolicited advertisement: all nodes, hop limit 255, Override and Router, the MAC as target option', (t) => {
  const f = unsolicitedAdvertisement(MAC, SHARED);
  t.is(f.length, NDP_FRAME_LENGTH);
  t.is(hex(f.subarray(0, 6)), '333300000001');
  t.is(hex(f.subarray(6, 12)), hex(MAC));
  t.is(f[21], 255);
  const r = parseNdp(f);
  if (!r.ok) return t.fail(r.reason);
  t.is(r.msg.type, NDP_NA);
  t.is(formatIpv6(r.msg.target), '2001:2:0:1::1');
  t.is(formatIpv6(r.msg.src), '2001:2:0:1::1');
  t.is(formatIpv6(r.msg.dst), 'ff02::1');
  t.true(r.msg.override);
  t.true(r.msg.router);
  t.false(r.msg.solicited);
  t.is(hex(r.msg.lla!), hex(MAC));
  const host = parseNdp(unsolicitedAdvertisement(MAC, SHARED, false));
  t.true(host.ok && !host.msg.router && host.msg.override);
});

test('a solicitation goes to the target solicited-node group with our MAC as source option', (t) => {
  const f = neighbourSolicitation(MAC, parseIpv6('2001:2:0:1::11')!, parseIpv6('2001:2:0:1::abcd:1')!);
  t.is(hex(f.subarray(0, 6)), '3333ffcd0001');
  const r = parseNdp(f);
  if (!r.ok) return t.fail(r.reason);
  t.is(r.msg.type, NDP_NS);
  t.is(formatIpv6(r.msg.dst), 'ff02::1:ffcd:1');
  t.is(formatIpv6(r.msg.target), '2001:2:0:1::abcd:1');
  t.is(hex(r.msg.lla!), hex(MAC));
});

test('each check of RFC 4861 7.1 names its reason', (t) => {
  const good = unsolicitedAdvertisement(MAC, SHARED);
  /** With `reseal`, the checksum is made right again, so the check after it is reached. */
  const edit = (at: number, value: number, reseal = false) => {
    const f = good.slice();
    f[at] = value;
    if (reseal) {
      f[56] = f[57] = 0;
      const sum = ~icmpv6Sum(f.subarray(22, 38), f.subarray(38, 54), f, 54, NDP_FRAME_LENGTH) & 0xffff;
      f[56] = sum >> 8;
      f[57] = sum & 0xff;
    }
    return parseNdp(f);
  };
  const reason = (r: ReturnType<typeof parseNdp>) => (r.ok ? 'ok' : r.reason);
  t.is(reason(edit(21, 254)), 'hop_limit');
  t.is(reason(edit(55, 1)), 'bad_code');
  t.is(reason(edit(54, 134)), 'not_ndp');
  t.is(reason(edit(20, 17)), 'not_icmpv6');
  t.is(reason(edit(12, 0x08)), 'not_ipv6');
  t.is(reason(edit(80, 0x11)), 'bad_checksum');
  t.is(reason(edit(79, 0)), 'bad_checksum');
  t.is(reason(edit(79, 0, true)), 'bad_option');
  t.is(reason(edit(62, 0xff, true)), 'multicast_target');
  t.is(reason(edit(58, 0x60, true)), 'solicited_to_group');
  t.is(reason(edit(19, 40)), 'truncated');
  t.is(reason(parseNdp(good.subarray(0, 60))), 'short');
});

test('random bytes never crash the parser and always get a reason (fuzz)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (bytes) => {
      const r = parseNdp(bytes);
      return r.ok ? r.msg.target.length === 16 : typeof r.reason === 'string';
    }),
    { numRuns: 10000 },
  );
  // behind a valid Ethernet and IPv6 header, so the ICMPv6 checks are reached
  const good = unsolicitedAdvertisement(MAC, SHARED);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), (tail) => {
      const f = new Uint8Array(54 + tail.length);
      f.set(good.subarray(0, 54));
      f.set(tail, 54);
      const r = parseNdp(f);
      return r.ok || typeof r.reason === 'string';
    }),
    { numRuns: 10000 },
  );
  t.pass();
});

test('any change to the signed bytes is caught by the checksum or a check', (t) => {
  const good = unsolicitedAdvertisement(MAC, SHARED);
  fc.assert(
    fc.property(fc.integer({ min: 22, max: NDP_FRAME_LENGTH - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
      const f = good.slice();
      f[at] = f[at]! ^ xor;
      return !parseNdp(f).ok;
    }),
    { numRuns: 3000 },
  );
  t.pass();
});
