/**
 * DOC: monitor targets: is the gateway (or any given host) still reachable from this interface?
 *
 * Per monitored interface, an ARP request for each IPv4 target and a
 * neighbour solicitation (RFC 4861 7.2.2, to the target's solicited-node
 * group) for each IPv6 target every interval, from the interface's own MAC
 * and this node's address of that family there, and a packet socket that sees
 * only ARP replies and neighbour advertisements (kernel BPF); a reply counts
 * when it passes the receiver's checks (hop limit 255, checksum) and names a
 * target. An interface's targets are reachable while
 * any of them answered within `misses` intervals; each change is reported
 * (the core counts it in the node's health, like the IVE's gateway ARP
 * checks and keepalived's tracking). ARP rather than ICMP: it needs no
 * address on the target beyond the subnet, no firewall rule, and it is what
 * a gateway always answers; neighbour discovery is its IPv6 equivalent. The
 * sockets live as long as the monitor.
 */
import { arpRequest, arpSender } from '../wire/arp.js';
import { neighbourReplyFilter } from '../wire/bpf.js';
import { parseIpv4 } from '../wire/ipv4.js';
import { formatIpv6, parseIpv6 } from '../wire/ipv6.js';
import { NDP_NA, neighbourSolicitation, parseNdp } from '../wire/ndp.js';
import { ifaceFacts } from './native.js';
import { PacketLink } from './packet-link.js';

export interface MonitoredIface {
  name: string;
  /** IPv4 dotted quads and IPv6 texts. */
  targets: string[];
  /** This node's IPv6 address on the interface: the source of its solicitations (needed for IPv6 targets). */
  source6?: string | undefined;
}

interface Watch {
  iface: string;
  link: PacketLink;
  probes: Uint8Array[];
  targets: Set<number>;
  /** Canonical texts of the IPv6 targets. */
  targets6: Set<string>;
  lastReply: number;
  reachable: boolean;
}

export class TargetMonitor {
  private readonly watches: Watch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = performance.now();

  constructor(
    ifaces: readonly MonitoredIface[],
    private readonly opts: { intervalMs: number; misses: number },
    private readonly onChange: (iface: string, reachable: boolean) => void,
    netns?: string,
  ) {
    try {
      for (const i of ifaces.filter((x) => x.targets.length > 0)) {
        const facts = ifaceFacts(i.name, netns);
        const v4 = i.targets.filter((t) => parseIpv4(t) !== undefined);
        const v6 = i.targets.map(parseIpv6).filter((a): a is Uint8Array => a !== undefined);
        if (v4.length > 0 && !facts.ipv4) throw new Error(`interface ${i.name} has no IPv4 address: it cannot probe its monitor targets ${v4.join(', ')}`);
        const source6 = i.source6 === undefined ? undefined : parseIpv6(i.source6);
        if (v6.length > 0 && source6 === undefined)
          throw new Error(
            `interface ${i.name} has no IPv6 address of this node (address6, masterIp6 or slaveIp6): it cannot probe its monitor targets ${v6.map(formatIpv6).join(', ')}`,
          );
        const link = PacketLink.open({ ifname: i.name, filter: neighbourReplyFilter(), ...(netns === undefined ? {} : { netns }) });
        this.watches.push({
          iface: i.name,
          link,
          probes: [...v4.map((t) => arpRequest(facts.mac, facts.ipv4!, t)), ...v6.map((t) => neighbourSolicitation(facts.mac, source6!, t))],
          targets: new Set(v4.map((t) => parseIpv4(t)!)),
          targets6: new Set(v6.map(formatIpv6)),
          lastReply: -Infinity,
          reachable: true,
        });
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  start(): void {
    for (const w of this.watches) {
      w.link.receive(
        (frame) => {
          const s = arpSender(frame);
          if (s && w.targets.has(s.ip)) w.lastReply = performance.now();
          if (s || w.targets6.size === 0) return;
          const na = parseNdp(frame);
          if (na.ok && na.msg.type === NDP_NA && w.targets6.has(formatIpv6(na.msg.target))) w.lastReply = performance.now();
        },
        () => undefined, // a link without carrier simply gets no replies
      );
    }
    this.timer = setInterval(() => this.probe(), this.opts.intervalMs);
    this.probe();
  }

  private probe(): void {
    const now = performance.now();
    const window = this.opts.intervalMs * this.opts.misses;
    for (const w of this.watches) {
      // Judge only once a full window has passed since start: the first replies need one round trip.
      const reachable = now - w.lastReply <= window || now - this.startedAt < window;
      if (reachable !== w.reachable) {
        w.reachable = reachable;
        this.onChange(w.iface, reachable);
      }
      for (const p of w.probes) {
        try {
          w.link.send(p);
        } catch {
          // no carrier: the missing replies will tell
        }
      }
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.watches) w.link.close();
  }
}
