/**
 * DOC: the pre-flight check of an interface's IPv6 addresses
 *
 * Pure; called by checkConfig for each interface. The IPv4 rules of seed 001
 * (a shared address equal to a node address) hold for IPv6 too, and IPv6
 * adds its own: a shared address must not be link-local (the link-local
 * address of a shared link comes from the shared MAC), and must lie in the
 * prefix of the node's own IPv6 address on that link when it has one (hosts
 * find an address off their prefix only through a router).
 */
import type { Cidr, NodeConfig } from './config-file.js';
import { formatIpv6, isLinkLocal6, parseIpv6, samePrefix6 } from '../wire/ipv6.js';

type Iface = NodeConfig['interfaces'][number];
interface Report {
  err(field: string, message: string): void;
  warn(field: string, message: string): void;
}

const same = (a: Cidr | null, b: Cidr | null) => a !== null && b !== null && a.address === b.address;
const bytes = (c: Cidr) => parseIpv6(c.address)!;

function prefixOf(c: Cidr): string {
  const b = bytes(c);
  for (let bit = c.prefix; bit < 128; bit++) b[bit >> 3] = b[bit >> 3]! & ~(0x80 >> (bit & 7));
  return `${formatIpv6(b)}/${c.prefix}`;
}

/** This node's own IPv6 address on an interface (address6, or masterIp6/slaveIp6 by its type), and the field it came from. */
function own6(config: NodeConfig, i: Iface): { cidr: Cidr; field: 'address6' | 'masterIp6' | 'slaveIp6' } | null {
  const field = i.address6 ? 'address6' : config.node.type === 'master' ? 'masterIp6' : 'slaveIp6';
  return i[field] ? { cidr: i[field]!, field } : null;
}

export function ownAddress6(config: NodeConfig, i: Iface): Cidr | null {
  return own6(config, i)?.cidr ?? null;
}

export function checkIpv6(config: NodeConfig, i: Iface, at: string, r: Report): void {
  const shared = i.sharedIp6;
  if (shared && isLinkLocal6(bytes(shared)))
    r.err(
      `${at}.sharedIp6`,
      `${shared.address} is link-local (fe80::/10): the shared link's link-local address comes from the shared MAC; give a global or unique-local address`,
    );
  for (const f of ['masterIp6', 'slaveIp6', 'address6'] as const) {
    if (same(shared, i[f])) r.err(`${at}.sharedIp6`, `equals ${f} ${i[f]!.address}: the shared address must differ from the nodes' own`);
  }
  if (same(i.masterIp6, i.slaveIp6)) r.err(`${at}.slaveIp6`, `equals masterIp6 ${i.masterIp6!.address}: each node needs its own address`);
  const mine = own6(config, i);
  const own = mine?.cidr;
  const ownField = mine?.field;
  if (shared && own && !isLinkLocal6(bytes(shared))) {
    if (shared.prefix !== own.prefix)
      r.err(`${at}.sharedIp6`, `prefix length /${shared.prefix} differs from ${ownField}'s /${own.prefix} on ${i.name}: one link, one prefix`);
    else if (!samePrefix6(bytes(shared), bytes(own), own.prefix))
      r.err(
        `${at}.sharedIp6`,
        `${shared.address} is outside ${prefixOf(own)}, the prefix of this node's address on ${i.name}: hosts there could reach it only through a router`,
      );
  }
  const nodes = [i.masterIp6, i.slaveIp6].filter((c): c is Cidr => c !== null);
  if (nodes.length === 2 && new Set(nodes.map(prefixOf)).size > 1) r.warn(at, `masterIp6 and slaveIp6 of ${i.name} are not in one prefix`);
  for (const f of ['masterIp6', 'slaveIp6', 'address6'] as const) {
    const c = i[f];
    if (c && isLinkLocal6(bytes(c)))
      r.warn(`${at}.${f}`, `${c.address} is link-local: the kernel makes one for every link already; give the node a global address here`);
  }
}
