/**
 * DOC: the node configuration file (docs/configuration.md)
 *
 * One JSON file per node: the cluster (ID, password source), this node and
 * its peer (name, ID, type), the board, the timers, and per interface its
 * role in the cluster (heartbeats, sync, monitored, shared/Master_IP/Slave_IP
 * addresses, monitor targets). `parseConfig` checks each field and names the
 * bad one; `checkConfig` (config-check.ts) then checks the whole against the
 * board and seed 001's troubleshooting list.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { Fields, readJsonFile, ValidationError } from '../board/validate.js';
import type { NodeType } from '../wire/heartbeat-frame.js';

export interface Cidr {
  address: string;
  prefix: number;
}

export interface IfaceConfig {
  name: string;
  heartbeats: boolean;
  sync: boolean;
  /** Loss of link (or of all monitor targets) lowers this node's health. */
  monitor: boolean;
  sharedIp: Cidr | null;
  masterIp: Cidr | null;
  slaveIp: Cidr | null;
  monitorTargets: string[];
}

export interface NodeConfig {
  file: string;
  cluster: { id: number; passwordFile: string };
  node: { name: string; id: number; type: NodeType };
  peer: { name: string; id: number; type: NodeType };
  board: string;
  timers: { heartbeatIntervalMs: number; failoverTimeMs: number; initialSilenceMs: number; holdDownMs: number; monitorIntervalMs: number; monitorMisses: number };
  interfaces: IfaceConfig[];
  garp: { count: number; intervalMs: number };
  /**
   * Fencing a peer declared dead, before the shared addresses come up (seed 003): a bypass segment wired to
   * cut the peer's path (put in `bypassMode`), an external STONITH command (exit 0: fenced), or both.
   */
  fence: { command: string | null; timeoutMs: number; bypassSegment: string | null; bypassMode: 'disconnect' | 'bypass'; onFailure: 'take-over' | 'stay-inactive' };
  /** Per bypass segment of the board: what the relays do when this node cannot serve. */
  bypass: Record<string, { failureMode: 'fail-open' | 'fail-closed' }>;
  /** State synchronisation over the sync interface (seed 000/002). */
  sync: { enabled: boolean; port: number; timeoutMs: number };
  stateDir: string;
  controlSocket: string;
}

/**
 * Defaults. Failover time 300 ms with a 50 ms heartbeat: six heartbeats on
 * every interface per failover time (and the sync interface more), so one
 * or two lost frames never look like a dead peer, while detection stays at
 * half of Clavister's 0.6 s. docs/configuration.md gives the reasoning.
 */
export const DEFAULTS = {
  heartbeatIntervalMs: 50,
  failoverTimeMs: 300,
  initialSilenceMs: 3000,
  holdDownMs: 2000,
  monitorIntervalMs: 500,
  monitorMisses: 3,
  garpCount: 5,
  garpIntervalMs: 100,
  syncPort: 4900,
  syncTimeoutMs: 3000,
  stateDir: '/var/lib/tandem',
  controlSocket: '/run/tandem/tandemd.sock',
} as const;

const NODE_TYPES = ['master', 'slave'] as const;
const NAME = { pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,15}$/, hint: 'a name of 1 to 16 letters, digits, "-", "_" or "."' };

function cidr(f: Fields, key: string, path: string): Cidr | null {
  const text = f.optionalString(key);
  if (text === undefined) return null;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
    f.fail(path, `expected an IPv4 address with prefix length such as 198.18.1.1/24, got "${text}"`);
  }
  return { address: m.slice(1, 5).join('.'), prefix: Number(m[5]) };
}

function optionalBool(f: Fields, key: string, fallback: boolean): boolean {
  return f.has(key) ? f.bool(key) : fallback;
}

function optionalInt(f: Fields, key: string, min: number, max: number, fallback: number): number {
  return f.has(key) ? f.int(key, min, max) : fallback;
}

