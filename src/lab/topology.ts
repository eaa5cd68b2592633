/**
 * DOC: the lab's topology, as a plan
 *
 * Pure: from a board and a node count, the names, addresses and links of a
 * lab. One namespace is the switch (a bridge per segment); each gateway node
 * is a namespace whose interfaces carry the board's NIC names, each cabled
 * (a veth) to a port of its segment's bridge; a client sits on the LAN and a
 * server on the WAN. The sync segment is a two-port bridge for two nodes (a
 * cross-over cable that the lab can cut at both ends) and a switch for more.
 *
 * Every name starts with the lab's prefix (`tdm` + 5 hex digits) so that
 * `tandem lab down` can find what a dead run left. Addresses come from
 * 198.18.0.0/15 only: data segment k is 198.18.(k+1).0/24, the sync segment
 * 198.19.255.0/24; node i is .(10+i), the shared address .1, hosts .100.
 * A dual-stack lab (`ipv6`) adds the twins from 2001:2::/48 (RFC 5180):
 * 2001:2:0:(k+1)::/64 and 2001:2:0:ff::/64, written with the same host
 * numbers (node i ::(10+i), shared ::1, hosts ::100, read as hex digits).
 */
import type { Board, NicRole } from '../board/board-file.js';

export const LAB_PREFIX = 'tdm';
export const LAB_NAME = /^tdm[0-9a-f]{5}$/;

export interface LabSegment {
  name: string;
  role: NicRole;
  bridge: string;
  /** Network address and prefix length, e.g. 198.18.1.0/24. */
  subnet: string;
  sharedIp: string;
  /** The IPv6 twins (used only in a dual-stack lab), e.g. 2001:2:0:1::/64 and 2001:2:0:1::1. */
  subnet6: string;
  sharedIp6: string;
}

export interface LabIface {
  ifname: string;
  role: NicRole;
  segment: string;
  address: string; // a.b.c.d/len
  /** The IPv6 address with its prefix length (dual-stack labs). */
  address6: string;
  /** The switch-side end of this interface's cable, in the switch namespace. */
  switchPort: string;
}

export interface LabNode {
  name: string; // n1, n2 ...
  index: number;
  netns: string;
  ifaces: LabIface[];
}

export interface LabHost {
  name: 'client' | 'server';
  netns: string;
  iface: LabIface;
  gateway: string;
  gateway6: string;
}

export interface LabPlan {
  name: string;
  board: string;
  switchNs: string;
  segments: LabSegment[];
  nodes: LabNode[];
  hosts: LabHost[];
  /** Dual stack: IPv6 on every link of the nodes and hosts (off: the lab's namespaces have IPv6 disabled). */
  ipv6: boolean;
}

export function labName(random: () => number = Math.random): string {
  return (
    LAB_PREFIX +
    Math.floor(random() * 0x100000)
      .toString(16)
      .padStart(5, '0')
  );
}

function segmentSubnet(index: number, role: NicRole): { net: string; prefix: string; net6: string } {
  return role === 'sync'
    ? { net: '198.19.255', prefix: '198.19.255.0/24', net6: '2001:2:0:ff:' }
    : { net: `198.18.${index + 1}`, prefix: `198.18.${index + 1}.0/24`, net6: `2001:2:0:${index + 1}:` };
}

export function planLab(board: Board, nodeCount: number, name: string, ipv6 = false): LabPlan {
  if (!LAB_NAME.test(name)) throw new Error(`lab name "${name}" must be "tdm" and 5 hex digits`);
  if (nodeCount < 2 || nodeCount > 8) throw new Error(`a lab has 2 to 8 nodes, not ${nodeCount}`);
  let dataIndex = 0;
  const roleCount = (role: NicRole) => board.nics.filter((n) => n.role === role).length;
  const segments: LabSegment[] = board.nics.map((nic) => {
    const { net, prefix, net6 } = segmentSubnet(dataIndex, nic.role);
    if (nic.role !== 'sync') dataIndex++;
    return {
      name: roleCount(nic.role) === 1 ? nic.role : nic.name,
      role: nic.role,
      bridge: `br-${nic.name}`,
      subnet: prefix,
      sharedIp: `${net}.1`,
      subnet6: `${net6}:/64`,
      sharedIp6: `${net6}:1`,
    };
  });
  const nodes: LabNode[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    nodes.push({
      name: `n${i}`,
      index: i,
      netns: `${name}-n${i}`,
      ifaces: board.nics.map((nic, k) => {
        const seg = segments[k]!;
        return {
          ifname: nic.name,
          role: nic.role,
          segment: seg.name,
          address: `${seg.subnet.split('.').slice(0, 3).join('.')}.${10 + i}/24`,
          address6: `${seg.sharedIp6.slice(0, -1)}${10 + i}/64`,
          switchPort: `n${i}-${nic.name}`.slice(0, 15),
        };
      }),
    });
  }
  const hostOn = (hostName: 'client' | 'server', role: NicRole): LabHost | undefined => {
    const k = board.nics.findIndex((n) => n.role === role);
    if (k < 0) return undefined;
    const seg = segments[k]!;
    const net = seg.subnet.split('.').slice(0, 3).join('.');
    return {
      name: hostName,
      netns: `${name}-${hostName === 'client' ? 'cl' : 'sv'}`,
      iface: {
        ifname: 'eth0',
        role,
        segment: seg.name,
        address: `${net}.100/24`,
        address6: `${seg.sharedIp6.slice(0, -1)}100/64`,
        switchPort: `${hostName}-eth0`,
      },
      gateway: seg.sharedIp,
      gateway6: seg.sharedIp6,
    };
  };
  const hosts = [hostOn('client', 'lan'), hostOn('server', 'wan')].filter((h): h is LabHost => h !== undefined);
  return { name, board: board.name, switchNs: `${name}-sw`, segments, nodes, hosts, ipv6 };
}

export function allNetns(plan: LabPlan): string[] {
  return [plan.switchNs, ...plan.nodes.map((n) => n.netns), ...plan.hosts.map((h) => h.netns)];
}

export function findNode(plan: LabPlan, node: string): LabNode {
  const n = plan.nodes.find((x) => x.name === node || x.netns === node);
  if (!n) throw new Error(`lab ${plan.name} has no node "${node}" (nodes: ${plan.nodes.map((x) => x.name).join(', ')})`);
  return n;
}

export function findIface(node: LabNode, ifname: string): LabIface {
  const i = node.ifaces.find((x) => x.ifname === ifname);
  if (!i) throw new Error(`node ${node.name} has no interface "${ifname}" (has ${node.ifaces.map((x) => x.ifname).join(', ')})`);
  return i;
}

export function findSegment(plan: LabPlan, segment: string): LabSegment {
  const s = plan.segments.find((x) => x.name === segment || x.role === segment);
  if (!s) throw new Error(`lab ${plan.name} has no segment "${segment}" (segments: ${plan.segments.map((x) => x.name).join(', ')})`);
  return s;
}
