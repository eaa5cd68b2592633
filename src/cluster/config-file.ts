/**
 * DOC: the node configuration file (docs/configuration.md)
 *
 * One JSON file per node: the board, the timers, and per interface its role
 * in the cluster (heartbeats, sync, monitored, this node's address, shared
 * address, monitor targets). The cluster itself comes from one of two places:
 * - static: the file names the cluster (ID, password file), this node and
 *   its peer (name, ID, type), and Master_IP/Slave_IP per interface;
 * - managed: the file has no `cluster`; `tandem cluster create|join` put the
 *   membership in the cluster store (store.ts), and this file gives each
 *   interface this node's own `address`. Without a cluster in the store the
 *   node is standalone.
 * `parseLocal`/`parseConfig` check each field and name the bad one;
 * `checkConfig` (config-check.ts) then checks the whole against the board and
 * seed 001's troubleshooting list.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { Fields, readJsonFile, ValidationError } from '../board/validate.js';
import type { NodeType } from '../wire/heartbeat-frame.js';
import { parseIface, type IfaceConfig } from './iface-config.js';
import { formatIpv6, parseIpv6 } from '../wire/ipv6.js';
import { ClusterStore, type ClusterEngine, type GroupMode, type Member, type StoreContent } from './store.js';
import { COROSYNC_PORT, COROSYNC_TOKEN_MS } from './corosync-conf.js';

export type { Cidr, IfaceConfig } from './iface-config.js';

/** Everything of the file that belongs to this node alone. */
export interface LocalConfig {
  file: string;
  board: string;
  timers: {
    heartbeatIntervalMs: number;
    failoverTimeMs: number;
    initialSilenceMs: number;
    holdDownMs: number;
    monitorIntervalMs: number;
    monitorMisses: number;
    /** How far ahead the heartbeat thread holds frames: a main-loop stall shorter than this is invisible to the peer. */
    heartbeatLeaseMs: number;
    /** SCHED_FIFO priority of the heartbeat thread, 1..99 (0: the default scheduler). */
    heartbeatRtPriority: number;
  };
  interfaces: IfaceConfig[];
  /** refreshMs: one gratuitous ARP per shared address this often while active (0: only at a claim and when the peer steps down). */
  garp: { count: number; intervalMs: number; refreshMs: number };
  /**
   * Fencing a peer declared dead, before the shared addresses come up (seed 003): a bypass segment wired to
   * cut the peer's path (put in `bypassMode`), an external STONITH command (exit 0: fenced), or both.
   */
  fence: {
    command: string | null;
    timeoutMs: number;
    bypassSegment: string | null;
    bypassMode: 'disconnect' | 'bypass';
    onFailure: 'take-over' | 'stay-inactive';
  };
  /** Per bypass segment of the board: what the relays do when this node cannot serve. */
  bypass: Record<string, { failureMode: 'fail-open' | 'fail-closed' }>;
  /** State synchronisation over the sync interface (seed 000/002). */
  sync: { enabled: boolean; port: number; timeoutMs: number };
  stateDir: string;
  controlSocket: string;
  /** The status page, health check and metrics: served on this node's address of one interface only. */
  /** protocolImplied: the file does not name the protocol (HTTPS by default; builds before the HTTPS server spoke plain HTTP). */
  management: {
    interface: string;
    port: number;
    gateway: string | null;
    gateway6: string | null;
    protocol: 'https' | 'http';
    protocolImplied?: boolean;
    portGiven?: boolean;
  } | null;
  /** Scheduling priority of tandemd: a busy box must not starve the heartbeats (keepalived's realtime option). */
  nice: number;
  /** A syslog server that receives every event (RFC 5424). */
  syslog: { host: string; port: number; transport: 'udp' | 'tcp'; facility: number; queueMax: number } | null;
  /**
   * Maintenance with planned failovers (seed 002, `tandem update|upgrade`): the command that applies a
   * distributed file here (called as COMMAND FILE KIND), and how long it may take.
   */
  /**
   * confirmMs: how long the trial boot of a new firmware version has to come up healthy (tandemd up; in a cluster, the
   * peer heard and the state in sync) before the box goes back to the version before (docs/appliance-image.md).
   */
  maintenance: { updateCommand: string | null; upgradeCommand: string | null; timeoutMs: number; confirmMs: number };
  /** Clusters on Corosync (three and more members): run our own, or attach to the image's. */
  corosync: { manage: boolean; privateRun: boolean; port: number; tokenMs: number };
}

export interface PeerRef {
  name: string;
  id: number;
  type: NodeType;
  /** Its sync address (managed clusters); static ones take it from masterIp/slaveIp. */
  address?: string;
}

