/**
 * DOC: writing a file so that a crash leaves the old or the new content, never a part
 *
 * Temporary file in the same directory, fsync, rename over the target,
 * fsync of the directory (so the rename itself is on disk). Mode 0600: the
 * files written this way hold state that is root's alone.
 */
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { link, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `keepPrevious`: the file being replaced stays reachable as PATH.prev (a hard link), for a reader to fall back on. */
export function writeFileAtomic(path: string, text: string | Uint8Array, opts: { keepPrevious?: boolean } = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, typeof text === 'string' ? Buffer.from(text) : text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (opts.keepPrevious) {
    rmSync(`${path}.prev`, { force: true });
    try {
      linkSync(path, `${path}.prev`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // the first write: nothing to keep
    }
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/**
 * The same off the main loop (libuv's thread pool): for writes that must not delay the main loop (the
 * cluster store, the admin password, flight records). Callers serialise their own writes to one path.
 */
export async function writeFileAtomicAsync(path: string, text: string | Uint8Array, opts: { keepPrevious?: boolean } = {}): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (opts.keepPrevious) {
    await rm(`${path}.prev`, { force: true });
    try {
      await link(path, `${path}.prev`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // the first write: nothing to keep
    }
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