export function parseConfig(raw: unknown, file: string): NodeConfig {
  const top = Fields.root(raw, file);
  const cluster = top.object('cluster');
  const node = top.object('node');
  const peer = top.object('peer');
  const timers = top.has('timers') ? top.object('timers') : undefined;
  const garp = top.has('garp') ? top.object('garp') : undefined;
  const fence = top.has('fence') ? top.object('fence') : undefined;
  const sync = top.has('sync') ? top.object('sync') : undefined;
  const passwordFile = cluster.string('passwordFile');
  return {
    file,
    cluster: {
      // Seed 001: MM of the shared MAC; several clusters on one segment need distinct IDs.
      id: cluster.int('id', 0, 63),
      passwordFile: isAbsolute(passwordFile) ? passwordFile : join(dirname(file), passwordFile),
    },
    node: { name: node.string('name', NAME), id: node.int('id', 1, 0xffffffff), type: node.oneOf('type', NODE_TYPES) },
    peer: { name: peer.string('name', NAME), id: peer.int('id', 1, 0xffffffff), type: peer.oneOf('type', NODE_TYPES) },
    board: top.string('board'),
    timers: {
      heartbeatIntervalMs: timers ? optionalInt(timers, 'heartbeatIntervalMs', 5, 10_000, DEFAULTS.heartbeatIntervalMs) : DEFAULTS.heartbeatIntervalMs,
      failoverTimeMs: timers ? optionalInt(timers, 'failoverTimeMs', 15, 60_000, DEFAULTS.failoverTimeMs) : DEFAULTS.failoverTimeMs,
      initialSilenceMs: timers ? optionalInt(timers, 'initialSilenceMs', 0, 600_000, DEFAULTS.initialSilenceMs) : DEFAULTS.initialSilenceMs,
      holdDownMs: timers ? optionalInt(timers, 'holdDownMs', 0, 600_000, DEFAULTS.holdDownMs) : DEFAULTS.holdDownMs,
      monitorIntervalMs: timers ? optionalInt(timers, 'monitorIntervalMs', 10, 60_000, DEFAULTS.monitorIntervalMs) : DEFAULTS.monitorIntervalMs,
      monitorMisses: timers ? optionalInt(timers, 'monitorMisses', 1, 100, DEFAULTS.monitorMisses) : DEFAULTS.monitorMisses,
    },
    interfaces: top.array('interfaces', { min: 1 }).map((item) => {
      const f = item.fields();
      const at = (k: string) => `${f.path}.${k}`;
      return {
        name: f.string('name', { pattern: /^[A-Za-z0-9_.-]{1,15}$/, hint: 'an interface name of the board' }),
        heartbeats: optionalBool(f, 'heartbeats', true),
        sync: optionalBool(f, 'sync', false),
        monitor: optionalBool(f, 'monitor', false),
        sharedIp: cidr(f, 'sharedIp', at('sharedIp')),
        masterIp: cidr(f, 'masterIp', at('masterIp')),
        slaveIp: cidr(f, 'slaveIp', at('slaveIp')),
        monitorTargets: (f.optionalArray('monitorTargets') ?? []).map((t) => {
          const v = t.self.string();
          if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(v)) throw new ValidationError(file, at('monitorTargets'), `expected IPv4 addresses, got "${v}"`);
          return v;
        }),
      };
    }),
    garp: {
      count: garp ? optionalInt(garp, 'count', 0, 100, DEFAULTS.garpCount) : DEFAULTS.garpCount,
      intervalMs: garp ? optionalInt(garp, 'intervalMs', 1, 10_000, DEFAULTS.garpIntervalMs) : DEFAULTS.garpIntervalMs,
    },
    fence: {
      command: fence?.optionalString('command') ?? null,
      timeoutMs: fence ? optionalInt(fence, 'timeoutMs', 100, 600_000, 10_000) : 10_000,
      bypassSegment: fence?.optionalString('bypassSegment') ?? null,
      bypassMode: fence?.has('bypassMode') ? fence.oneOf('bypassMode', ['disconnect', 'bypass'] as const) : 'disconnect',
      // Whoever configures a fence wants never two active nodes: a failed fence keeps this node inactive unless told otherwise.
      onFailure: fence?.has('onFailure') ? fence.oneOf('onFailure', ['take-over', 'stay-inactive'] as const) : 'stay-inactive',
    },
    bypass: top.has('bypass')
      ? Object.fromEntries(
          top.object('bypass').keys().map((name) => [name, { failureMode: top.object('bypass').object(name).oneOf('failureMode', ['fail-open', 'fail-closed'] as const) }]),
        )
      : {},
    sync: {
      enabled: sync ? optionalBool(sync, 'enabled', true) : true,
      port: sync ? optionalInt(sync, 'port', 1, 65535, DEFAULTS.syncPort) : DEFAULTS.syncPort,
      timeoutMs: sync ? optionalInt(sync, 'timeoutMs', 100, 600_000, DEFAULTS.syncTimeoutMs) : DEFAULTS.syncTimeoutMs,
    },
    stateDir: top.optionalString('stateDir') ?? DEFAULTS.stateDir,
    controlSocket: top.optionalString('controlSocket') ?? DEFAULTS.controlSocket,
  };
}

export function loadConfig(path: string): NodeConfig {
  return parseConfig(readJsonFile(path, 'configuration file'), path);
}
