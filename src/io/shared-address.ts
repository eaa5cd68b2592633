/**
 * DOC: shared-address takeover: the shared MAC and IPs move with the role
 *
 * On claim, for each shared interface: a macvlan `tshNN` on the parent NIC
 * with the shared MAC 10-00-00-00-NN-MM (seed 001), created up, carrying the
 * shared IPv4 address; the parent is set to arp_ignore=1/arp_announce=2 so
 * only the shared MAC ever answers for the shared address; then gratuitous
 * ARPs from the shared MAC out of the parent NIC (count and interval
 * configurable) so the switches learn the shared MAC's new port.
 * A shared IPv6 address goes on the same macvlan with the link-local address
 * of the shared MAC (fe80::1200:ff:fe00:NNMM, the same on every node: hosts
 * that route through it keep it across a takeover), both without duplicate
 * address detection; the kernel joins their solicited-node groups as it adds
 * them. No other IPv6 address is generated there (addrgenmode none). Each
 * gratuitous ARP has its IPv6 twin: an unsolicited neighbour advertisement
 * with Override set for each of the two (RFC 4861 7.2.6). Neighbour
 * solicitations on the parent need no arp_ignore: the kernel answers one only
 * on the link that holds its target. On release the macvlans are deleted, addresses with them.
 * Everything goes through rtnetlink; the times of each step are returned so
 * the daemon can log how long a takeover took.
 */
import { gratuitousArp } from '../wire/arp.js';
import { linkLocalOf, parseIpv6 } from '../wire/ipv6.js';
import { sharedMac } from '../wire/mac.js';
import { unsolicitedAdvertisement } from '../wire/ndp.js';
import {
  deleteLinkByName,
  dumpLinks,
  newAddress,
  newAddress6,
  newMacvlan,
  NETLINK_ROUTE,
  parseLink,
  setAddrGenModeNone,
  setArpStrict,
  setLinkUp,
} from '../wire/rtnetlink.js';
import { sharedLinkName } from '../board/interface-names.js';
import { ifaceFacts, monotonicNs } from './native.js';
import { NetlinkError, NetlinkSocket } from './netlink-socket.js';
import { PacketLink } from './packet-link.js';

export interface SharedIface {
  parent: string;
  nn: number;
  /** The shared IPv4 address and prefix length, if the interface has one. */
  ipv4: { address: string; prefix: number } | null;
  /** The shared IPv6 address (any text form) and prefix length, if the interface has one. */
  ipv6: { address: string; prefix: number } | null;
}

export interface ClaimReport {
  /** Monotonic ns when every shared MAC and IPv4 address was up. */
  upAt: bigint;
  /** Monotonic ns when the first gratuitous ARP of every address was sent (before any IPv6 address work). */
  firstGarpAt: bigint;
  /** Monotonic ns when the shared IPv6 addresses were up and their first advertisements sent (null: no IPv6). */
  firstNaAt?: bigint | null;
  ifaces: string[];
  /**
   * IPv6 steps the kernel refused (IPv6 off, an address refused), one message each: the IPv4 addresses are up
   * and announced all the same, and these are left out (with their advertisements) until the next claim.
   */
  ipv6Failed: string[];
}

export const SHARED_LINK = /^tsh[0-9a-f]{2}$/;

export { sharedLinkName };

/** Something that sends a raw frame on a parent NIC (the heartbeat socket of that NIC, usually). */
export interface FrameSender {
  send(frame: Uint8Array): void;
}

export class SharedAddresses {
  private readonly nl: NetlinkSocket;
  private garpTimers: NodeJS.Timeout[] = [];
  /** The last claim's IPv6 steps failed: no neighbour advertisements for addresses that are not there. */
  private withoutIpv6 = false;
  /** Sockets opened here for NICs the caller gave none for; kept for the life of the process. */
  private readonly ownLinks = new Map<string, PacketLink>();

