/**
 * DOC: the pre-flight check of a node configuration against its board
 *
 * Pure. Every misconfiguration in seed 001's troubleshooting list is an
 * error naming the field: both nodes of one type, a shared IP equal to
 * Master_IP or Slave_IP, no interface able to carry heartbeats, a cluster ID
 * out of range (caught by the parser); and what would break the cluster in
 * the same way (interfaces the board lacks, two sync interfaces, a failover
 * time shorter than three heartbeats). A single heartbeat interface is a
 * warning: seed 001 calls that cluster "very sensitive".
 */
import type { Board } from '../board/board-file.js';
import type { Cidr, NodeConfig } from './config-file.js';
import { checkIpv6, ownAddress6 } from './config-check6.js';

export { ownAddress6 };

export interface Finding {
  field: string;
  message: string;
}

export interface CheckResult {
  errors: Finding[];
  warnings: Finding[];
}

const same = (a: Cidr | null, b: Cidr | null) => a !== null && b !== null && a.address === b.address;

function subnet(c: Cidr): string {
  const n = c.address.split('.').reduce((acc, o) => (acc << 8) | Number(o), 0) >>> 0;
  const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
  return `${(n & mask) >>> 0}/${c.prefix}`;
}

/** This node's own address on an interface: Master_IP on the master, Slave_IP on the slave. */
export function ownAddress(config: NodeConfig, i: NodeConfig['interfaces'][number]): Cidr | null {
  return i.address ?? (config.node.type === 'master' ? i.masterIp : i.slaveIp);
}

/** Whether this node has an address of either family on an interface (heartbeats need one of them). */
export const hasOwnAddress = (config: NodeConfig, i: NodeConfig['interfaces'][number]) => ownAddress(config, i) !== null || ownAddress6(config, i) !== null;

/** This node's addresses on its management interface, IPv4 first: the management server listens on each. */
export function managementAddresses(config: NodeConfig): string[] {
  const i = config.management && config.interfaces.find((f) => f.name === config.management!.interface);
  return i ? [ownAddress(config, i), ownAddress6(config, i)].flatMap((c) => (c ? [c.address] : [])) : [];
}

/** The peer's address on the sync interface: the member's (managed) or the other of Master_IP/Slave_IP (static). */
export function peerSyncAddress(config: NodeConfig): string | null {
  if (!config.peer) return null;
  if (config.peer.address) return config.peer.address;
  const sync = config.interfaces.find((i) => i.sync);
  return (config.node.type === 'master' ? sync?.slaveIp : sync?.masterIp)?.address ?? null;
}

