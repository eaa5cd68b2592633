/**
 * DOC: `make overlay` and `make install DESTDIR=...`: the tree tandem adds to an appliance image (make image boots one)
 *
 *   node dist/src/image/build-image.js --out DIR [--board NAME]      DIR/tandem-VERSION-ARCH.tar.gz
 *   node dist/src/image/build-image.js --destdir DIR [--board NAME]  the same tree, installed into DIR
 *
 * The tree (docs/appliance-image.md): the compiled runtime (JavaScript only:
 * no TypeScript, tests, benchmarks or source maps), its production
 * dependencies (npm's own list, with native modules reduced to their built
 * .node file), the addon built here for this architecture, the board files
 * and docs, `tandem`/`tandemd` on the PATH, the systemd units (enabled) with
 * the serial getty masked on the board's console line, tandem-firstboot, and
 * the factory configuration. Files are root's; the tarball is sorted and
 * dated at the epoch, so two builds of one commit are the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { resolveBoard } from '../board/board-file.js';
import { VERSION } from '../runtime/version.js';
import { consoleUnit, factoryConfig, firstbootScript, firstbootUnit, LAYOUT, tandemdUnit, ttyName } from './units.js';
import { optionOf } from './build-args.js';

const ROOT = join(__dirname, '..', '..', '..');

function write(path: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

function link(path: string, target: string): void {
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true });
  symlinkSync(target, path);
}

/** The production packages as npm resolves them (paths under node_modules). */
function productionPackages(): string[] {
  // Without the Makefile's npm_config_nodedir (a node-gyp setting npm itself warns about).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.toLowerCase() !== 'npm_config_nodedir'));
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(join(ROOT, 'node_modules') + '/'))
    .map((l) => relative(ROOT, l));
}

/** A native module's build directory holds the machine's paths (Makefiles, config.gypi): keep only the built .node. */
function keep(src: string): boolean {
  const parts = src.split('/');
  const b = parts.lastIndexOf('build');
  if (b < 0) return true;
  if (statSync(src).isDirectory()) return parts.length === b + 1 || (parts[b + 1] === 'Release' && parts.length === b + 2);
  return parts[b + 1] === 'Release' && src.endsWith('.node');
}

export function stage(dest: string, boardName: string): void {
  const l = LAYOUT;
  const lib = join(dest, l.lib);
  const board = resolveBoard(boardName);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  write(
    join(lib, 'package.json'),
    JSON.stringify(
      { name: pkg['name'], version: pkg['version'], description: pkg['description'], license: pkg['license'], dependencies: pkg['dependencies'] },
      null,
      2,
    ) + '\n',
  );
  write(join(lib, 'VERSION'), VERSION.text + '\n');
  cpSync(join(ROOT, 'dist', 'src'), join(lib, 'dist', 'src'), { recursive: true, filter: (s) => statSync(s).isDirectory() || s.endsWith('.js') });
  for (const d of ['bin', 'board', 'docs']) cpSync(join(ROOT, d), join(lib, d), { recursive: true });
  cpSync(join(ROOT, 'README.md'), join(lib, 'README.md'));
  cpSync(join(ROOT, 'build', 'Release', 'tandem.node'), join(lib, 'build', 'Release', 'tandem.node'));
  for (const p of productionPackages()) cpSync(join(ROOT, p), join(lib, p), { recursive: true, filter: keep });

  link(join(dest, l.bin, 'tandem'), relative(join(dest, l.bin), join(lib, 'bin', 'tandem')));
  link(join(dest, l.bin, 'tandemd'), relative(join(dest, l.bin), join(lib, 'bin', 'tandemd')));
  write(join(dest, l.sbin, 'tandem-firstboot'), firstbootScript(l), 0o755);

  const factory = JSON.stringify(factoryConfig(board, l, boardName), null, 2) + '\n';
  write(join(lib, 'factory', 'node.json'), factory);
  write(join(dest, l.etc, 'node.json'), factory);

  const units: [string, string | null][] = [
    ['tandemd.service', tandemdUnit(l)],
    ['tandem-console.service', consoleUnit(l, board)],
    ['tandem-firstboot.service', firstbootUnit(l)],
  ];
  for (const [name, text] of units) {
    if (text === null) continue;
    write(join(dest, l.units, name), text);
    link(join(dest, 'etc/systemd/system/multi-user.target.wants', name), join(l.units, name));
  }
  const tty = ttyName(board);
  if (tty) link(join(dest, 'etc/systemd/system', `serial-getty@${tty}.service`), '/dev/null');
}

function main(argv: readonly string[]): void {
  const opt = (name: string) => optionOf(argv, name);
  const boardName = opt('board') ?? 'generic-x86';
  const destdir = opt('destdir');
  const out = opt('out');
  if (!destdir && !out) throw new Error('give --out DIR (a tarball) or --destdir DIR (an installed tree)');
  if (destdir) {
    stage(destdir, boardName);
    process.stdout.write(`installed tandem ${VERSION.text} into ${destdir}\n`);
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'tandem-image-'));
  try {
    stage(tmp, boardName);
    mkdirSync(out!, { recursive: true });
    const file = join(out!, `tandem-${VERSION.text}-${process.arch}.tar.gz`);
    execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-czf', file, '-C', tmp, ...readdirSync(tmp)]);
    process.stdout.write(`${file}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`build-image: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
