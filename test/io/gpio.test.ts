import test from 'ava';
import { simDevices } from '../helpers/hw-sim.js';

const CHIP = '/dev/gpiochip7';

test('chip and line info; lines requested as outputs with their initial values and consumer', async (t) => {
  const sim = simDevices(t, { chips: { 7: 'sim-relays 4' } });
  const [info, request, line1] = await sim.drive([
    { op: 'chipInfo', path: CHIP },
    { op: 'request', path: CHIP, offsets: [1, 3], values: [1, 0], consumer: 'tandem-bypass' },
    { op: 'lineInfo', path: CHIP, offset: 1 },
  ]);
  t.deepEqual(info!.result, { name: 'gpiochip7', label: 'sim-relays', lines: 4 });
  t.true(request!.ok);
  t.like(line1!.result, { name: 'line1', consumer: 'tandem-bypass', used: true, output: true });
});

test('the addon sets and reads back its lines, and its release hands them back; a killed holder leaves nothing held (as the kernel does)', async (t) => {
  const sim = simDevices(t, { chips: { 7: 'sim-relays 4' } });
  const r = await sim.drive([
    { op: 'request', path: CHIP, offsets: [0, 2], values: [0, 0], consumer: 'relay' },
    { op: 'set', handle: 0, values: [1, 0] },
    { op: 'get', handle: 0 },
    { op: 'set', handle: 0, values: [1, 1] },
    { op: 'get', handle: 0 },
    { op: 'release', handle: 0 },
  ]);
  t.deepEqual(
    r.map((x) => x.ok),
    [true, true, true, true, true, true],
  );
  t.deepEqual(r[2]!.result, { values: [1, 0] });
  t.deepEqual(r[4]!.result, { values: [1, 1] });
  t.deepEqual(sim.line(7, 2), { held: false, pid: null, consumer: null, value: 1 }, 'released, at its last value');
  // What tandem relies on when its worker is killed: no close() ran, yet the line is free. This asserts the
  // simulator's faithfulness to the kernel (the relays then fall to their hardware default), not tandem's code.
  const holder = await sim.spawnDriver([{ op: 'request', path: CHIP, offsets: [3], values: [1], consumer: 'crashy' }, { op: 'hang' }]);
  t.like(sim.line(7, 3), { held: true, consumer: 'crashy', value: 1 });
  holder.kill('SIGKILL');
  await new Promise((res) => holder.once('exit', res));
  t.like(sim.line(7, 3), { held: false });
});

