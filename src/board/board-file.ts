/**
 * DOC: the board file: what the hardware of an appliance model is
 *
 * NICs with their PCI bus/slot/port (the shared and heartbeat MACs are
 * derived from it, so both nodes of a cluster must run the same board file),
 * the bypass segments and the GPIO line driving each relay, the watchdog and
 * the console device. `parseBoard` validates and names the bad field with its
 * path; `loadBoard` reads a file. Boards shipped with tandem live in board/.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { interfaceMask, NN_LIMITS } from '../wire/mac.js';
import { Fields, readJsonFile, ValidationError } from './validate.js';

export const NIC_ROLES = ['wan', 'lan', 'dmz', 'sync', 'mgmt', 'data'] as const;
export type NicRole = (typeof NIC_ROLES)[number];

/** What a bypass relay does with the segment when its GPIO line is released (process gone, power lost). */
export const RELEASED_BEHAVIOURS = ['bypass', 'disconnect', 'normal'] as const;
export type ReleasedBehaviour = (typeof RELEASED_BEHAVIOURS)[number];

export interface Nic {
  name: string;
  bus: number;
  slot: number;
  port: number;
  role: NicRole;
  label?: string;
  /** NN of the heartbeat and shared MACs, derived from bus/slot/port. */
  nn: number;
}

export interface GpioLine {
  chip: string;
  line: number;
  activeLow: boolean;
}

/**
 * A bypass segment, modelled on bypass NICs (Silicom's bypass and disconnect
 * controls): `gpio` drives the bypass relay (asserted: the two ports are
 * coupled, the box is a wire), the optional `disconnectGpio` the disconnect
 * relay (asserted: both ports are cut); neither asserted is inline. When the
 * lines are released (process gone, power lost) the hardware does
 * `whenReleased`, within `releaseMs`.
 */
export interface BypassSegment {
  name: string;
  ports: [string, string];
  gpio: GpioLine;
  disconnectGpio: GpioLine | null;
  whenReleased: ReleasedBehaviour;
  /** The other phases of bypass boards (Lanner, Silicom): without power, and at power-up before the OS drives the lines. */
  atPowerOff: ReleasedBehaviour;
  atPowerUp: ReleasedBehaviour;
  /** How long the relays take to switch after a change or a release (Silicom: ~0.5 s). */
  releaseMs: number;
}

export interface Board {
  name: string;
  description: string;
  nics: Nic[];
  bypass: BypassSegment[];
  watchdog: { device: string; timeoutSeconds: number } | null;
  console: { device: string; baud: number } | null;
}

export { ValidationError as BoardError };

