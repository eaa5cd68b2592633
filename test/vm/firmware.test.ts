/**
 * Issue 31, firmware updates with fallback, on one booted appliance (QEMU, TCG): bundles with a bad signature or for
 * another board are refused naming the file and the reason; a good bundle is written to the other slot by
 * systemd-sysupdate, booted once, confirmed by tandemd and kept; a bundle whose tandemd cannot start is written, its
 * trial boot is not confirmed, and the box comes back on the version before by itself and says why; QEMU killed
 * while a slot is being written boots the running version and can be updated again.
 *
 * The bundles are built by `make test-bundles` (the image's build with the firmware version VERSION.1, and VERSION.2
 * whose tandemd exits at once); counted as skipped, with the reason, when they or the image were not built, QEMU
 * or OVMF is missing, or the machine has too little free memory.
 */
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packBundle } from '../../src/image/bundle.js';
import { signingKey } from '../../src/image/signing-key.js';
import { VERSION } from '../../src/runtime/version.js';
import { until } from '../helpers/lab.js';
import { Vm, vmMissing } from '../../src/lab/vm.js';

const IMAGES = join(__dirname, '..', '..', '..', 'image');
const IMAGE = join(IMAGES, `tandem-${VERSION.text}-x86_64.img`);
const GOOD = `${VERSION.text}.1`;
const BROKEN = `${VERSION.text}.2`;
const TEST = join(IMAGES, 'test');
const bundle = (v: string) => join(TEST, `tandem-${v}-qemu-x86.bundle`);

const missing =
  vmMissing(IMAGE) ?? (!existsSync(bundle(GOOD)) || !existsSync(bundle(BROKEN)) ? `no test bundles in ${TEST}: make test-bundles builds them` : null);
const name =
  'firmware updates on a booted appliance: bad signature and another board refused; a good bundle booted once, confirmed and kept; a broken one falls back by itself and says why; a kill mid-write boots the running version';

interface Status {
  appliance: boolean;
  version: string;
  slot: string;
  slots: { slot: string; version: string | null; state: string }[];
  pending: string | null;
  trial: boolean;
  confirm: { outcome: string; reason: string } | null;
  lastFallback: { from: string; to: string; reason: string } | null;
}

