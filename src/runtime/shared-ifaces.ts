/**
 * DOC: the shared interfaces of a configuration, as the takeover needs them
 *
 * One entry per interface with a shared address of either family, with the
 * board's NN of its NIC (which fixes the shared MAC). The worker claims and
 * releases them; the supervisor removes them after a worker died.
 */
import type { Board } from '../board/board-file.js';
import type { NodeConfig } from '../cluster/config-file.js';
import type { SharedIface } from '../io/shared-address.js';

export function sharedIfacesOf(config: NodeConfig, board: Board): SharedIface[] {
  return config.interfaces
    .filter((i) => i.sharedIp !== null || i.sharedIp6 !== null)
    .map((i) => ({ parent: i.name, nn: board.nics.find((n) => n.name === i.name)!.nn, ipv4: i.sharedIp, ipv6: i.sharedIp6 }));
}
