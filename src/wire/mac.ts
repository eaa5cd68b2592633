/**
 * DOC: MAC addresses of the cluster
 *
 * The heartbeat multicast MAC 11-00-00-00-NN-MM and its unicast twin, the
 * shared MAC 10-00-00-00-NN-MM, where MM is the cluster ID and NN a bit mask
 * of the interface's PCI bus, slot and port (seed 001). Both nodes derive the
 * same NN from the same board position, which is why a board that differs
 * between the nodes breaks the cluster ("hardware settings differ").
 *
 * Pure: no I/O. The board loader (src/board/) rejects two NICs of one board
 * whose NN collide.
 */

export type Mac = Uint8Array;

/** Largest values that fit the NN bit mask: bus in 3 bits, slot in 2, port in 3. */
export const NN_LIMITS = { bus: 7, slot: 3, port: 7 } as const;

export interface PciPosition {
  bus: number;
  slot: number;
  port: number;
}

/**
 * NN = bus(3 bits) << 5 | slot(2 bits) << 3 | port(3 bits). Clavister does not
 * publish its packing; this one keeps every position of a typical appliance
 * (up to 8 buses, 4 slots, 8 ports a slot) distinct.
 */
export function interfaceMask(pos: PciPosition): number {
  return ((pos.bus & 0x7) << 5) | ((pos.slot & 0x3) << 3) | (pos.port & 0x7);
}

export function heartbeatMac(nn: number, clusterId: number): Mac {
  return Uint8Array.of(0x11, 0, 0, 0, nn & 0xff, clusterId & 0xff);
}

export function sharedMac(nn: number, clusterId: number): Mac {
  return Uint8Array.of(0x10, 0, 0, 0, nn & 0xff, clusterId & 0xff);
}

/** True when `mac` has the heartbeat form 11-00-00-00-xx-xx (any NN, any cluster). */
export function isHeartbeatMac(mac: Uint8Array, offset = 0): boolean {
  return mac[offset] === 0x11 && mac[offset + 1] === 0 && mac[offset + 2] === 0 && mac[offset + 3] === 0;
}

export function formatMac(mac: Uint8Array, offset = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((mac[offset + i] ?? 0).toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function parseMac(text: string): Mac | undefined {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text);
  if (!m) return undefined;
  return Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
}
