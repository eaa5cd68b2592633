/**
 * DOC: `make image`: the bootable appliance image, built by mkosi from src/image/appliance/ (issue 31)
 *
 *   node dist/src/image/build-appliance.js --out DIR [--board NAME] [--mkosi CMD] [--version V] [--signing-key DIR]
 *
 * Stages tandem's tree as `make install` does (build-image.ts) for the board, and hands it to mkosi with the
 * version: mkosi installs Debian 13 with the packages mkosi.conf lists, lays the tree over it, makes the unified
 * kernel image and the GPT disk of mkosi.repart/ (ESP, root slots A and B, data) with its own tools tree (no host
 * tool but mkosi itself). The results are DIR/tandem-VERSION-x86_64.img and, for update bundles (bundle.ts), the
 * root slot's file system (.root.raw) and the unified kernel image (.efi). The image carries the update key's public
 * half (signing-key.ts). An unchanged input (the staged tree, the image definition, the version, the key) reuses
 * the image built last: its inputs' digest is kept beside it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readSync,
  truncateSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { VERSION } from '../runtime/version.js';
import { stage } from './build-image.js';
import { compatibleFor } from '../runtime/firmware/bundle-manifest.js';
import { publicKeyring, signingKey, type SigningKey } from './signing-key.js';
import { optionOf } from './build-args.js';

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

/**
 * The length of the erofs file system at the start of `file`: its superblock (at 1024) holds the block size's
 * log2 (byte 12) and the block count (bytes 36..39, little-endian).
 */
export function erofsBytes(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const sb = Buffer.alloc(64);
    readSync(fd, sb, 0, 64, 1024);
    if (sb.readUInt32LE(0) !== 0xe0f5e1e2) throw new Error(`${file}: no erofs superblock (the root slot's format changed?)`);
    return sb.readUInt32LE(36) * 2 ** sb[12]!;
  } finally {
    closeSync(fd);
  }
}

export interface ApplianceOptions {
  /** Where the image goes (the artefacts are named after the firmware version). */
  outDir: string;
  board: string;
  /** The command that runs mkosi (argv). */
  mkosi: string[];
  /** The firmware version (IMAGE_VERSION, the slot's label, the bundle's): tandem's version unless given. */
  version?: string;
  /** The GnuPG home of the update key (made at the first build when absent and not given). */
  signingKey?: string;
  /** More trees laid over the image last (a test's variant of a build). */
  extraTrees?: string[];
}

export interface ApplianceImage {
  /** The GPT disk image. */
  file: string;
  /** The root slot's file system and the unified kernel image, as an update bundle carries them. */
  root: string;
  uki: string;
  version: string;
  board: string;
  key: SigningKey;
  reused: boolean;
}

/** Where the update key is made when none is given: beside the images, never in the repository. */
export const DEFAULT_KEY = join(ROOT, 'image', 'signing-key');
/** mkosi's work: the output it writes and its caches (packages, the tools tree), shared by every variant built here. */
const WORK = join(ROOT, 'image', '.mkosi');

export function applianceImage(o: ApplianceOptions): ApplianceImage {
  // mkosi takes relative paths from the definition's directory: everything here is absolute.
  const out = resolve(o.outDir);
  const version = o.version ?? VERSION.text;
  if (!/^[0-9][0-9a-z.~^]*$/i.test(version))
    throw new Error(`--version ${JSON.stringify(version)}: digits, letters and dots (no "+" or "-": systemd-boot reads them as boot tries)`);
  const base = join(out, `tandem-${version}-x86_64`);
  const files = { file: `${base}.img`, root: `${base}.root.raw`, uki: `${base}.efi` };
  const digestFile = `${files.file}.inputs`;
  const key = signingKey(o.signingKey ?? DEFAULT_KEY, o.signingKey === undefined);
  const staged = mkdtempSync(join(tmpdir(), 'tandem-appliance-'));
  try {
    stage(staged, o.board);
    // The update key this image accepts bundles signed with (systemd-pull reads /etc before /usr/lib).
    mkdirSync(join(staged, 'etc', 'systemd'), { recursive: true });
    writeFileSync(join(staged, 'etc', 'systemd', 'import-pubring.gpg'), publicKeyring(key));
    // What this box is, for the bundles it accepts (src/runtime/firmware/bundle-manifest.ts).
    writeFileSync(
      join(staged, 'usr', 'lib', 'tandem', 'firmware.json'),
      JSON.stringify({ board: o.board, compatible: compatibleFor(o.board), architecture: 'x86-64', updateKey: key.fingerprint }, null, 2) + '\n',
    );
    const h = createHash('sha256');
    h.update(`${version}\0${o.board}\0`);
    digestTree(DEFINITION, h);
    digestTree(staged, h);
    for (const t of o.extraTrees ?? []) digestTree(resolve(t), h);
    const digest = h.digest('hex');
    const built = Object.values(files).every((f) => existsSync(f));
    if (built && existsSync(digestFile) && readFileSync(digestFile, 'utf8').trim() === digest) return { ...files, version, board: o.board, key, reused: true };
    mkdirSync(out, { recursive: true });
    mkdirSync(join(WORK, 'cache'), { recursive: true });
    const [cmd, ...pre] = o.mkosi;
    execFileSync(
      cmd!,
      [
        ...pre,
        '--directory',
        DEFINITION,
        '--image-version',
        version,
        '--extra-tree',
        `${staged}:/`,
        ...(o.extraTrees ?? []).flatMap((t) => ['--extra-tree', `${resolve(t)}:/`]),
        '--output-directory',
        WORK,
        '--cache-directory',
        join(WORK, 'cache'),
        '--force',
        'build',
      ],
      { stdio: 'inherit' },
    );
    rmSync(digestFile, { force: true });
    renameSync(join(WORK, `tandem_${version}.raw`), files.file);
    renameSync(join(WORK, `tandem_${version}.root.raw`), files.root);
    // The split file is the whole slot; the bundle needs only the file system in front of it.
    truncateSync(files.root, erofsBytes(files.root));
    renameSync(join(WORK, `tandem_${version}.efi`), files.uki);
    writeFileSync(digestFile, digest + '\n');
    return { ...files, version, board: o.board, key, reused: false };
  } finally {
    rmSync(staged, { recursive: true, force: true });
  }
}

function main(argv: readonly string[]): void {
  const opt = (name: string) => optionOf(argv, name);
  const mkosi = (opt('mkosi') ?? process.env['MKOSI'] ?? 'mkosi').split(' ');
  const t0 = Date.now();
  const r = applianceImage({
    outDir: opt('out') ?? join(ROOT, 'image'),
    board: opt('board') ?? 'qemu-x86',
    mkosi,
    version: opt('version'),
    signingKey: opt('signing-key') ?? (process.env['SIGNING_KEY'] || undefined),
  });
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
