/**
 * The firmware's pure parts: systemd's version order, a bundle manifest's checks, the view of the slots and boot
 * entries (pending, trial, fallback), and the verdict on a trial boot.
 */
import test from 'ava';
import { compareVersions, parseManifest, refusal, type BundleManifest } from '../../src/runtime/firmware/bundle-manifest.js';
import { confirmVerdict, type HealthFacts } from '../../src/runtime/firmware/confirm-verdict.js';
import { firmwareView, parseEntry } from '../../src/runtime/firmware/firmware-view.js';

test("versions sort as systemd-boot and systemd-sysupdate sort them (numbers as numbers, '~' first, '^' last)", (t) => {
  const sorted = ['0.2.0~rc1', '0.2.0', '0.2.0^git1', '0.2.0.1', '0.2.1', '0.2.10', '0.10.0', '1.0'];
  for (let i = 0; i < sorted.length; i++)
    for (let j = 0; j < sorted.length; j++) t.is(Math.sign(compareVersions(sorted[i]!, sorted[j]!)), Math.sign(i - j), `${sorted[i]} vs ${sorted[j]}`);
  t.is(compareVersions('0.02', '0.2'), 0, 'leading zeros do not count');
});

const box = { version: '0.2.0', architecture: 'x86-64', compatible: 'tandem-qemu-x86' };
const manifest: BundleManifest = { format: 1, product: 'tandem', version: '0.2.1', architecture: 'x86-64', board: 'qemu-x86', compatible: 'tandem-qemu-x86' };

test('a manifest is refused for another architecture, board or product, or a version not newer, each naming both values', (t) => {
  t.is(refusal(manifest, box), null);
  t.is(refusal({ ...manifest, architecture: 'arm64' }, box), 'architecture arm64: this box is x86-64');
  t.is(
    refusal({ ...manifest, board: 'generic-x86', compatible: 'tandem-generic-x86' }, box),
    'for tandem-generic-x86 (board generic-x86): this box is tandem-qemu-x86',
  );
  t.is(refusal({ ...manifest, version: '0.2.0' }, box), 'version 0.2.0 is not newer than the running 0.2.0');
  t.is(refusal({ ...manifest, version: '0.1.9' }, box), 'version 0.1.9 is not newer than the running 0.2.0');
  t.is(refusal({ ...manifest, product: 'other' }, box), 'product "other": this box runs tandem');
});

test('a manifest that is not one is refused naming the field', (t) => {
  t.throws(() => parseManifest('{', 'b: manifest.json'), { message: /^b: manifest.json: not JSON/ });
  t.throws(() => parseManifest('{"format":2}', 'b: manifest.json'), { message: 'b: manifest.json: format 2, this firmware reads format 1' });
  t.throws(() => parseManifest(JSON.stringify({ ...manifest, board: 3 }), 'm'), { message: 'm: "board" missing or not a string' });
  t.throws(() => parseManifest(JSON.stringify({ ...manifest, version: '0.2.1+1' }), 'm'), { message: /version "0.2.1\+1" is not a firmware version/ });
});

test("boot entries carry systemd-boot's tries in their names", (t) => {
  t.deepEqual(parseEntry('tandem_0.2.0.efi'), { file: 'tandem_0.2.0.efi', version: '0.2.0', triesLeft: null, triesDone: null });
  t.deepEqual(parseEntry('tandem_0.2.1+1-0.efi'), { file: 'tandem_0.2.1+1-0.efi', version: '0.2.1', triesLeft: 1, triesDone: 0 });
  t.deepEqual(parseEntry('tandem_0.2.1+0-1.efi'), { file: 'tandem_0.2.1+0-1.efi', version: '0.2.1', triesLeft: 0, triesDone: 1 });
  t.is(parseEntry('tandem-6.12.118+deb13-amd64.efi'), null);
});

const slots = (a: string, b: string) => [
  { partition: 2, label: a },
  { partition: 3, label: b },
];

test('the view: a fresh image, an update pending, a trial boot, and a fallback with and without a recorded reason', (t) => {
  const fresh = firmwareView({ running: '0.2.0', slots: slots('tandem_0.2.0', '_empty'), entries: ['tandem_0.2.0.efi'], trialBoot: false, record: null });
  t.like(fresh, { version: '0.2.0', slot: 'A', pending: null, trial: false, lastFallback: null });
  t.deepEqual(
    fresh.slots.map((s) => s.state),
    ['running', 'empty'],
  );
  const pending = firmwareView({
    running: '0.2.0',
    slots: slots('tandem_0.2.0', 'tandem_0.2.1'),
    entries: ['tandem_0.2.0.efi', 'tandem_0.2.1+1-0.efi'],
    trialBoot: false,
    record: null,
  });
  t.like(pending, { pending: '0.2.1', lastFallback: null });
  t.is(pending.slots[1]!.state, 'trial pending');
  const trial = firmwareView({
    running: '0.2.1',
    slots: slots('tandem_0.2.0', 'tandem_0.2.1'),
    entries: ['tandem_0.2.0.efi', 'tandem_0.2.1+0-1.efi'],
    trialBoot: true,
    record: null,
  });
  t.like(trial, { version: '0.2.1', slot: 'B', trial: true, pending: null, lastFallback: null }, 'the running version is not its own fallback');
  const record = {
    version: '0.2.1',
    bootId: 'b1',
    outcome: 'failed' as const,
    reason: 'the peer was not heard on any heartbeat interface 600 s after the boot',
    at: '2026-12-07T10:00:00Z',
  };
  const back = firmwareView({
    running: '0.2.0',
    slots: slots('tandem_0.2.0', 'tandem_0.2.1'),
    entries: ['tandem_0.2.0.efi', 'tandem_0.2.1+0-1.efi'],
    trialBoot: false,
    record,
  });
  t.deepEqual(back.lastFallback, { from: '0.2.1', to: '0.2.0', reason: record.reason, at: record.at });
  t.is(back.slots[1]!.state, 'failed');
  const silent = firmwareView({
    running: '0.2.0',
    slots: slots('tandem_0.2.0', 'tandem_0.2.1'),
    entries: ['tandem_0.2.0.efi', 'tandem_0.2.1+0-1.efi'],
    trialBoot: false,
    record: null,
  });
  t.regex(silent.lastFallback!.reason, /no verdict recorded: a hang, a panic, a watchdog reset or a power loss/);
});

const healthy: HealthFacts = { up: true, standalone: false, role: 'inactive', peerHeard: true, sync: 'in-sync', serving: null };

test('a trial boot is confirmed when the node is healthy, waits before its deadline, fails after it naming what is missing', (t) => {
  t.like(confirmVerdict({ ...healthy, standalone: true, peerHeard: null, sync: null }, 5000, 600_000), { state: 'confirmed' });
  t.like(confirmVerdict(healthy, 5000, 600_000), { state: 'confirmed' });
  t.deepEqual(confirmVerdict({ ...healthy, sync: 'syncing' }, 5000, 600_000), { state: 'waiting', what: 'the state is not in sync (sync syncing)' });
  t.deepEqual(confirmVerdict({ ...healthy, peerHeard: false }, 600_000, 600_000), {
    state: 'failed',
    reason: 'the peer was not heard on any heartbeat interface 600 s after the boot (deadline 600 s)',
  });
  t.like(confirmVerdict({ ...healthy, peerHeard: null, sync: null, serving: false }, 700_000, 600_000), { state: 'failed' });
  t.like(confirmVerdict({ ...healthy, peerHeard: null, sync: null, serving: true }, 1000, 600_000), { state: 'confirmed' });
});
