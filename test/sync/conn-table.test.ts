import test from 'ava';
import fc from 'fast-check';
import { ConnTable } from '../../src/sync/conn-table.js';
import { keyHash, REC, RECORD_BYTES, recordKey } from '../../src/wire/conn-record.js';

function rec(n: number, timeout = 60): Uint8Array {
  const r = new Uint8Array(RECORD_BYTES);
  r[0] = 6;
  new DataView(r.buffer).setUint32(REC.origSrc, n);
  new DataView(r.buffer).setUint32(REC.timeout, timeout);
  return r;
}

test('put, replace, remove and reuse slots; the digest is the XOR of the keys held', (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 300 })), { maxLength: 400 }), (ops) => {
      const table = new ConnTable(4);
      const model = new Map<string, Uint8Array>();
      for (const [add, n] of ops) {
        const r = rec(n, n % 7);
        const key = recordKey(r);
        if (add) {
          table.put(r, 0, n);
          model.set(key, r);
        } else {
          table.remove(key);
          model.delete(key);
        }
      }
      let xor = 0;
      for (const r of model.values()) xor ^= keyHash(r);
      if (table.size !== model.size || table.digest !== xor >>> 0) return false;
      for (const [key, r] of model) {
        const slot = table.slotOf(key);
        if (slot === undefined || Buffer.compare(table.copy(slot), r) !== 0) return false;
      }
      const packed = table.pack(16);
      return packed.reduce((a, c) => a + c.count, 0) === model.size && packed.every((c) => c.body.length === c.count * RECORD_BYTES);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('expiringBy names exactly the held entries that expire by then, whatever came before (its skip bound never hides one)', (t) => {
  type Op = { kind: 'put' | 'remove' | 'scan'; n: number; at: number };
  const op = fc.record({
    kind: fc.constantFrom<Op['kind']>('put', 'put', 'remove', 'scan'),
    n: fc.integer({ min: 0, max: 40 }),
    at: fc.integer({ min: 0, max: 100 }),
  });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const table = new ConnTable(2);
      const model = new Map<string, number>(); // key -> expiry
      for (const { kind, n, at } of ops) {
        const key = recordKey(rec(n));
        if (kind === 'put') {
          table.put(rec(n), 0, at);
          model.set(key, at);
        } else if (kind === 'remove') {
          table.remove(key);
          model.delete(key);
        } else {
          const want = [...model].filter(([, e]) => e <= at).map(([k]) => table.slotOf(k)!);
          const got = table.expiringBy(at);
          if (JSON.stringify([...got].sort((a, b) => a - b)) !== JSON.stringify(want.sort((a, b) => a - b))) return false;
          // The caller (the refresh) gives each a later expiry, as the provider does.
          for (const [k, e] of model) {
            if (e > at) continue;
            table.setExpiry(table.slotOf(k)!, at + 1 + (n % 30));
            model.set(k, at + 1 + (n % 30));
          }
        }
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('growing past a page keeps every record where it was (no copy) and every record readable', (t) => {
  const table = new ConnTable(1024);
  for (let n = 0; n < 5000; n++) table.put(rec(n), 0, n);
  const [firstPage] = table.at(table.slotOf(recordKey(rec(0)))!);
  for (let n = 5000; n < 12_000; n++) table.put(rec(n), 0, n);
  t.is(table.at(table.slotOf(recordKey(rec(0)))!)[0], firstPage, 'the first page is the same object after two more pages');
  for (let n = 0; n < 12_000; n += 3) table.remove(recordKey(rec(n)));
  for (let n = 20_000; n < 24_000; n++) table.put(rec(n), 0, n); // reuses the freed slots first
  const wrong: string[] = [];
  let held = 0;
  for (let n = 0; n < 24_000; n++) {
    const slot = table.slotOf(recordKey(rec(n)));
    const want = (n < 12_000 && n % 3 !== 0) || n >= 20_000;
    if (want !== (slot !== undefined)) wrong.push(`${n}: held ${slot !== undefined}`);
    else if (slot !== undefined && (held++, Buffer.compare(table.copy(slot), rec(n)) !== 0)) wrong.push(`${n}: other bytes`);
  }
  t.deepEqual(wrong.slice(0, 5), []);
  t.is(table.size, held);
  t.is(
    table.pack(4096).reduce((a, c) => a + c.count, 0),
    held,
  );
  const soon = [1, 2, 4, 5, 7, 8, 10].map((n) => table.slotOf(recordKey(rec(n)))!);
  t.deepEqual(
    table.expiringBy(10).sort((a, b) => a - b),
    soon.sort((a, b) => a - b),
    'expiringBy scans every page',
  );
});
