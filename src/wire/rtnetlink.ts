/**
 * DOC: rtnetlink messages: links and addresses (linux/rtnetlink.h, if_link.h)
 *
 * Builders for the requests the shared-address takeover makes (a macvlan
 * carrying the shared MAC, its IPv4 and IPv6 addresses, deleting it) and the parser for
 * link messages (dumps and RTMGRP_LINK events: name, index, flags, carrier,
 * MAC, kind) and address events (RTMGRP_*_IFADDR). Pure.
 */
import { formatIpv4, parseIpv4 } from './ipv4.js';
import { formatIpv6, isLinkLocal6 } from './ipv6.js';
import {
  attrBytes,
  attrNested,
  attrString,
  attrU32,
  attrU8,
  encodeMessage,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  parseAttrs,
  readString,
  readU32,
  type Attr,
  type Message,
} from './netlink.js';

export const NETLINK_ROUTE = 0;
export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV6_IFADDR = 0x100;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;

const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
const IFF_LOWER_UP = 0x10000;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_LINK = 5;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_CARRIER = 33;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE_PRIVATE = 1;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;
const IFA_F_NODAD = 0x02;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;

/** struct ifinfomsg: family, pad, type, index, flags, change. */
function ifinfomsg(index: number, flags = 0, change = 0): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  b[0] = AF_UNSPEC;
  v.setInt32(4, index, true);
  v.setUint32(8, flags, true);
  v.setUint32(12, change, true);
  return b;
}

/** A macvlan on `parentIndex` named `name` with MAC `mac`, created up unless `up` is false. Fails with EEXIST if it exists. */
export function newMacvlan(seq: number, name: string, parentIndex: number, mac: Uint8Array, mode = MACVLAN_MODE_PRIVATE, up = true): Uint8Array {
  const attrs: Attr[] = [
    attrString(IFLA_IFNAME, name),
    attrU32(IFLA_LINK, parentIndex),
    attrBytes(IFLA_ADDRESS, mac),
    attrNested(IFLA_LINKINFO, [attrString(IFLA_INFO_KIND, 'macvlan'), attrNested(IFLA_INFO_DATA, [attrU32(IFLA_MACVLAN_MODE, mode)])]),
  ];
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, ifinfomsg(0, up ? IFF_UP : 0, IFF_UP), attrs);
}

export function setLinkUp(seq: number, index: number, up: boolean): Uint8Array {
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg(index, up ? IFF_UP : 0, IFF_UP));
}

export function deleteLinkByName(seq: number, name: string): Uint8Array {
  return encodeMessage(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg(0), [attrString(IFLA_IFNAME, name)]);
}

export function dumpLinks(seq: number): Uint8Array {
  return encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, ifinfomsg(0));
}

/** An IPv4 address with its prefix and broadcast on link `index`. */
export function newAddress(seq: number, index: number, address: string, prefix: number): Uint8Array {
  const a = parseIpv4(address);
  if (a === undefined) throw new Error(`not an IPv4 address: ${address}`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const brd = (a | ~mask) >>> 0;
  const fixed = new Uint8Array(8);
  fixed[0] = AF_INET;
  fixed[1] = prefix;
  fixed[3] = RT_SCOPE_UNIVERSE;
  new DataView(fixed.buffer).setUint32(4, index, true);
  const be = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  return encodeMessage(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, fixed, [
    attrBytes(IFA_LOCAL, be(a)),
    attrBytes(IFA_ADDRESS, be(a)),
    attrBytes(IFA_BROADCAST, be(brd)),
  ]);
}

/**
 * An IPv6 address on link `index`, usable at once: no duplicate address detection (IFA_F_NODAD), since a
 * shared address is the cluster's and waiting a second for DAD would be a second of outage after a takeover.
 */
export function newAddress6(seq: number, index: number, address: Uint8Array, prefix: number): Uint8Array {
  const fixed = new Uint8Array(8);
  fixed[0] = AF_INET6;
  fixed[1] = prefix;
  fixed[2] = IFA_F_NODAD;
  fixed[3] = isLinkLocal6(address) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  new DataView(fixed.buffer).setUint32(4, index, true);
  return encodeMessage(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, fixed, [
    attrBytes(IFA_LOCAL, address),
    attrBytes(IFA_ADDRESS, address),
    attrU32(IFA_FLAGS, IFA_F_NODAD),
  ]);
}

export interface AddressInfo {
  index: number;
  family: 4 | 6;
  /** Text form (IFA_LOCAL, else IFA_ADDRESS). */
  address: string;
  prefix: number;
  deleted: boolean;
}

/** An address from RTM_NEWADDR/RTM_DELADDR (dump answers and events); undefined if malformed or not IPv4/IPv6. */
export function parseAddress(m: Message): AddressInfo | undefined {
  if ((m.type !== RTM_NEWADDR && m.type !== RTM_DELADDR) || m.body.length < 8) return undefined;
  const family = m.body[0] === AF_INET ? 4 : m.body[0] === AF_INET6 ? 6 : undefined;
  if (family === undefined) return undefined;
  const attrs = parseAttrs(m.body.subarray(8));
  const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (raw?.length !== (family === 4 ? 4 : 16)) return undefined;
  const address = family === 4 ? formatIpv4(new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0)) : formatIpv6(raw);
  const index = new DataView(m.body.buffer, m.body.byteOffset, 8).getUint32(4, true);
  return { index, family, address, prefix: m.body[1]!, deleted: m.type === RTM_DELADDR };
}

