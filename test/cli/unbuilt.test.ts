import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

for (const name of ['tandem', 'tandemd']) {
  test(`bin/${name} in a checkout that was not built says to run make, with the directory, and exits 1`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-unbuilt-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(ROOT, 'bin', name), join(dir, 'bin', name));
    const r = spawnSync(process.execPath, [join(dir, 'bin', name), 'status'], { encoding: 'utf8' });
    t.is(r.status, 1);
    t.is(r.stderr, `${name}: not built in ${dir} (no dist/): run make there, then try again\n`);
    t.notRegex(r.stderr, /MODULE_NOT_FOUND|at Module/);
  });
}
