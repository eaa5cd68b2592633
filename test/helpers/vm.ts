/**
 * What every test of test/vm/ does first: a VM lab in a directory of its own (kept after a failure, for a look),
 * its lines logged with the seconds since the start, torn down at the end; and the pair settled.
 */
import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VmLab, type VmLabOptions } from '../../src/lab/vm-lab.js';
import { vmPairSettled } from '../../src/lab/vm-failover.js';
import { VERSION } from '../../src/runtime/version.js';

export const ROOT = join(__dirname, '..', '..', '..');
export const IMAGE = join(ROOT, 'image', `tandem-${VERSION.text}-x86_64.img`);

export async function vmLabFor(
  t: ExecutionContext,
  name: string,
  o: Omit<VmLabOptions, 'image' | 'dir'> = {},
): Promise<{ lab: VmLab; say: (line: string) => void }> {
  const dir = mkdtempSync(join(tmpdir(), `tandem-vm-${name}-`));
  const t0 = Date.now();
  const say = (line: string) => t.log(`${Math.round((Date.now() - t0) / 1000)} s: ${line}`);
  const lab = await VmLab.up({ image: IMAGE, dir, ...o }, say);
  t.teardown(async () => {
    await lab.down();
    if (t.passed) rmSync(dir, { recursive: true, force: true });
    else t.log(`kept for a look: ${dir}`);
  });
  return { lab, say };
}

/** One box active and the other inactive, each hearing the other (fails the test, with what each said, if not). */
export async function settledPair(t: ExecutionContext, lab: VmLab): Promise<{ active: string; inactive: string }> {
  const pair = await vmPairSettled(lab, 600_000);
  if (!('active' in pair)) throw new Error(`one active, one inactive, each hearing the other: ${JSON.stringify(pair.last)}`);
  t.log(`${pair.active} active, ${pair.inactive} inactive`);
  return pair;
}
