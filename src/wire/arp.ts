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

/** An ARP request from `srcMac`/`srcIp` asking who has `targetIp` (a monitor probe). */
export function arpRequest(srcMac: Uint8Array, srcIp: string, targetIp: string): Uint8Array {
  const from = parseIpv4(srcIp);
  const to = parseIpv4(targetIp);
  if (from === undefined || to === undefined) throw new Error(`not IPv4 addresses: ${srcIp}, ${targetIp}`);
  const b = gratuitousArp(srcMac, srcIp);
  new DataView(b.buffer).setUint32(38, to);
  return b;
}

/** The sender of an ARP reply (or request: any ARP from a host proves it is there), or undefined. */
export function arpSender(frame: Uint8Array): { ip: number; mac: Uint8Array; op: number } | undefined {
  if (frame.length < ARP_FRAME_LENGTH) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (v.getUint16(12) !== 0x0806 || v.getUint16(14) !== 1 || v.getUint16(16) !== 0x0800 || frame[18] !== 6 || frame[19] !== 4) return undefined;
  return { op: v.getUint16(20), mac: frame.slice(22, 28), ip: v.getUint32(28) };
}
