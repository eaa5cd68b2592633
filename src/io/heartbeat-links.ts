/**
 * DOC: opening the heartbeat interfaces of a node
 *
 * For each board NIC that carries heartbeats: one packet socket (kernel BPF
 * filter for heartbeats, membership of the cluster's heartbeat MAC for that
 * NIC's NN) used both to send and to receive, and the interface facts a
 * heartbeat needs (MAC, IPv4 address and broadcast). An interface without an
 * IPv4 address cannot send heartbeats: that is an error naming it, unless the
 * configuration gives it only IPv6 addresses (`ipv6Only`). The frame stays
 * what seed 001 describes (link-layer multicast, an IPv4 header with TTL 255
 * and a wrong checksum, UDP 999) so that every receiver and capture filter
 * treats it alike; its IPv4 header then carries 0.0.0.0 to 255.255.255.255,
 * what a host without an IPv4 address may use on its link (RFC 1122
 * 3.2.1.3 and 3.3.6). Nothing reads those addresses: the payload names the
 * sender, and the bad checksum keeps every IP stack from taking the frame.
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
  /** NIC names configured with IPv6 addresses only. */
  ipv6Only?: readonly string[];
}

const UNNUMBERED = { ipv4: 0, broadcast: 0xffffffff };

export function openHeartbeatInterfaces(board: Board, opts: OpenOptions): Map<string, HeartbeatIface> {
  const out = new Map<string, HeartbeatIface>();
  try {
    for (const nic of board.nics) {
      if (opts.disabled?.includes(nic.name)) continue;
      const facts = ifaceFacts(nic.name, opts.netns);
      const v6only = opts.ipv6Only?.includes(nic.name) === true;
      const ipv4 = v6only ? UNNUMBERED.ipv4 : facts.ipv4 === undefined ? undefined : parseIpv4(facts.ipv4);
      const broadcast = v6only ? UNNUMBERED.broadcast : facts.broadcast === undefined ? undefined : parseIpv4(facts.broadcast);
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