export function checkConfig(config: NodeConfig, board: Board): CheckResult {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const err = (field: string, message: string) => errors.push({ field, message });
  const warn = (field: string, message: string) => warnings.push({ field, message });

  const peer = config.peer;
  if (peer && config.node.type === peer.type) {
    err(
      'peer.type',
      `this node and its peer are both ${config.node.type}: one must be master and the other slave (seed 001: both set as ${config.node.type} leaves the cluster both active or both inactive)`,
    );
  }
  if (peer && config.node.id === peer.id)
    err('peer.id', `the peer has this node's ID ${config.node.id}: every node needs its own (its heartbeats would look like our own: heartbeat_from_myself)`);
  if (peer && config.node.name === peer.name) err('peer.name', `the peer has this node's name "${config.node.name}"`);
  if (config.cluster.mode === 'active-active') {
    config.interfaces.forEach((i, k) => {
      if (i.sharedIp || i.sharedIp6)
        err(
          `interfaces[${k}].${i.sharedIp ? 'sharedIp' : 'sharedIp6'}`,
          `the cluster is active/active: the load balancer holds the service address and both members serve on their own; remove the shared address of ${i.name}`,
        );
    });
  }
  if (config.management && !board.nics.some((n) => n.name === config.management!.interface)) {
    err('management.interface', `board ${board.name} has no NIC named "${config.management.interface}" (it has ${board.nics.map((n) => n.name).join(', ')})`);
  } else if (config.management && !config.interfaces.some((i) => i.name === config.management!.interface && ownAddress(config, i))) {
    err('management.interface', `${config.management.interface} has no address of this node in interfaces[]: the status page binds to that address only`);
  }

  const seen = new Map<string, number>();
  config.interfaces.forEach((i, k) => {
    const at = `interfaces[${k}]`;
    const nic = board.nics.find((n) => n.name === i.name);
    if (!nic) err(`${at}.name`, `board ${board.name} has no NIC named "${i.name}" (it has ${board.nics.map((n) => n.name).join(', ')})`);
    if (seen.has(i.name)) err(`${at}.name`, `"${i.name}" is already configured at interfaces[${seen.get(i.name)}]`);
    seen.set(i.name, k);
    if (nic && i.sync && nic.role !== 'sync') warn(`${at}.sync`, `${i.name} is the sync interface here but has role "${nic.role}" on board ${board.name}`);
    // Seed 001: identical Shared, Master_IP and Slave_IP addresses give "very strange problems".
    if (same(i.sharedIp, i.masterIp)) err(`${at}.sharedIp`, `equals masterIp ${i.masterIp!.address}: the shared address must differ from both node addresses`);
    if (same(i.sharedIp, i.slaveIp)) err(`${at}.sharedIp`, `equals slaveIp ${i.slaveIp!.address}: the shared address must differ from both node addresses`);
    if (same(i.sharedIp, i.address))
      err(`${at}.sharedIp`, `equals this node's address ${i.address!.address}: the shared address must differ from the nodes' own`);
    if (same(i.masterIp, i.slaveIp)) err(`${at}.slaveIp`, `equals masterIp ${i.masterIp!.address}: each node needs its own address`);
    const addrs = [i.sharedIp, i.masterIp, i.slaveIp].filter((c): c is Cidr => c !== null);
    if (new Set(addrs.map(subnet)).size > 1) warn(at, `sharedIp, masterIp and slaveIp of ${i.name} are not in one subnet`);
    checkIpv6(config, i, at, { err, warn });
    if (i.heartbeats && !hasOwnAddress(config, i)) {
      warn(
        `${at}.${config.cluster.managed ? 'address' : config.node.type === 'master' ? 'masterIp' : 'slaveIp'}`,
        `${i.name} has heartbeats on but no address for this node (${config.node.type}): it cannot send them`,
      );
    }
    if (i.monitorTargets.length > 0 && !i.monitor)
      warn(`${at}.monitorTargets`, `targets are probed but ${i.name} is not monitored (set "monitor": true for their loss to count)`);
  });

  const syncs = config.interfaces.filter((i) => i.sync);
  if (syncs.length > 1) err('interfaces', `only one interface can be the sync interface (found ${syncs.map((i) => i.name).join(', ')})`);

  if (config.sync.enabled && syncs.length === 0) {
    err(
      'sync.enabled',
      'state synchronisation is on but no interface has "sync": true: name the sync interface, or set sync.enabled to false (connections will then not survive a failover)',
    );
  } else if (config.sync.enabled && syncs.length === 1 && !config.cluster.managed) {
    const k = config.interfaces.indexOf(syncs[0]!);
    for (const f of ['masterIp', 'slaveIp'] as const) {
      if (!syncs[0]![f])
        err(`interfaces[${k}].${f}`, `the sync interface ${syncs[0]!.name} needs both nodes' addresses: the sync channel runs between masterIp and slaveIp`);
    }
  } else if (syncs.length === 1 && config.cluster.managed && !ownAddress(config, syncs[0]!)) {
    err(
      `interfaces[${config.interfaces.indexOf(syncs[0]!)}].address`,
      `the sync interface ${syncs[0]!.name} needs this node's address: members reach each other there`,
    );
  }
  if (config.sync.enabled && config.sync.timeoutMs < 2 * config.timers.heartbeatIntervalMs) {
    err('sync.timeoutMs', `${config.sync.timeoutMs} ms is shorter than two heartbeat intervals: the channel would be declared dead while idle`);
  }

  if (config.fence.bypassSegment !== null && !board.bypass.some((s) => s.name === config.fence.bypassSegment)) {
    err(
      'fence.bypassSegment',
      `board ${board.name} has no bypass segment "${config.fence.bypassSegment}" (it has ${board.bypass.map((s) => s.name).join(', ') || 'none'})`,
    );
  }
  for (const name of Object.keys(config.bypass)) {
    if (!board.bypass.some((s) => s.name === name)) {
      err(`bypass.${name}`, `board ${board.name} has no bypass segment "${name}" (it has ${board.bypass.map((s) => s.name).join(', ') || 'none'})`);
    }
  }
  for (const seg of board.bypass) {
    const wanted = config.bypass[seg.name]?.failureMode ?? 'fail-open';
    const crash = seg.whenReleased === 'bypass' ? 'fail-open' : seg.whenReleased === 'disconnect' ? 'fail-closed' : 'inline';
    if (wanted === 'fail-closed' && !seg.disconnectGpio) {
      err(
        `bypass.${seg.name}.failureMode`,
        `fail-closed needs a disconnect relay, and segment ${seg.name} of board ${board.name} has none (bypass[].disconnectGpio)`,
      );
    } else if (crash !== wanted) {
      warn(
        `bypass.${seg.name}.failureMode`,
        `${wanted} is set on a clean stop and at start, but after a crash the hardware does "${seg.whenReleased}" (board whenReleased): the two differ`,
      );
    }
    for (const [phase, does] of [
      ['atPowerOff', seg.atPowerOff],
      ['atPowerUp', seg.atPowerUp],
    ] as const) {
      const as = does === 'bypass' ? 'fail-open' : does === 'disconnect' ? 'fail-closed' : 'inline';
      if (as !== wanted && crash === wanted)
        warn(`bypass.${seg.name}.failureMode`, `${wanted} is configured, but ${phase} the hardware does "${does}" (board ${phase})`);
    }
  }

  const carriers = config.interfaces.filter((i) => i.heartbeats && hasOwnAddress(config, i) && board.nics.some((n) => n.name === i.name));
  if (carriers.length === 0) {
    err('interfaces', "no interface can carry heartbeats: turn heartbeats on for at least one board interface that has this node's address (masterIp/slaveIp)");
  } else if (carriers.length === 1) {
    warn(
      'interfaces',
      `only ${carriers[0]!.name} carries heartbeats: seed 001 calls such a cluster very sensitive; enable heartbeats on as many interfaces as possible`,
    );
  }

  const { heartbeatIntervalMs: hb, failoverTimeMs: fo } = config.timers;
  if (fo < 3 * hb) err('timers.failoverTimeMs', `${fo} ms is less than three heartbeat intervals (${hb} ms each): one lost frame would look like a dead peer`);
  const lease = config.timers.heartbeatLeaseMs;
  if (lease < fo) {
    err(
      'timers.heartbeatLeaseMs',
      `${lease} ms is shorter than the failover time (${fo} ms): a main-loop stall the peer would wait out anyway would stop the heartbeats; use at least ${fo}`,
    );
  }
  if (lease < 2 * hb)
    err('timers.heartbeatLeaseMs', `${lease} ms is less than two heartbeat intervals (${hb} ms each): the thread would run dry between two refills`);
  return { errors, warnings };
}
