/**
 * DOC: opening the heartbeat interfaces of a node
 *
 * For each board NIC that carries heartbeats: one packet socket (kernel BPF
 * filter for heartbeats, membership of the cluster's heartbeat MAC for that
 * NIC's NN) used both to send and to receive, and the interface facts a
 * heartbeat needs (MAC, IPv4 address and broadcast). An interface without an
 * IPv4 address cannot send heartbeats: that is an error naming it.
 */
import type { Board } from '../board/board-file.js';
import { heartbeatFilter } from '../wire/bpf.js';
import { parseIpv4 } from '../wire/ipv4.js';
import { heartbeatMac } from '../wire/mac.js';
import { ifaceFacts } from './native.js';
import { PacketLink } from './packet-link.js';
import type { SendIface } from './heartbeat-sender.js';
import type { ReceiveIface } from './heartbeat-receiver.js';

/** About 1 s of heartbeats at the fastest interval on one interface, kernel overhead included. */
const HEARTBEAT_RCVBUF = 1 << 20;

export type HeartbeatIface = SendIface & ReceiveIface & { link: PacketLink };

export interface OpenOptions {
  clusterId: number;
  netns?: string;
  /** NIC names with heartbeats off (a disabled interface does not exist for the cluster). */
  disabled?: readonly string[];
}

export function openHeartbeatInterfaces(board: Board, opts: OpenOptions): Map<string, HeartbeatIface> {
  const out = new Map<string, HeartbeatIface>();
  try {
    for (const nic of board.nics) {
      if (opts.disabled?.includes(nic.name)) continue;
      const facts = ifaceFacts(nic.name, opts.netns);
      const ipv4 = facts.ipv4 === undefined ? undefined : parseIpv4(facts.ipv4);
      const broadcast = facts.broadcast === undefined ? undefined : parseIpv4(facts.broadcast);
      if (ipv4 === undefined || broadcast === undefined) {
        throw new Error(
          `interface ${nic.name}${opts.netns ? ` (netns ${opts.netns})` : ''} has no IPv4 address and broadcast: heartbeats need one (or disable heartbeats on it)`,
        );
      }
      const link = PacketLink.open({
        ifname: nic.name,
        filter: heartbeatFilter(),
        multicast: [heartbeatMac(nic.nn, opts.clusterId)],
        // Frames wait here while the loop is stalled; their kernel stamps are read afterwards (the lease's other half).
        rcvbuf: HEARTBEAT_RCVBUF,
        ...(opts.netns === undefined ? {} : { netns: opts.netns }),
      });
      out.set(nic.name, { link, nn: nic.nn, isSync: nic.role === 'sync', heartbeats: true, mac: facts.mac, ipv4, broadcast });
    }
  } catch (e) {
    for (const i of out.values()) i.link.close();
    throw e;
  }
  return out;
}
