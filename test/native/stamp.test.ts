import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');

test("receive stamps: a frame's wall-clock stamp moved onto the monotonic clock; a wall clock stepped back never puts an arrival after now", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-stamp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'stamp-check');
  // The addon's own source, compiled on its own with the addon's warnings as errors.
  await exec('cc', [
    '-std=gnu11',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-O2',
    '-I',
    join(ROOT, 'native'),
    '-o',
    bin,
    join(ROOT, 'test/native/stamp-check.c'),
    join(ROOT, 'native/stamp.c'),
  ]);
  const out = Object.fromEntries(
    (await exec(bin)).stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
  t.is(out['in_time'], '-30000000', '30 ms before the read is 30 ms before now');
  // Without the clamp this is +600 s: a peer dead since the step would be heard "in the future" for 600 s.
  t.is(out['clock_stepped_back'], '0', 'stepped back 600 s: clamped to now');
  t.is(out['no_stamp'], '0');
});
