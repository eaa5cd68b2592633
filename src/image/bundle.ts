/**
 * DOC: `make bundle`: a signed update bundle of the appliance image's build (docs/appliance-image.md)
 *
 *   node dist/src/image/bundle.js --out DIR [--board NAME] [--mkosi CMD] [--version V] [--signing-key DIR] [--extra-tree DIR]...
 *
 * Builds the image (or reuses it: build-appliance.ts) and packs what an update writes into DIR/tandem-V-BOARD.bundle,
 * a tar archive of:
 *
 *   manifest.json     product, firmware version, architecture, board, compatible string
 *   SHA256SUMS        the SHA-256 of every other file (sha256sum's format, as systemd-sysupdate reads it)
 *   SHA256SUMS.gpg    a detached OpenPGP signature of SHA256SUMS by the update key
 *   tandem_V.root.raw the root slot's file system (erofs)
 *   tandem_V.efi      the unified kernel image that boots it (root=PARTLABEL=tandem_V)
 *
 * `tandem firmware install` checks all of it (src/runtime/firmware/bundle-check.ts) before systemd-sysupdate,
 * which checks the signature and the sums again, writes the slot that is not running.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { applianceImage, type ApplianceImage } from './build-appliance.js';
import { sign, type SigningKey } from './signing-key.js';
import { compatibleFor, MANIFEST_FORMAT, type BundleManifest } from '../runtime/firmware/bundle-manifest.js';
import { optionOf } from './build-args.js';

const ROOT = join(__dirname, '..', '..', '..');

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface BundleParts {
  version: string;
  board: string;
  root: string;
  uki: string;
  key: SigningKey;
  /** Fields to put in the manifest instead of the build's (a test's bundle for another board). */
  manifest?: Partial<BundleManifest>;
}

/** Packs the parts into `file` (a tar archive in a stable order). */
export async function packBundle(parts: BundleParts, file: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bundle-'));
  try {
    const names = { root: `tandem_${parts.version}.root.raw`, uki: `tandem_${parts.version}.efi` };
    // Hard copies would double a 300 MB file on disk for a moment: link when the file system allows it.
    for (const [k, name] of Object.entries(names)) {
      const src = parts[k as 'root' | 'uki'];
      try {
        execFileSync('ln', [src, join(dir, name)]);
      } catch {
        copyFileSync(src, join(dir, name));
      }
    }
    const manifest: BundleManifest = {
      format: MANIFEST_FORMAT,
      product: 'tandem',
      version: parts.version,
      architecture: 'x86-64',
      board: parts.board,
      compatible: compatibleFor(parts.board),
      ...parts.manifest,
    };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    const sums: string[] = [];
    for (const name of ['manifest.json', names.root, names.uki]) sums.push(`${await sha256File(join(dir, name))}  ${name}`);
    const sumsText = Buffer.from(sums.join('\n') + '\n');
    writeFileSync(join(dir, 'SHA256SUMS'), sumsText);
    writeFileSync(join(dir, 'SHA256SUMS.gpg'), sign(parts.key, sumsText));
    mkdirSync(resolve(file, '..'), { recursive: true });
    execFileSync('tar', [
      '--format=posix',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '-cf',
      file,
      '-C',
      dir,
      'manifest.json',
      'SHA256SUMS',
      'SHA256SUMS.gpg',
      names.uki,
      names.root,
    ]);
    return file;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function bundleName(version: string, board: string): string {
  return `tandem-${version}-${board}.bundle`;
}

export async function bundleOf(image: ApplianceImage, outDir: string): Promise<string> {
  return packBundle(
    { version: image.version, board: image.board, root: image.root, uki: image.uki, key: image.key },
    join(outDir, bundleName(image.version, image.board)),
  );
}

async function main(argv: readonly string[]): Promise<void> {
  const opt = (name: string) => optionOf(argv, name);
  const out = opt('out') ?? join(ROOT, 'image');
  const t0 = Date.now();
  const image = applianceImage({
    outDir: out,
    board: opt('board') ?? 'qemu-x86',
    mkosi: (opt('mkosi') ?? process.env['MKOSI'] ?? 'mkosi').split(' '),
    version: opt('version'),
    signingKey: opt('signing-key') ?? (process.env['SIGNING_KEY'] || undefined),
    extraTrees: argv.flatMap((a, i) => (a === '--extra-tree' && argv[i + 1] ? [argv[i + 1]!] : [])),
  });
  const file = await bundleOf(image, out);
  process.stdout.write(
    `${file}: firmware ${image.version} for ${image.board}, ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB, signed by ${image.key.fingerprint} ` +
      `(${image.reused ? 'the image reused' : 'the image built'}; ${Math.round((Date.now() - t0) / 1000)} s)\n` +
      `install on an appliance: tandem firmware install ${basename(file)} (one box), or tandem upgrade ${basename(file)} (a cluster, one member at a time)\n`,
  );
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`bundle: ${e.message}\n`);
    process.exit(1);
  });
}
