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
import { IMAGE, settledPair, vmLabFor } from '../helpers/vm.js';
import { vmMissing } from '../../src/lab/vm.js';
import { vmPowerOffFailover, wholeConnections } from '../../src/lab/vm-failover.js';

const CONNS = 20;

const missing = vmMissing(IMAGE, 2);
const name = 'two booted appliances on the lab switch: one active, the client served through it; the active one powered off, the other takes over';

if (missing) test.skip(`${name} (skipped: ${missing})`, () => undefined);
else
  test.serial(name, async (t) => {
    t.timeout(25 * 60_000);
    const { lab, say } = await vmLabFor(t, 'lab');
    const pair = await settledPair(t, lab);
    const r = await vmPowerOffFailover(lab, pair, { connections: CONNS, port: 7031, say: (line) => say(`${line}`) });
    t.is(r.held, CONNS, `${pair.inactive}'s kernel held every connection before the fault (the state sync)`);
    t.not(r.tookOverMs, null, `${pair.inactive} took over`);
    t.not(r.flowingMs, null, 'every connection flows again through the box that took over');
    t.is(
      wholeConnections(r.report),
      CONNS,
      `every byte of every connection: ${JSON.stringify(r.report.conns.filter((c) => c.error !== null || c.echoed !== c.sent).slice(0, 3))}`,
    );
    say(
      `${pair.inactive} active ${((r.tookOverMs ?? 0) / 1000).toFixed(1)} s after the power-off (failover time ${lab.timers.failoverTimeMs} ms), every connection flowing after ${((r.flowingMs ?? 0) / 1000).toFixed(1)} s, longest echo gap ${Math.max(...r.report.conns.map((c) => c.maxGapMs))} ms`,
    );
  });
