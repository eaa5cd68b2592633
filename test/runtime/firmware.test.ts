/**
 * The firmware controller (src/runtime/firmware/firmware.ts) on a tree laid out as a booted appliance shows it (os-release,
 * the ESP's entries, the slots' GPT labels in sysfs, the EFI variables): a fallback logged once with the reason its
 * trial boot recorded, a trial boot confirmed or failed by its deadline, and an install that hands a checked bundle
 * to the updater (here a script in systemd-sysupdate's place that writes what it would) and logs it. The VM test
 * (test/vm/firmware.test.ts) runs the real updater and boots.
 */
import test from 'ava';
import { chmodSync, copyFileSync, symlinkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packBundle } from '../../src/image/bundle.js';
import { publicKeyring, signingKey } from '../../src/image/signing-key.js';
import { Firmware, type FirmwarePaths } from '../../src/runtime/firmware/firmware.js';
import type { HealthFacts } from '../../src/runtime/firmware/confirm-verdict.js';
import { until } from '../helpers/lab.js';

const LOADER = '4a67b082-0a4c-41cf-b6c7-440b29bb8c4f';

/** A GPT's header and entries (what gpt-labels.ts reads: no CRCs, no protective MBR), 512-byte sectors. */
function gpt(parts: [number, string][]): Buffer {
  const disk = Buffer.alloc(512 * 34);
  disk.write('EFI PART', 512, 'latin1');
  disk.writeBigUInt64LE(2n, 512 + 72);
  disk.writeUInt32LE(128, 512 + 80);
  disk.writeUInt32LE(128, 512 + 84);
  for (const [n, name] of parts) {
    const e = 1024 + (n - 1) * 128;
    disk.fill(0x11, e, e + 16);
    disk.write(name, e + 56, 'utf16le');
  }
  return disk;
}

