/**
 * DOC: `tandem status` on a member of a cluster on Corosync: our view and Corosync's, side by side
 *
 * Ours: the members with their status bits (as on a pair), this member's
 * group (who is in it, what quorum needs, whether it holds the cluster
 * state). Corosync's: its own quorum and votes (corosync-quorumtool) and
 * its links (corosync-cfgtool), so an administrator sees at once whether the
 * two agree and, when they do not, which layer to look at.
 */
import type { StatusDoc } from '../api/status-page.js';
import type { CorosyncView } from '../runtime/group/corosync-runner.js';
import type { GroupFacts } from '../runtime/group/group-status.js';

export interface GroupStatus {
  group: GroupFacts & { seq: number; stores: { config: number; sessions: number }; corosync: CorosyncView; corosyncPid: number | null };
  cluster: NonNullable<StatusDoc['cluster']>;
  healthCheck: StatusDoc['health'];
  node: StatusDoc['node'];
}

export function formatGroupStatus(s: GroupStatus, formatCluster: (c: GroupStatus['cluster'], h: GroupStatus['healthCheck']) => string[]): string {
  const g = s.group;
  const name = (id: number) => s.cluster.members.find((m) => m.id === id)?.name ?? `node ${id}`;
  const c = g.corosync;
  const lines = [
    ...formatCluster({ ...s.cluster, mode: `${s.cluster.mode} on Corosync` }, s.healthCheck),
    `this member ${g.me}: ${g.connected ? `in a group of ${g.view.map(name).join(', ') || 'nobody'}` : 'NOT connected to Corosync'}; ` +
      `${g.configured} members count, quorum ${g.quorum}: ${g.quorate ? 'quorate' : 'NO QUORUM'}; ` +
      `${g.holdsState ? 'holds the cluster state' : g.receivingFrom !== null ? `receiving the cluster state from ${name(g.receivingFrom)}` : 'does not hold the cluster state'} (change #${g.seq})`,
    `  stores: system state ${g.stores.config} keys, ${g.stores.sessions} sessions`,
    c.error
      ? `Corosync${g.corosyncPid ? ` (pid ${g.corosyncPid})` : ''}: cannot be asked: ${c.error}`
      : `Corosync${g.corosyncPid ? ` (pid ${g.corosyncPid})` : ' (attached)'}: node ${c.nodeId ?? '?'}, ${c.quorate ? 'quorate' : 'NOT quorate'}, ` +
        `votes ${c.totalVotes ?? '?'} of ${c.expectedVotes ?? '?'} expected (quorum ${c.quorum ?? '?'}); members ${c.members.map((m) => `${m.name}(${m.nodeid})`).join(' ') || 'none'}`,
    ...c.links.map((l) => `  link to ${name(l.nodeid)}: ${l.state}`),
  ];
  return lines.join('\n');
}
