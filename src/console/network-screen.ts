/**
 * DOC: the console's network screen: the management and cluster interfaces of a node in factory state
 *
 * The management interface carries the status page and the health check, the cluster interface the
 * heartbeats and the state synchronisation. Each gets an IPv4 address; the management interface may also get
 * an IPv6 address and gateway (optional: Enter keeps "none"). Shown as a summary and applied only after
 * "yes" (NodeAccess.applyNetwork writes the file atomically and sets the addresses), then the service restarts.
 */
import type { NodeAccess } from './node-access.js';
import { ask, checks, confirm, pause } from './prompts.js';
import type { ConsoleIo } from './terminal.js';

export async function networkScreen(io: ConsoleIo, node: NodeAccess, header: string[], summaryHeader: string[]): Promise<void> {
  const local = node.local();
  const nics = node.board.nics;
  const names = nics.map((n) => n.name);
  const iface = (name: string | undefined) => local.interfaces.find((i) => i.name === name);
  const mgmtDefault = local.management?.interface ?? nics.find((n) => n.role === 'lan')?.name ?? names[0]!;
  const syncDefault = nics.find((n) => n.role === 'sync')?.name ?? names.at(-1)!;
  io.screen([
    ...header,
    '',
    'The management interface carries the status page and the health check;',
    'the cluster interface carries heartbeats and state synchronisation.',
    '',
    `Interfaces of board ${node.board.name}: ${nics.map((n) => `${n.name} (${n.label})`).join(', ')}`,
    '',
  ]);
  const mIface = await ask(io, { label: 'Management interface', hint: names.join('/'), fallback: mgmtDefault, check: checks.oneOf(names) });
  if (mIface === null) return;
  const c = iface(mIface)?.address;
  const m = await ask(io, { label: 'Management address', hint: 'a.b.c.d/prefix', ...(c ? { fallback: `${c.address}/${c.prefix}` } : {}), check: checks.cidr });
  if (m === null) return;
  const gw = await ask(io, { label: 'Default gateway', hint: 'a.b.c.d or none', fallback: 'none', check: checks.optionalIpv4 });
  if (gw === null) return;
  const c6 = iface(mIface)?.address6;
  const m6 = await ask(io, {
    label: 'Management IPv6 address',
    hint: 'address/prefix or none',
    fallback: c6 ? `${c6.address}/${c6.prefix}` : 'none',
    check: checks.optionalCidr6,
  });
  if (m6 === null) return;
  const gw6 =
    m6 === 'none' ? 'none' : await ask(io, { label: 'IPv6 default gateway', hint: 'an IPv6 address or none', fallback: 'none', check: checks.optionalIpv6 });
  if (gw6 === null) return;
  const sIface = await ask(io, {
    label: 'Cluster (sync) interface',
    hint: names.filter((n) => n !== mIface).join('/'),
    fallback: syncDefault,
    check: (a) => (a === mIface ? { ok: false, why: 'it must differ from the management interface' } : checks.oneOf(names)(a)),
  });
  if (sIface === null) return;
  const sc = iface(sIface)?.address;
  const y = await ask(io, { label: 'Cluster address', hint: 'a.b.c.d/prefix', ...(sc ? { fallback: `${sc.address}/${sc.prefix}` } : {}), check: checks.cidr });
  if (y === null) return;
  const v6 = m6 === 'none' ? null : m6;
  io.screen([
    ...summaryHeader,
    '',
    `  management  ${mIface}  ${m.address}/${m.prefix}  gateway ${gw}`,
    ...(v6 ? [`              ${v6.address}/${v6.prefix}  gateway ${gw6}`] : []),
    `  cluster     ${sIface}  ${y.address}/${y.prefix}`,
    '',
    'Applying sets these addresses at once and restarts the tandem service.',
    '',
  ]);
  if (!(await confirm(io, 'Apply these settings?'))) {
    io.say('Nothing was changed.');
    return pause(io);
  }
  await node.applyNetwork({
    management: {
      iface: mIface,
      address: m.address,
      prefix: m.prefix,
      gateway: gw === 'none' ? null : gw,
      ...(v6 ? { address6: v6.address, prefix6: v6.prefix, gateway6: gw6 === 'none' ? null : gw6 } : {}),
    },
    sync: { iface: sIface, address: y.address, prefix: y.prefix },
  });
  await node.restarting(
    () => node.cluster('restart', { only: true }),
    () => io.say('Network settings applied; waiting for the service to restart...'),
  );
  io.say('The service runs with the new settings.');
  await pause(io);
}