  /**
   * `senders` are sockets the caller already holds on the parent NICs: the
   * gratuitous ARPs leave through them (their source MAC is the shared one, so
   * switches learn it on that port). Opening and closing a packet socket per
   * takeover is not an option: closing one waits for an RCU grace period in
   * the kernel (synchronize_net), which stalls the event loop for tens of ms,
   * longer than the fastest failover time.
   */
  constructor(
    private readonly clusterId: number,
    private readonly ifaces: readonly SharedIface[],
    private readonly garp: { count: number; intervalMs: number },
    private readonly netns?: string,
    private readonly senders: ReadonlyMap<string, FrameSender> = new Map(),
  ) {
    this.nl = NetlinkSocket.open(NETLINK_ROUTE, netns === undefined ? {} : { netns });
  }

  private senderFor(parent: string): FrameSender {
    const given = this.senders.get(parent);
    if (given) return given;
    let own = this.ownLinks.get(parent);
    if (!own) {
      own = PacketLink.open({ ifname: parent, ...(this.netns === undefined ? {} : { netns: this.netns }) });
      this.ownLinks.set(parent, own);
    }
    return own;
  }

  /**
   * Every request of every interface goes out before the first answer is awaited: the kernel acts on a
   * route-netlink request as it is sent (in the sender's system call), so the new link exists, and has its
   * index, as soon as its request has left; the acks come back together. One wakeup of the main loop for the
   * whole claim instead of one per request (12 on a three-interface board): a takeover's addresses come up
   * some 15 ms sooner on this machine.
   */
  async claim(): Promise<ClaimReport> {
    const answers: Promise<unknown>[] = [];
    const answers6: Promise<unknown>[] = [];
    const later6: { i: SharedIface; name: string; index: number; ipv6: NonNullable<SharedIface['ipv6']> }[] = [];
    for (const i of this.ifaces) {
      const parent = ifaceFacts(i.parent, this.netns).index;
      const name = sharedLinkName(i.nn);
      answers.push(this.nl.request(`arp_ignore on ${i.parent}`, (seq) => setArpStrict(seq, parent)));
      const created = this.ignore(
        'EEXIST',
        // With IPv6 the link comes up only after addrgenmode none: up at creation, the kernel would make its own
        // link-local address (with DAD) before ours.
        this.nl.request(`create ${name} on ${i.parent}`, (seq) => newMacvlan(seq, name, parent, sharedMac(i.nn, this.clusterId), undefined, i.ipv6 === null)),
      );
      answers.push(created);
      let index: number;
      try {
        index = ifaceFacts(name, this.netns).index;
      } catch (e) {
        await created; // the kernel's reason, if it refused the link
        throw e;
      }
      if (i.ipv4) {
        const { address, prefix } = i.ipv4;
        answers.push(
          this.ignore(
            'EEXIST',
            this.nl.request(`address ${address}/${prefix} on ${name}`, (seq) => newAddress(seq, index, address, prefix)),
          ),
        );
      }
      // Before the link comes up, or the kernel makes a link-local address of its own (with DAD).
      if (i.ipv6) answers6.push(this.ipv6Request(`addrgenmode none on ${name}`, (seq) => setAddrGenModeNone(seq, index)));
      answers.push(this.nl.request(`set ${name} up`, (seq) => setLinkUp(seq, index, true)));
      if (i.ipv6) later6.push({ i, name, index, ipv6: i.ipv6 });
    }
    // IPv4 and the links first, announced at once: the gratuitous ARPs teach the switches where the shared MAC is
    // now, which is all forwarding of either family needs (clients already resolve the gateway to that MAC); the
    // IPv6 address work (routes, group joins) then runs after them, not before.
    const failed = (await Promise.allSettled(answers)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.allSettled(answers6);
      throw failed.reason;
    }
    const upAt = monotonicNs();
    this.stopGarps();
    if (this.garp.count > 0) this.refresh({ ipv6: false });
    const firstGarpAt = monotonicNs();
    for (const { i, name, index, ipv6 } of later6) {
      const { address, prefix } = ipv6;
      const bytes = ipv6Of(address);
      for (const [a, p, text] of [
        [linkLocalOf(sharedMac(i.nn, this.clusterId)), 64, 'its link-local address'],
        [bytes, prefix, `${address}/${prefix}`],
      ] as const)
        answers6.push(
          this.ignore(
            'EEXIST',
            this.ipv6Request(`${text} on ${name}`, (seq) => newAddress6(seq, index, a, p)),
          ),
        );
    }
    const settled6 = await Promise.allSettled(answers6);
    const ipv6Failed = settled6.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).message);
    this.withoutIpv6 = ipv6Failed.length > 0;
    if (this.garp.count > 0 && later6.length > 0) this.refresh({ ipv4: false });
    const firstNaAt = later6.length > 0 && !this.withoutIpv6 ? monotonicNs() : null;
    this.repeat();
    return { upAt, firstGarpAt, firstNaAt, ifaces: this.ifaces.map((i) => i.parent), ipv6Failed };
  }

  /** The gratuitous ARPs from the shared MAC (garp.count, garp.intervalMs apart): at a claim, and again when asked. */
  announce(): void {
    this.stopGarps();
    if (this.garp.count > 0) this.refresh();
    this.repeat();
  }

  /** The rounds after the first, garp.intervalMs apart. */
  private repeat(): void {
    for (let n = 1; n < this.garp.count; n++) this.garpTimers.push(setTimeout(() => this.refresh(), n * this.garp.intervalMs));
  }

  /**
   * One gratuitous ARP for each shared IPv4 address and one unsolicited neighbour advertisement for each shared
   * IPv6 address and its link's link-local address (the periodic refresh, garp.refreshMs; a burst is announce's).
   */
  refresh(families: { ipv4?: boolean; ipv6?: boolean } = {}): void {
    for (const i of this.ifaces) {
      const mac = sharedMac(i.nn, this.clusterId);
      const frames = [
        ...(i.ipv4 && families.ipv4 !== false ? [gratuitousArp(mac, i.ipv4.address)] : []),
        ...(i.ipv6 && families.ipv6 !== false && !this.withoutIpv6
          ? [unsolicitedAdvertisement(mac, ipv6Of(i.ipv6.address)), unsolicitedAdvertisement(mac, linkLocalOf(mac))]
          : []),
      ];
      for (const f of frames) {
        try {
          this.senderFor(i.parent).send(f);
        } catch {
          // a link without carrier: the next announcement (or the next claim) tries again
        }
      }
    }
  }

  async release(): Promise<void> {
    this.stopGarps();
    for (const i of this.ifaces) {
      const name = sharedLinkName(i.nn);
      await this.ignore(
        'ENODEV',
        this.nl.request(`delete ${name}`, (seq) => deleteLinkByName(seq, name)),
      );
    }
  }

  /** Removes shared links a crashed run left behind (their MAC must not stay up on an inactive node). */
  async removeStale(): Promise<string[]> {
    const answers = await this.nl.request('list links', (seq) => dumpLinks(seq));
    const stale = answers
      .map(parseLink)
      .filter((l) => l !== undefined && SHARED_LINK.test(l.name))
      .map((l) => l!.name);
    for (const name of stale)
      await this.ignore(
        'ENODEV',
        this.nl.request(`delete ${name}`, (seq) => deleteLinkByName(seq, name)),
      );
    return stale;
  }

  close(): void {
    this.stopGarps();
    for (const l of this.ownLinks.values()) l.close();
    this.ownLinks.clear();
    this.nl.close();
  }

  private stopGarps(): void {
    for (const t of this.garpTimers) clearTimeout(t);
    this.garpTimers = [];
  }

  /** A kernel with IPv6 off answers EACCES (disable_ipv6) or EAFNOSUPPORT (no IPv6 at all): say which. */
  private async ipv6Request(what: string, build: (seq: number) => Uint8Array): Promise<unknown> {
    try {
      return await this.nl.request(what, build);
    } catch (e) {
      if (e instanceof NetlinkError && (e.code === 'EACCES' || e.code === 'EAFNOSUPPORT'))
        throw new Error(
          `${what}: ${e.code === 'EACCES' ? 'IPv6 is disabled on this link (net.ipv6.conf.*.disable_ipv6=1)' : 'this kernel has no IPv6'}: enable it, or remove sharedIp6 from the configuration`,
        );
      throw e;
    }
  }

  private async ignore(code: string, p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === code)) throw e;
    }
  }
}

function ipv6Of(text: string): Uint8Array {
  const a = parseIpv6(text);
  if (a === undefined) throw new Error(`not an IPv6 address: ${text}`);
  return a;
}
