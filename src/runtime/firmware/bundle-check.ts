/**
 * Checks an update bundle (src/image/bundle.ts) before anything of the box is written, and unpacks it where
 * systemd-sysupdate reads it: the archive whole, the signature by this box's update key, every file's SHA-256, and
 * the manifest's product, architecture, compatible string and version. Each refusal names the file and the reason.
 * systemd-sysupdate checks the signature and the sums again: this check is for the words, and for refusing before
 * a slot is touched.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseManifest, refusal, type BundleManifest, type ThisBox } from './bundle-manifest.js';

const exec = promisify(execFile);

/** A bundle this box will not take: nothing was written. */
export class BundleRefused extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

export interface CheckOptions {
  /** The OpenPGP keyring of the update keys this box accepts (the image's /etc/systemd/import-pubring.gpg). */
  keyring: string;
  box: ThisBox;
  /** Where the checked files are left for systemd-sysupdate (emptied first). */
  into: string;
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const errText = (e: unknown) =>
  String((e as { stderr?: string }).stderr || (e as Error).message)
    .trim()
    .split('\n')
    .slice(-2)
    .join(' ');

/** Checks the bundle and leaves its files in `into`; throws BundleRefused with the reason. */
export async function checkBundle(file: string, o: CheckOptions): Promise<BundleManifest> {
  const refuse = (reason: string) => new BundleRefused(file, reason);
  const st = await stat(file).catch(() => null);
  if (!st) throw refuse('no such file');
  if (!st.isFile()) throw refuse('not a regular file');
  let listing: string;
  try {
    listing = (await exec('tar', ['-tf', file], { maxBuffer: 1 << 20 })).stdout;
  } catch (e) {
    throw refuse(`not a whole tar archive (truncated or damaged: ${errText(e)})`);
  }
  const names = listing.split('\n').filter(Boolean);
  for (const need of ['manifest.json', 'SHA256SUMS', 'SHA256SUMS.gpg'])
    if (!names.includes(need)) throw refuse(`not a tandem update bundle: it has no ${need} (it holds ${names.slice(0, 5).join(', ') || 'nothing'})`);
  const unexpected = names.filter((n) => !/^(manifest\.json|SHA256SUMS(\.gpg)?|tandem_[0-9][0-9a-z.~^]*\.(root\.raw|efi))$/i.test(n));
  if (unexpected.length) throw refuse(`not a tandem update bundle: unexpected ${unexpected.join(', ')}`);
  // The space first: the data partition holds the node file, which a full disk must never cost.
  const fs = await statfs(join(o.into, '..')).catch(() => null);
  const free = fs ? fs.bavail * fs.bsize : Infinity;
  if (free < st.size + 16 * 2 ** 20)
    throw refuse(`the data partition has ${Math.floor(free / 2 ** 20)} MiB free, unpacking this bundle needs ${Math.ceil(st.size / 2 ** 20) + 16} MiB`);
  await rm(o.into, { recursive: true, force: true });
  await mkdir(o.into, { recursive: true, mode: 0o700 });
  try {
    await exec('tar', ['-xf', file, '-C', o.into, '--no-same-owner', ...names]);
  } catch (e) {
    await rm(o.into, { recursive: true, force: true });
    throw refuse(`could not be unpacked: ${errText(e)}`);
  }
  try {
    try {
      await exec('gpgv', ['--keyring', o.keyring, join(o.into, 'SHA256SUMS.gpg'), join(o.into, 'SHA256SUMS')]);
    } catch (e) {
      throw refuse(`bad signature: SHA256SUMS is not signed by this box's update key (${o.keyring}): ${errText(e)}`);
    }
    const sums = new Map<string, string>();
    for (const line of (await readFile(join(o.into, 'SHA256SUMS'), 'utf8')).split('\n').filter(Boolean)) {
      const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
      if (!m) throw refuse(`SHA256SUMS: a line that is not "SHA256  NAME": ${JSON.stringify(line.slice(0, 80))}`);
      sums.set(m[2]!, m[1]!);
    }
    for (const name of names.filter((n) => !n.startsWith('SHA256SUMS'))) {
      const want = sums.get(name);
      if (!want) throw refuse(`${name} is not in the signed SHA256SUMS`);
      if ((await sha256(join(o.into, name))) !== want) throw refuse(`${name}: its SHA-256 is not the signed one (damaged in transfer)`);
    }
    const manifest = parseManifest(await readFile(join(o.into, 'manifest.json'), 'utf8'), `${file}: manifest.json`);
    const why = refusal(manifest, o.box);
    if (why) throw refuse(why);
    for (const part of [`tandem_${manifest.version}.root.raw`, `tandem_${manifest.version}.efi`])
      if (!names.includes(part)) throw refuse(`it has no ${part} (the manifest says version ${manifest.version})`);
    return manifest;
  } catch (e) {
    await rm(o.into, { recursive: true, force: true });
    throw e;
  }
}
