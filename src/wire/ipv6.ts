/**
 * DOC: IPv6 addresses for the frame codecs and the configuration. Pure.
 *
 * Text forms of RFC 4291 section 2.2 (with `::` and a trailing dotted IPv4
 * part), printed in RFC 5952's canonical form; the solicited-node group
 * (RFC 4291 section 2.7.1) and the Ethernet group MAC (RFC 2464 section 7) of
 * an address; the ICMPv6 checksum over the pseudo-header (RFC 8200 8.1).
 */
import { onesSum, parseIpv4 } from './ipv4.js';

export const IPV6_BYTES = 16;

/** 16 bytes, or undefined when `text` is not an IPv6 address (zone indexes such as `%eth0` are not addresses). */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return undefined;
  const head = groups(gap >= 0 ? text.slice(0, gap) : text, gap < 0);
  const tail = gap >= 0 ? groups(text.slice(gap + 2), true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (gap >= 0 ? missing < 1 : missing !== 0) return undefined;
  const words = [...head, ...new Array<number>(gap >= 0 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(IPV6_BYTES);
  words.forEach((w, i) => {
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** The 16-bit groups of one side of `::`; the last may be dotted IPv4 (two groups) when it ends the address. */
function groups(text: string, endsAddress: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const out: number[] = [];
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    if (p.includes('.')) {
      const v4 = k === parts.length - 1 && endsAddress ? parseIpv4(p) : undefined;
      if (v4 === undefined) return undefined;
      out.push(v4 >>> 16, v4 & 0xffff);
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) {
      out.push(parseInt(p, 16));
    } else {
      return undefined;
    }
  }
  return out;
}

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups (the first of equals) as `::`. */
export function formatIpv6(addr: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => (addr[2 * i]! << 8) | addr[2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

/** The canonical text of an address given in any valid form, or undefined. */
export function canonicalIpv6(text: string): string | undefined {
  const a = parseIpv6(text);
  return a === undefined ? undefined : formatIpv6(a);
}

export function sameIpv6(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < IPV6_BYTES; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether the first `prefix` bits of `a` and `b` agree. */
export function samePrefix6(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit += 8) {
    const mask = prefix - bit >= 8 ? 0xff : (0xff << (8 - (prefix - bit))) & 0xff;
    if ((a[bit >> 3]! & mask) !== (b[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** fe80::/10: scoped to one link, it cannot move between nodes as a shared address would need. */
export function isLinkLocal6(a: Uint8Array): boolean {
  return a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;
}

export function isMulticast6(a: Uint8Array): boolean {
  return a[0] === 0xff;
}

export function isUnspecified6(a: Uint8Array): boolean {
  return a.every((b) => b === 0);
}

/** ff02::1:ffXX:XXXX: the group a node joins for each of its addresses, where neighbour solicitations go. */
export function solicitedNode(a: Uint8Array): Uint8Array {
  const out = new Uint8Array(IPV6_BYTES);
  out[0] = 0xff;
  out[1] = 0x02;
  out[11] = 0x01;
  out[12] = 0xff;
  out.set(a.subarray(13, 16), 13);
  return out;
}

/** 33:33 and the group's last four bytes. */
export function multicastMac6(group: Uint8Array): Uint8Array {
  return Uint8Array.of(0x33, 0x33, group[12]!, group[13]!, group[14]!, group[15]!);
}

/** ff02::1, every node of the link. */
export const ALL_NODES = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

export const ICMPV6 = 58;

/** The ICMPv6 checksum of `bytes[start, end)` (its own checksum field zero or included as sent). */
export function icmpv6Sum(src: Uint8Array, dst: Uint8Array, bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  let sum = onesSum(src, 0, IPV6_BYTES);
  sum = onesSum(dst, 0, IPV6_BYTES, sum);
  sum += (length >>> 16) + (length & 0xffff) + ICMPV6;
  return onesSum(bytes, start, end, sum);
}

/** fe80::/64 with the modified EUI-64 of `mac` (RFC 4291 appendix A): what the kernel would make, fixed by the MAC. */
export function linkLocalOf(mac: Uint8Array): Uint8Array {
  return Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, mac[0]! ^ 0x02, mac[1]!, mac[2]!, 0xff, 0xfe, mac[3]!, mac[4]!, mac[5]!);
}
