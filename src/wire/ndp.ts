/**
 * DOC: neighbour discovery frames (RFC 4861): IPv6's ARP. Pure.
 *
 * - unsolicitedAdvertisement: after a takeover, one per shared IPv6 address
 *   from the shared MAC to all nodes (ff02::1), Override set so every cache
 *   takes the link-layer address at once (section 7.2.6), Router set because
 *   the shared address is the hosts' gateway; the IPv6 twin of the gratuitous
 *   ARP (switches learn the shared MAC's port from it too).
 * - neighbourSolicitation: a monitor probe, to the target's solicited-node
 *   group, from the interface's own MAC and address.
 * - parseNdp: the checks of section 7.1.1/7.1.2 a receiver makes (hop limit
 *   255, code 0, checksum, option lengths) before it believes a frame.
 * Frames are Ethernet + IPv6 (no extension header) + ICMPv6, 86 bytes.
 */
import { ALL_NODES, icmpv6Sum, ICMPV6, isMulticast6, isUnspecified6, multicastMac6, solicitedNode } from './ipv6.js';

export const ETH_P_IPV6 = 0x86dd;
export const NDP_NS = 135;
export const NDP_NA = 136;
export const NDP_FRAME_LENGTH = 86;
const IP = 14;
const ICMP = IP + 40;
const NA_ROUTER = 0x80;
const NA_SOLICITED = 0x40;
const NA_OVERRIDE = 0x20;
const OPT_SOURCE_LLA = 1;
const OPT_TARGET_LLA = 2;

function ndpFrame(dstMac: Uint8Array, srcMac: Uint8Array, src: Uint8Array, dst: Uint8Array, type: number, target: Uint8Array): Uint8Array {
  const b = new Uint8Array(NDP_FRAME_LENGTH);
  const v = new DataView(b.buffer);
  b.set(dstMac.subarray(0, 6), 0);
  b.set(srcMac.subarray(0, 6), 6);
  v.setUint16(12, ETH_P_IPV6);
  b[IP] = 0x60;
  v.setUint16(IP + 4, NDP_FRAME_LENGTH - ICMP);
  b[IP + 6] = ICMPV6;
  b[IP + 7] = 255; // a receiver drops neighbour discovery that crossed a router
  b.set(src, IP + 8);
  b.set(dst, IP + 24);
  b[ICMP] = type;
  b.set(target, ICMP + 8);
  b[ICMP + 24] = type === NDP_NA ? OPT_TARGET_LLA : OPT_SOURCE_LLA;
  b[ICMP + 25] = 1; // units of 8 bytes
  b.set(srcMac.subarray(0, 6), ICMP + 26);
  return b;
}

function seal(b: Uint8Array): Uint8Array {
  const sum = icmpv6Sum(b.subarray(IP + 8, IP + 24), b.subarray(IP + 24, IP + 40), b, ICMP, NDP_FRAME_LENGTH);
  new DataView(b.buffer).setUint16(ICMP + 2, ~sum & 0xffff);
  return b;
}

/** Unsolicited advertisement of `address` at `mac`, Override (and Router unless `router` is false) set. */
export function unsolicitedAdvertisement(mac: Uint8Array, address: Uint8Array, router = true): Uint8Array {
  const b = ndpFrame(multicastMac6(ALL_NODES), mac, address, ALL_NODES, NDP_NA, address);
  b[ICMP + 4] = NA_OVERRIDE | (router ? NA_ROUTER : 0);
  return seal(b);
}

/** Who has `target`? From `srcMac`/`src`, to the target's solicited-node group. */
export function neighbourSolicitation(srcMac: Uint8Array, src: Uint8Array, target: Uint8Array): Uint8Array {
  const group = solicitedNode(target);
  return seal(ndpFrame(multicastMac6(group), srcMac, src, group, NDP_NS, target));
}

export interface NdpMessage {
  type: typeof NDP_NS | typeof NDP_NA;
  /** IPv6 source and destination. */
  src: Uint8Array;
  dst: Uint8Array;
  target: Uint8Array;
  router: boolean;
  solicited: boolean;
  override: boolean;
  /** Source (NS) or target (NA) link-layer address option, if present. */
  lla: Uint8Array | undefined;
}

export type NdpResult = { ok: true; msg: NdpMessage } | { ok: false; reason: string };

/** A neighbour solicitation or advertisement as a receiver must check it; anything else gets its reason. */
export function parseNdp(frame: Uint8Array): NdpResult {
  const no = (reason: string): NdpResult => ({ ok: false, reason });
  if (frame.length < ICMP + 24) return no('short');
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (v.getUint16(12) !== ETH_P_IPV6) return no('not_ipv6');
  if (frame[IP]! >>> 4 !== 6) return no('bad_version');
  if (frame[IP + 6] !== ICMPV6) return no('not_icmpv6');
  const end = ICMP + v.getUint16(IP + 4);
  if (end > frame.length) return no('truncated');
  if (frame[IP + 7] !== 255) return no('hop_limit');
  const type = frame[ICMP]!;
  if (type !== NDP_NS && type !== NDP_NA) return no('not_ndp');
  if (frame[ICMP + 1] !== 0) return no('bad_code');
  if (end - ICMP < 24) return no('short');
  const src = frame.slice(IP + 8, IP + 24);
  const dst = frame.slice(IP + 24, IP + 40);
  if (icmpv6Sum(src, dst, frame, ICMP, end) !== 0xffff) return no('bad_checksum');
  const target = frame.slice(ICMP + 8, ICMP + 24);
  if (isMulticast6(target)) return no('multicast_target');
  const flags = frame[ICMP + 4]!;
  const solicited = type === NDP_NA && (flags & NA_SOLICITED) !== 0;
  if (solicited && isMulticast6(dst)) return no('solicited_to_group');
  let lla: Uint8Array | undefined;
  for (let p = ICMP + 24; p < end;) {
    if (p + 2 > end) return no('bad_option');
    const len = frame[p + 1]! * 8;
    if (len === 0 || p + len > end) return no('bad_option');
    const wanted = type === NDP_NA ? OPT_TARGET_LLA : OPT_SOURCE_LLA;
    if (frame[p] === wanted && len >= 8) lla = frame.slice(p + 2, p + 8);
    p += len;
  }
  // A solicitation from the unspecified address is duplicate address detection: it must carry no source address.
  if (type === NDP_NS && isUnspecified6(src) && lla !== undefined) return no('dad_with_lla');
  return {
    ok: true,
    msg: {
      type,
      src,
      dst,
      target,
      router: type === NDP_NA && (flags & NA_ROUTER) !== 0,
      solicited,
      override: type === NDP_NA && (flags & NA_OVERRIDE) !== 0,
      lla,
    },
  };
}