export interface NodeConfig extends LocalConfig {
  cluster: {
    id: number;
    name: string;
    mode: GroupMode;
    /** How members find each other: our heartbeats (pairs) or Corosync (three and more). */
    engine: ClusterEngine;
    /** Static: the file holding the password. Managed: null, the key is in the store. */
    passwordFile: string | null;
    /** Managed: the derived key (hex). */
    key: string | null;
    managed: boolean;
  };
  node: { name: string; id: number; type: NodeType };
  /** null: a cluster of one (created, nobody joined yet). */
  peer: PeerRef | null;
  /** This member's standing (managed clusters; a static node is always enabled). */
  member: { enabled: boolean; draining: boolean };
  /** Every member, this node included (static: the two nodes of the file). */
  members: Member[];
  /** The store's generation: heartbeats carry it, the leader is the member with the newest state. */
  generation: number;
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
  heartbeatLeaseMs: 1000,
  heartbeatRtPriority: 0,
  garpCount: 5,
  garpIntervalMs: 100,
  garpRefreshMs: 0,
  syncPort: 4900,
  syncTimeoutMs: 3000,
  stateDir: '/var/lib/tandem',
  controlSocket: '/run/tandem/tandemd.sock',
  managementPort: 8080,
  managementHttpsPort: 443,
  nice: -15,
} as const;

const NODE_TYPES = ['master', 'slave'] as const;
const NAME = { pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,15}$/, hint: 'a name of 1 to 16 letters, digits, "-", "_" or "."' };

function optionalBool(f: Fields, key: string, fallback: boolean): boolean {
  return f.has(key) ? f.bool(key) : fallback;
}

function optionalInt(f: Fields, key: string, min: number, max: number, fallback: number): number {
  return f.has(key) ? f.int(key, min, max) : fallback;
}

/** 0 (off), or a second to an hour: faster than a second only floods the segment, and switches age their tables in minutes. */
function refreshMs(garp: Fields): number {
  const v = optionalInt(garp, 'refreshMs', 0, 3_600_000, DEFAULTS.garpRefreshMs);
  if (v !== 0 && v < 1000) throw new ValidationError(garp.file, `${garp.path}.refreshMs`, `expected 0 (off) or at least 1000 ms, got ${v}`);
  return v;
}

const BOARD_REF = /^[^\0\n]{1,1024}$/;

export function parseLocal(raw: unknown, file: string): LocalConfig {
  const top = Fields.root(raw, file);
  const timers = top.has('timers') ? top.object('timers') : undefined;
  const garp = top.has('garp') ? top.object('garp') : undefined;
  const fence = top.has('fence') ? top.object('fence') : undefined;
  const sync = top.has('sync') ? top.object('sync') : undefined;
  const management = top.has('management') ? top.object('management') : undefined;
  const failoverTime = timers ? optionalInt(timers, 'failoverTimeMs', 15, 60_000, DEFAULTS.failoverTimeMs) : DEFAULTS.failoverTimeMs;
  return {
    file,
    board: top.string('board', { pattern: BOARD_REF, hint: 'the name of a shipped board or the path of a board file (1-1024 characters, one line)' }),
    timers: {
      heartbeatIntervalMs: timers ? optionalInt(timers, 'heartbeatIntervalMs', 5, 10_000, DEFAULTS.heartbeatIntervalMs) : DEFAULTS.heartbeatIntervalMs,
      failoverTimeMs: failoverTime,
      initialSilenceMs: timers ? optionalInt(timers, 'initialSilenceMs', 0, 600_000, DEFAULTS.initialSilenceMs) : DEFAULTS.initialSilenceMs,
      holdDownMs: timers ? optionalInt(timers, 'holdDownMs', 0, 600_000, DEFAULTS.holdDownMs) : DEFAULTS.holdDownMs,
      monitorIntervalMs: timers ? optionalInt(timers, 'monitorIntervalMs', 10, 60_000, DEFAULTS.monitorIntervalMs) : DEFAULTS.monitorIntervalMs,
      monitorMisses: timers ? optionalInt(timers, 'monitorMisses', 1, 100, DEFAULTS.monitorMisses) : DEFAULTS.monitorMisses,
      // Unset: the default, or the failover time if that is longer (a lease shorter than it is refused).
      heartbeatLeaseMs: timers?.has('heartbeatLeaseMs')
        ? optionalInt(timers, 'heartbeatLeaseMs', 15, 60_000, DEFAULTS.heartbeatLeaseMs)
        : Math.max(DEFAULTS.heartbeatLeaseMs, failoverTime),
      heartbeatRtPriority: timers ? optionalInt(timers, 'heartbeatRtPriority', 0, 99, DEFAULTS.heartbeatRtPriority) : DEFAULTS.heartbeatRtPriority,
    },
    interfaces: top.array('interfaces', { min: 1 }).map((item) => parseIface(item.fields(), file)),
    garp: {
      count: garp ? optionalInt(garp, 'count', 0, 100, DEFAULTS.garpCount) : DEFAULTS.garpCount,
      intervalMs: garp ? optionalInt(garp, 'intervalMs', 1, 10_000, DEFAULTS.garpIntervalMs) : DEFAULTS.garpIntervalMs,
      refreshMs: garp ? refreshMs(garp) : DEFAULTS.garpRefreshMs,
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
          top
            .object('bypass')
            .keys()
            .map((name) => [
              name,
              {
                failureMode: top
                  .object('bypass')
                  .object(name)
                  .oneOf('failureMode', ['fail-open', 'fail-closed'] as const),
              },
            ]),
        )
      : {},
    sync: {
      enabled: sync ? optionalBool(sync, 'enabled', true) : true,
      port: sync ? optionalInt(sync, 'port', 1, 65535, DEFAULTS.syncPort) : DEFAULTS.syncPort,
      timeoutMs: sync ? optionalInt(sync, 'timeoutMs', 100, 600_000, DEFAULTS.syncTimeoutMs) : DEFAULTS.syncTimeoutMs,
    },
    stateDir: top.optionalString('stateDir') ?? DEFAULTS.stateDir,
    controlSocket: top.optionalString('controlSocket') ?? DEFAULTS.controlSocket,
    nice: top.has('nice') ? top.int('nice', -20, 19) : DEFAULTS.nice,
    syslog: top.has('syslog') ? syslogSettings(top.object('syslog')) : null,
    maintenance: maintenanceSettings(top.has('maintenance') ? top.object('maintenance') : undefined),
    corosync: corosyncSettings(top.has('corosync') ? top.object('corosync') : undefined),
    management: management
      ? {
          interface: management.string('interface', { pattern: /^[A-Za-z0-9_.-]{1,15}$/, hint: 'an interface name of the board' }),
          ...managementProtocol(management),
          gateway: management.optionalString('gateway') ?? null,
          gateway6: gateway6(management),
        }
      : null,
  };
}

