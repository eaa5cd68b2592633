/**
 * Issue 31, first part: the appliance image `make image` builds boots under QEMU (TCG: hardware KVM does not run
 * guests on this machine) from its firmware (OVMF, UEFI), systemd-boot and the unified kernel image, to the setup
 * menu on the first serial line, in factory state. Counted as skipped, with the reason in its name, when the image
 * was not built (it is not part of `make test`'s build: `make image` makes it), QEMU or OVMF is missing, or the
 * machine has too little free memory (test/helpers/vm.ts).
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERSION } from '../../src/runtime/version.js';
import { Vm, vmMissing } from '../../src/lab/vm.js';

const IMAGE = join(__dirname, '..', '..', '..', 'image', `tandem-${VERSION.text}-x86_64.img`);
const missing = vmMissing(IMAGE);

const name = 'the appliance image boots (UEFI, systemd-boot, the unified kernel image) to the setup menu on ttyS0, in factory state';
if (missing) test.skip(`${name} (skipped: ${missing})`, () => undefined);
else
  test.serial(name, async (t) => {
    t.timeout(6 * 60_000);
    const dir = mkdtempSync(join(tmpdir(), 'tandem-vm-'));
    // The image stays as built: the guest writes to an overlay in dir.
    const vm = new Vm({ name: 'boot', image: IMAGE, dir });
    t.teardown(() => {
      vm.kill();
      rmSync(dir, { recursive: true, force: true });
    });
    const t0 = Date.now();
    vm.start();
    const menu = await vm.waitSerial(/Choose \(1-7\) \[1\]:/, 300_000);
    t.log(`the setup menu ${menu ? `after ${Math.round((Date.now() - t0) / 1000)} s` : 'never came'} (TCG)`);
    const out = vm.serial();
    t.true(menu, `the menu on ttyS0 (the serial line's end: ${out.slice(-600)}; QEMU: ${vm.qemuLog()})`);
    t.regex(out, /Linux version 6\.\d+.*deb13/, 'the Debian 13 kernel booted');
    t.regex(out, /root=PARTLABEL=tandem_\d+\.\d+\.\d+ ro systemd\.volatile=state/, 'from root slot A, read-only, /var volatile');
    t.regex(out, /serial console: main menu\s+node \(factory state\)/, 'in factory state');
    t.regex(out, /This node is in factory state: it is not a member of a cluster\./);
  });
