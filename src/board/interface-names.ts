/**
 * DOC: the names a firewall's rules see for traffic to the shared addresses
 *
 * The active node carries the shared MAC and addresses on a macvlan named
 * after the NIC's NN (`tshNN`, src/io/shared-address.ts), so that the MAC
 * moves with the role without touching the NIC's own. Traffic to a shared
 * address therefore arrives on `tshNN`, not on `eth1`: a rule written
 * `iifname "eth1"`, as on a gateway without failover, does not match what
 * matters most. The names are fixed by the board (the same on both nodes,
 * across reboots and takeovers), so `tandem nft-names` prints one nftables
 * `define` per NIC naming both, for a ruleset to `include` and match with
 * `iifname $eth1` / `oifname $eth1` (docs/failover.md). Pure.
 */
import type { Board } from './board-file.js';

export function sharedLinkName(nn: number): string {
  return `tsh${nn.toString(16).padStart(2, '0')}`;
}

/** nftables variable names allow letters, digits and "_": eth1.100 -> eth1_100. */
const variable = (nic: string) => nic.replace(/[^A-Za-z0-9_]/g, '_');

/** One `define NIC = { "NIC", "tshNN" }` per data NIC of the board (the sync NIC carries no shared address). */
export function nftDefines(board: Board): string {
  const lines = [
    `# tandem: the interfaces of board ${board.name} as a firewall's rules see them (tandem nft-names).`,
    '# Traffic to a shared address arrives on the shared-MAC interface tshNN of its NIC, not on the NIC:',
    '# match both, e.g. iifname $eth1 oifname $eth0 ct state new accept',
  ];
  for (const nic of board.nics) if (nic.role !== 'sync') lines.push(`define ${variable(nic.name)} = { "${nic.name}", "${sharedLinkName(nic.nn)}" }`);
  return lines.join('\n') + '\n';
}
