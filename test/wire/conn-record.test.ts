import test from 'ava';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { entryFromRecord, keyHash, RECORD_BYTES, recordFromEntry, recordKey } from '../../src/wire/conn-record.js';
import { conntrackRequest, eachConntrack, natOf, parseConntrack, parseConntrackAt } from '../../src/wire/ctnetlink.js';
import { formatIpv4 } from '../../src/wire/ipv4.js';
import { splitMessages } from '../../src/wire/netlink.js';

const ip = fc.integer({ min: 0, max: 0xffffffff }).map(formatIpv4);
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
  b[32] = 9; // another timeout, same flow
  t.is(recordKey(a), recordKey(b));
  t.is(keyHash(a), keyHash(b));
  const c = a.slice();
  c[13] = 1; // another source port
  t.not(recordKey(a), recordKey(c));
  t.not(keyHash(a), keyHash(c));
});

test('NAT is read from the tuples: SNAT to the shared address, DNAT to an inside server', (t) => {
  const snat = recordFromEntry({
    orig: { src: '198.18.2.100', dst: '198.18.1.100', proto: 6, sport: 4000, dport: 80 },
    reply: { src: '198.18.1.100', dst: '198.18.1.1', proto: 6, sport: 80, dport: 4001 },
    status: 6,
  });
  t.deepEqual(natOf(snat), { snat: { ip: 0xc6120101, port: 4001 } });
  const dnat = recordFromEntry({
    orig: { src: '198.18.1.100', dst: '198.18.1.1', proto: 6, sport: 5000, dport: 443 },
    reply: { src: '198.18.2.50', dst: '198.18.1.100', proto: 6, sport: 8443, dport: 5000 },
    status: 6,
  });
  t.deepEqual(natOf(dnat), { dnat: { ip: 0xc6120232, port: 8443 } });
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
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.nat(good.length),
      (flips, cut) => {
        const m = good.slice();
        for (const [at, v] of flips) m[at] = v;
        let n = 0;
        eachConntrack(m.subarray(0, cut), scratch, () => n++);
        eachConntrack(m, scratch, () => n++);
        return n >= 0;
      },
    ),
    { numRuns: 5000 },
  );
  t.pass();
});
