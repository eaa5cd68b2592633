/**
 * DOC: heartbeat fields and links for tests, and a real HMAC.
 */
import { hmacAuth } from '../../src/io/heartbeat-auth.js';
import type { HeartbeatFields, HeartbeatLink } from '../../src/wire/heartbeat-frame.js';
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
    ...over,
  };
}

export const link: HeartbeatLink = {
  srcMac: Uint8Array.of(0x02, 0, 0, 0, 0, 0x01),
  srcIp: parseIpv4('198.18.2.11')!,
  broadcastIp: parseIpv4('198.18.2.255')!,
};
