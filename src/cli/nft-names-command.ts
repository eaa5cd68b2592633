/**
 * DOC: `tandem nft-names --config FILE | --board NAME`: the interface names a firewall's rules must match
 *
 * Prints src/board/interface-names.ts's defines for the node's board: save
 * them where the ruleset can `include` them (they depend on the board only).
 */
import { boardOf, resolveBoard } from '../board/board-file.js';
import { nftDefines } from '../board/interface-names.js';
import { loadLocal } from '../cluster/config-file.js';
import { str, UsageError, type Parsed } from './args.js';

export const NFT_NAMES_USAGE = `tandem nft-names --config FILE | --board NAME
  nftables defines naming each data NIC and its shared-MAC interface tshNN, for rules by interface name.`;

export function nftNamesCommand(p: Parsed): number {
  const board = str(p, 'board');
  const config = str(p, 'config');
  if (!board && !config) throw new UsageError(NFT_NAMES_USAGE);
  process.stdout.write(nftDefines(board ? resolveBoard(board) : boardOf(loadLocal(config!))));
  return 0;
}
