/**
 * DOC: the console's status screen: the facts of `tandem status`, fitted to a 80x24 terminal
 *
 * Pure: from the control socket's status answer to at most 20 lines. The
 * member table, role, health check and sync line come first; the
 * per-interface matrix is summed up in one line per interface at most.
 */
import { firmwareText, leaderText, type FirmwareSummary } from '../api/status-page.js';

interface Member {
  name: string;
  address: string;
  role: string;
  hex: string;
  words: string[];
  unreachable: string | null;
  self: boolean;
}

const cut = (s: string) => (s.length > 80 ? s.slice(0, 77) + '...' : s);

const MEMBERS_HEADER = 'member            address          role       status   meaning';
const memberLine = (m: Member) =>
  cut(`${(m.name + (m.self ? ' *' : '')).padEnd(17)} ${m.address.padEnd(16)} ${m.role.padEnd(10)} ${m.hex}  ${m.words.join(', ')}`);

/** On tandem's own image: the firmware line (a fallback's reason may need the second line). */
function firmwareLines(s: Record<string, unknown>): string[] {
  const f = s['firmware'] as FirmwareSummary | null | undefined;
  if (!f) return [];
  const text = firmwareText(f);
  return text.length <= 80 ? [text] : [text.slice(0, 80), cut(text.slice(80))];
}

export function statusScreen(s: Record<string, unknown>): string[] {
  if (s['standalone'] === true) {
    const stores = s['stores'] as { config: number; sessions: number };
    return [
      '',
      `Factory state (standalone), status ${String(s['hex'])}: ${(s['words'] as string[]).join(', ')}`,
      `Software ${String(s['softwareVersion'])}`,
      ...firmwareLines(s),
      `System state: ${stores.config} keys; sessions: ${stores.sessions}`,
      '',
      'Configure the network, then create a cluster or join one.',
    ];
  }
  if (s['group'] !== undefined) return groupScreen(s);
  const node = s['node'] as { name: string; id: number; type: string };
  const cluster = s['cluster'] as { name: string; mode: string; leader: string | null; members: Member[] } | undefined;
  const health = s['healthCheck'] as { ok: boolean; text: string } | undefined;
  const sync = s['sync'] as { role?: string; status?: string; channel?: string; peerUnreachable?: string | null; lag?: number };
  const lines = [
    '',
    cut(
      `${node.name}: ${String(s['role']).toUpperCase()}${s['disabled'] === true ? ' (disabled)' : ''}, connections ${String(s['connections'])}, software ${String(s['softwareVersion'] ?? '?')}`,
    ),
    ...firmwareLines(s),
  ];
  if (cluster) {
    lines.push(cut(`Cluster ${cluster.name} (${cluster.mode}), leader ${leaderText(cluster)}`));
    if (health) lines.push(cut(`Health check: ${health.ok ? '200' : '500'} ${health.text}`));
    lines.push('', MEMBERS_HEADER);
    for (const m of cluster.members.slice(0, 6)) {
      lines.push(memberLine(m));
      if (m.unreachable) lines.push(cut(`${''.padEnd(17)} unreachable: ${m.unreachable}`));
    }
  }
  lines.push('');
  lines.push(
    sync.role
      ? cut(
          `Sync: ${sync.role} ${String(sync.status).toUpperCase()}, channel ${String(sync.channel)}${sync.peerUnreachable ? ` (${sync.peerUnreachable})` : ''}, lag ${String(sync.lag)}`,
        )
      : 'Sync: off',
  );
  const matrix = (s['matrix'] as { iface: string; received: { accepted: number }; lastSeenAgoMs: number | null }[] | undefined) ?? [];
  if (matrix.length > 0)
    lines.push(
      cut(`Heartbeats heard: ${matrix.map((r) => `${r.iface} ${r.lastSeenAgoMs === null ? 'never' : `${Math.round(r.lastSeenAgoMs)} ms ago`}`).join(', ')}`),
    );
  const bypass = s['bypass'] as Record<string, { mode: string }> | undefined;
  if (bypass)
    lines.push(
      cut(
        `Bypass: ${Object.entries(bypass)
          .map(([k, v]) => `${k} ${v.mode}`)
          .join(', ')}`,
      ),
    );
  const last = s['lastChange'] as { from: string; to: string; reason: string; wallTime: string } | null;
  lines.push(cut(last ? `Last change: ${last.from} -> ${last.to} (${last.reason}) at ${last.wallTime}` : 'Last change: none'));
  return lines.slice(0, 20);
}

/** A member of a cluster on Corosync: its members, its group and quorum, Corosync's own count. */
function groupScreen(s: Record<string, unknown>): string[] {
  const node = s['node'] as { name: string; role: string; softwareVersion: string };
  const cluster = s['cluster'] as { name: string; mode: string; leader: string | null; members: Member[] };
  const health = s['healthCheck'] as { ok: boolean; text: string };
  const g = s['group'] as {
    view: number[];
    configured: number;
    quorum: number;
    quorate: boolean;
    holdsState: boolean;
    seq: number;
    stores: { sessions: number };
    corosync: { quorate: boolean | null; totalVotes: number | null; expectedVotes: number | null };
  };
  const lines = [
    '',
    cut(`${node.name}: ${node.role.toUpperCase()}, software ${node.softwareVersion}`),
    cut(`Cluster ${cluster.name} (${cluster.mode} on Corosync), leader ${leaderText(cluster)}`),
    cut(`Health check: ${health.ok ? '200' : '500'} ${health.text}`),
    '',
    MEMBERS_HEADER,
  ];
  for (const m of cluster.members.slice(0, 8)) lines.push(memberLine(m));
  if (cluster.members.length > 8) lines.push(`... and ${cluster.members.length - 8} more (tandem status lists all)`);
  lines.push('');
  lines.push(
    cut(
      `Group: ${g.view.length} of ${g.configured} members, quorum ${g.quorum}: ${g.quorate ? 'quorate' : 'NO QUORUM'}; ${g.holdsState ? 'holds the state' : 'no state'} (#${g.seq}), ${g.stores.sessions} sessions`,
    ),
  );
  const c = g.corosync;
  lines.push(
    cut(`Corosync: ${c.quorate === null ? 'not answering' : c.quorate ? 'quorate' : 'NOT quorate'}, votes ${c.totalVotes ?? '?'} of ${c.expectedVotes ?? '?'}`),
  );
  return lines.slice(0, 20);
}
