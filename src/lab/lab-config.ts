/**
 * DOC: node configuration files for a lab's nodes
 *
 * What an appliance builder would write for each node of the lab's cluster:
 * node n1 is the master, n2 the slave; every board NIC carries heartbeats;
 * data interfaces are monitored and carry the segment's shared address
 * (.1); Master_IP and Slave_IP are the nodes' lab addresses. In a dual-stack
 * lab each address has its IPv6 twin (sharedIp6 ::1, masterIp6, slaveIp6).
 */
import type { Board } from '../board/board-file.js';
import type { LabPlan } from './topology.js';
import type { NodeConfig } from '../cluster/config-file.js';

export interface LabConfigOptions {
  clusterId?: number;
  passwordFile: string;
  stateDir: string;
  controlSocket: string;
  timers?: Partial<NodeConfig['timers']>;
  /** How the file names the board (a path for boards that are not shipped). */
  boardRef?: string;
  /** Monitor targets per interface name. */
  monitorTargets?: Record<string, string[]>;
  /** State synchronisation settings (on by default). */
  sync?: { enabled?: boolean; timeoutMs?: number };
}

/** The raw JSON of node `index` (1-based) of a two-node lab. */
export function labNodeConfig(plan: LabPlan, board: Board, index: number, opts: LabConfigOptions): Record<string, unknown> {
  if (plan.nodes.length !== 2) throw new Error('node configurations are written for two-node labs');
  const me = plan.nodes[index - 1]!;
  const other = plan.nodes[2 - index]!;
  const [master, slave] = plan.nodes as [typeof me, typeof me];
  return {
    cluster: { id: opts.clusterId ?? 7, passwordFile: opts.passwordFile },
    node: { name: me.name, id: me.index, type: me === master ? 'master' : 'slave' },
    peer: { name: other.name, id: other.index, type: other === master ? 'master' : 'slave' },
    board: opts.boardRef ?? board.name,
    ...(opts.timers ? { timers: opts.timers } : {}),
    interfaces: board.nics.map((nic) => {
      const seg = plan.segments.find((s) => s.name === master.ifaces.find((i) => i.ifname === nic.name)!.segment)!;
      const sync = nic.role === 'sync';
      const prefix = seg.subnet.split('/')[1];
      return {
        name: nic.name,
        heartbeats: true,
        sync,
        monitor: !sync,
        ...(sync ? {} : { sharedIp: `${seg.sharedIp}/${prefix}` }),
        ...(opts.monitorTargets?.[nic.name] ? { monitorTargets: opts.monitorTargets[nic.name] } : {}),
        masterIp: master.ifaces.find((i) => i.ifname === nic.name)!.address,
        slaveIp: slave.ifaces.find((i) => i.ifname === nic.name)!.address,
        ...(plan.ipv6
          ? {
              ...(sync ? {} : { sharedIp6: `${seg.sharedIp6}/64` }),
              masterIp6: master.ifaces.find((i) => i.ifname === nic.name)!.address6,
              slaveIp6: slave.ifaces.find((i) => i.ifname === nic.name)!.address6,
            }
          : {}),
      };
    }),
    ...(opts.sync ? { sync: opts.sync } : {}),
    stateDir: opts.stateDir,
    controlSocket: opts.controlSocket,
  };
}

/**
 * A managed node's file (docs/cluster.md): no cluster in it, each interface
 * with this node's own address; the cluster is made with `tandem cluster`.
 * Active/passive members share the data segments' .1; active/active ones
 * share nothing (the load balancer holds the service address). The LAN is
 * the management network (status page, health check).
 */
export function labManagedConfig(
  plan: LabPlan,
  board: Board,
  index: number,
  opts: Omit<LabConfigOptions, 'passwordFile' | 'clusterId'> & { shared: boolean; managementPort?: number; factory?: boolean },
): Record<string, unknown> {
  if (opts.factory) {
    // Factory state: the board and where state lives, nothing else (the console sets the network up).
    return {
      board: opts.boardRef ?? board.name,
      ...(opts.timers ? { timers: opts.timers } : {}),
      // As the appliance's factory file (src/image/units.ts): no `monitor`, the cluster's shared addresses decide.
      interfaces: board.nics.map((nic) => ({ name: nic.name, heartbeats: true, sync: nic.role === 'sync' })),
      stateDir: opts.stateDir,
      controlSocket: opts.controlSocket,
    };
  }
  const me = plan.nodes[index - 1]!;
  const lan = board.nics.find((n) => n.role === 'lan') ?? board.nics[0]!;
  return {
    board: opts.boardRef ?? board.name,
    ...(opts.timers ? { timers: opts.timers } : {}),
    interfaces: board.nics.map((nic) => {
      const own = me.ifaces.find((i) => i.ifname === nic.name)!;
      const seg = plan.segments.find((s) => s.name === own.segment)!;
      const sync = nic.role === 'sync';
      return {
        name: nic.name,
        heartbeats: true,
        sync,
        monitor: !sync,
        address: own.address,
        ...(!sync && opts.shared ? { sharedIp: `${seg.sharedIp}/${seg.subnet.split('/')[1]}` } : {}),
        ...(plan.ipv6 ? { address6: own.address6, ...(!sync && opts.shared ? { sharedIp6: `${seg.sharedIp6}/64` } : {}) } : {}),
        ...(opts.monitorTargets?.[nic.name] ? { monitorTargets: opts.monitorTargets[nic.name] } : {}),
      };
    }),
    ...(opts.sync ? { sync: opts.sync } : {}),
    // HTTPS on 443, the product's default (the node makes its certificate at first start).
    management: { interface: lan.name, ...(opts.managementPort ? { port: opts.managementPort } : {}) },
    stateDir: opts.stateDir,
    controlSocket: opts.controlSocket,
  };
}
