import test from 'ava';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { askControl } from '../../src/api/control-socket.js';
import { LabCluster } from '../../src/lab/cluster.js';
import { tandem } from '../helpers/cli.js';
import { board, labFor, until } from '../helpers/lab.js';

const ROOT = join(__dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    const s = statSync(p, { throwIfNoEntry: false });
    return s?.isDirectory() && !s.isSymbolicLink() ? walk(p) : [p];
  });
}

/** `make overlay`, extracted into an empty directory (once for the file). */
function extracted(t: { teardown(fn: () => void): void }): string {
  const out = execFileSync('make', ['-s', '-C', ROOT, 'overlay'], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const tarball = join(ROOT, out);
  const dir = mkdtempSync(join(tmpdir(), 'tandem-extracted-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('tar', ['xzf', tarball, '-C', dir]);
  return dir;
}

test.serial('make overlay: versioned, only production dependencies, no absolute build path, the units pass systemd-analyze verify', (t) => {
  const dir = extracted(t);
  t.is(readFileSync(join(dir, 'usr/lib/tandem/VERSION'), 'utf8').trim(), pkg.version, 'the image carries its version');
  const modules = readdirSync(join(dir, 'usr/lib/tandem/node_modules')).sort();
  for (const dev of Object.keys(pkg.devDependencies)) t.false(modules.includes(dev.split('/')[0]!), `no development dependency ${dev}`);
  for (const dep of Object.keys(pkg.dependencies)) t.true(modules.includes(dep), `production dependency ${dep}`);
  const files = walk(dir);
  t.false(
    files.some((f) => /\.(ts|map)$/.test(f) && !f.endsWith('.d.ts')),
    'no TypeScript source or source map',
  );
  t.false(
    files.some((f) => f.includes('/dist/test/') || f.includes('/dist/bench/')),
    'no tests or benchmarks',
  );
  t.true(existsSync(join(dir, 'usr/lib/tandem/build/Release/tandem.node')), 'the addon, built for this architecture');
  // The build machine's paths: this checkout, its parent, the staging directory's.
  const leaks = files
    .filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile())
    .filter((f) => {
      const b = readFileSync(f);
      return b.includes(ROOT) || b.includes('/tmp/tandem-image-');
    });
  t.deepEqual(
    leaks.map((f) => relative(dir, f)),
    [],
    'no absolute build path in any file',
  );

  // Verified as they will run: this overlay on a base system's units (Debian's, from this machine).
  const units = join(dir, 'usr/lib/systemd/system');
  const ours = readdirSync(units);
  t.deepEqual(ours.sort(), ['tandem-console.service', 'tandem-firstboot.service', 'tandemd.service']);
  const root = mkdtempSync(join(tmpdir(), 'tandem-root-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  cpSync(dir, root, { recursive: true, verbatimSymlinks: true });
  for (const f of readdirSync('/usr/lib/systemd/system'))
    if (!ours.includes(f)) cpSync(join('/usr/lib/systemd/system', f), join(root, 'usr/lib/systemd/system', f), { recursive: true, verbatimSymlinks: true });
  const verify = () =>
    execFileSync('systemd-analyze', ['verify', `--root=${root}`, ...ours.map((u) => join(root, 'usr/lib/systemd/system', u))], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  t.notThrows(verify, 'systemd-analyze verify passes');
  const unit = readFileSync(join(units, 'tandemd.service'), 'utf8');
  for (const line of [
    'Type=notify',
    'Restart=always',
    'WatchdogSec=10',
    'TimeoutAbortSec=5',
    'Before=network-pre.target',
    'ExecStopPost=/usr/bin/tandemd --release-shared --config /etc/tandem/node.json',
  ])
    t.true(unit.includes(line), line);
  t.regex(readFileSync(join(units, 'tandem-console.service'), 'utf8'), /ExecStart=\/usr\/bin\/tandem console --config \/etc\/tandem\/node\.json --serial/);
  t.is(
    execFileSync('readlink', [join(dir, 'etc/systemd/system/serial-getty@ttyS0.service')], { encoding: 'utf8' }).trim(),
    '/dev/null',
    'the getty on the console line is masked',
  );
  // A unit whose command is missing fails the same check: the verification is not vacuous.
  cpSync(join(units, 'tandemd.service'), join(root, 'usr/lib/systemd/system/tandemd.service'));
  execFileSync('sed', ['-i', 's|/usr/bin/tandemd|/usr/bin/missing-tandemd|', join(root, 'usr/lib/systemd/system/tandemd.service')]);
  t.throws(verify);

  // make install DESTDIR=... installs the same tree.
  const dest = mkdtempSync(join(tmpdir(), 'tandem-destdir-'));
  t.teardown(() => rmSync(dest, { recursive: true, force: true }));
  execFileSync('make', ['-s', '-C', ROOT, 'install', `DESTDIR=${dest}`]);
  t.deepEqual(
    walk(dest)
      .map((f) => relative(dest, f))
      .sort(),
    files.map((f) => relative(dir, f)).sort(),
  );
});

test.serial(
  'the runtime runs from the extracted tree: tandem check passes on a lab configuration, tandemd starts with the sim board, tandem-firstboot sets factory state',
  async (t) => {
    const dir = extracted(t);
    const lab = await labFor(t);
    const cluster = await LabCluster.start(lab, board, { managed: { shared: true }, tandemd: join(dir, 'usr/bin/tandemd') });
    t.teardown(async () => {
      await cluster.stop();
      cluster.cleanup();
    });
    const cli = join(dir, 'usr/bin/tandem');
    const check = execFileSync(process.execPath, [cli, 'check', '--config', cluster.node('n1').config], { encoding: 'utf8' });
    t.regex(check, /n1\.json: OK/);
    t.true(
      await until(async () => ((await askControl(cluster.node('n1').socket, 'status')) as { standalone?: boolean }).standalone === true, 10_000),
      'tandemd from the image runs',
    );
    const version = execFileSync(process.execPath, [cli, 'version'], { encoding: 'utf8' });
    t.is(version.trim(), `tandem ${pkg.version}`);
    t.regex((await tandem(['status', '--socket', cluster.node('n1').socket])).stdout, /standalone/);

    // tandem-firstboot on the image root: a member's state is cleared, the factory configuration put back.
    mkdirSync(join(dir, 'var/lib/tandem'), { recursive: true });
    for (const f of ['cluster.json', 'system-state.json', 'admin.json']) writeFileSync(join(dir, 'var/lib/tandem', f), '{}');
    rmSync(join(dir, 'etc/tandem/node.json'));
    const out = execFileSync(join(dir, 'usr/sbin/tandem-firstboot'), { env: { ...process.env, TANDEM_ROOT: dir }, encoding: 'utf8' });
    t.regex(out, /factory state set/);
    t.deepEqual(readdirSync(join(dir, 'var/lib/tandem')).sort(), ['.factory-state-set']);
    t.is(statSync(join(dir, 'var/lib/tandem')).mode & 0o777, 0o700);
    const factory = JSON.parse(readFileSync(join(dir, 'etc/tandem/node.json'), 'utf8')) as { board: string; interfaces: { name: string }[] };
    t.is(factory.board, 'generic-x86');
    t.deepEqual(
      factory.interfaces.map((i) => i.name),
      ['eth0', 'eth1', 'eth2', 'eth3'],
    );
  },
);
