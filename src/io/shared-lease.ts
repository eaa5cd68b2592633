/**
 * DOC: the shared addresses on a lease the kernel revokes
 *
 * A killed tandemd (kill -9 of every process, an out-of-memory kill) must
 * not leave the shared MAC answering on its node. Two nftables tables on
 * each NIC that carries a shared address make that the kernel's job:
 * - the guard, `netdev tandem_guard`, persistent: on ingress it drops frames
 *   to the shared MAC, on egress frames from it, unless the packet mark
 *   carries LEASE_MARK; then it clears the bit again (nothing else sees it);
 * - the lease, `netdev tandem_lease`, with the owner flag, created through
 *   this process's own netlink socket at a lower priority: it sets the bit on
 *   every frame of those NICs. The kernel deletes an owned table when its
 *   socket closes, and a dead process's sockets are always closed.
 * So while a tandemd lives the guard lets everything through; the instant its
 * last process is gone, the shared MAC neither receives nor sends on this
 * node, whatever links and addresses are left. The supervisor's release, the
 * unit's ExecStopPost and the next start remove those links as before.
 *
 * The guard is written with nft (one atomic transaction, readable in
 * `nft list table netdev tandem_guard`); the lease needs our socket, so it is
 * encoded here (src/wire/nftables.ts). Runs on the main loop.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { formatMac } from '../wire/mac.js';
import { sharedMac } from '../wire/mac.js';
import { LEASE_MARK, leaseBatch, NF_NETDEV_EGRESS, NF_NETDEV_INGRESS, type LeaseChain } from '../wire/nftables.js';
import { NETLINK_NETFILTER } from '../wire/ctnetlink.js';
import { NetlinkError, NetlinkSocket } from './netlink-socket.js';

export const GUARD_TABLE = 'tandem_guard';
export const LEASE_TABLE = 'tandem_lease';
/** Invalid packets to the shared addresses, dropped before the local stack could answer them with a reset. */
export const LOCAL_GUARD_TABLE = 'tandem_guard_local';
/** Netdev hook priorities: the lease marks first, the guard judges right after, both before anything of the integrator's. */
const LEASE_PRIORITY = -32000;
const GUARD_PRIORITY = -31999;

export interface LeasedNic {
  /** The NIC the shared MAC's macvlan sits on. */
  parent: string;
  nn: number;
}

const NFT = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'];

/** The guard's nft script: idempotent (the table is replaced in one transaction). */
export function guardScript(clusterId: number, nics: readonly LeasedNic[]): string {
  const bit = `0x${LEASE_MARK.toString(16)}`;
  const clear = `0x${(~LEASE_MARK >>> 0).toString(16)}`;
  const lines = [`table netdev ${GUARD_TABLE}`, `delete table netdev ${GUARD_TABLE}`, `table netdev ${GUARD_TABLE} {`];
  for (const n of nics) {
    const mac = formatMac(sharedMac(n.nn, clusterId)).replace(/-/g, ':');
    for (const [dir, hook, field] of [
      ['in', 'ingress', 'daddr'],
      ['out', 'egress', 'saddr'],
    ] as const) {
      lines.push(
        `  chain ${dir}_${n.parent} {`,
        `    type filter hook ${hook} device "${n.parent}" priority ${GUARD_PRIORITY}; policy accept;`,
        `    ether ${field} ${mac} meta mark & ${bit} == 0 counter drop comment "no live tandemd holds the shared MAC"`,
        `    meta mark set meta mark & ${clear}`,
        '  }',
      );
    }
  }
  lines.push('}');
  // A node back from a freeze (or a stall with its cables out) may still hold the shared links for a few ms, and
  // its kernel's copy of a connection the peer carried meanwhile is stale: a reply to a shared (SNAT) address that
  // its conntrack finds invalid is not translated back and reaches the local stack, which answers it with a reset
  // and kills a connection the peer is serving. Such packets are dropped instead, before anything else sees them.
  lines.push(
    `table inet ${LOCAL_GUARD_TABLE}`,
    `delete table inet ${LOCAL_GUARD_TABLE}`,
    `table inet ${LOCAL_GUARD_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority -150; policy accept;',
    '    iifname "tsh*" ct state invalid counter drop comment "a stale copy of a connection the peer carries: never answered with a reset"',
    '  }',
    '}',
  );
  return lines.join('\n') + '\n';
}

export class SharedLease {
  private constructor(private readonly nl: NetlinkSocket) {}

  /**
   * Installs the guard and takes the lease. Refuses (with the reason) when
   * another live tandemd holds the lease, nft is missing, or a NIC is absent.
   */
  static async take(clusterId: number, nics: readonly LeasedNic[]): Promise<SharedLease | null> {
    if (nics.length === 0) return null;
    await runNft(guardScript(clusterId, nics));
    const nl = NetlinkSocket.open(NETLINK_NETFILTER);
    const chains: LeaseChain[] = nics.flatMap((n) => [
      { name: `in_${n.parent}`, device: n.parent, hook: NF_NETDEV_INGRESS, priority: LEASE_PRIORITY },
      { name: `out_${n.parent}`, device: n.parent, hook: NF_NETDEV_EGRESS, priority: LEASE_PRIORITY },
    ]);
    try {
      await nl.request(`table netdev ${LEASE_TABLE}`, (seq) => leaseBatch(seq, LEASE_TABLE, chains));
    } catch (e) {
      nl.close();
      // Another socket's owned table: EPERM on this kernel (EEXIST where the flags are compared first).
      if (e instanceof NetlinkError && (e.code === 'EEXIST' || e.code === 'EPERM')) {
        throw new Error(`the shared-address lease (nft table netdev ${LEASE_TABLE}) is held by another live tandemd on this node: stop it first`);
      }
      throw e;
    }
    return new SharedLease(nl);
  }

  /** Gives the lease back (a clean stop; a dead process gives it back by dying). */
  close(): void {
    this.nl.close();
  }
}

function runNft(script: string): Promise<void> {
  const nft = NFT.find((p) => existsSync(p));
  if (!nft) return Promise.reject(new Error('nft (Debian package nftables) is not installed: the shared-address guard needs it'));
  return new Promise((resolve, reject) => {
    const child = execFile(nft, ['-f', '-'], { timeout: 5000 }, (e, _out, err) =>
      e ? reject(new Error(`nft could not install the shared-address guard: ${err.trim() || e.message}`)) : resolve(),
    );
    child.stdin?.end(script);
  });
}
