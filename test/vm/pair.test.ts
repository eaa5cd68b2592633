/**
 * Issue 31, item 3, first part: the VM lab (src/lab/vm-lab.ts). Two appliances booted from the image under QEMU
 * (TCG) on the lab's switch, configured as a static pair: one active, one inactive, each hearing the other on all
 * four interfaces; the client reaches the server through the active box; the active box powered off (its cables
 * and the machine stopped in one step), the other takes over and the client reaches the server again.
 *
 * Counted as skipped, with the reason, where the image was not built, QEMU or OVMF is missing, or the machine has
 * too little free memory for two VMs.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/lab/run.js';
import { VmLab } from '../../src/lab/vm-lab.js';
import { vmMissing } from '../../src/lab/vm.js';
import { VERSION } from '../../src/runtime/version.js';
import { until } from '../helpers/lab.js';

const IMAGE = join(__dirname, '..', '..', '..', 'image', `tandem-${VERSION.text}-x86_64.img`);
const missing = vmMissing(IMAGE, 2);
const name = 'two booted appliances on the lab switch: one active, the client served through it; the active one powered off, the other takes over';

interface Status {
  role: string;
  peer?: { alive: boolean; role: string } | null;
  heartbeats?: unknown;
}

if (missing) test.skip(`${name} (skipped: ${missing})`, () => undefined);
else
  test.serial(name, async (t) => {
    t.timeout(25 * 60_000);
    const dir = mkdtempSync(join(tmpdir(), 'tandem-vm-lab-'));
    const t0 = Date.now();
    const at = () => `${Math.round((Date.now() - t0) / 1000)} s`;
    const lab = await VmLab.up({ image: IMAGE, dir }, (line) => t.log(`${at()}: ${line}`));
    t.teardown(async () => {
      await lab.down();
      if (t.passed) rmSync(dir, { recursive: true, force: true });
      else t.log(`kept for a look: ${dir}`);
    });
    const status = async (node: string) => (await lab.status(node)) as Status | null;
    const roles = async () => {
      const [a, b] = await Promise.all([status('n1'), status('n2')]);
      return { n1: a, n2: b };
    };
    let last: { n1: Status | null; n2: Status | null } = { n1: null, n2: null };
    const settled = await until(
      async () => {
        last = await roles();
        const r = [last.n1?.role, last.n2?.role].sort().join(',');
        return r === 'active,inactive' && last.n1?.peer?.alive === true && last.n2?.peer?.alive === true;
      },
      600_000,
      5000,
    );
    t.true(settled, `one active, one inactive, each hearing the other: ${JSON.stringify(last)}`);
    const active = last.n1?.role === 'active' ? 'n1' : 'n2';
    const inactive = active === 'n1' ? 'n2' : 'n1';
    t.log(`${at()}: ${active} active, ${inactive} inactive`);

    const client = lab.plan.hosts.find((h) => h.name === 'client')!;
    const server = lab.plan.hosts.find((h) => h.name === 'server')!;
    const serverIp = server.iface.address.split('/')[0]!;
    const ping = async () =>
      (await run(['ip', 'netns', 'exec', client.netns, 'ping', '-c', '1', '-W', '2', serverIp]).then(
        () => true,
        () => false,
      )) === true;
    t.true(await until(ping, 120_000, 1000), `the client reaches the server ${serverIp} through ${active}`);
    t.log(`${at()}: the client reaches the server through ${active}`);

    const offAt = Date.now();
    await lab.powerOff(active);
    const tookOver = await until(async () => (await status(inactive))?.role === 'active', 300_000, 2000);
    t.true(tookOver, `${inactive} took over`);
    t.true(await until(ping, 120_000, 500), `the client reaches the server through ${inactive}`);
    t.log(
      `${at()}: ${active} powered off; ${inactive} active and serving ${((Date.now() - offAt) / 1000).toFixed(1)} s later (failover time ${lab.timers.failoverTimeMs} ms)`,
    );
  });
