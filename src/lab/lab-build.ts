/**
 * DOC: building a lab's namespaces, switch and cables from its plan (lab.ts owns the lab; this only builds it)
 */
import { ipBatch, run, tool } from './run.js';
import { dualStackNamespace, quietNamespace } from './netns.js';
import { allNetns, findSegment, type LabIface, type LabPlan } from './topology.js';

/** nodes false: the switch and the hosts only (the VM lab's nodes are booted appliances on taps, vm-lab.ts). */
export async function buildLab(plan: LabPlan, nodes = true): Promise<void> {
  const namespaces = nodes ? allNetns(plan) : allNetns(plan).filter((ns) => !plan.nodes.some((n) => n.netns === ns));
  for (const ns of namespaces) await run(['ip', 'netns', 'add', ns]);
  for (const ns of namespaces) {
    // The switch forwards frames and has no addresses: IPv6 stays off there in every lab.
    if (plan.ipv6 && ns !== plan.switchNs)
      await dualStackNamespace(
        ns,
        plan.nodes.some((n) => n.netns === ns),
      );
    else await quietNamespace(ns);
  }

  // A switch forwards frames; it does not judge IPv4. With br_netfilter loaded (the default on many
  // hosts) bridged IPv4 runs through the IP hooks, which drop the heartbeats' deliberately wrong
  // header checksum. Per namespace, so this touches the lab switch only.
  await run([
    'ip',
    'netns',
    'exec',
    plan.switchNs,
    tool('sh'),
    '-c',
    'for f in /proc/sys/net/bridge/bridge-nf-call-*; do [ -e "$f" ] && echo 0 > "$f"; done; true',
  ]);
  const sw = [`link set lo up`];
  for (const seg of plan.segments) {
    // No snooping: heartbeats are link-layer multicast and must reach every port, as on a plain switch.
    sw.push(`link add ${seg.bridge} type bridge mcast_snooping 0 forward_delay 0`, `link set ${seg.bridge} up`);
  }
  await ipBatch(sw, plan.switchNs);

  for (const node of nodes ? plan.nodes : []) {
    await ipBatch(
      node.ifaces.map((i) => `link add ${i.ifname} type veth peer name ${i.switchPort} netns ${plan.switchNs}`),
      node.netns,
    );
    await run(['ip', 'netns', 'exec', node.netns, tool('sysctl'), '-qw', 'net.ipv4.ip_forward=1']);
    await ipBatch(
      node.ifaces.flatMap((i) => [`addr add ${i.address} brd + dev ${i.ifname}`, ...addr6(plan, i), `link set ${i.ifname} up`]).concat('link set lo up'),
      node.netns,
    );
  }
  for (const host of plan.hosts) {
    const i = host.iface;
    await ipBatch([`link add ${i.ifname} type veth peer name ${i.switchPort} netns ${plan.switchNs}`], host.netns);
    await ipBatch(
      [
        `addr add ${i.address} brd + dev ${i.ifname}`,
        ...addr6(plan, i),
        `link set ${i.ifname} up`,
        'link set lo up',
        `route add default via ${host.gateway}`,
        ...(plan.ipv6 ? [`route add default via ${host.gateway6}`] : []),
      ],
      host.netns,
    );
  }
  const ports = [...(nodes ? plan.nodes.flatMap((n) => n.ifaces) : []), ...plan.hosts.map((h) => h.iface)];
  await ipBatch(
    ports.flatMap((i) => [`link set ${i.switchPort} master ${findSegment(plan, i.segment).bridge}`, `link set ${i.switchPort} up`]),
    plan.switchNs,
  );
}

/** A dual-stack lab's IPv6 address on a link, without duplicate address detection (unique by plan). */
function addr6(plan: LabPlan, i: LabIface): string[] {
  return plan.ipv6 ? [`addr add ${i.address6} dev ${i.ifname} nodad`] : [];
}
