import test from 'ava';
import fc from 'fast-check';
import {
  decodeError,
  encodeMessage,
  NLMSG_ERROR,
  NLM_F_ACK_TLVS,
  parseAttrs,
  readString,
  readU32,
  splitMessages,
  attrString,
  attrU32,
  attrNested,
} from '../../src/wire/netlink.js';
import { newAddress, newAddress6, newMacvlan, parseAddress, parseLink, RTM_DELADDR, RTM_NEWLINK, setArpStrict } from '../../src/wire/rtnetlink.js';
import { parseIpv6 } from '../../src/wire/ipv6.js';

test('a macvlan request carries name, parent, MAC and the nested kind', (t) => {
  const msg = newMacvlan(9, 'tsh09', 3, Uint8Array.of(0x10, 0, 0, 0, 9, 7));
  const split = splitMessages(msg);
  if (!split.ok) return t.fail(split.reason);
  const [m] = split.messages;
  t.is(m!.type, RTM_NEWLINK);
  t.is(m!.seq, 9);
  const attrs = parseAttrs(m!.body.subarray(16));
  t.is(readString(attrs.get(3)), 'tsh09');
  t.is(readU32(attrs.get(5)), 3);
  t.deepEqual([...attrs.get(1)!], [0x10, 0, 0, 0, 9, 7]);
  const info = parseAttrs(attrs.get(18)!);
  t.is(readString(info.get(1)), 'macvlan');
  t.is(readU32(parseAttrs(info.get(2)!).get(1)), 1, 'private mode');
});

test('nested attributes round-trip and lengths are 4-aligned', (t) => {
  const msg = encodeMessage(1, 0, 1, new Uint8Array(3), [attrString(1, 'ab'), attrNested(2, [attrU32(7, 42)])]);
  t.is(msg.length % 4, 0);
  const m = (splitMessages(msg) as { ok: true; messages: { body: Uint8Array }[] }).messages[0]!;
  const attrs = parseAttrs(m.body.subarray(4));
  t.is(readString(attrs.get(1)), 'ab');
  t.is(readU32(parseAttrs(attrs.get(2)!).get(7)), 42);
  t.true(setArpStrict(1, 2).length > 16);
});

test('an error with an extended ack gives the errno and the kernel text', (t) => {
  const body = new Uint8Array(4 + 16 + 12);
  const v = new DataView(body.buffer);
  v.setInt32(0, -17, true); // EEXIST
  v.setUint32(4, 16, true); // original header only (capped)
  v.setUint16(20, 4 + 7, true);
  v.setUint16(22, 1, true);
  body.set(new TextEncoder().encode('exists\0'), 24);
  const e = decodeError({ type: NLMSG_ERROR, flags: NLM_F_ACK_TLVS | 0x100, seq: 1, pid: 0, body });
  t.deepEqual(e, { errno: 17, message: 'exists' });
  t.deepEqual(decodeError({ type: NLMSG_ERROR, flags: 0, seq: 1, pid: 0, body: new Uint8Array(20) }), { errno: 0 });
});

test('netlink parsers never throw on random bytes', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const split = splitMessages(bytes);
      if (split.ok)
        for (const m of split.messages) {
          parseLink(m);
          decodeError(m);
          parseAttrs(m.body);
        }
      parseAttrs(bytes);
      return true;
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('address messages parse back: family, address, prefix, link, added or deleted; others are refused', (t) => {
  const one = (bytes: Uint8Array) => (splitMessages(bytes) as { ok: true; messages: Parameters<typeof parseAddress>[0][] }).messages[0]!;
  const v4 = one(newAddress(1, 7, '198.18.2.1', 24));
  t.deepEqual(parseAddress(v4), { index: 7, family: 4, address: '198.18.2.1', prefix: 24, deleted: false });
  t.deepEqual(parseAddress({ ...v4, type: RTM_DELADDR }), { index: 7, family: 4, address: '198.18.2.1', prefix: 24, deleted: true });
  const v6 = one(newAddress6(2, 3, parseIpv6('2001:2:0:2::1')!, 64));
  t.deepEqual(parseAddress(v6), { index: 3, family: 6, address: '2001:2:0:2::1', prefix: 64, deleted: false });
  t.is(parseAddress(one(newMacvlan(9, 'x', 3, new Uint8Array(6)))), undefined, 'a link message is not an address');
  t.is(parseAddress({ ...v4, body: v4.body.subarray(0, 6) }), undefined, 'truncated header');
  const noAddr = encodeMessage(RTM_DELADDR, 0, 1, Uint8Array.of(2, 24, 0, 0, 7, 0, 0, 0));
  t.is(parseAddress(one(noAddr)), undefined, 'no address attribute');
});