/** The IPv6 default gateway the console set (canonical), or null. */
function gateway6(f: Fields): string | null {
  const text = f.optionalString('gateway6');
  if (text === undefined) return null;
  const a = parseIpv6(text);
  return a === undefined ? f.fail(`${f.path}.gateway6`, `expected an IPv6 address such as 2001:2:0:2::fe, got "${text}"`) : formatIpv6(a);
}

/** HTTPS unless the file says http: the admin password must not cross the management network in clear. */
function managementProtocol(f: Fields): { protocol: 'https' | 'http'; port: number; protocolImplied: boolean; portGiven: boolean } {
  const protocol = f.has('protocol') ? f.string('protocol', { pattern: /^(https|http)$/, hint: '"https" (the default) or "http"' }) : 'https';
  const port = optionalInt(f, 'port', 1, 65535, protocol === 'https' ? DEFAULTS.managementHttpsPort : DEFAULTS.managementPort);
  return { protocol: protocol as 'https' | 'http', port, protocolImplied: !f.has('protocol'), portGiven: f.has('port') };
}

function corosyncSettings(f: Fields | undefined): LocalConfig['corosync'] {
  return {
    manage: f ? optionalBool(f, 'manage', true) : true,
    privateRun: f ? optionalBool(f, 'privateRun', false) : false,
    port: f ? optionalInt(f, 'port', 1, 65535, COROSYNC_PORT) : COROSYNC_PORT,
    tokenMs: f ? optionalInt(f, 'tokenMs', 200, 60_000, COROSYNC_TOKEN_MS) : COROSYNC_TOKEN_MS,
  };
}

/** A trial boot's deadline: a booted box needs about a minute on real hardware to hear its peer and take the state. */
const CONFIRM_MS = 600_000;

function maintenanceSettings(f: Fields | undefined): LocalConfig['maintenance'] {
  const command = (key: string) =>
    f?.has(key) ? f.string(key, { pattern: /^\/\S+$/, hint: 'an absolute path to an executable (it is called as COMMAND FILE KIND)' }) : null;
  return {
    updateCommand: command('updateCommand'),
    upgradeCommand: command('upgradeCommand'),
    timeoutMs: f ? optionalInt(f, 'timeoutMs', 1000, 3_600_000, 600_000) : 600_000,
    confirmMs: f ? optionalInt(f, 'confirmMs', 10_000, 3_600_000, CONFIRM_MS) : CONFIRM_MS,
  };
}

function syslogSettings(f: Fields): NonNullable<LocalConfig['syslog']> {
  const server = f.string('server', { pattern: /^\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?$/, hint: 'an IPv4 address and optional port, such as 198.18.3.100:514' });
  const [host, port] = server.split(':');
  const transport = f.has('transport') ? f.oneOf('transport', ['udp', 'tcp'] as const) : 'udp';
  const facilities = ['local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'] as const;
  const facility = f.has('facility') ? 16 + facilities.indexOf(f.oneOf('facility', facilities)) : 16;
  return { host: host!, port: port ? Number(port) : 514, transport, facility, queueMax: optionalInt(f, 'queueMax', 10, 1_000_000, 10_000) };
}

