import test from 'ava';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { entryFromRecord, FAMILY_V6, keyHash, REC, RECORD_BYTES, recordFromEntry, recordKey } from '../../src/wire/conn-record.js';
import { conntrackRequest, eachConntrack, natOf, parseConntrack, parseConntrackAt } from '../../src/wire/ctnetlink.js';
import { formatIpv4 } from '../../src/wire/ipv4.js';
import { formatIpv6 } from '../../src/wire/ipv6.js';
import { splitMessages } from '../../src/wire/netlink.js';

const ip = fc.integer({ min: 0, max: 0xffffffff }).map(formatIpv4);
const ip6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIpv6);
const port = fc.integer({ min: 0, max: 0xffff });
const tcpEntry = fc.record({
  src: ip,
  dst: ip,
  sport: port,
  dport: port,
  state: fc.integer({ min: 0, max: 13 }),
  timeout: fc.integer({ min: 1, max: 0x7fffffff }),
  status: fc.constantFrom(0, 2, 6),
});

test('a record keeps every field of an entry', (t) => {
  fc.assert(
    fc.property(tcpEntry, (e) => {
      const entry = {
        orig: { src: e.src, dst: e.dst, proto: 6, sport: e.sport, dport: e.dport },
        reply: { src: e.dst, dst: e.src, proto: 6, sport: e.dport, dport: e.sport },
        status: e.status,
        timeout: e.timeout,
        tcpState: e.state,
        destroyed: false,
      };
      const back = entryFromRecord(recordFromEntry(entry));
      return isDeepStrictEqual(back, entry);
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('the key is the protocol and original tuple; the hash follows the key', (t) => {
  const a = recordFromEntry({
    orig: { src: '198.18.2.100', dst: '198.18.1.100', proto: 6, sport: 4000, dport: 80 },
    reply: { src: '198.18.1.100', dst: '198.18.1.1', proto: 6, sport: 80, dport: 4000 },
    status: 6,
    timeout: 100,
  });
  const b = a.slice();
  b[REC.timeout] = 9; // another timeout, same flow
  t.is(recordKey(a), recordKey(b));
  t.is(keyHash(a), keyHash(b));
  const c = a.slice();
  c[REC.origP1 + 1] = 1; // another source port
  t.not(recordKey(a), recordKey(c));
  t.not(keyHash(a), keyHash(c));
});

test('NAT is read from the tuples: SNAT to the shared address, DNAT to an inside server', (t) => {
  const snat = recordFromEntry({
    orig: { src: '198.18.2.100', dst: '198.18.1.100', proto: 6, sport: 4000, dport: 80 },
    reply: { src: '198.18.1.100', dst: '198.18.1.1', proto: 6, sport: 80, dport: 4001 },
    status: 6,
  });
  t.deepEqual(natOf(snat), { snat: { ip: '198.18.1.1', port: 4001 } });
  const dnat = recordFromEntry({
    orig: { src: '198.18.1.100', dst: '198.18.1.1', proto: 6, sport: 5000, dport: 443 },
    reply: { src: '198.18.2.50', dst: '198.18.1.100', proto: 6, sport: 8443, dport: 5000 },
    status: 6,
  });
  t.deepEqual(natOf(dnat), { dnat: { ip: '198.18.2.50', port: 8443 } });
  const plain = recordFromEntry({
    orig: { src: '198.18.2.100', dst: '198.18.1.100', proto: 17, sport: 53, dport: 53 },
    reply: { src: '198.18.1.100', dst: '198.18.2.100', proto: 17, sport: 53, dport: 53 },
    status: 0,
  });
  t.deepEqual(natOf(plain), {});
});

test('an update request parses back to the record it was written from', (t) => {
  fc.assert(
    fc.property(tcpEntry, (e) => {
      const entry = {
        orig: { src: e.src, dst: e.dst, proto: 6, sport: e.sport, dport: e.dport },
        reply: { src: e.dst, dst: e.src, proto: 6, sport: e.dport, dport: e.sport },
        status: e.status,
        timeout: e.timeout,
        tcpState: e.state,
      };
      // A create carries the reply tuple too: the parser reads requests like entries.
      const msg = splitMessages(conntrackRequest(1, 'create', entry));
      if (!msg.ok) return false;
      const back = parseConntrack(msg.messages[0]!);
      return (
        back !== undefined &&
        back.orig.sport === e.sport &&
        back.reply.dst === e.src &&
        back.timeout === e.timeout &&
        back.tcpState === e.state &&
        back.status === (e.status | 8)
      );
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('the ctnetlink reader never throws on random or mutated datagrams', (t) => {
  const good = conntrackRequest(7, 'create', {
    orig: { src: '198.18.2.100', dst: '198.18.1.100', proto: 6, sport: 4000, dport: 80 },
    reply: { src: '198.18.1.100', dst: '198.18.1.1', proto: 6, sport: 80, dport: 4001 },
    status: 6,
    timeout: 60,
    tcpState: 3,
  });
  const scratch = new Uint8Array(RECORD_BYTES);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
      eachConntrack(b, scratch, () => undefined);
      parseConntrackAt(0x100, b, 0, b.length, scratch, 0);
      return true;
    }),
    { numRuns: 3000 },
  );
  fuzzMutations(good, scratch);
  t.pass();
});

const tcp6Entry = fc.record({
  src: ip6,
  dst: ip6,
  sport: port,
  dport: port,
  state: fc.integer({ min: 0, max: 13 }),
  timeout: fc.integer({ min: 1, max: 0x7fffffff }),
});

test('IPv6: a record keeps every field of an entry, and a create request parses back to it', (t) => {
  fc.assert(
    fc.property(tcp6Entry, fc.boolean(), (e, withMark) => {
      const entry = {
        orig: { src: e.src, dst: e.dst, proto: 6, sport: e.sport, dport: e.dport },
        reply: { src: e.dst, dst: e.src, proto: 6, sport: e.dport, dport: e.sport },
        status: 8 | 6,
        timeout: e.timeout,
        tcpState: e.state,
        ...(withMark ? { mark: 0x1234 } : {}),
        destroyed: false,
      };
      const rec = recordFromEntry(entry);
      if (rec[REC.family] !== FAMILY_V6 || !isDeepStrictEqual(entryFromRecord(rec), entry)) return false;
      const msg = splitMessages(conntrackRequest(1, 'create', entry));
      if (!msg.ok) return false;
      const back = parseConntrack(msg.messages[0]!);
      return back !== undefined && isDeepStrictEqual(back, entry);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('IPv6: ICMPv6 echo keeps its id, type and code; NAT66 is read from the tuples and written as IPv6 NAT attributes', (t) => {
  const echo = {
    orig: { src: '2001:2:0:2::100', dst: '2001:2:0:1::100', proto: 58, icmpId: 77, icmpType: 128, icmpCode: 0 },
    reply: { src: '2001:2:0:1::100', dst: '2001:2:0:2::100', proto: 58, icmpId: 77, icmpType: 129, icmpCode: 0 },
    status: 8,
    timeout: 30,
    destroyed: false,
  };
  const msg = splitMessages(conntrackRequest(1, 'create', echo));
  t.true(msg.ok);
  t.deepEqual(parseConntrack((msg as { messages: Parameters<typeof parseConntrack>[0][] }).messages[0]!), echo);
  const snat6 = recordFromEntry({
    orig: { src: '2001:2:0:2::100', dst: '2001:2:0:1::100', proto: 6, sport: 4000, dport: 80 },
    reply: { src: '2001:2:0:1::100', dst: '2001:2:0:1::1', proto: 6, sport: 80, dport: 4001 },
    status: 6,
  });
  t.deepEqual(natOf(snat6), { snat: { ip: '2001:2:0:1::1', port: 4001 } });
  // CTA_NAT_SRC (6) nesting CTA_NAT_V6_MINIP (4) and MAXIP (5), 16 bytes each.
  const req = conntrackRequest(1, 'create', entryFromRecord(snat6));
  const hex = Buffer.from(req).toString('hex');
  t.true(hex.includes('1400040020010002000000010000000000000001'), 'CTA_NAT_V6_MINIP 2001:2:0:1::1');
  t.true(hex.includes('1400050020010002000000010000000000000001'), 'CTA_NAT_V6_MAXIP 2001:2:0:1::1');
});

test('IPv4 and IPv6 keys never collide, and the IPv4 key is as short as before', (t) => {
  const v4 = recordFromEntry({
    orig: { src: '0.0.0.0', dst: '0.0.0.0', proto: 6, sport: 0, dport: 0 },
    reply: { src: '0.0.0.0', dst: '0.0.0.0', proto: 6, sport: 0, dport: 0 },
    status: 0,
  });
  const v6 = recordFromEntry({
    orig: { src: '::', dst: '::', proto: 6, sport: 0, dport: 0 },
    reply: { src: '::', dst: '::', proto: 6, sport: 0, dport: 0 },
    status: 0,
  });
  t.is(recordKey(v4).length, 13);
  t.is(recordKey(v6).length, 38);
  t.not(recordKey(v4), recordKey(v6));
});

test('the ctnetlink reader never throws on mutated IPv6 datagrams (fuzz)', (t) => {
  const good = conntrackRequest(7, 'create', {
    orig: { src: '2001:2:0:2::100', dst: '2001:2:0:1::100', proto: 6, sport: 4000, dport: 80 },
    reply: { src: '2001:2:0:1::100', dst: '2001:2:0:1::1', proto: 6, sport: 80, dport: 4001 },
    status: 6,
    timeout: 60,
    tcpState: 3,
  });
  const scratch = new Uint8Array(RECORD_BYTES);
  fuzzMutations(good, scratch);
  t.pass();
});

/** Up to 8 bytes of a valid request overwritten, and the result cut anywhere: the reader never throws, and whatever it
 * takes for an entry is a whole record of a known family. */
function fuzzMutations(good: Uint8Array, scratch: Uint8Array): void {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.nat(good.length),
      (flips, cut) => {
        const m = good.slice();
        for (const [at, v] of flips) m[at] = v;
        let n = 0;
        const entry = (r: Uint8Array) => {
          n++;
          if (r[REC.family] !== 4 && r[REC.family] !== 6) throw new Error(`a record of family ${r[REC.family]}`);
        };
        eachConntrack(m.subarray(0, cut), scratch, entry);
        eachConntrack(m, scratch, entry);
        return n >= 0;
      },
    ),
    { numRuns: 5000 },
  );
}
