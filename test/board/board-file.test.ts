import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boardOf, BoardError, loadBoard, parseBoard, resolveBoard } from '../../src/board/board-file.js';

const good = () => ({
  name: 'x1',
  nics: [
    { name: 'eth0', bus: 0, slot: 1, port: 0, role: 'wan' },
    { name: 'eth1', bus: 0, slot: 1, port: 1, role: 'sync' },
  ],
  bypass: [{ name: 'seg', ports: ['eth0', 'eth1'], gpio: { chip: '/dev/gpiochip0', line: 3, activeLow: true }, whenReleased: 'bypass' }],
  watchdog: null,
  console: { device: '/dev/ttyS0', baud: 115200 },
});

test('the shipped boards load', (t) => {
  const sim = resolveBoard('sim');
  t.is(sim.nics.length, 4);
  t.is(sim.nics.find((n) => n.role === 'sync')?.name, 'eth3');
  t.is(sim.bypass[0]?.whenReleased, 'bypass');
  const x86 = resolveBoard('generic-x86');
  t.deepEqual(x86.bypass, []);
  t.is(new Set(x86.nics.map((n) => n.nn)).size, x86.nics.length);
});

test('NN is derived from bus, slot and port', (t) => {
  const b = parseBoard(good(), 'b.json');
  t.is(b.nics[0]!.nn, 0b000_01_000);
  t.is(b.nics[1]!.nn, 0b000_01_001);
});

const bad: [string, (b: ReturnType<typeof good>) => unknown, RegExp][] = [
  ['not an object', () => [], /b\.json: the top level must be a JSON object/],
  ['missing name', (b) => ({ ...b, name: undefined }), /b\.json: name: missing/],
  ['no NICs', (b) => ({ ...b, nics: [] }), /nics: needs at least 1 entry/],
  ['slot out of range', (b) => ((b.nics[1]!.slot = 4), b), /nics\[1\]\.slot: expected an integer 0\.\.3, got 4/],
  ['bad role', (b) => ((b.nics[0]!.role = 'uplink'), b), /nics\[0\]\.role: expected one of "wan", "lan"/],
  ['long interface name', (b) => ((b.nics[0]!.name = 'a-very-long-ifname'), b), /nics\[0\]\.name: expected an interface name/],
  ['duplicate NIC name', (b) => ((b.nics[1]!.name = 'eth0'), b), /nics\[1\]\.name: "eth0" is already used by nics\[0\]/],
  ['same position twice', (b) => ((b.nics[1]!.port = 0), b), /nics\[1\]: bus\/slot\/port give the same shared-MAC byte/],
  ['two sync NICs', (b) => ((b.nics[0]!.role = 'sync'), b), /nics: only one NIC can have role "sync"/],
  ['bypass to an unknown port', (b) => ((b.bypass[0]!.ports[1] = 'eth9'), b), /bypass\[0\]\.ports\[1\]: no NIC named "eth9"/],
  ['bypass with three ports', (b) => (b.bypass[0]!.ports.push('eth0'), b), /bypass\[0\]\.ports: allows at most 2 entries/],
  ['GPIO chip not a device', (b) => ((b.bypass[0]!.gpio.chip = 'gpiochip0'), b), /bypass\[0\]\.gpio\.chip: expected a \/dev\/gpiochipN path/],
  [
    'activeLow not boolean',
    (b) => (((b.bypass[0]!.gpio as { activeLow: unknown }).activeLow = 'yes'), b),
    /bypass\[0\]\.gpio\.activeLow: expected true or false/,
  ],
  [
    'unknown released behaviour',
    (b) => (((b.bypass[0] as { whenReleased: string }).whenReleased = 'open'), b),
    /bypass\[0\]\.whenReleased: expected one of "bypass", "disconnect", "normal"/,
  ],
  [
    'two segments on one GPIO line',
    (b) => (b.bypass.push({ ...b.bypass[0]!, name: 'seg2' }), b),
    /bypass\[1\]\.gpio: line 3 of \/dev\/gpiochip0 already drives bypass\[0\]\.gpio/,
  ],
  [
    "a disconnect relay on the bypass relay's line",
    (b) => (((b.bypass[0] as Record<string, unknown>)['disconnectGpio'] = { ...b.bypass[0]!.gpio }), b),
    /bypass\[0\]\.disconnectGpio: line 3 of \/dev\/gpiochip0 already drives bypass\[0\]\.gpio/,
  ],
  ['a line offset out of any chip', (b) => ((b.bypass[0]!.gpio.line = 512), b), /bypass\[0\]\.gpio\.line: expected an integer 0\.\.511, got 512/],
  ['odd console speed', (b) => ((b.console.baud = 1234), b), /console\.baud: expected one of 9600/],
];
for (const [name, mutate, message] of bad) {
  test(`a board with ${name} is rejected naming the field`, (t) => {
    const e = t.throws(() => parseBoard(mutate(good()), 'b.json'), { instanceOf: BoardError });
    t.regex(e!.message, message);
  });
}

test('loadBoard names the file for unreadable and non-JSON files', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-board-'));
  t.throws(() => loadBoard(join(dir, 'missing.json')), { message: /missing\.json: cannot read the board file/ });
  writeFileSync(join(dir, 'broken.json'), '{ "name": ');
  t.throws(() => loadBoard(join(dir, 'broken.json')), { message: /broken\.json: not valid JSON/ });
});

test("a configuration's relative board path is read from the configuration file's directory, not the current one", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-board-'));
  mkdirSync(join(dir, 'boards'));
  writeFileSync(join(dir, 'boards', 'x1.json'), JSON.stringify(good()));
  const cwd = process.cwd();
  process.chdir('/');
  try {
    t.is(boardOf({ board: 'boards/x1.json', file: join(dir, 'node.json') }).name, 'x1');
    t.is(boardOf({ board: join(dir, 'boards', 'x1.json'), file: '/elsewhere/node.json' }).name, 'x1', 'an absolute path as it is');
    t.is(boardOf({ board: 'sim', file: join(dir, 'node.json') }).name, 'sim', 'a name is a shipped board');
  } finally {
    process.chdir(cwd);
  }
});

test('a board error names the configuration file and its field, and never prints what the file holds', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-board-'));
  const missing = t.throws(() => boardOf({ board: 'nope.json', file: join(dir, 'node.json') }));
  t.is(
    missing.message,
    `${join(dir, 'node.json')}: board: ${join(dir, 'nope.json')}: cannot read the board file: ENOENT: no such file or directory, open '${join(dir, 'nope.json')}'`,
  );
  writeFileSync(join(dir, 'secret.key'), 'hunter2-the-cluster-password\n');
  const wrong = t.throws(() => boardOf({ board: './secret.key', file: join(dir, 'node.json') }));
  t.regex(wrong.message, /node\.json: board: .*secret\.key: not valid JSON \(it does not begin with "\{": not a JSON file\)$/);
  t.false(wrong.message.includes('hunter2'), wrong.message);
  writeFileSync(join(dir, 'broken.json'), '{\n  "name": "x1",\n  nics: []\n}');
  t.regex(t.throws(() => loadBoard(join(dir, 'broken.json'))).message, /broken\.json: not valid JSON \(at line 3, column 3\)$/);
});
