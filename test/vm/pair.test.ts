/**
 * Issue 31, item 3, first part: the VM lab (src/lab/vm-lab.ts). Two appliances booted from the image under QEMU
 * (TCG) on the lab's switch, configured as a static pair: one active, one inactive, each hearing the other on all
 * four interfaces; both stateful firewalls; 20 TCP connections from the client to the server through the active
 * box, held by the standby's kernel (the state sync); the active box powered off (its cables and the machine
 * stopped in one step), the other takes over and every byte of every connection arrives.
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
import { TcpProbe } from '../../src/lab/cluster.js';
import { eventually, until } from '../helpers/lab.js';

const CONNS = 20;

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

    // Both boxes stateful firewalls (conntrack in both kernels, tcp_loose off), 20 TCP connections through the active one.
    await lab.statefulGateways();
    const probe = await TcpProbe.start(lab, { connections: CONNS, intervalMs: 100, family: 4, port: 7031 });
    t.teardown(() => probe.stop().catch(() => undefined));
    t.true(await eventually(() => probe.allFlowing(CONNS), 60_000), 'every connection flows');
    // The standby holds them before the fault (the state sync between the two kernels).
    const inSync = async () => ((await status(inactive)) as { sync?: { status?: string } } | null)?.sync?.status === 'in-sync';
    t.true(await until(inSync, 120_000, 3000), `${inactive} in sync`);
    const held = await lab.vm(inactive).sh('conntrack -L -p tcp --dport 7031 2>/dev/null | grep -c ESTABLISHED');
    t.log(`${at()}: ${CONNS} connections flowing; ${inactive}'s kernel holds ${held.stdout.trim()} of them`);

    const offAt = Date.now();
    await lab.powerOff(active);
    const tookOver = await until(async () => (await status(inactive))?.role === 'active', 300_000, 2000);
    t.true(tookOver, `${inactive} took over`);
    t.true(await until(ping, 120_000, 500), `the client reaches the server through ${inactive}`);
    t.log(
      `${at()}: ${active} powered off; ${inactive} active and serving ${((Date.now() - offAt) / 1000).toFixed(1)} s later (failover time ${lab.timers.failoverTimeMs} ms)`,
    );
    t.true(await eventually(() => probe.allFlowing(CONNS), 120_000), 'every connection flows again through the box that took over');
    const r = await probe.stop();
    const whole = r.conns.filter((c) => c.error === null && c.echoed === c.sent && c.echoed > 0);
    t.is(whole.length, CONNS, `every byte of every connection: ${JSON.stringify(r.conns.filter((c) => !whole.includes(c)).slice(0, 3))}`);
    t.log(
      `${at()}: ${whole.length}/${CONNS} connections survived the power-off with every byte, longest echo gap ${Math.max(...r.conns.map((c) => c.maxGapMs))} ms`,
    );
  });
