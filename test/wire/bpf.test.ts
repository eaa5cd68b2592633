import test from 'ava';
import { execFileSync } from 'node:child_process';
import { heartbeatFilter } from '../../src/wire/bpf.js';

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
