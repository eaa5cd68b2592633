/**
 * DOC: gratuitous ARP frames
 *
 * After a takeover the new active node announces each shared address so
 * that switches learn the shared MAC's new port and hosts refresh their ARP
 * caches: an ARP request to the broadcast address whose sender and target
 * IPs are both the shared address (RFC 5227's announcement). Pure.
 */
import { parseIpv4 } from './ipv4.js';

export const ARP_FRAME_LENGTH = 42;

export function gratuitousArp(mac: Uint8Array, ip: string): Uint8Array {
  const addr = parseIpv4(ip);
  if (addr === undefined) throw new Error(`not an IPv4 address: ${ip}`);
  const b = new Uint8Array(ARP_FRAME_LENGTH);
  const v = new DataView(b.buffer);
  b.fill(0xff, 0, 6); // broadcast
  b.set(mac.subarray(0, 6), 6);
  v.setUint16(12, 0x0806);
  v.setUint16(14, 1); // Ethernet
  v.setUint16(16, 0x0800); // IPv4
  b[18] = 6;
  b[19] = 4;
  v.setUint16(20, 1); // request
  b.set(mac.subarray(0, 6), 22);
  v.setUint32(28, addr);
  // target MAC zero (bytes 32-37)
  v.setUint32(38, addr);
  return b;
}
