/**
 * DOC: what a decoded heartbeat tells the failover core
 *
 * The one translation from the wire's fields and flags (src/wire/heartbeat-frame.ts) to the core's view of the
 * sender (HeartbeatInfo). Pure; used by the failover runtime for every accepted frame.
 */
import type { HeartbeatInfo } from '../../core/failover-types.js';
import { FLAG_SHARED_HELD, FLAG_STALLED, FLAG_YIELDING, PREVIOUS_HEARTBEAT_VERSION, type HeartbeatFields } from '../../wire/heartbeat-frame.js';

export function heartbeatInfo(f: HeartbeatFields): HeartbeatInfo {
  return {
    nodeId: f.nodeId,
    name: f.nodeName,
    nodeType: f.nodeType,
    role: f.state,
    connections: f.connections,
    health: f.health,
    yielding: (f.flags & FLAG_YIELDING) !== 0,
    term: f.term,
    stalled: (f.flags & FLAG_STALLED) !== 0,
    // A node of the previous format cannot read ours: the core defers to it (src/core/rank.ts rule 0).
    ...(f.version === PREVIOUS_HEARTBEAT_VERSION ? { previousFormat: true } : {}),
    holdsShared: (f.flags & FLAG_SHARED_HELD) !== 0,
    bootId: f.bootId,
    sequence: f.sequence,
    // Kept by the core under its stale-frame rule: an older frame on another interface rolls nothing back.
    facts: {
      syncStatus: f.syncStatus,
      syncSequence: f.syncSequence,
      flags: f.flags,
      configGeneration: f.configGeneration,
      softwareVersion: f.softwareVersion,
    },
  };
}
