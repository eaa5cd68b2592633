/**
 * Issue 31, items 2 and 5: both booted appliances of a pair updated one at a time with the client's traffic flowing,
 * by `tandem upgrade BUNDLE` on the active box (src/lab/vm-upgrade.ts). Every byte of 20 TCP connections through
 * the pair arrives; both boxes run the new version, confirmed, each from its other slot.
 *
 * Counted as skipped, with the reason, where the image or the test bundles were not built (make test-bundles),
 * QEMU or OVMF is missing, or the machine has too little free memory for two VMs.
 */
import test from 'ava';
import { ROOT, IMAGE, settledPair, vmLabFor } from '../helpers/vm.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { vmMissing } from '../../src/lab/vm.js';
import { wholeConnections } from '../../src/lab/vm-failover.js';
import { VERSION } from '../../src/runtime/version.js';
import { vmUpgradeBoth } from '../../src/lab/vm-upgrade.js';

const BUNDLES = join(ROOT, 'image', 'test');
const NEXT = `${VERSION.text}.1`;
const BUNDLE = `tandem-${NEXT}-qemu-x86.bundle`;
const missing = vmMissing(IMAGE, 2) ?? (existsSync(join(BUNDLES, BUNDLE)) ? null : `no test bundle ${join(BUNDLES, BUNDLE)}: make test-bundles builds it`);
const name = `both booted appliances updated to ${NEXT} one at a time by tandem upgrade, with 20 TCP connections through the pair: every byte arrives`;
const CONNS = 20;

if (missing) test.skip(`${name} (skipped: ${missing})`, () => undefined);
else
  test.serial(name, async (t) => {
    t.timeout(45 * 60_000);
    const { lab, say } = await vmLabFor(t, 'upgrade', { shares: { bundles: BUNDLES }, setup: 'managed' });
    const pair = await settledPair(t, lab);
    const r = await vmUpgradeBoth(lab, pair, { bundle: BUNDLE, version: NEXT, connections: CONNS, port: 7032, say });
    const fw = (s: (typeof r.after)[number]) => `${s?.role} ${s?.firmware?.version} slot ${s?.firmware?.slot}`;
    say(`before: ${pair.active} ${fw(r.before[0]!)}, ${pair.inactive} ${fw(r.before[1]!)}`);
    say(`tandem upgrade said:\n${r.output}`);
    t.true(r.done, `both run ${NEXT}, confirmed, one active and one inactive, the standby in sync: ${JSON.stringify(r.after)}`);
    // The box the command runs on reboots at its end: its last line, not its exit status, survives.
    t.regex(r.output, /done: both members wrote the firmware/, 'tandem upgrade went through every step');
    t.true(
      r.after.every((s, i) => s?.firmware?.slot !== r.before[i]?.firmware?.slot),
      'each box runs from its other slot',
    );
    const whole = wholeConnections(r.report);
    t.is(whole, CONNS, `every byte of every connection: ${JSON.stringify(r.report.conns.filter((c) => c.error !== null || c.echoed !== c.sent).slice(0, 3))}`);
    say(
      `after ${(r.ms / 60_000).toFixed(1)} min: ${pair.active} ${fw(r.after[0]!)}, ${pair.inactive} ${fw(r.after[1]!)}; ${whole}/${CONNS} connections with every byte, longest echo gap ${Math.max(...r.report.conns.map((c) => c.maxGapMs))} ms`,
    );
  });