export interface LinkInfo {
  index: number;
  name: string;
  up: boolean;
  /** Carrier: IFF_LOWER_UP, or IFLA_CARRIER when present. */
  carrier: boolean;
  running: boolean;
  mac?: Uint8Array;
  kind?: string;
  parentIndex?: number;
  operstate?: number;
  deleted: boolean;
}

/** A link from RTM_NEWLINK/RTM_DELLINK (dump answers and events); undefined if malformed. */
export function parseLink(m: Message): LinkInfo | undefined {
  if ((m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) || m.body.length < 16) return undefined;
  const v = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const index = v.getInt32(4, true);
  const flags = v.getUint32(8, true);
  const attrs = parseAttrs(m.body.subarray(16));
  const name = readString(attrs.get(IFLA_IFNAME));
  if (name === undefined) return undefined;
  const carrierAttr = attrs.get(IFLA_CARRIER);
  const info: LinkInfo = {
    index,
    name,
    up: (flags & IFF_UP) !== 0,
    carrier: carrierAttr ? carrierAttr[0] === 1 && (flags & IFF_UP) !== 0 : (flags & IFF_LOWER_UP) !== 0,
    running: (flags & IFF_RUNNING) !== 0,
    deleted: m.type === RTM_DELLINK,
  };
  const mac = attrs.get(IFLA_ADDRESS);
  if (mac) info.mac = mac.slice();
  const parent = readU32(attrs.get(IFLA_LINK));
  if (parent !== undefined) info.parentIndex = parent;
  const oper = attrs.get(IFLA_OPERSTATE);
  if (oper) info.operstate = oper[0]!;
  const linkinfo = attrs.get(IFLA_LINKINFO);
  if (linkinfo) {
    const kind = readString(parseAttrs(linkinfo).get(IFLA_INFO_KIND));
    if (kind) info.kind = kind;
  }
  return info;
}

const IFLA_AF_SPEC = 26;
const IFLA_INET_CONF = 1;
const IPV4_DEVCONF_ARP_ANNOUNCE = 18;
const IPV4_DEVCONF_ARP_IGNORE = 19;

/**
 * arp_ignore=1 and arp_announce=2 on a link, through netlink (works in any
 * namespace the socket lives in, unlike /proc/sys): the parent of a shared
 * MAC must not answer ARP for the shared address with its own MAC, or hosts
 * would learn the node's MAC and lose the shared address at failover.
 */
export function setArpStrict(seq: number, index: number): Uint8Array {
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg(index), [
    attrNested(IFLA_AF_SPEC, [attrNested(AF_INET, [attrNested(IFLA_INET_CONF, [attrU32(IPV4_DEVCONF_ARP_IGNORE, 1), attrU32(IPV4_DEVCONF_ARP_ANNOUNCE, 2)])])]),
  ]);
}

const IFLA_INET6_ADDR_GEN_MODE = 8;
const IN6_ADDR_GEN_MODE_NONE = 1;

/**
 * No address generated on the link when it comes up (addrgenmode none): the shared link gets the link-local
 * address tandem gives it, made from the shared MAC, with no duplicate address detection. The kernel takes this
 * only once the link exists (not in the request that creates it) and before it is up.
 */
export function setAddrGenModeNone(seq: number, index: number): Uint8Array {
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg(index), [
    attrNested(IFLA_AF_SPEC, [attrNested(AF_INET6, [attrU8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE)])]),
  ]);
}
