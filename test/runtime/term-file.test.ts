import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTerm, termFile, TermWriter } from '../../src/runtime/pair/term-file.js';

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'tandem-term-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('no file yet: term 0; a written term reads back; only the newest of a burst is kept', async (t) => {
  const d = dir(t);
  t.is(readTerm(d), 0);
  const failures: string[] = [];
  const w = new TermWriter(d, (e) => failures.push(e));
  for (const term of [3, 4, 5, 9]) w.write(term);
  await w.settled();
  t.is(readTerm(d), 9);
  t.is(readFileSync(termFile(d), 'utf8'), '9\n');
  t.deepEqual(failures, []);
});

test('a damaged file is an error naming the file and what it holds', (t) => {
  const d = dir(t);
  writeFileSync(termFile(d), 'twelve\n');
  t.throws(() => readTerm(d), { message: `${termFile(d)}: expected a takeover term 0..4294967295, got "twelve\\n"` });
  writeFileSync(termFile(d), '4294967296\n');
  t.throws(() => readTerm(d), { message: /expected a takeover term 0\.\.4294967295, got "4294967296\\n"/ });
});

test('a state directory that cannot be written is reported, not thrown', async (t) => {
  const failures: string[] = [];
  const w = new TermWriter('/proc/no-such-dir', (e) => failures.push(e));
  w.write(7);
  await w.settled();
  t.is(failures.length, 1);
  t.regex(failures[0]!, /ENOENT|no such file/i);
});
