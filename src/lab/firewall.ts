/**
 * DOC: the lab's gateways as stateful firewalls (what an appliance runs)
 *
 * The ruleset the sync tests and benchmark need: without the connection
 * state, a mid-stream packet is invalid and dropped, so a failover without
 * sync breaks every connection and one with sync keeps them.
 */
import type { Board } from '../board/board-file.js';
import { nftDefines } from '../board/interface-names.js';
import { findNode, findSegment, type LabPlan } from './topology.js';
import type { Lab } from './lab.js';
import { run, tool } from './run.js';

/**
 * Makes every node a stateful firewall, as the appliance would be: forward
 * policy drop, established/related accepted, invalid counted and dropped,
 * new connections from the client's segment only (TCP only with a SYN),
 * SNAT to the server segment's shared address (not masquerade, which would
 * tie every flow to the dying node's own address), and
 * nf_conntrack_tcp_loose=0 so that a mid-stream packet without state is
 * invalid, exactly what breaks a connection after a failover without sync.
 * One `inet` table for both families: in a dual-stack lab the same rules
 * hold for IPv6 (by the IPv6 subnets when matching by address) with NAT66
 * to the server segment's shared IPv6 address, so IPv6 flows carry a
 * translation for the sync to keep, as the IPv4 ones do.
 */
/**
 * How the rules tell the client's side from the server's: by address (the default), by interface name with
 * `tandem nft-names`'s defines (each NIC and its shared-MAC interface tshNN: what docs/failover.md advises), or by
 * the NIC's name alone (the rule a gateway without failover would have: it misses traffic to the shared
 * addresses, which arrives on tshNN; a test shows that it does).
 */
export type FirewallMatch = { by: 'address' } | { by: 'interface-names'; board: Board } | { by: 'nic-name-only' };

export async function statefulGateways(lab: Lab, match: FirewallMatch = { by: 'address' }): Promise<void> {
  for (const node of lab.plan.nodes) {
    await run(['ip', 'netns', 'exec', node.netns, tool('nft'), '-f', '-'], { input: statefulRuleset(lab.plan, node.name, match) + '\n' });
    await run(['ip', 'netns', 'exec', node.netns, tool('sysctl'), '-qw', 'net.netfilter.nf_conntrack_tcp_loose=0']);
  }
}

/** The stateful ruleset of one node (what statefulGateways loads; the VM lab loads it in its appliances). */
export function statefulRuleset(plan: LabPlan, nodeName: string, match: FirewallMatch = { by: 'address' }): string {
  const client = plan.hosts.find((h) => h.name === 'client');
  const server = plan.hosts.find((h) => h.name === 'server');
  if (!client || !server) throw new Error('a stateful lab needs a client and a server segment');
  const lan = findSegment(plan, client.iface.segment);
  const wan = findSegment(plan, server.iface.segment);
  const node = findNode(plan, nodeName);
  const nic = (segment: string) => node.ifaces.find((i) => i.segment === segment)!.ifname;
  const pairs =
    match.by === 'address'
      ? [[`ip saddr ${lan.subnet}`, `ip daddr ${wan.subnet}`], ...(plan.ipv6 ? [[`ip6 saddr ${lan.subnet6}`, `ip6 daddr ${wan.subnet6}`]] : [])]
      : match.by === 'interface-names'
        ? [[`iifname $${nic(lan.name)}`, `oifname $${nic(wan.name)}`]]
        : [[`iifname "${nic(lan.name)}"`, `oifname "${nic(wan.name)}"`]];
  return [
    ...(match.by === 'interface-names' ? [nftDefines(match.board)] : []),
    'table inet tandem_lab {',
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    '    ct state established,related accept',
    '    ct state invalid counter name invalid drop',
    ...pairs.flatMap(([from, to]) => [
      `    ${from} ${to} tcp flags & (fin|syn|rst|ack) == syn ct state new accept`,
      `    ${from} ${to} meta l4proto { udp, icmp, ipv6-icmp } ct state new accept`,
    ]),
    // Neighbour discovery to and from the node itself is input, not forward: nothing here stops it.
    '    counter name policy_drops',
    '  }',
    '  counter invalid { }',
    '  counter policy_drops { }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${lan.subnet} ip daddr ${wan.subnet} snat ip to ${wan.sharedIp}`,
    ...(plan.ipv6 ? [`    ip6 saddr ${lan.subnet6} ip6 daddr ${wan.subnet6} snat ip6 to ${wan.sharedIp6}`] : []),
    '  }',
    '}',
  ].join('\n');
}

/** Packets a node's stateful ruleset dropped as invalid (mid-stream without state). */
export async function invalidDrops(lab: Lab, node: string): Promise<number> {
  const { stdout } = await run(['ip', 'netns', 'exec', findNode(lab.plan, node).netns, tool('nft'), 'list', 'counter', 'inet', 'tandem_lab', 'invalid']);
  return Number(/packets (\d+)/.exec(stdout)?.[1] ?? 0);
}

/** New connections a node's stateful ruleset refused (no accept rule matched them). */
export async function policyDrops(lab: Lab, node: string): Promise<number> {
  const { stdout } = await run(['ip', 'netns', 'exec', findNode(lab.plan, node).netns, tool('nft'), 'list', 'counter', 'inet', 'tandem_lab', 'policy_drops']);
  return Number(/packets (\d+)/.exec(stdout)?.[1] ?? 0);
}
