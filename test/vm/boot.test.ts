/**
 * Issue 31, first part: the appliance image `make image` builds boots under QEMU (TCG: hardware KVM does not run
 * guests on this machine) from its firmware (OVMF, UEFI), systemd-boot and the unified kernel image, to the setup
 * menu on the first serial line, in factory state. Counted as skipped, with the reason in its name, when the image
 * was not built (it is not part of `make test`'s build: `make image` makes it), QEMU or OVMF is missing, or the
 * machine has too little free memory.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERSION } from '../../src/runtime/version.js';
import { until } from '../helpers/lab.js';

const IMAGE = join(__dirname, '..', '..', '..', 'image', `tandem-${VERSION.text}-x86_64.img`);
const QEMU = '/usr/bin/qemu-system-x86_64';
const OVMF = { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' };
const MEMORY_MB = 1536;

const missing = !existsSync(IMAGE)
  ? `no image ${IMAGE}: make image builds it`
  : !existsSync(QEMU)
    ? `no ${QEMU} (Debian package qemu-system-x86)`
    : !existsSync(OVMF.code)
      ? `no ${OVMF.code} (Debian package ovmf)`
      : freemem() < (MEMORY_MB + 512) * 2 ** 20
        ? `${Math.round(freemem() / 2 ** 20)} MiB free, the VM needs ${MEMORY_MB + 512}`
        : null;

const name = 'the appliance image boots (UEFI, systemd-boot, the unified kernel image) to the setup menu on ttyS0, in factory state';
if (missing) test.skip(`${name} (skipped: ${missing})`, () => undefined);
else
  test.serial(name, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-vm-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    copyFileSync(OVMF.vars, join(dir, 'vars.fd'));
    const serial = join(dir, 'serial.log');
    // -snapshot: the image stays as built; the guest's writes go to a temporary overlay.
    const vm = spawn(
      QEMU,
      [
        ...['-accel', 'tcg', '-cpu', 'max', '-m', String(MEMORY_MB), '-smp', '2', '-machine', 'q35', '-snapshot'],
        ...['-drive', `if=pflash,format=raw,readonly=on,file=${OVMF.code}`, '-drive', `if=pflash,format=raw,file=${join(dir, 'vars.fd')}`],
        ...['-drive', `file=${IMAGE},format=raw,if=virtio`, '-display', 'none', '-serial', `file:${serial}`, '-device', 'i6300esb', '-nic', 'none'],
      ],
      { stdio: 'ignore' },
    );
    t.teardown(() => void (vm.exitCode === null && vm.kill('SIGKILL')));
    const text = () => (existsSync(serial) ? readFileSync(serial, 'utf8').replace(/\x1b\[[0-9;]*[a-zA-Z]/g, '') : '');
    const t0 = Date.now();
    const menu = await until(async () => /Choose \(1-7\) \[1\]:/.test(text()), 300_000, 1000);
    t.log(`the setup menu ${menu ? `after ${Math.round((Date.now() - t0) / 1000)} s` : 'never came'} (TCG)`);
    const out = text();
    t.true(menu, `the menu on ttyS0 (the serial line's end: ${out.slice(-600)})`);
    t.regex(out, /Linux version 6\.\d+.*deb13/, 'the Debian 13 kernel booted');
    t.regex(out, /root=PARTLABEL=tandem_\d+\.\d+\.\d+ ro systemd\.volatile=state/, 'from root slot A, read-only, /var volatile');
    t.regex(out, /serial console: main menu\s+node \(factory state\)/, 'in factory state');
    t.regex(out, /This node is in factory state: it is not a member of a cluster\./);
  });
