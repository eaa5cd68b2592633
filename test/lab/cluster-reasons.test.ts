import test from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tandem } from '../helpers/cli.js';
import { sleep, until } from '../helpers/lab.js';
import { form, managedPair, type AnyStatus } from '../helpers/managed.js';
import { otherVersion } from '../helpers/other-version.js';

const peerOf = (s: AnyStatus | null, name: string) => s?.cluster?.members.find((m) => m.name === name);

test.serial(
  'a member with another password or another software version is unreachable, with the reason in status and the 0x8 bit, on both members',
  async (t) => {
    const p = await managedPair(t, true);
    await form(t, p, 'active-passive');

    // fw-b is given another password (the seed's "password has changed in between").
    const other = join(p.cluster.dir, 'other-password');
    writeFileSync(other, 'not the cluster password\n', { mode: 0o600 });
    let r = await p.cli('n2', 'cluster', 'password', '--password-file', other);
    t.is(r.code, 0, r.stderr);
    const unreachableBoth = async (reason: string) => {
      const [a, b] = [await p.status('n1'), await p.status('n2')];
      const seenByA = peerOf(a, 'fw-b');
      const seenByB = peerOf(b, 'fw-a');
      return seenByA?.unreachable === reason && seenByB?.unreachable === reason && (seenByA.bits & 0x8) !== 0 && (seenByB.bits & 0x8) !== 0;
    };
    t.true(await until(() => unreachableBoth('wrong_password'), 15_000), 'both name wrong_password');
    const text = (await tandem(['status', '--socket', p.sock('n1')])).stdout;
    t.regex(text, /fw-b .*0x0000c  enabled, unreachable \[unreachable: wrong_password\]/);

    // The right password again: reachable.
    r = await p.cli('n2', 'cluster', 'password', '--password-file', p.pw);
    t.is(r.code, 0, r.stderr);
    t.true(
      await until(async () => peerOf(await p.status('n1'), 'fw-b')?.unreachable === null && peerOf(await p.status('n2'), 'fw-a')?.unreachable === null, 15_000),
      'the same password again: reachable',
    );

    // fw-b is upgraded alone (another software version): it stops, and starts from the new build.
    const v = otherVersion('0.99.0');
    t.teardown(() => rmSync(v.dir, { recursive: true, force: true }));
    const n2 = p.cluster.node('n2');
    n2.process.kill('SIGTERM');
    const exited = await until(async () => n2.process.exitCode !== null || n2.process.signalCode !== null, 8000);
    t.true(exited, 'fw-b stopped');
    await sleep(200);
    p.cluster.restart('n2', undefined, v.bin);
    t.true(await until(() => unreachableBoth('software_version_mismatch'), 20_000), 'both name software_version_mismatch');
    const b = peerOf(await p.status('n1'), 'fw-b')!;
    t.is(b.softwareVersion, '0.99.0', 'fw-a shows the version fw-b runs');
    t.true((b.bits & 0x8) !== 0, `unreachable bit in ${b.hex}`);
  },
);