/** A static configuration: the file names the cluster, this node and its peer. */
export function parseConfig(raw: unknown, file: string): NodeConfig {
  const local = parseLocal(raw, file);
  const top = Fields.root(raw, file);
  const cluster = top.object('cluster');
  const node = top.object('node');
  const peer = top.object('peer');
  const passwordFile = cluster.string('passwordFile');
  const me = { name: node.string('name', NAME), id: node.int('id', 1, 0xffffffff), type: node.oneOf('type', NODE_TYPES) };
  const other = { name: peer.string('name', NAME), id: peer.int('id', 1, 0xffffffff), type: peer.oneOf('type', NODE_TYPES) };
  // Each member's address is its sync address as the file gives it (Master_IP or Slave_IP of the sync interface).
  const sync = local.interfaces.find((i) => i.sync);
  const addressOf = (type: string) => (type === 'master' ? sync?.masterIp : sync?.slaveIp)?.address ?? '';
  const member = (m: typeof me): Member => ({ ...m, address: addressOf(m.type), enabled: true, draining: false, joined: true });
  return {
    ...local,
    cluster: {
      // Seed 001: MM of the shared MAC; several clusters on one segment need distinct IDs.
      id: cluster.int('id', 0, 63),
      name: cluster.optionalString('name') ?? `cluster-${cluster.int('id', 0, 63)}`,
      mode: 'active-passive',
      engine: 'heartbeat',
      passwordFile: isAbsolute(passwordFile) ? passwordFile : join(dirname(file), passwordFile),
      key: null,
      managed: false,
    },
    node: me,
    peer: other,
    member: { enabled: true, draining: false },
    members: [member(me), member(other)],
    generation: 0,
  };
}

/** A managed configuration: the node's file plus the membership in its cluster store. */
export function managedConfig(local: LocalConfig, store: StoreContent): NodeConfig {
  const c = store.cluster;
  const me = c?.members.find((m) => m.name === store.me);
  if (!c || !me || !store.key)
    throw new Error(`${local.file}: this node is standalone (no cluster in ${join(local.stateDir, 'cluster.json')}): run tandem cluster create or join`);
  const peer = c.members.find((m) => m.name !== me.name);
  // The cluster's shared addresses replace what the node's file says: every member must carry the same.
  const cidr = (text: string | undefined) => (text === undefined ? null : { address: text.split('/')[0]!, prefix: Number(text.split('/')[1]) });
  const interfaces = local.interfaces.map((i) => {
    const sharedIp = cidr(c.shared?.[i.name]);
    const sharedIp6 = cidr(c.shared6?.[i.name]);
    const monitor = i.monitorSet ? i.monitor : sharedIp !== null || sharedIp6 !== null;
    return { ...i, sharedIp, sharedIp6, monitor };
  });
  return {
    ...local,
    interfaces,
    cluster: { id: c.id, name: c.name, mode: c.properties.mode, engine: c.properties.engine ?? 'heartbeat', passwordFile: null, key: store.key, managed: true },
    node: { name: me.name, id: me.id, type: me.type },
    peer: peer ? { name: peer.name, id: peer.id, type: peer.type, address: peer.address } : null,
    member: { enabled: me.enabled, draining: me.draining },
    members: c.members,
    // The definition's revision orders members by how recent their view of the cluster is.
    generation: c.revision,
    sync: { ...local.sync, enabled: local.sync.enabled && c.properties.sync },
  };
}

export type Loaded = { kind: 'cluster'; config: NodeConfig; store: ClusterStore | null } | { kind: 'standalone'; config: LocalConfig; store: ClusterStore };

/** Reads a node's file and, for a managed node, its cluster store. */
export function loadNode(path: string): Loaded {
  const raw = readJsonFile(path, 'configuration file');
  const top = Fields.root(raw, path);
  if (top.has('cluster') || top.has('node') || top.has('peer')) return { kind: 'cluster', config: parseConfig(raw, path), store: null };
  const local = parseLocal(raw, path);
  const store = new ClusterStore(local.stateDir);
  if (!store.value.cluster) return { kind: 'standalone', config: local, store };
  return { kind: 'cluster', config: managedConfig(local, store.value), store };
}

/** The static configuration of a file (throws for a managed one: use loadNode). */
export function loadConfig(path: string): NodeConfig {
  return parseConfig(readJsonFile(path, 'configuration file'), path);
}

/** The fields every node has, static or managed (for the CLI: where the control socket is). */
export function loadLocal(path: string): LocalConfig {
  return parseLocal(readJsonFile(path, 'configuration file'), path);
}
