/**
 * DOC: heartbeat fields and links for tests, and a real HMAC.
 */
import { hmacAuth } from '../../src/io/heartbeat-auth.js';
import {
  encodeHeartbeat,
  PAYLOAD_OFFSET,
  PREVIOUS_HEARTBEAT_VERSION,
  TAG_LENGTH,
  type HeartbeatFields,
  type HeartbeatLink,
} from '../../src/wire/heartbeat-frame.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';

export const PASSWORD = 'test-cluster-password';
export const CLUSTER = 7;
export const auth = hmacAuth(PASSWORD, CLUSTER);

export function fields(over: Partial<HeartbeatFields> = {}): HeartbeatFields {
  return {
    clusterId: CLUSTER,
    nodeType: 'master',
    state: 'active',
    flags: 0,
    nn: 9,
    fromSync: false,
    nodeId: 1,
    bootId: 1_700_000_000_000_000n,
    sequence: 42n,
    connections: 1234,
    health: 3,
    syncStatus: 'in-sync',
    intervalMs: 100,
    syncSequence: 99n,
    configGeneration: 3,
    softwareVersion: { major: 0, minor: 1, patch: 2 },
    nodeName: 'alpha',
    term: 5,
    ...over,
  };
}

export const link: HeartbeatLink = {
  srcMac: Uint8Array.of(0x02, 0, 0, 0, 0, 0x01),
  srcIp: parseIpv4('198.18.2.11')!,
  broadcastIp: parseIpv4('198.18.2.255')!,
};

/**
 * A heartbeat as a node of the previous format sends it (docs/wire-format.md, version 1): no term, the tag over
 * payload bytes 0-71 at byte 72, 130 bytes in all.
 */
export function previousFormatFrame(f: HeartbeatFields, over: HeartbeatLink = link): Uint8Array {
  const current = encodeHeartbeat(f, over, auth);
  const signed = 72;
  const out = new Uint8Array(PAYLOAD_OFFSET + signed + TAG_LENGTH);
  out.set(current.subarray(0, PAYLOAD_OFFSET + signed));
  const view = new DataView(out.buffer);
  view.setUint16(16, out.length - 14); // IPv4 total length
  view.setUint16(38, out.length - 34); // UDP length
  out[PAYLOAD_OFFSET + 4] = PREVIOUS_HEARTBEAT_VERSION;
  out.set(auth.sign(out.subarray(PAYLOAD_OFFSET, PAYLOAD_OFFSET + signed)).subarray(0, TAG_LENGTH), PAYLOAD_OFFSET + signed);
  return out;
}
