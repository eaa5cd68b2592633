/**
 * DOC: carrier of the node's interfaces from rtnetlink link events
 *
 * One netlink socket subscribed to RTMGRP_LINK: a dump at start gives the
 * current carrier of every watched interface, then each change arrives as an
 * event (no polling). Reports only changes, per interface name.
 */
import { dumpLinks, NETLINK_ROUTE, parseLink, RTMGRP_LINK } from '../wire/rtnetlink.js';
import { NetlinkSocket } from './netlink-socket.js';

export class LinkMonitor {
  private readonly nl: NetlinkSocket;
  private readonly carrier = new Map<string, boolean>();

  constructor(
    private readonly watched: readonly string[],
    private readonly onChange: (ifname: string, up: boolean) => void,
    netns?: string,
  ) {
    this.nl = NetlinkSocket.open(NETLINK_ROUTE, { groups: RTMGRP_LINK, ...(netns === undefined ? {} : { netns }) });
    this.nl.events((m) => {
      const link = parseLink(m);
      if (link) this.update(link.name, link.carrier && !link.deleted);
    });
  }

  /** Reads the current carrier of every watched interface (reported as changes from "up"). */
  async start(): Promise<ReadonlyMap<string, boolean>> {
    const answers = await this.nl.request('list links', (seq) => dumpLinks(seq));
    for (const m of answers) {
      const link = parseLink(m);
      if (link) this.update(link.name, link.carrier);
    }
    for (const name of this.watched) if (!this.carrier.has(name)) this.update(name, false);
    return this.carrier;
  }

  get(ifname: string): boolean | undefined {
    return this.carrier.get(ifname);
  }

  private update(name: string, up: boolean): void {
    if (!this.watched.includes(name)) return;
    const before = this.carrier.get(name);
    this.carrier.set(name, up);
    if (before !== up && !(before === undefined && up)) this.onChange(name, up);
  }

  close(): void {
    this.nl.close();
  }
}
