/**
 * DOC: monitor targets: is the gateway (or any given host) still reachable from this interface?
 *
 * Per monitored interface, an ARP request for each target every interval
 * from the interface's own MAC and address, and a packet socket that sees
 * only ARP replies (kernel BPF). An interface's targets are reachable while
 * any of them answered within `misses` intervals; each change is reported
 * (the core counts it in the node's health, like the IVE's gateway ARP
 * checks and keepalived's tracking). ARP rather than ICMP: it needs no
 * address on the target beyond the subnet, no firewall rule, and it is what
 * a gateway always answers. The sockets live as long as the monitor.
 */
import { arpRequest, arpSender } from '../wire/arp.js';
import { arpReplyFilter } from '../wire/bpf.js';
import { parseIpv4 } from '../wire/ipv4.js';
import { ifaceFacts } from './native.js';
import { PacketLink } from './packet-link.js';

export interface MonitoredIface {
  name: string;
  targets: string[];
}

interface Watch {
  iface: string;
  link: PacketLink;
  probes: Uint8Array[];
  targets: Set<number>;
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
        if (!facts.ipv4) throw new Error(`interface ${i.name} has no IPv4 address: it cannot probe its monitor targets`);
        const link = PacketLink.open({ ifname: i.name, filter: arpReplyFilter(), ...(netns === undefined ? {} : { netns }) });
        this.watches.push({
          iface: i.name,
          link,
          probes: i.targets.map((t) => arpRequest(facts.mac, facts.ipv4!, t)),
          targets: new Set(i.targets.map((t) => parseIpv4(t)!)),
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
