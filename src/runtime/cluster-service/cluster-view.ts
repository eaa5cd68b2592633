/**
 * DOC: what the cluster looks like from this member: members, their status bits, the leader, the health check
 *
 * Built from the failover runtime's snapshot (this node and what the
 * peer's heartbeats say), the sync channel's state (why the peer is
 * unreachable) and the cluster definition. The leader role is held here
 * (src/core/leader.ts decides; `tick` runs it, the heartbeats carry it).
 * `health()` is the load balancer's answer (seed 000): 200 "Cluster
 * Enabled" only for an enabled member that serves and is healthy.
 */
import { decideLeader, placementRule, type LeaderCandidate, type LeaderReason } from '../../core/leader.js';
import { describeBits, hex, statusBits } from '../../cluster/status-bits.js';
import type { NodeConfig } from '../../cluster/config-file.js';
import type { Member } from '../../cluster/store.js';
import { FLAG_DISABLED, FLAG_DRAINING, FLAG_LEADER, FLAG_YIELDING } from '../../wire/heartbeat-frame.js';
import type { Snapshot } from '../pair/failover-runtime.js';
import type { StatusMember } from '../../api/status-page.js';

/** A member as this node sees it: the status page's row (src/api/status-page.ts). */
export type MemberView = StatusMember;

export interface ClusterView {
  name: string;
  mode: string;
  revision: number;
  members: MemberView[];
  leader: string | null;
}

/** Unreachable reasons a sync channel gives that name a difference in configuration (not a dead link). */
const MISMATCH = ['wrong_password', 'software_version_mismatch', 'cluster_definition_mismatch', 'group_mode_mismatch', 'cluster_mismatch', 'protocol_mismatch'];

/**
 * Decides the leader role from the newest facts (core/leader.ts); whether this member holds it is the core's
 * (Snapshot.standing.leader), which the verdict reaches as an input, so the change is recorded and explained.
 */
export class LeaderRole {
  private readonly startedAt = performance.now();

  constructor(private readonly listenMs: number) {}

  decide(s: Snapshot, config: NodeConfig): { lead: boolean; reason: LeaderReason; rule: string } {
    const me: LeaderCandidate = { nodeId: s.node.id, stateComplete: stateComplete(s), generation: config.generation, enabled: !s.disabled };
    const p = s.peer;
    const peer = p
      ? {
          nodeId: p.id,
          alive: p.alive,
          holding: (p.flags & FLAG_LEADER) !== 0,
          enabled: (p.flags & FLAG_DISABLED) === 0,
          stateComplete: p.syncStatus === 'in-sync' || !('role' in s.sync),
          generation: p.configGeneration,
        }
      : null;
    const verdict = decideLeader({ me, holding: s.standing.leader, listened: performance.now() - this.startedAt >= this.listenMs, peer });
    return { ...verdict, rule: peer?.alive ? placementRule(me, peer) : 'no_live_peer' };
  }
}

/** A copy known to be whole: in sync with the peer (a node that just started, or lost its channel, is not yet). */
function stateComplete(s: Snapshot): boolean {
  if (!('role' in s.sync)) return true; // nothing is synchronised: every member is as complete as the other
  return s.sync.status === 'in-sync';
}

/** Why the peer member is unreachable, or null (seed 000's FAQ 1). */
export function peerUnreachable(s: Snapshot, m: Member, ownVersion: string): string | null {
  if (!m.joined) return 'never_joined';
  const channel = 'role' in s.sync ? s.sync : null;
  const why = channel?.peerUnreachable ?? null;
  if (channel && channel.channel === 'up') return null;
  if (why && MISMATCH.includes(why)) return why;
  if (s.peer?.alive) {
    if (s.peer.softwareVersion !== ownVersion) return 'software_version_mismatch';
    return channel ? (why === 'not_started' ? null : (why ?? null)) : null;
  }
  return s.peer ? 'offline' : 'never_heard';
}

