/**
 * DOC: IPv4 address and checksum helpers for the frame codecs. Pure.
 */

export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

export function formatIpv4(addr: number): string {
  return [addr >>> 24, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff].join('.');
}

/** Ones' complement sum of 16-bit words, folded, not inverted. */
export function onesSum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if ((end - start) & 1) sum += bytes[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The correct Internet checksum of a range (RFC 1071). */
export function internetChecksum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  return ~onesSum(bytes, start, end, initial) & 0xffff;
}

/**
 * A checksum that is guaranteed wrong: the correct one with its lowest bit
 * flipped. Flipping one bit never yields the other ones'-complement zero, so
 * no verifier can accept it; for UDP it is also never 0 ("no checksum").
 */
export function wrongChecksum(correct: number): number {
  const bad = (correct ^ 0x0001) & 0xffff;
  return bad === 0 ? 0x0002 : bad;
}
