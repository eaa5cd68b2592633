/**
 * DOC: `make image`: the bootable appliance image, built by mkosi from src/image/appliance/ (issue 31)
 *
 *   node dist/src/image/build-appliance.js --out DIR [--board NAME] [--mkosi CMD]
 *
 * Stages tandem's tree as `make install` does (build-image.ts) for the board, and hands it to mkosi with the
 * version: mkosi installs Debian 13 with the packages mkosi.conf lists, lays the tree over it, makes the unified
 * kernel image and the GPT disk of mkosi.repart/ (ESP, root slots A and B, data) with its own tools tree (no host
 * tool but mkosi itself). The result is DIR/tandem-VERSION-x86_64.img. An unchanged input (the staged tree, the
 * image definition, the version) reuses the image built last: its inputs' digest is kept beside it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { VERSION } from '../runtime/version.js';
import { stage } from './build-image.js';

const ROOT = join(__dirname, '..', '..', '..');
const DEFINITION = join(ROOT, 'src', 'image', 'appliance');

/** Every entry under `dir` (its path, mode, and content or link target), in a stable order: the digest of an input tree. */
function digestTree(dir: string, into: ReturnType<typeof createHash>, base = dir): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    into.update(`${relative(base, p)}\0${st.mode}\0`);
    if (st.isDirectory()) digestTree(p, into, base);
    else into.update(st.isSymbolicLink() ? readlinkSync(p) : readFileSync(p));
  }
}

export function applianceImage(outDir: string, boardName: string, mkosi: string[]): { file: string; reused: boolean } {
  // mkosi takes relative paths from the definition's directory: everything here is absolute.
  const out = resolve(outDir);
  const file = join(out, `tandem-${VERSION.text}-x86_64.img`);
  const digestFile = `${file}.inputs`;
  const staged = mkdtempSync(join(tmpdir(), 'tandem-appliance-'));
  try {
    stage(staged, boardName);
    const h = createHash('sha256');
    h.update(`${VERSION.text}\0${boardName}\0`);
    digestTree(DEFINITION, h);
    digestTree(staged, h);
    const digest = h.digest('hex');
    if (existsSync(file) && existsSync(digestFile) && readFileSync(digestFile, 'utf8').trim() === digest) return { file, reused: true };
    mkdirSync(out, { recursive: true });
    const work = join(out, '.mkosi');
    mkdirSync(join(work, 'cache'), { recursive: true });
    const [cmd, ...pre] = mkosi;
    execFileSync(
      cmd!,
      [
        ...pre,
        '--directory',
        DEFINITION,
        '--image-version',
        VERSION.text,
        '--extra-tree',
        `${staged}:/`,
        '--output-directory',
        work,
        '--cache-directory',
        join(work, 'cache'),
        '--force',
        'build',
      ],
      { stdio: 'inherit' },
    );
    renameSync(join(work, `tandem_${VERSION.text}.raw`), file);
    writeFileSync(digestFile, digest + '\n');
    return { file, reused: false };
  } finally {
    rmSync(staged, { recursive: true, force: true });
  }
}

function main(argv: readonly string[]): void {
  const opt = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = opt('out') ?? join(ROOT, 'image');
  const mkosi = (opt('mkosi') ?? process.env['MKOSI'] ?? 'mkosi').split(' ');
  const t0 = Date.now();
  const r = applianceImage(out, opt('board') ?? 'qemu-x86', mkosi);
  const size = statSync(r.file).size;
  process.stdout.write(
    `${r.file}: ${r.reused ? 'unchanged inputs, the last build reused' : `built in ${Math.round((Date.now() - t0) / 1000)} s`}, ${(size / 2 ** 20).toFixed(0)} MiB\n`,
  );
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`build-appliance: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
