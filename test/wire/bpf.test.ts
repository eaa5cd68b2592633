import test from 'ava';
import { execFileSync } from 'node:child_process';
import { heartbeatFilter, neighbourReplyFilter } from '../../src/wire/bpf.js';
import { arpRequest } from '../../src/wire/arp.js';
import { parseIpv6 } from '../../src/wire/ipv6.js';
import { neighbourSolicitation, unsolicitedAdvertisement } from '../../src/wire/ndp.js';

/** tcpdump's own compilation of the same expression: an independent check of our assembler. */
function tcpdumpDd(expr: string): number[][] {
  const out = execFileSync('tcpdump', ['-dd', expr], { encoding: 'utf8' });
  return [...out.matchAll(/\{ (0x[0-9a-f]+), (\d+), (\d+), (0x[0-9a-f]+) \}/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]);
}

function ours(filter: Uint8Array): number[][] {
  const v = new DataView(filter.buffer);
  const out: number[][] = [];
  for (let i = 0; i < filter.length; i += 8) out.push([v.getUint16(i, true), filter[i + 2]!, filter[i + 3]!, v.getUint32(i + 4, true)]);
  return out;
}

/** The accept return's snap length differs (tcpdump: 262144, ours: 65535); everything else must match. */
const normalise = (prog: number[][]) => prog.map(([c, jt, jf, k]) => (c === 0x06 && k !== 0 ? [c, jt, jf, 1] : [c, jt, jf, k]));

test('the heartbeat filter is what tcpdump compiles for the same expression', (t) => {
  t.deepEqual(normalise(ours(heartbeatFilter())), normalise(tcpdumpDd('ether[0:4] = 0x11000000 and ip and udp dst port 999')));
});

test('the per-cluster filter also checks the cluster byte', (t) => {
  t.deepEqual(normalise(ours(heartbeatFilter(7))), normalise(tcpdumpDd('ether[5] = 7 and ether[0:4] = 0x11000000 and ip and udp dst port 999')));
});

/** The few classic BPF instructions the neighbour filter uses, run as the kernel would (out of range: drop). */
function runFilter(prog: Uint8Array, frame: Uint8Array): number {
  const v = new DataView(prog.buffer, prog.byteOffset);
  let a = 0;
  for (let pc = 0; pc * 8 < prog.length; pc++) {
    const code = v.getUint16(pc * 8, true);
    const jt = prog[pc * 8 + 2]!;
    const jf = prog[pc * 8 + 3]!;
    const k = v.getUint32(pc * 8 + 4, true);
    if (code === 0x28 || code === 0x30) {
      const size = code === 0x28 ? 2 : 1;
      if (k + size > frame.length) return 0;
      a = size === 2 ? (frame[k]! << 8) | frame[k + 1]! : frame[k]!;
    } else if (code === 0x15) {
      pc += a === k ? jt : jf;
    } else if (code === 0x06) {
      return k;
    } else {
      throw new Error(`instruction 0x${code.toString(16)} not interpreted here`);
    }
  }
  return 0;
}

test('the neighbour filter passes ARP replies and neighbour advertisements, nothing else', (t) => {
  const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
  const f = neighbourReplyFilter();
  const reply = arpRequest(mac, '198.18.2.11', '198.18.2.254');
  reply[21] = 2;
  t.not(runFilter(f, reply), 0, 'ARP reply');
  t.is(runFilter(f, arpRequest(mac, '198.18.2.11', '198.18.2.254')), 0, 'ARP request');
  t.not(runFilter(f, unsolicitedAdvertisement(mac, parseIpv6('2001:2:0:2::1')!)), 0, 'neighbour advertisement');
  t.is(runFilter(f, neighbourSolicitation(mac, parseIpv6('2001:2:0:2::11')!, parseIpv6('2001:2:0:2::fe')!)), 0, 'neighbour solicitation');
  const udp6 = unsolicitedAdvertisement(mac, parseIpv6('2001:2:0:2::1')!);
  udp6[20] = 17;
  t.is(runFilter(f, udp6), 0, 'IPv6 that is not ICMPv6');
  t.is(runFilter(f, new Uint8Array(10)), 0, 'a runt');
  const ipv4 = reply.slice();
  ipv4[12] = 0x08;
  ipv4[13] = 0x00;
  t.is(runFilter(f, ipv4), 0, 'IPv4');
});