export function clusterView(s: Snapshot, config: NodeConfig, ownVersion: string): ClusterView {
  const leads = s.standing.leader;
  const sync = 'role' in s.sync ? s.sync : null;
  const ifaces = s.links.map((l) => l.name);
  const members = config.members.map((m): MemberView => {
    if (m.name === config.node.name) {
      const syncingFrom = sync?.status === 'syncing';
      const connected = config.peer === null || (sync ? sync.channel === 'up' : s.peer?.alive === true);
      const bits = statusBits({
        standalone: false,
        enabled: !s.disabled,
        unreachable: null,
        syncingFrom,
        syncingTo: sync?.sendingFull === true,
        transitioning: s.role === 'starting' || (s.yielding && !s.disabled),
        links: s.links,
        leader: leads,
        serviceConnected: connected,
        electing: !leads && !(s.peer?.alive && (s.peer.flags & FLAG_LEADER) !== 0),
      });
      return {
        name: m.name,
        id: m.id,
        address: m.address,
        self: true,
        enabled: !s.disabled,
        draining: s.standing.draining,
        role: s.role,
        leader: leads,
        unreachable: null,
        bits,
        hex: hex(bits),
        words: describeBits(bits, ifaces),
        softwareVersion: ownVersion,
      };
    }
    const heard = s.peer && s.peer.id === m.id ? s.peer : null;
    const unreachable = peerUnreachable(s, m, ownVersion);
    const flags = heard?.alive ? heard.flags : 0;
    const enabled = heard?.alive ? (flags & FLAG_DISABLED) === 0 : m.enabled;
    const isLeader = (flags & FLAG_LEADER) !== 0;
    const bits = statusBits({
      standalone: false,
      enabled,
      unreachable,
      syncingFrom: heard?.alive === true && heard.syncStatus === 'syncing',
      syncingTo: false,
      transitioning: heard?.alive === true && (heard.role === 'starting' || ((flags & FLAG_YIELDING) !== 0 && enabled)),
      links: [],
      leader: isLeader,
      serviceConnected: unreachable === null && (sync ? sync.channel === 'up' : heard?.alive === true),
      electing: false,
    });
    return {
      name: m.name,
      id: m.id,
      address: m.address,
      self: false,
      enabled,
      draining: (flags & FLAG_DRAINING) !== 0 || (!heard?.alive && m.draining),
      role: heard?.alive ? heard.role : 'unknown',
      leader: isLeader,
      unreachable,
      bits,
      hex: hex(bits),
      words: describeBits(bits, ifaces),
      softwareVersion: heard ? heard.softwareVersion : null,
    };
  });
  return { name: config.cluster.name, mode: config.cluster.mode, revision: config.generation, members, leader: members.find((m) => m.leader)?.name ?? null };
}

export interface Health {
  ok: boolean;
  /** The body: "Cluster Enabled", or why not. */
  text: string;
}

/** The load balancer's health check (seed 000): 200 "Cluster Enabled" or 500 with the reason. */
export function health(s: Snapshot, view: ClusterView, o: { draining: boolean; failWhileSyncing: boolean }): Health {
  const me = view.members.find((m) => m.self)!;
  if (s.disabled) return { ok: false, text: 'Cluster Disabled: this member is disabled' };
  if (o.draining) return { ok: false, text: 'Draining: this member serves its sessions but takes no new ones' };
  if (s.role !== 'active') return { ok: false, text: `Not serving: this member is ${s.role}` };
  const down = s.links.filter((l) => l.monitored && (!l.up || !l.targetsReachable)).map((l) => l.name);
  if (down.length > 0) return { ok: false, text: `Failing: monitored interface ${down.join(', ')} lost its link or targets` };
  if (o.failWhileSyncing && 'role' in s.sync && s.sync.status === 'syncing')
    return { ok: false, text: 'Syncing: the state transfer from another member is not complete' };
  // Cut off from the cluster by a difference in configuration: the member that does not lead steps aside.
  const peer = view.members.find((m) => !m.self && m.unreachable !== null && MISMATCH.includes(m.unreachable));
  if (peer && !me.leader) return { ok: false, text: `Unreachable from the cluster: ${peer.name} refuses this member (${peer.unreachable})` };
  return { ok: true, text: 'Cluster Enabled' };
}
