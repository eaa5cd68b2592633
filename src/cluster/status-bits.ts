/**
 * DOC: the member status bit mask of seed 000, and its words
 *
 * Pure. `tandem status`, the status page and /status.json show each
 * member's mask in hex with the words beside it. A healthy pair shows
 * 0x18004 on the leader and 0x10004 on the other member (seed 000). Bits
 * 0x800 and 0x1000 are "eth0/eth1 disconnected" in the seed; here they are
 * the first and second heartbeat interface of the board, named in the words.
 */

export const BITS = {
  standalone: 0x000001,
  disabled: 0x000002,
  enabled: 0x000004,
  unreachable: 0x000008,
  syncingFrom: 0x000100,
  transitioning: 0x000200,
  linkLoss0: 0x000800,
  linkLoss1: 0x001000,
  syncingTo: 0x002000,
  initialSync: 0x004000,
  leader: 0x008000,
  serviceConnected: 0x010000,
  gatewayUnreachable0: 0x020000,
  gatewayUnreachable1: 0x040000,
  electing: 0x800000,
  busy: 0x100000,
  postSync: 0x200000,
} as const;

const WORDS: [number, string][] = [
  [BITS.standalone, 'standalone'],
  [BITS.disabled, 'disabled'],
  [BITS.enabled, 'enabled'],
  [BITS.unreachable, 'unreachable'],
  [BITS.syncingFrom, 'syncing state from another member'],
  [BITS.transitioning, 'transitioning'],
  [BITS.linkLoss0, 'IF0 no carrier'],
  [BITS.linkLoss1, 'IF1 no carrier'],
  [BITS.syncingTo, 'syncing its state to a joining member'],
  [BITS.initialSync, 'initial synchronisation'],
  [BITS.leader, 'leader'],
  [BITS.serviceConnected, 'cluster service connected'],
  [BITS.gatewayUnreachable0, 'IF0 monitor targets unreachable'],
  [BITS.gatewayUnreachable1, 'IF1 monitor targets unreachable'],
  [BITS.busy, 'busy'],
  [BITS.postSync, 'post-synchronisation work'],
  [BITS.electing, 'leader election'],
];

export interface MemberFacts {
  standalone: boolean;
  enabled: boolean;
  /** Why it cannot be reached, or null. */
  unreachable: string | null;
  syncingFrom: boolean;
  syncingTo: boolean;
  transitioning: boolean;
  /** Carrier per heartbeat interface, in board order (first two map to 0x800 and 0x1000). */
  links: { name: string; up: boolean; targetsReachable: boolean }[];
  leader: boolean;
  serviceConnected: boolean;
  electing: boolean;
}

export function statusBits(f: MemberFacts): number {
  if (f.standalone) return BITS.standalone;
  let b = f.enabled ? BITS.enabled : BITS.disabled;
  if (f.unreachable !== null) b |= BITS.unreachable;
  if (f.syncingFrom) b |= BITS.syncingFrom | BITS.initialSync;
  if (f.syncingTo) b |= BITS.syncingTo | BITS.initialSync;
  if (f.transitioning) b |= BITS.transitioning;
  if (f.links[0] && !f.links[0].up) b |= BITS.linkLoss0;
  if (f.links[1] && !f.links[1].up) b |= BITS.linkLoss1;
  if (f.links[0] && f.links[0].up && !f.links[0].targetsReachable) b |= BITS.gatewayUnreachable0;
  if (f.links[1] && f.links[1].up && !f.links[1].targetsReachable) b |= BITS.gatewayUnreachable1;
  if (f.leader) b |= BITS.leader;
  if (f.serviceConnected) b |= BITS.serviceConnected;
  if (f.electing) b |= BITS.electing;
  return b;
}

export function hex(bits: number): string {
  return '0x' + bits.toString(16).padStart(5, '0');
}

/** The words of a mask; `ifaces` names IF0 and IF1. */
export function describeBits(bits: number, ifaces: readonly string[] = []): string[] {
  return WORDS.filter(([bit]) => (bits & bit) !== 0).map(([, w]) => w.replace('IF0', ifaces[0] ?? 'interface 0').replace('IF1', ifaces[1] ?? 'interface 1'));
}