export function parseBoard(raw: unknown, source: string): Board {
  const top = Fields.root(raw, source);
  const board: Board = {
    name: top.string('name', { pattern: /^[a-z0-9][a-z0-9-]*$/, hint: 'lower-case letters, digits and dashes' }),
    description: top.optionalString('description') ?? '',
    nics: top.array('nics', { min: 1 }).map((item) => {
      const n = item.fields();
      const bus = n.int('bus', 0, NN_LIMITS.bus);
      const slot = n.int('slot', 0, NN_LIMITS.slot);
      const port = n.int('port', 0, NN_LIMITS.port);
      const nic: Nic = {
        name: n.string('name', { pattern: /^[A-Za-z0-9_.-]{1,15}$/, hint: 'an interface name of 1 to 15 characters' }),
        bus,
        slot,
        port,
        role: n.oneOf('role', NIC_ROLES),
        nn: interfaceMask({ bus, slot, port }),
      };
      const label = n.optionalString('label');
      if (label !== undefined) nic.label = label;
      return nic;
    }),
    bypass: (top.optionalArray('bypass') ?? []).map((item) => {
      const b = item.fields();
      const ports = b.array('ports', { min: 2, max: 2 }).map((p) => p.self.string());
      const line = (g: Fields): GpioLine => ({
        chip: g.string('chip', { pattern: /^\/dev\//, hint: 'a /dev/gpiochipN path' }),
        line: g.int('line', 0, 511),
        activeLow: g.bool('activeLow'),
      });
      return {
        name: b.string('name'),
        ports: [ports[0]!, ports[1]!],
        gpio: line(b.object('gpio')),
        disconnectGpio: b.has('disconnectGpio') ? line(b.object('disconnectGpio')) : null,
        whenReleased: b.oneOf('whenReleased', RELEASED_BEHAVIOURS),
        atPowerOff: b.has('atPowerOff') ? b.oneOf('atPowerOff', RELEASED_BEHAVIOURS) : b.oneOf('whenReleased', RELEASED_BEHAVIOURS),
        atPowerUp: b.has('atPowerUp') ? b.oneOf('atPowerUp', RELEASED_BEHAVIOURS) : b.oneOf('whenReleased', RELEASED_BEHAVIOURS),
        releaseMs: b.has('releaseMs') ? b.int('releaseMs', 0, 60_000) : 500,
      };
    }),
    watchdog: top.nullable('watchdog', (w) => ({ device: w.string('device'), timeoutSeconds: w.int('timeoutSeconds', 1, 600) })),
    console: top.nullable('console', (c) => ({ device: c.string('device'), baud: c.oneOf('baud', [9600, 19200, 38400, 57600, 115200] as const) })),
  };
  checkConsistency(board, top);
  return board;
}

function checkConsistency(board: Board, top: Fields): void {
  const names = new Map<string, number>();
  const masks = new Map<number, number>();
  board.nics.forEach((nic, i) => {
    const dup = names.get(nic.name);
    if (dup !== undefined) top.fail(`nics[${i}].name`, `"${nic.name}" is already used by nics[${dup}]`);
    names.set(nic.name, i);
    const clash = masks.get(nic.nn);
    if (clash !== undefined) {
      top.fail(`nics[${i}]`, `bus/slot/port give the same shared-MAC byte (NN 0x${nic.nn.toString(16)}) as nics[${clash}]; every NIC needs its own position`);
    }
    masks.set(nic.nn, i);
  });
  const syncs = board.nics.filter((n) => n.role === 'sync');
  if (syncs.length > 1) top.fail('nics', `only one NIC can have role "sync" (found ${syncs.map((n) => n.name).join(', ')})`);
  const lines = new Map<string, string>();
  board.bypass.forEach((seg, i) => {
    seg.ports.forEach((p, j) => {
      if (!names.has(p)) top.fail(`bypass[${i}].ports[${j}]`, `no NIC named "${p}" in nics`);
    });
    for (const [field, g] of [
      ['gpio', seg.gpio],
      ['disconnectGpio', seg.disconnectGpio],
    ] as const) {
      if (!g) continue;
      const key = `${g.chip}:${g.line}`;
      const other = lines.get(key);
      if (other !== undefined) top.fail(`bypass[${i}].${field}`, `line ${g.line} of ${g.chip} already drives ${other}`);
      lines.set(key, `bypass[${i}].${field}`);
    }
  });
}

export function loadBoard(path: string): Board {
  return parseBoard(readJsonFile(path, 'board file'), path);
}

/** The directory of the boards shipped with tandem (board/ at the top of the checkout). */
export const BOARD_DIR = join(__dirname, '..', '..', '..', 'board');

/** Whether a board reference is a path to a board file rather than the name of a shipped board. */
export function isBoardPath(nameOrPath: string): boolean {
  return nameOrPath.includes('/') || nameOrPath.endsWith('.json');
}

/**
 * The board a configuration file names: a shipped board by name, or a board file, a relative path read from
 * the configuration file's directory (as its passwordFile is: under systemd the current directory is /). Any
 * error names the configuration file and its field.
 */
export function boardOf(config: { board: string; file: string }): Board {
  const ref = config.board;
  try {
    return resolveBoard(isBoardPath(ref) && !isAbsolute(ref) ? join(dirname(config.file), ref) : ref);
  } catch (e) {
    throw new ValidationError(config.file, 'board', (e as Error).message);
  }
}

/** A shipped board by name ("sim", "generic-x86") or a path to a board file. */
export function resolveBoard(nameOrPath: string): Board {
  if (isBoardPath(nameOrPath)) return loadBoard(nameOrPath);
  return loadBoard(join(BOARD_DIR, `${nameOrPath}.json`));
}
