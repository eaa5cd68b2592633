/**
 * DOC: what the failover core reads off its state: health, links, the peer's liveness, the evidence of a moment
 *
 * Pure functions of a CoreState and `now`, shared by the state machine (failover.ts), the leader, drain and
 * bypass changes (standing.ts) and the runtime's snapshot.
 */
import { ms, type CoreEvent, type CoreState, type Effect, type Evidence, type Ns } from './failover-types.js';
import type { Contender } from './rank.js';

/** Monitored interfaces with link and reachable monitor targets. */
export function health(s: CoreState): number {
  return s.config.ifaces.filter((i) => i.monitored && s.links[i.name] && s.targets[i.name]).length;
}

/** Carrier on at least one heartbeat interface: without any, silence says nothing about the peer. */
export function anyLink(s: CoreState): boolean {
  return s.config.ifaces.some((i) => s.links[i.name]);
}

export function peerAlive(s: CoreState, now: Ns): boolean {
  return s.peer !== undefined && now - s.peer.lastHeard < ms(s.config.failoverTimeMs);
}

/** The sync link is up while it has carrier and the peer was heard on it within the failover time. */
export function syncLinkUp(s: CoreState, now: Ns): boolean {
  const sync = s.config.ifaces.find((i) => i.isSync);
  if (!sync || !s.links[sync.name]) return false;
  const heard = s.peer?.heardOn[sync.name];
  return heard !== undefined && now - heard < ms(s.config.failoverTimeMs);
}

function msAgo(now: Ns, t: Ns | undefined): number | null {
  return t === undefined ? null : Number(now - t) / 1e6;
}

export function evidence(s: CoreState, now: Ns, rule?: string): Evidence {
  const heardOnMsAgo: Record<string, number | null> = {};
  for (const i of s.config.ifaces) heardOnMsAgo[i.name] = msAgo(now, s.peer?.heardOn[i.name]);
  const e: Evidence = {
    peerLastHeardMsAgo: msAgo(now, s.peer?.lastHeard),
    heardOnMsAgo,
    ourConnections: s.connections,
    ourHealth: health(s),
    syncLinkUp: syncLinkUp(s, now),
    ourTerm: s.term,
  };
  if (s.peer) {
    e.peerConnections = s.peer.connections;
    e.peerHealth = s.peer.health;
    e.peerRole = s.peer.role;
    e.peerType = s.peer.nodeType;
    e.peerTerm = s.peer.term;
  }
  if (rule) e.rule = rule;
  return e;
}

/** What this node says of itself to the rank (rank.ts): the facts its heartbeats carry. */
export function contender(s: CoreState): Contender {
  return {
    nodeId: s.config.nodeId,
    nodeType: s.config.nodeType,
    role: s.role,
    connections: s.connections,
    health: health(s),
    yielding: s.yielding,
    term: s.term,
    stalled: s.stalledUntil !== undefined,
  };
}

export function log(level: 'info' | 'warn', event: CoreEvent, fields: Record<string, unknown>): Effect {
  return { type: 'log', level, event, fields };
}