if (missing) test.skip(`${name} (skipped: ${missing})`, () => undefined);
else
  test.serial(name, async (t) => {
    t.timeout(25 * 60_000);
    const dir = mkdtempSync(join(tmpdir(), 'tandem-vm-fw-'));
    const share = join(dir, 'share');
    mkdirSync(share);
    // The refused bundles: the good one's parts re-signed by another key, and re-labelled for another board.
    const key = signingKey(join(IMAGES, 'signing-key'), false);
    const stranger = signingKey(join(dir, 'stranger-key'), true);
    const parts = { version: GOOD, board: 'qemu-x86', root: join(TEST, `tandem-${GOOD}-x86_64.root.raw`), uki: join(TEST, `tandem-${GOOD}-x86_64.efi`) };
    await packBundle({ ...parts, key: stranger }, join(share, 'stranger.bundle'));
    await packBundle({ ...parts, key, board: 'generic-x86' }, join(share, 'other-board.bundle'));
    const vm = new Vm({ name: 'fw', image: IMAGE, dir, shares: { bundles: share, test: TEST } });
    t.teardown(() => {
      vm.kill();
      if (t.passed) rmSync(dir, { recursive: true, force: true });
      else t.log(`kept for a look: ${dir} (the serial log, QEMU's disk overlay)`);
    });
    const t0 = Date.now();
    const at = () => `${Math.round((Date.now() - t0) / 1000)} s`;
    vm.start();
    t.true(await vm.agentUp(300_000), 'the guest agent answers after the first boot');
    t.log(`${at()}: booted ${VERSION.text}`);
    const status = async (): Promise<Status> => {
      const r = await vm.exec(['/usr/bin/tandem', 'firmware', 'status', '--json'], 120_000);
      if (r.code !== 0) throw new Error(`tandem firmware status: ${r.code} ${r.stderr}`);
      return JSON.parse(r.stdout) as Status;
    };
    // tandemd answers once its control socket is up (a minute or two after the boot under TCG).
    const tandemdUp = () =>
      until(async () => (await vm.exec(['/usr/bin/test', '-S', '/run/tandem/tandemd.sock']).catch(() => ({ code: 1 }))).code === 0, 300_000, 3000);
    t.true(await tandemdUp(), 'tandemd up');
    const first = await status();
    t.like(first, { appliance: true, version: VERSION.text, slot: 'A', pending: null, trial: false, lastFallback: null });
    t.deepEqual(
      first.slots.map((s) => [s.slot, s.state]),
      [
        ['A', 'running'],
        ['B', 'empty'],
      ],
    );
    const mount = await vm.sh(
      'mkdir -p /run/bundles /run/test && mount -t 9p -o trans=virtio,version=9p2000.L,ro bundles /run/bundles && mount -t 9p -o trans=virtio,version=9p2000.L,ro test /run/test',
    );
    t.is(mount.code, 0, `the shares mounted: ${mount.stderr}`);

    const install = (file: string, ...more: string[]) => vm.exec(['/usr/bin/tandem', 'firmware', 'install', file, ...more], 20 * 60_000);
    const bad = await install('/run/bundles/stranger.bundle');
    t.not(bad.code, 0);
    t.regex(bad.stderr, /\/run\/bundles\/stranger\.bundle: bad signature: SHA256SUMS is not signed by this box's update key/);
    const other = await install('/run/bundles/other-board.bundle');
    t.not(other.code, 0);
    t.regex(other.stderr, /\/run\/bundles\/other-board\.bundle: for tandem-generic-x86 \(board generic-x86\): this box is tandem-qemu-x86/);
    t.log(`${at()}: refused: ${bad.stderr.trim()} | ${other.stderr.trim()}`);

    // A good bundle: written to slot B, booted once, confirmed, kept.
    const serialAt = vm.serial().length;
    // --no-reboot, then the reboot: the guest agent goes away with the box, and the command's output with it.
    const good = await install(`/run/test/tandem-${GOOD}-qemu-x86.bundle`, '--no-reboot');
    t.is(good.code, 0, `installed: ${good.stdout} ${good.stderr}`);
    t.regex(
      good.stdout,
      new RegExp(`firmware ${GOOD.replace(/\./g, '\\.')} written to slot B \\(running ${VERSION.text.replace(/\./g, '\\.')}\\); the next boot tries it once`),
    );
    t.like(await status(), { version: VERSION.text, pending: GOOD });
    t.log(`${at()}: ${good.stdout.trim()}`);
    await vm.spawn(['/usr/bin/systemctl', 'reboot']);
    t.true(await vm.waitSerial(new RegExp(`root=PARTLABEL=tandem_${GOOD.replace(/\./g, '\\.')} `), 300_000, serialAt), `the box rebooted into ${GOOD}`);
    t.true(await vm.agentUp(300_000));
    const confirmed = await until(async () => (await status().catch(() => null))?.confirm?.outcome === 'confirmed', 600_000, 5000);
    const afterGood = await status();
    t.true(confirmed, `the trial boot confirmed: ${JSON.stringify(afterGood)}`);
    t.like(afterGood, { version: GOOD, slot: 'B', trial: true, lastFallback: null });
    t.true(
      await until(async () => (await vm.sh(`ls /efi/EFI/Linux/ /boot/EFI/Linux/ 2>/dev/null`)).stdout.includes(`tandem_${GOOD}.efi`), 120_000, 3000),
      'systemd-bless-boot kept it (its counter dropped from the name)',
    );
    t.log(`${at()}: ${GOOD} confirmed: ${afterGood.confirm?.reason}`);

    // The deadline for the next trial: one minute (the default is ten).
    const edit = await vm.sh(
      `node -e 'const f="/etc/tandem/node.json";const c=JSON.parse(require("fs").readFileSync(f));c.maintenance={...c.maintenance,confirmMs:60000};require("fs").writeFileSync(f,JSON.stringify(c,null,2))'`,
    );
    t.is(edit.code, 0, edit.stderr);

    // QEMU killed while systemd-sysupdate writes slot A: the box boots the version running, which can install again.
    const mounted = await vm.sh('mkdir -p /run/test && mount -t 9p -o trans=virtio,version=9p2000.L,ro test /run/test');
    t.is(mounted.code, 0, `the share mounted again after the reboot: ${mounted.stderr}`);
    let settled: { code: number; stdout: string; stderr: string } | null = null;
    const writing = install(`/run/test/tandem-${BROKEN}-qemu-x86.bundle`).then(
      (r) => (settled = r),
      (e: Error) => (settled = { code: -1, stdout: '', stderr: e.message }),
    );
    // Anchored: the shell running pgrep has the pattern in its own command line.
    const sysupdate = () => vm.sh("pgrep -f '^/usr/lib/systemd/systemd-sysupdate' >/dev/null");
    await until(async () => settled !== null || (await sysupdate()).code === 0, 600_000, 1000);
    t.is(settled, null, 'the install still running when systemd-sysupdate is seen');
    await new Promise((r) => setTimeout(r, 3000));
    vm.kill();
    await vm.stopped();
    await writing;
    t.log(`${at()}: QEMU killed while systemd-sysupdate wrote slot A`);
    const serialKill = vm.serial().length;
    vm.start();
    t.true(await vm.agentUp(300_000));
    t.true(await vm.waitSerial(new RegExp(`root=PARTLABEL=tandem_${GOOD.replace(/\./g, '\\.')} `), 10_000, serialKill), `it booted ${GOOD} again`);
    t.true(await tandemdUp(), 'tandemd up after the kill');
    await vm.sh('mkdir -p /run/test && mount -t 9p -o trans=virtio,version=9p2000.L,ro test /run/test');
    t.like(await status(), { version: GOOD, slot: 'B' });

    // A bundle whose tandemd cannot start: written, tried once, not confirmed, and the box comes back on GOOD.
    const serialBroken = vm.serial().length;
    const broken = await install(`/run/test/tandem-${BROKEN}-qemu-x86.bundle`, '--no-reboot');
    t.is(broken.code, 0, `installed after the kill: ${broken.stdout} ${broken.stderr}`);
    t.regex(broken.stdout, /written to slot A/);
    await vm.spawn(['/usr/bin/systemctl', 'reboot']);
    t.true(await vm.waitSerial(new RegExp(`root=PARTLABEL=tandem_${BROKEN.replace(/\./g, '\\.')} `), 300_000, serialBroken), `the box tried ${BROKEN}`);
    const serialTrial = vm.serial().length;
    t.true(await vm.waitSerial(new RegExp(`root=PARTLABEL=tandem_${GOOD.replace(/\./g, '\\.')} `), 600_000, serialTrial), `and came back to ${GOOD} by itself`);
    t.true(await vm.agentUp(300_000));
    t.true(await tandemdUp(), 'tandemd up after the fallback');
    t.true(await until(async () => (await status().catch(() => null))?.lastFallback !== null, 300_000, 5000));
    const back = await status();
    t.like(back, { version: GOOD, slot: 'B' });
    t.like(back.lastFallback, { from: BROKEN, to: GOOD });
    t.regex(back.lastFallback!.reason, /tandemd gave no verdict within 60 s of the boot/);
    t.is(back.slots.find((s) => s.slot === 'A')?.state, 'failed');
    const events = await vm.sh('journalctl -u tandemd -o cat | grep -E "firmware_(fallback|installed|install_refused|confirmed)" | tail -20');
    t.regex(events.stdout, /firmware_fallback/);
    t.log(`${at()}: fell back: ${JSON.stringify(back.lastFallback)}`);
  });
