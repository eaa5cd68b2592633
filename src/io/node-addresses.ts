/**
 * DOC: the node's own addresses, as its file names them, put on the interfaces at start
 *
 * An appliance owns its network settings: the console writes them into the
 * node file (interfaces[].address and address6, management.gateway and gateway6) and applies them at
 * once; after a reboot tandemd puts them back before anything else runs.
 * Only what is missing is added (an address already there, or put there by
 * the base system, is left alone), through iproute2.
 */
import { execFile } from 'node:child_process';
import { canonicalIpv6 } from '../wire/ipv6.js';

/** What of the node file this needs (a LocalConfig fits). */
export interface OwnAddresses {
  interfaces: readonly { name: string; address: { address: string; prefix: number } | null; address6?: { address: string; prefix: number } | null }[];
  management: { interface: string; gateway: string | null; gateway6?: string | null } | null;
}

function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('ip', args, { timeout: 5000 }, (e, out, err) => (e ? reject(new Error(`ip ${args.join(' ')}: ${err.trim() || e.message}`)) : resolve(out))),
  );
}

/**
 * This node's own IPv6 addresses that duplicate address detection refused (another host on the link has one):
 * the kernel keeps them "dadfailed" and never uses them. Addresses not on the system are not reported here.
 */
export async function dadFailures(own: readonly { iface: string; address: string }[]): Promise<{ iface: string; address: string }[]> {
  const failed: { iface: string; address: string }[] = [];
  for (const iface of new Set(own.map((o) => o.iface))) {
    const info = JSON.parse(await ip(['-j', '-6', 'addr', 'show', 'dev', iface])) as { addr_info?: { local: string; dadfailed?: boolean }[] }[];
    for (const a of info[0]?.addr_info ?? []) {
      const local = canonicalIpv6(a.local) ?? a.local;
      if (a.dadfailed === true && own.some((o) => o.iface === iface && o.address === local)) failed.push({ iface, address: local });
    }
  }
  return failed;
}

/** What was added, for the log. */
export async function ensureAddresses(local: OwnAddresses): Promise<string[]> {
  const added: string[] = [];
  for (const i of local.interfaces) {
    if (!i.address && !i.address6) continue;
    const info = JSON.parse(await ip(['-j', 'addr', 'show', 'dev', i.name])) as {
      operstate?: string;
      flags?: string[];
      addr_info?: { local: string; prefixlen: number }[];
    }[];
    const has = (c: { address: string; prefix: number }) =>
      info[0]?.addr_info?.some((a) => (canonicalIpv6(a.local) ?? a.local) === c.address && a.prefixlen === c.prefix) === true;
    if (i.address && !has(i.address)) {
      await ip(['addr', 'add', `${i.address.address}/${i.address.prefix}`, 'dev', i.name]);
      added.push(`${i.name} ${i.address.address}/${i.address.prefix}`);
    }
    if (i.address6 && !has(i.address6)) {
      await ip(['-6', 'addr', 'add', `${i.address6.address}/${i.address6.prefix}`, 'dev', i.name, 'nodad']);
      added.push(`${i.name} ${i.address6.address}/${i.address6.prefix}`);
    }
    if (!info[0]?.flags?.includes('UP')) {
      await ip(['link', 'set', i.name, 'up']);
      added.push(`${i.name} up`);
    }
  }
  const gw6 = local.management?.gateway6;
  if (gw6 && local.management) {
    const routes = JSON.parse(await ip(['-j', '-6', 'route', 'show', 'default'])) as unknown[];
    if (routes.length === 0) {
      await ip(['-6', 'route', 'add', 'default', 'via', gw6, 'dev', local.management.interface]);
      added.push(`default via ${gw6}`);
    }
  }
  const gw = local.management?.gateway;
  if (gw && local.management) {
    const routes = JSON.parse(await ip(['-j', 'route', 'show', 'default'])) as unknown[];
    if (routes.length === 0) {
      await ip(['route', 'add', 'default', 'via', gw, 'dev', local.management.interface]);
      added.push(`default via ${gw}`);
    }
  }
  return added;
}
