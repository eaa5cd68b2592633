import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..', '..');

test('make (the default goal) builds the GPIO/watchdog simulator that board sim and docs/bypass.md rely on, not only make test', async (t) => {
  // -n: print what it would run; -B: as if nothing were built yet.
  const { stdout } = await promisify(execFile)('make', ['-n', '-B'], { cwd: ROOT, maxBuffer: 16 << 20 });
  t.regex(stdout, /-o dist\/sim\/hw-sim\.so test\/sim\/hw-sim\.c/);
});