function box(t: import('ava').ExecutionContext, o: { running: string; slots: [number, string][]; entries: string[]; trial?: boolean; uptimeS?: number }) {
  const root = mkdtempSync(join(tmpdir(), 'tandem-fw-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const p: FirmwarePaths = {
    osRelease: join(root, 'os-release'),
    identity: join(root, 'firmware.json'),
    esp: [join(root, 'efi'), join(root, 'boot')],
    sysBlock: join(root, 'sys-block'),
    dev: join(root, 'dev'),
    efivars: join(root, 'efivars'),
    keyring: join(root, 'import-pubring.gpg'),
    bootId: join(root, 'boot_id'),
    uptime: join(root, 'uptime'),
  };
  writeFileSync(p.osRelease, `ID=debian\nIMAGE_ID="tandem"\nIMAGE_VERSION="${o.running}"\n`);
  writeFileSync(p.identity, JSON.stringify({ board: 'qemu-x86', compatible: 'tandem-qemu-x86', architecture: 'x86-64' }));
  mkdirSync(join(root, 'boot', 'EFI', 'Linux'), { recursive: true });
  for (const e of o.entries) writeFileSync(join(root, 'boot', 'EFI', 'Linux', e), 'uki');
  // sysfs as the kernel read the table at boot (/sys/class/block/vdaN links into the disk's directory), and the disk
  // itself (a GPT whose names systemd-sysupdate changes while sysfs keeps the old ones).
  const devices = join(root, 'devices', 'vda');
  mkdirSync(join(devices, 'queue'), { recursive: true });
  writeFileSync(join(devices, 'queue', 'logical_block_size'), '512\n');
  writeFileSync(join(devices, 'uevent'), 'MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n');
  mkdirSync(p.sysBlock);
  symlinkSync(devices, join(p.sysBlock, 'vda'));
  const table: [number, string][] = [[1, 'esp'], ...o.slots, [4, 'tandem-data']];
  for (const [n, name] of table) {
    mkdirSync(join(devices, `vda${n}`));
    writeFileSync(join(devices, `vda${n}`, 'uevent'), `MAJOR=254\nMINOR=${n}\nDEVNAME=vda${n}\nDEVTYPE=partition\nPARTN=${n}\nPARTNAME=${name}\n`);
    symlinkSync(join(devices, `vda${n}`), join(p.sysBlock, `vda${n}`));
  }
  mkdirSync(p.dev);
  writeFileSync(join(p.dev, 'vda'), gpt(table));
  const label = (n: number, name: string) => writeFileSync(join(p.dev, 'vda'), gpt(table.map(([i, l]) => [i, i === n ? name : l])));
  mkdirSync(p.efivars);
  if (o.trial) writeFileSync(join(p.efivars, `LoaderBootCountPath-${LOADER}`), 'x');
  writeFileSync(p.bootId, 'boot-1\n');
  writeFileSync(p.uptime, `${o.uptimeS ?? 50}.00 90.00\n`);
  const stateDir = join(root, 'state');
  mkdirSync(stateDir);
  return { root, p, stateDir, label };
}

function logger() {
  const events: { level: string; event: string; fields: Record<string, unknown> }[] = [];
  return { events, log: { log: (level: string, event: string, fields: Record<string, unknown> = {}) => void events.push({ level, event, fields }) } };
}

/** The first boot of 0.2.1 after an update from 0.2.0: systemd-boot counts it (its try used: +0-1). */
const TRIAL = {
  running: '0.2.1',
  slots: [
    [2, 'tandem_0.2.0'],
    [3, 'tandem_0.2.1'],
  ] as [number, string][],
  entries: ['tandem_0.2.0.efi', 'tandem_0.2.1+0-1.efi'],
  trial: true,
};

const healthy: HealthFacts = { up: true, standalone: false, role: 'inactive', peerHeard: true, sync: 'in-sync', serving: null };

test('not an appliance image: status says so, install refuses naming the file', async (t) => {
  const b = box(t, { running: '0.2.0', slots: [], entries: [] });
  rmSync(b.p.identity);
  const fw = new Firmware({ stateDir: b.stateDir, log: logger().log, confirmMs: 60_000, health: () => healthy, paths: b.p });
  const s = fw.status();
  t.false(s.appliance);
  t.regex((s as { why: string }).why, /not a tandem appliance image/);
  await t.throwsAsync(fw.install('/x.bundle', { reboot: false, via: 'cli' }), { message: /^\/x\.bundle: this machine is not a tandem appliance image/ });
});

test("a fallback is logged once, with the reason the failed version's trial boot recorded; status keeps it", (t) => {
  const b = box(t, {
    running: '0.2.0',
    slots: [
      [2, 'tandem_0.2.0'],
      [3, 'tandem_0.2.1'],
    ],
    entries: ['tandem_0.2.0.efi', 'tandem_0.2.1+0-1.efi'],
  });
  mkdirSync(join(b.stateDir, 'firmware'));
  const reason = 'tandemd gave no verdict within 60 s of the boot';
  writeFileSync(join(b.stateDir, 'firmware', 'trial-boot.json'), JSON.stringify({ version: '0.2.1', bootId: 'boot-0', outcome: 'failed', reason, at: 'then' }));
  const l = logger();
  const fw = new Firmware({ stateDir: b.stateDir, log: l.log, confirmMs: 60_000, health: () => healthy, paths: b.p });
  fw.start();
  t.deepEqual(
    l.events.map((e) => [e.event, e.fields]),
    [['firmware_fallback', { from: '0.2.1', to: '0.2.0', reason }]],
  );
  const s = fw.status();
  t.like(s, { appliance: true, version: '0.2.0', slot: 'A', lastFallback: { from: '0.2.1', to: '0.2.0', reason } });
  t.like(fw.summary(), { version: '0.2.0', slot: 'A', trial: null, lastFallback: { from: '0.2.1' } });
  // A restart of the service: the same fallback is not logged again.
  const again = logger();
  new Firmware({ stateDir: b.stateDir, log: again.log, confirmMs: 60_000, health: () => healthy, paths: b.p }).start();
  t.deepEqual(again.events, []);
});

test('a trial boot is confirmed once the node is healthy, recorded for this boot, and logged', async (t) => {
  const b = box(t, TRIAL);
  const l = logger();
  let health: HealthFacts = { ...healthy, sync: 'syncing' };
  const fw = new Firmware({ stateDir: b.stateDir, log: l.log, confirmMs: 60_000, health: () => health, paths: b.p });
  fw.start();
  t.teardown(() => fw.stop());
  await new Promise((r) => setTimeout(r, 1500));
  t.like(fw.status(), { trial: true, confirm: null }, 'waiting while the state is not in sync');
  health = healthy;
  t.true(await until(async () => l.events.some((e) => e.event === 'firmware_confirmed'), 5000, 100));
  const s = fw.status();
  t.like(s, { version: '0.2.1', slot: 'B', trial: true, confirm: { outcome: 'confirmed', bootId: 'boot-1' } });
  t.like(fw.summary(), { trial: 'confirmed' });
  t.like(JSON.parse(readFileSync(join(b.stateDir, 'firmware', 'trial-boot.json'), 'utf8')), { version: '0.2.1', outcome: 'confirmed' });
});

test('a trial boot past its deadline fails, naming what was missing', async (t) => {
  const b = box(t, { ...TRIAL, uptimeS: 61 });
  const l = logger();
  const fw = new Firmware({ stateDir: b.stateDir, log: l.log, confirmMs: 60_000, health: () => ({ ...healthy, peerHeard: false }), paths: b.p });
  fw.start();
  t.teardown(() => fw.stop());
  t.true(await until(async () => l.events.some((e) => e.event === 'firmware_confirm_failed'), 5000, 100));
  t.like(fw.status(), { confirm: { outcome: 'failed', reason: 'the peer was not heard on any heartbeat interface 61 s after the boot (deadline 60 s)' } });
});

test('install: a checked bundle goes to the updater; the written slot and the version are logged; a refused one is logged with its reason', async (t) => {
  const b = box(t, {
    running: '0.2.0',
    slots: [
      [2, 'tandem_0.2.0'],
      [3, '_empty'],
    ],
    entries: ['tandem_0.2.0.efi'],
  });
  const key = signingKey(join(b.root, 'key'), true);
  writeFileSync(b.p.keyring, publicKeyring(key));
  writeFileSync(join(b.root, 'root.raw'), Buffer.alloc(65536, 1));
  writeFileSync(join(b.root, 'uki.efi'), Buffer.alloc(4096, 2));
  const file = await packBundle(
    { version: '0.2.1', board: 'qemu-x86', root: join(b.root, 'root.raw'), uki: join(b.root, 'uki.efi'), key },
    join(b.root, 'x.bundle'),
  );
  // In systemd-sysupdate's place: what it writes (the slot's label, the entry with one try), from the files it was given.
  const updater = join(b.root, 'updater');
  writeFileSync(
    updater,
    `#!/bin/sh
set -e
test "$1" = update
test -f "${b.stateDir}/firmware/incoming/tandem_0.2.1.root.raw"
cp "${b.root}/relabelled" "${b.p.dev}/vda"
cp "${b.stateDir}/firmware/incoming/tandem_0.2.1.efi" "${b.root}/boot/EFI/Linux/tandem_0.2.1+1-0.efi"
`,
  );
  chmodSync(updater, 0o755);
  // What the disk holds once the slot is written (the kernel's PARTNAME stays _empty until the next boot).
  b.label(3, 'tandem_0.2.1');
  copyFileSync(join(b.p.dev, 'vda'), join(b.root, 'relabelled'));
  b.label(3, '_empty');
  const l = logger();
  let rebooted = 0;
  const fw = new Firmware({
    stateDir: b.stateDir,
    log: l.log,
    confirmMs: 60_000,
    health: () => healthy,
    paths: b.p,
    sysupdate: [updater],
    reboot: () => rebooted++,
  });
  const r = await fw.install(file, { reboot: true, via: 'cli' });
  t.deepEqual(r, { version: '0.2.1', slot: 'B', from: '0.2.0', reboot: true });
  t.like(fw.status(), { version: '0.2.0', pending: '0.2.1' });
  t.false(existsSync(join(b.stateDir, 'firmware', 'incoming')), 'the unpacked files removed');
  t.deepEqual(
    l.events.map((e) => e.event),
    ['firmware_installed', 'firmware_rebooting'],
  );
  t.true(await until(async () => rebooted === 1, 3000, 100), 'rebooted after the answer');

  const stranger = signingKey(join(b.root, 'stranger'), true);
  const bad = await packBundle(
    { version: '0.2.2', board: 'qemu-x86', root: join(b.root, 'root.raw'), uki: join(b.root, 'uki.efi'), key: stranger },
    join(b.root, 'bad.bundle'),
  );
  await t.throwsAsync(fw.install(bad, { reboot: true, via: 'web' }), { message: /bad\.bundle: bad signature/ });
  t.like(l.events.at(-1), { event: 'firmware_install_refused', fields: { file: bad, via: 'web' } });

  // The updater fails: logged with its output, nothing reboots.
  writeFileSync(updater, '#!/bin/sh\necho "No space left on device" >&2\nexit 1\n');
  const newer = await packBundle(
    { version: '0.2.3', board: 'qemu-x86', root: join(b.root, 'root.raw'), uki: join(b.root, 'uki.efi'), key },
    join(b.root, 'n.bundle'),
  );
  await t.throwsAsync(fw.install(newer, { reboot: true, via: 'cli' }), {
    message: /systemd-sysupdate could not install version 0\.2\.3: No space left on device/,
  });
  t.like(l.events.at(-1), { event: 'firmware_install_failed', fields: { version: '0.2.3' } });
  t.is(rebooted, 1);
});
