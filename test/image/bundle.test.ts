/**
 * Update bundles (src/image/bundle.ts) and their check on the box (src/runtime/firmware/bundle-check.ts), with real
 * gpg keys and tar archives: a good bundle is unpacked for systemd-sysupdate; a bad signature, another board, a
 * version not newer, a truncated or damaged archive, something that is not a bundle, and a data partition too full
 * are each refused, naming the file and the reason, with nothing left behind.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packBundle } from '../../src/image/bundle.js';
import { publicKeyring, signingKey, type SigningKey } from '../../src/image/signing-key.js';
import { checkBundle } from '../../src/runtime/firmware/bundle-check.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-bundle-test-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

let key: SigningKey;
let stranger: SigningKey;
const keyring = join(dir, 'import-pubring.gpg');
const box = { version: '0.2.0', architecture: 'x86-64', compatible: 'tandem-qemu-x86' };
const root = join(dir, 'root.raw');
const uki = join(dir, 'uki.efi');

test.before(() => {
  key = signingKey(join(dir, 'key'), true);
  stranger = signingKey(join(dir, 'stranger'), true);
  writeFileSync(keyring, publicKeyring(key));
  writeFileSync(root, Buffer.alloc(3 * 2 ** 20, 0x5a));
  writeFileSync(uki, Buffer.alloc(256 * 1024, 0x4d));
});

const parts = (over: Partial<Parameters<typeof packBundle>[0]> = {}) => ({ version: '0.2.1', board: 'qemu-x86', root, uki, key, ...over });
let n = 0;
const into = () => join(dir, `incoming-${++n}`);

test.serial('a good bundle: signed, for this board, newer: unpacked where systemd-sysupdate reads it', async (t) => {
  const file = await packBundle(parts(), join(dir, 'good.bundle'));
  t.deepEqual(execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n'), [
    'manifest.json',
    'SHA256SUMS',
    'SHA256SUMS.gpg',
    'tandem_0.2.1.efi',
    'tandem_0.2.1.root.raw',
  ]);
  const to = into();
  const m = await checkBundle(file, { keyring, box, into: to });
  t.like(m, { version: '0.2.1', board: 'qemu-x86', compatible: 'tandem-qemu-x86', architecture: 'x86-64' });
  t.deepEqual(readdirSync(to).sort(), ['SHA256SUMS', 'SHA256SUMS.gpg', 'manifest.json', 'tandem_0.2.1.efi', 'tandem_0.2.1.root.raw']);
  t.true(readFileSync(join(to, 'tandem_0.2.1.root.raw')).equals(readFileSync(root)));
  // systemd-sysupdate's own check of the same files: sha256sum's format, and gpg's verdict on the signature.
  t.notThrows(() => execFileSync('sha256sum', ['--check', '--status', 'SHA256SUMS'], { cwd: to }));
  t.notThrows(() => execFileSync('gpgv', ['--keyring', keyring, join(to, 'SHA256SUMS.gpg'), join(to, 'SHA256SUMS')], { stdio: 'ignore' }));
});

async function refused(t: import('ava').ExecutionContext, file: string, reason: RegExp, o: { box?: typeof box } = {}): Promise<void> {
  const to = into();
  const e = await t.throwsAsync(checkBundle(file, { keyring, box: o.box ?? box, into: to }));
  t.true(e!.message.startsWith(`${file}: `), `the file named: ${e!.message}`);
  t.regex(e!.message, reason);
  t.false(existsSync(to), 'nothing left unpacked');
}

test.serial('a bundle signed by another key is refused: bad signature', async (t) => {
  await refused(
    t,
    await packBundle(parts({ key: stranger }), join(dir, 'stranger.bundle')),
    /bad signature: SHA256SUMS is not signed by this box's update key/,
  );
});

test.serial('a bundle for another board is refused, naming both', async (t) => {
  const file = await packBundle(parts({ board: 'generic-x86', manifest: { compatible: 'tandem-generic-x86' } }), join(dir, 'other-board.bundle'));
  await refused(t, file, /for tandem-generic-x86 \(board generic-x86\): this box is tandem-qemu-x86$/);
});

test.serial('a bundle for another architecture, or not newer than the running version, is refused', async (t) => {
  await refused(t, await packBundle(parts({ manifest: { architecture: 'arm64' } }), join(dir, 'arm.bundle')), /architecture arm64: this box is x86-64$/);
  await refused(t, await packBundle(parts({ version: '0.2.0' }), join(dir, 'same.bundle')), /version 0.2.0 is not newer than the running 0.2.0$/);
});

test.serial('a truncated bundle and a damaged one are refused', async (t) => {
  const good = await packBundle(parts(), join(dir, 'cut.bundle'));
  truncateSync(good, Math.floor(statSync(good).size / 2));
  await refused(t, good, /not a whole tar archive \(truncated or damaged/);
  const damaged = await packBundle(parts(), join(dir, 'damaged.bundle'));
  // A byte in the middle of the root file system (the last member, the bulk of the archive).
  const fd = openSync(damaged, 'r+');
  writeSync(fd, Buffer.from([0x00]), 0, 1, statSync(damaged).size - 2 ** 20);
  closeSync(fd);
  await refused(t, damaged, /tandem_0\.2\.1\.root\.raw: its SHA-256 is not the signed one \(damaged in transfer\)$/);
});

test.serial('a file that is not a bundle, and a missing one, are refused', async (t) => {
  const other = join(dir, 'other.tar');
  writeFileSync(join(dir, 'notes.txt'), 'hello');
  execFileSync('tar', ['-cf', other, '-C', dir, 'notes.txt']);
  await refused(t, other, /not a tandem update bundle: it has no manifest\.json \(it holds notes\.txt\)/);
  await refused(t, join(dir, 'nowhere.bundle'), /: no such file$/);
});

test.serial('a data partition without room for the bundle: refused before anything is written', async (t) => {
  const small = join(dir, 'small');
  mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tandem-test-small', small]);
  t.teardown(() => execFileSync('umount', [small]));
  const file = await packBundle(parts(), join(dir, 'big.bundle'));
  const to = join(small, 'incoming');
  const e = await t.throwsAsync(checkBundle(file, { keyring, box, into: to }));
  t.regex(e!.message, /the data partition has \d+ MiB free, unpacking this bundle needs \d+ MiB$/);
  t.false(existsSync(to));
});
