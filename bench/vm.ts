/**
 * DOC: `make bench-vm`: the booted appliance's figures (issue 31, item 6), one JSON line each
 *
 *   - the image, a slot's file system, the unified kernel image and a bundle, in MiB (the image sparse and as
 *     allocated);
 *   - power-on to heartbeats and to the standby in sync: a configured box of the VM lab's pair reset (QMP
 *     system_reset, the power cycled with its cables in), then the time until its peer hears it again and until it
 *     holds the state in sync as the standby (polled every second through the guest agent: upper bounds);
 *   - an update of both members with `tandem upgrade` (src/lab/vm-upgrade.ts): its duration and the longest gap
 *     the client's 20 TCP connections saw.
 *
 * Under TCG (this machine's KVM runs no guests), where Node runs about 25x slower than on the host: the times are
 * those of a much slower box than any appliance, the sizes are exact. Needs the image and the test bundles (make
 * bench-vm builds them). --runs N repeats the power-on (default 3).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VmLab } from '../src/lab/vm-lab.js';
import { vmMissing } from '../src/lab/vm.js';
import { vmPairSettled } from '../src/lab/vm-failover.js';
import { vmUpgradeBoth } from '../src/lab/vm-upgrade.js';
import { pollUntil } from '../src/lab/netns.js';
import { VERSION } from '../src/runtime/version.js';
import { emit, stats } from './emit.js';

const ROOT = join(__dirname, '..', '..');
const IMAGE = join(ROOT, 'image', `tandem-${VERSION.text}-x86_64.img`);
const BUNDLES = join(ROOT, 'image', 'test');
const NEXT = `${VERSION.text}.1`;
const BUNDLE = `tandem-${NEXT}-qemu-x86.bundle`;
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] ?? 3) || 3;
const MiB = 2 ** 20;
const log = (line: string) => process.stderr.write(`${line}\n`);

interface S {
  role: string;
  peer?: { alive: boolean } | null;
  sync?: { status?: string };
}

async function main(): Promise<void> {
  const missing = vmMissing(IMAGE, 2);
  if (missing) throw new Error(`bench-vm cannot run: ${missing}`);
  const img = statSync(IMAGE);
  emit('image size (sparse)', 'MiB', img.size / MiB);
  emit('image size (allocated)', 'MiB', (img.blocks * 512) / MiB);
  emit('root slot file system (erofs)', 'MiB', statSync(IMAGE.replace(/\.img$/, '.root.raw')).size / MiB);
  emit('unified kernel image', 'MiB', statSync(IMAGE.replace(/\.img$/, '.efi')).size / MiB);
  emit('update bundle', 'MiB', statSync(join(BUNDLES, BUNDLE)).size / MiB);

  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-vm-'));
  const lab = await VmLab.up({ image: IMAGE, dir, shares: { bundles: BUNDLES }, setup: 'managed' }, log);
  try {
    const pair = await vmPairSettled(lab, 600_000);
    if (!('active' in pair)) throw new Error(`the pair did not settle: ${JSON.stringify(pair.last)}`);
    const status = async (n: string) => (await lab.status(n)) as S | null;
    const heard: number[] = [];
    const synced: number[] = [];
    for (let i = 0; i < runs; i++) {
      const box = pair.inactive;
      const t0 = Date.now();
      await lab.vm(box).qmpCall('system_reset');
      // The peer stops hearing it first (the failover time), then hears it again.
      await pollUntil(async () => (await status(pair.active))?.peer?.alive === false, 60_000, 1000);
      const h = await pollUntil(async () => (await status(pair.active))?.peer?.alive === true, 600_000, 1000);
      const heardMs = Date.now() - t0;
      const s = await pollUntil(async () => (await status(box))?.sync?.status === 'in-sync', 600_000, 1000);
      const syncedMs = Date.now() - t0;
      log(`power-on ${i + 1}: heartbeats heard after ${h ? heardMs : 'never'} ms, in sync after ${s ? syncedMs : 'never'} ms`);
      if (h) heard.push(heardMs);
      if (s) synced.push(syncedMs);
      emit('power-on to heartbeats heard by the peer (TCG)', 'ms', h ? heardMs : -1, 'tandem', { run: i + 1 });
      emit('power-on to standby in sync (TCG)', 'ms', s ? syncedMs : -1, 'tandem', { run: i + 1 });
    }
    if (heard.length)
      emit('power-on to heartbeats, range over runs (TCG)', 'ms', stats(heard).median, 'tandem', { min: stats(heard).min, max: stats(heard).max });
    if (synced.length)
      emit('power-on to standby in sync, range over runs (TCG)', 'ms', stats(synced).median, 'tandem', { min: stats(synced).min, max: stats(synced).max });

    const again = await vmPairSettled(lab, 600_000);
    if (!('active' in again)) throw new Error(`the pair did not settle after the power-ons: ${JSON.stringify(again.last)}`);
    const u = await vmUpgradeBoth(lab, again, { bundle: BUNDLE, version: NEXT, connections: 20, port: 7033, say: log });
    log(u.output);
    const whole = u.report.conns.filter((c) => c.error === null && c.echoed === c.sent && c.echoed > 0).length;
    emit('update of both members (tandem upgrade, TCG)', 's', u.done ? u.ms / 1000 : -1);
    emit("client's longest TCP echo gap during the update of both", 'ms', Math.max(...u.report.conns.map((c) => c.maxGapMs)), 'tandem', {
      connections: 20,
      whole,
    });
  } finally {
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench-vm: ${e.message}\n`);
  process.exit(1);
});
