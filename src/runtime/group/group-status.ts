/**
 * DOC: what a member of a cluster on Corosync shows: status bits, members, the health check
 *
 * Pure: from the cluster definition and the group core's view. A member
 * serves (the health check says "Cluster Enabled") only while it is
 * enabled, not draining, connected to Corosync, in a group with quorum and
 * holding the cluster state; otherwise the health check says which of
 * these it lacks, and the load balancer takes it out of rotation.
 */
import type { StatusMember } from '../../api/status-page.js';
import { describeBits, hex, statusBits } from '../../cluster/status-bits.js';
import type { ClusterDefinition } from '../../cluster/store.js';
import type { Health } from '../cluster-service/cluster-view.js';

export interface GroupFacts {
  me: string;
  connected: boolean;
  quorate: boolean;
  quorum: number;
  /** Members quorum counts (joined, or present). */
  configured: number;
  /** Node ids in this member's group now. */
  view: number[];
  holders: number[];
  holdsState: boolean;
  leader: number | null;
  /** A state transfer this member waits for (from whom). */
  receivingFrom: number | null;
  softwareVersion: string;
}

export function groupMembers(c: ClusterDefinition, f: GroupFacts): StatusMember[] {
  return c.members.map((m) => {
    const inView = f.view.includes(m.id);
    const self = m.name === f.me;
    const unreachable = inView ? null : self ? (f.connected ? 'not in a group with quorum' : 'not connected to Corosync') : "not in this member's group";
    const holds = f.holders.includes(m.id);
    const serving = inView && holds && f.quorate && m.enabled && !m.draining;
    const bits = statusBits({
      standalone: false,
      enabled: m.enabled,
      unreachable,
      syncingFrom: inView && f.quorate && !holds,
      syncingTo: false,
      transitioning: false,
      links: [],
      leader: f.leader === m.id,
      // Connected to Corosync is not enough: without quorum the member serves nothing (seed 000's 0x10004 means it does).
      serviceConnected: inView && f.quorate,
      electing: inView && f.quorate && f.holders.length === 0,
    });
    return {
      name: m.name,
      id: m.id,
      address: m.address,
      self,
      enabled: m.enabled,
      draining: m.draining,
      role: serving ? 'active' : inView ? 'inactive' : 'unreachable',
      leader: f.leader === m.id,
      unreachable,
      hex: hex(bits),
      bits,
      words: describeBits(bits),
      softwareVersion: self ? f.softwareVersion : null,
    };
  });
}

export function groupHealth(c: ClusterDefinition | null, f: GroupFacts): Health {
  // Removed by another member: the store says standalone until the worker restarts as such, a moment later.
  if (!c) return { ok: false, text: 'Not a member: this node was removed from the cluster and restarts standalone' };
  const me = c.members.find((m) => m.name === f.me);
  if (!me?.enabled) return { ok: false, text: 'Cluster Disabled: this member is disabled' };
  if (me.draining) return { ok: false, text: 'Draining: this member serves its sessions but takes no new ones' };
  if (!f.connected) return { ok: false, text: 'Not serving: this member is not connected to Corosync (see corosync_exited in the log)' };
  if (!f.quorate) {
    return {
      ok: false,
      text: `No quorum: ${f.view.length} of ${f.configured} members in this member's group, ${f.quorum} needed; it serves no new sessions until the partition heals`,
    };
  }
  if (!f.holdsState) {
    const from = c.members.find((m) => m.id === f.receivingFrom)?.name;
    return { ok: false, text: `Syncing: receiving the cluster state${from ? ` from ${from}` : ''}` };
  }
  return { ok: true, text: 'Cluster Enabled' };
}
