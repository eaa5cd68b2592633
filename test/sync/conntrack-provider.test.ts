import test from 'ava';
import { ConntrackProvider } from '../../src/sync/conntrack-provider.js';
import type { Chunk } from '../../src/sync/provider.js';
import { REC, RECORD_BYTES, REC_DESTROYED } from '../../src/wire/conn-record.js';

/** A conntrack record for 198.18.0.n (TCP, 60 s timeout). */
function rec(n: number): Uint8Array {
  const r = new Uint8Array(RECORD_BYTES);
  r[0] = 6;
  new DataView(r.buffer).setUint32(REC.origSrc, 0xc6120000 + n);
  new DataView(r.buffer).setUint32(REC.timeout, 60);
  return r;
}

/** The kernel's side, faked: a table to dump (or a failure), and the overrun callback of the event reader. */
function fakeKernel(dumps: (Uint8Array[] | Error)[]) {
  const k = {
    overrun: (_e: Error) => undefined as void,
    dumps: 0,
    dump: async () => {
      const next = dumps[Math.min(k.dumps++, dumps.length - 1)]!;
      if (next instanceof Error) throw next;
      return next;
    },
    follow: (_r: (rec: Uint8Array) => void, o: (e: Error) => void) => {
      k.overrun = o;
      return { close: () => undefined };
    },
  };
  return k;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a dump that fails after an event overrun is logged and tried again, and the retry sends the difference', async (t) => {
  const kernel = fakeKernel([[rec(1), rec(2)], new Error('netlink: ENOBUFS'), [rec(2), rec(3)]]);
  const logged: { event: string; fields: Record<string, unknown> }[] = [];
  const p = new ConntrackProvider({ ignore: [], kernel, redumpRetryMs: 50, log: { log: (_l, event, fields = {}) => void logged.push({ event, fields }) } });
  const sent: Chunk[] = [];
  await p.startSource((c) => sent.push(c));
  kernel.overrun(new Error('ENOBUFS'));
  kernel.overrun(new Error('ENOBUFS')); // a second overrun while the dump runs joins it
  await settle(20);
  t.like(logged.find((l) => l.event === 'conntrack_redump_failed')?.fields, { error: 'netlink: ENOBUFS', retryMs: 50 });
  t.is(kernel.dumps, 2, 'one dump for both overruns');
  await settle(150);
  t.is(kernel.dumps, 3, 'tried again');
  t.truthy(logged.find((l) => l.event === 'conntrack_events_overrun'));
  const records = sent.flatMap((c) => Array.from({ length: c.count }, (_, i) => c.body!.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES)));
  const addr = (r: Uint8Array) => new DataView(r.buffer, r.byteOffset).getUint32(4) - 0xc6120000;
  t.deepEqual(records.filter((r) => r[2]! & REC_DESTROYED).map(addr), [1], '198.18.0.1 went while events were lost');
  t.deepEqual(
    records
      .filter((r) => !(r[2]! & REC_DESTROYED))
      .map(addr)
      .sort(),
    [2, 3],
  );
  p.stopSource();
});

test('no retry once the node is no longer the source', async (t) => {
  const kernel = fakeKernel([[rec(1)], new Error('EPERM')]);
  const p = new ConntrackProvider({ ignore: [], kernel, redumpRetryMs: 30, log: { log: () => undefined } });
  await p.startSource(() => undefined);
  kernel.overrun(new Error('ENOBUFS'));
  await settle(10);
  p.stopSource();
  await settle(100);
  t.is(kernel.dumps, 2, 'the failed dump was not retried after the source stopped');
});
