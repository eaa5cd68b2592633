/**
 * A copy of this build that says it is another version: what a member runs after an upgrade.
 */
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** A copy of this build that says it is another version (what an upgraded member runs). */
export function otherVersion(version: string): { bin: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-v'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version }));
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(ROOT, 'build'), join(dir, 'build'));
  symlinkSync(join(ROOT, 'board'), join(dir, 'board'));
  return { bin: join(dir, 'bin', 'tandemd'), dir };
}