test('every error path names the device and says what to do', async (t) => {
  const sim = simDevices(t, { chips: { 7: 'sim-relays 4', 8: 'locked 2 eacces' } });
  const holder = await sim.spawnDriver([{ op: 'request', path: CHIP, offsets: [0], values: [0], consumer: 'first' }, { op: 'hang' }]);
  t.truthy(holder.pid);
  const r = await sim.drive([
    { op: 'chipInfo', path: '/dev/gpiochip9' },
    { op: 'request', path: CHIP, offsets: [0], values: [1], consumer: 'second' },
    { op: 'request', path: CHIP, offsets: [4], values: [1], consumer: 'tandem' },
    { op: 'chipInfo', path: '/dev/gpiochip8' },
  ]);
  t.like(r[0], { ok: false, code: 'ENOENT' });
  t.regex(r[0]!.message!, /GPIO chip \/dev\/gpiochip9: open failed with ENOENT: no such device .*check gpio\.chip/);
  t.like(r[1], { ok: false, code: 'EBUSY' });
  t.regex(r[1]!.message!, /line 0: ioctl\(GPIO_V2_GET_LINE\) failed with EBUSY: the line is held by another consumer/);
  t.like(r[2], { ok: false, code: 'EINVAL' });
  t.regex(r[2]!.message!, /is the line offset within the chip's lines/);
  t.like(r[3], { ok: false, code: 'EACCES' });
  t.regex(r[3]!.message!, /permission denied: run tandemd as root/);
});

test("the addon's watchdog: open arms it, keepalives feed it, its stop writes the magic close; a holder that dies without it leaves it to fire", async (t) => {
  const sim = simDevices(t, { watchdogs: [3] });
  const r = await sim.drive([
    { op: 'watchdog', path: '/dev/watchdog3', timeout: 1 },
    { op: 'keepalive', handle: 0 },
    { op: 'stop', handle: 0 },
  ]);
  t.deepEqual(
    r.map((x) => x.ok),
    [true, true, true],
  );
  t.is(r[0]!.result!['timeout'], 1);
  t.is(sim.watchdog(3).state, 'disarmed', 'the magic close stopped it');
  await sim.drive([
    { op: 'watchdog', path: '/dev/watchdog3', timeout: 1 },
    { op: 'abandon', handle: 0 },
  ]);
  // A worker that dies closes without the magic: the simulated driver, like the kernel's, keeps counting down.
  t.is(sim.watchdog(3).state, 'armed', 'closed without the magic: still running');
  await new Promise((res) => setTimeout(res, 1200));
  t.is(sim.watchdog(3).state, 'fired', 'nobody fed it within its timeout');
  const missing = await sim.drive([{ op: 'watchdog', path: '/dev/watchdog4', timeout: 5 }]);
  t.like(missing[0], { ok: false, code: 'ENOENT' });
  t.regex(missing[0]!.message!, /watchdog \/dev\/watchdog4: open failed with ENOENT/);
});

test('a board file checked against the chips that are there: unknown chip, line out of range, each with its field', async (t) => {
  const sim = simDevices(t, { chips: { 0: 'sim-relays 2' } });
  const nic = (name: string, port: number) => ({ name, bus: 0, slot: 1, port, role: 'data' });
  const board = {
    name: 'x',
    nics: [nic('eth0', 0), nic('eth1', 1), nic('eth2', 2), nic('eth3', 3), nic('eth4', 4), nic('eth5', 5)],
    bypass: [
      { name: 'ok', ports: ['eth0', 'eth1'], gpio: { chip: '/dev/gpiochip0', line: 1, activeLow: false }, whenReleased: 'bypass' },
      { name: 'far', ports: ['eth2', 'eth3'], gpio: { chip: '/dev/gpiochip0', line: 5, activeLow: false }, whenReleased: 'bypass' },
      { name: 'ghost', ports: ['eth4', 'eth5'], gpio: { chip: '/dev/gpiochip3', line: 0, activeLow: true }, whenReleased: 'disconnect' },
    ],
    watchdog: null,
    console: null,
  };
  const [r] = await sim.drive([{ op: 'checkBoard', board }]);
  const findings = r!.result!['findings'] as { field: string; message: string }[];
  t.is(findings.length, 2);
  t.is(findings[0]!.field, 'bypass[1].gpio.line');
  t.regex(findings[0]!.message, /line 5 is out of range: \/dev\/gpiochip0 \(sim-relays\) has 2 lines, 0\.\.1/);
  t.is(findings[1]!.field, 'bypass[2].gpio.chip');
  t.regex(findings[1]!.message, /\/dev\/gpiochip3 cannot be used for segment "ghost": .*ENOENT: no such device/);
});

test('bypass relays: requested at the starting mode, switched, read back, released to what the hardware does', async (t) => {
  const sim = simDevices(t, { chips: { 0: 'relays 4' } });
  const nic = (name: string, port: number) => ({ name, bus: 0, slot: 1, port, role: 'data' });
  const seg = {
    name: 'wan-lan',
    ports: ['eth0', 'eth1'],
    gpio: { chip: '/dev/gpiochip0', line: 0, activeLow: false },
    disconnectGpio: { chip: '/dev/gpiochip0', line: 1, activeLow: false },
    whenReleased: 'bypass',
  };
  const board = { name: 'x', nics: [nic('eth0', 0), nic('eth1', 1)], bypass: [seg], watchdog: null, console: null };
  const holder = await sim.spawnDriver([{ op: 'bypassOpen', board, start: 'bypass' }, { op: 'hang' }]);
  t.is(sim.segmentMode(seg), 'bypass', 'starts in its failure mode, never passing through inline');
  t.like(sim.line(0, 0), { held: true, consumer: 'tandem-bypass-wan-lan', value: 1 });
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));
  t.is(sim.segmentMode(seg), 'bypass', 'a crash: the lines are released and the hardware does its whenReleased');
  const r = await sim.drive([
    { op: 'bypassOpen', board, start: 'disconnect' },
    { op: 'bypassSet', segment: 'wan-lan', mode: 'inline' },
    { op: 'bypassSet', segment: 'wan-lan', mode: 'disconnect' },
    { op: 'bypassSet', segment: 'wan-lan', mode: 'bypass' },
    { op: 'bypassSet', segment: 'nope', mode: 'bypass' },
    { op: 'bypassRelease' },
  ]);
  t.deepEqual(r[0]!.result, { modes: { 'wan-lan': 'disconnect' } });
  t.deepEqual(
    r.slice(1, 4).map((x) => x.result),
    [{ read: 'inline' }, { read: 'disconnect' }, { read: 'bypass' }],
  );
  t.like(r[4], { ok: false });
  t.regex(r[4]!.message!, /no bypass segment "nope" \(segments: wan-lan\)/);
  t.like(sim.line(0, 0), { held: false });
});

test('an old kernel without the character device: the same request goes through /sys/class/gpio; its lines outlive a crash', async (t) => {
  const sim = simDevices(t, { sysfsChips: { 0: { base: 100, ngpio: 4, label: 'old-relays' } } });
  const r = await sim.drive([
    { op: 'request', path: '/dev/gpiochip0', offsets: [1, 2], values: [1, 0], consumer: 'tandem' },
    { op: 'get', handle: 0 },
    { op: 'set', handle: 0, values: [0, 1] },
    { op: 'get', handle: 0 },
    { op: 'request', path: '/dev/gpiochip0', offsets: [2], values: [1], consumer: 'second' },
    { op: 'release', handle: 0 },
  ]);
  t.deepEqual(
    r.slice(0, 4).map((x) => x.ok),
    [true, true, true, true],
  );
  t.deepEqual(r[1]!.result, { values: [1, 0] }, 'exported with direction high/low: the initial values');
  t.deepEqual(r[3]!.result, { values: [0, 1] });
  t.like(r[4], { ok: false, code: 'EBUSY' });
  t.regex(r[4]!.message!, /\(sysfs\) lines 2: export of gpio102 failed with EBUSY: the line is exported already/);
  t.like(sim.line(0, 2), { held: false, value: 1 }, 'unexported at its last value');
  const [info] = await sim.drive([{ op: 'chipInfo', path: '/dev/gpiochip0' }]);
  t.deepEqual(info!.result, { name: 'gpiochip0', label: 'old-relays', lines: 4 }, 'chip facts from sysfs too (the board check uses them)');
  const holder = await sim.spawnDriver([{ op: 'request', path: '/dev/gpiochip0', offsets: [3], values: [1], consumer: 'x' }, { op: 'hang' }]);
  holder.kill('SIGKILL');
  await new Promise((res) => holder.once('exit', res));
  t.like(sim.line(0, 3), { held: true, consumer: 'sysfs', value: 1 }, 'sysfs lines stay exported when their process dies: only the watchdog helps then');
});
