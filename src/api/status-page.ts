/**
 * DOC: the status page and the Prometheus metrics, rendered from one status document
 *
 * Pure. The page is plain HTML with no script (the server's CSP forbids
 * it) and refreshes itself every 2 s: the members with their status bits
 * in hex and in words, the heartbeat matrix per interface, and the last
 * role changes with their reasons. The same document is /status.json.
 */

export interface StatusMember {
  name: string;
  id: number;
  address: string;
  self: boolean;
  enabled: boolean;
  draining: boolean;
  role: string;
  leader: boolean;
  unreachable: string | null;
  hex: string;
  bits: number;
  words: string[];
  softwareVersion: string | null;
}

/** The appliance's firmware (src/runtime/firmware/): absent where the node does not run on tandem's image. */
export interface FirmwareSummary {
  version: string;
  slot: string;
  /** A newer version installed, waiting for its trial boot. */
  pending: string | null;
  /** This boot is a trial of a new version: waiting, confirmed or failed (null: a normal boot). */
  trial: 'waiting' | 'confirmed' | 'failed' | null;
  lastFallback: { from: string; to: string; reason: string; at: string | null } | null;
}

export interface StatusDoc {
  node: { name: string; role: string; standalone: boolean; softwareVersion: string };
  /** quorate: a cluster on Corosync says whether this member's group has quorum (a pair has no such thing). */
  cluster: null | { name: string; mode: string; revision: number; leader: string | null; quorate?: boolean; members: StatusMember[] };
  health: { ok: boolean; text: string };
  matrix: {
    iface: string;
    sync: boolean;
    sent: number;
    accepted: number;
    superseded: number;
    /** Dropped by the kernel before they were read (the socket's queue full). */
    kernelDrops: number;
    /** Read by the heartbeat thread, then lost when its ring overflowed (the main loop stalled for seconds). */
    ringDrops?: number;
    rejected: Record<string, number>;
    lastSeenAgoMs: number | null;
  }[];
  changes: { wallTime: string; from: string; to: string; reason: string }[];
  /** Every role change since the daemon started (changes keeps only the newest). */
  roleChangesTotal: number;
  connections: number;
  /** What the administrator should fix, shown at the top of the page (a certificate that does not name this node). */
  warnings?: string[];
  /** connections: the synchronised connection table by address family (absent where it is not synchronised). */
  sync: null | { status: string; channel: string; lag: number; sequence: number; connections?: { ipv4: number; ipv6: number } };
  firmware?: FirmwareSummary | null;
}

/** The leader as the headers show it: nobody holds the role while an election runs, or while there is no quorum to elect. */
export function leaderText(c: { leader: string | null; quorate?: boolean }): string {
  return c.leader ?? (c.quorate === false ? 'none (no quorum)' : 'none (election)');
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderPage(d: StatusDoc): string {
  const members = d.cluster?.members ?? [];
  const rows = members
    .map(
      (m) =>
        `<tr data-member="${esc(m.name)}"><td>${esc(m.name)}${m.self ? ' (this node)' : ''}</td><td>${esc(m.address)}</td><td class="role">${esc(m.role)}</td>` +
        `<td class="state">${m.enabled ? (m.draining ? 'draining' : 'enabled') : 'disabled'}${m.leader ? ', leader' : ''}</td>` +
        `<td class="bits" title="${esc(m.words.join(', '))}">${esc(m.hex)}</td><td class="words">${esc(m.words.join(', '))}</td>` +
        `<td class="unreachable">${esc(m.unreachable ?? '')}</td><td>${esc(m.softwareVersion ?? '?')}</td></tr>`,
    )
    .join('\n');
  const matrix = d.matrix
    .map(
      (r) =>
        `<tr><td>${esc(r.iface)}${r.sync ? ' (sync)' : ''}</td><td>${r.sent}</td><td>${r.accepted}</td><td>${r.superseded}</td><td>${r.kernelDrops + (r.ringDrops ?? 0)}</td><td>${esc(
          Object.entries(r.rejected)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || '0',
        )}</td><td>${r.lastSeenAgoMs === null ? 'never' : `${Math.round(r.lastSeenAgoMs)} ms ago`}</td></tr>`,
    )
    .join('\n');
  const changes = d.changes
    .slice(-10)
    .reverse()
    .map((c) => `<tr><td>${esc(c.wallTime)}</td><td>${esc(c.from)} &rarr; ${esc(c.to)}</td><td>${esc(c.reason)}</td></tr>`)
    .join('\n');
  const title = d.cluster ? `cluster ${d.cluster.name} (${d.cluster.mode})` : 'standalone';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>tandem: ${esc(d.node.name)}</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #999;padding:.2em .6em;text-align:left}
.ok{color:#060}.bad{color:#a00}</style></head><body>
<h1>${esc(d.node.name)}: <span id="role">${esc(d.node.role)}</span></h1>
${(d.warnings ?? []).map((w) => `<p class="bad warning">warning: ${esc(w)}</p>`).join('\n')}
<p id="cluster">${esc(title)}${d.cluster ? `, revision ${d.cluster.revision}, leader <b id="leader">${esc(d.cluster.leader ?? 'none')}</b>` : ''}; software ${esc(d.node.softwareVersion)};
health check: <span id="health" class="${d.health.ok ? 'ok' : 'bad'}">${esc(d.health.text)}</span>; connections ${d.connections}${d.sync?.connections ? ` (synchronised: IPv4 ${d.sync.connections.ipv4}, IPv6 ${d.sync.connections.ipv6})` : ''}${d.sync ? `; sync ${esc(d.sync.status)} (channel ${esc(d.sync.channel)}, lag ${d.sync.lag})` : ''}</p>
${d.firmware ? firmwareLine(d.firmware) : ''}
<h2>Members</h2>
<table id="members"><tr><th>member</th><th>address</th><th>role</th><th>state</th><th>status</th><th>meaning</th><th>unreachable because</th><th>version</th></tr>
${rows}
</table>
<h2>Heartbeats (this node)</h2>
<table id="matrix"><tr><th>interface</th><th>sent</th><th>accepted</th><th>superseded</th><th title="lost before they were examined: the kernel socket queue full, or the heartbeat thread ring overflowed">dropped</th><th>rejected</th><th>peer last heard</th></tr>
${matrix}
</table>
<h2>Last role changes</h2>
<table id="changes"><tr><th>when</th><th>change</th><th>why</th></tr>
${changes || '<tr><td colspan="3">none yet</td></tr>'}
</table>
</body></html>
`;
}

/** The appliance's firmware: version, slot, a pending or trial version, and the last fallback with its reason. */
export function firmwareText(f: FirmwareSummary): string {
  const trial =
    f.trial === 'waiting' ? ' (trial boot: not yet confirmed)' : f.trial === 'failed' ? ' (trial boot failed: the box goes back to the version before)' : '';
  return (
    `firmware ${f.version} in slot ${f.slot}${trial}` +
    (f.pending ? `; ${f.pending} installed, tried at the next boot` : '') +
    (f.lastFallback ? `; last fallback: ${f.lastFallback.from} failed its trial boot, back on ${f.lastFallback.to}: ${f.lastFallback.reason}` : '')
  );
}

function firmwareLine(f: FirmwareSummary): string {
  return `<p id="firmware" class="${f.lastFallback || f.trial === 'failed' ? 'bad' : ''}">${esc(firmwareText(f))}</p>`;
}

/** The Prometheus text exposition format (0.0.4). */
export function renderMetrics(d: StatusDoc): string {
  const out: string[] = [];
  const metric = (name: string, help: string, type: 'gauge' | 'counter', samples: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) {
      const l = Object.entries(labels)
        .map(([k, x]) => `${k}="${x.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`)
        .join(',');
      out.push(`${name}${l ? `{${l}}` : ''} ${v}`);
    }
  };
  metric('tandem_up', 'Always 1 while tandemd answers.', 'gauge', [[{ node: d.node.name }, 1]]);
  metric('tandem_active', '1 while this node serves (role active).', 'gauge', [[{ node: d.node.name }, d.node.role === 'active' ? 1 : 0]]);
  metric('tandem_health_check_ok', '1 while the health check answers 200 "Cluster Enabled".', 'gauge', [[{ node: d.node.name }, d.health.ok ? 1 : 0]]);
  metric('tandem_connections', 'Connections this node carries.', 'gauge', [[{ node: d.node.name }, d.connections]]);
  metric(
    'tandem_member_status_bits',
    'Seed 000 status bit mask of each member, as this node sees it.',
    'gauge',
    (d.cluster?.members ?? []).map((m) => [{ member: m.name }, m.bits]),
  );
  metric(
    'tandem_member_leader',
    '1 for the member that holds the leader role.',
    'gauge',
    (d.cluster?.members ?? []).map((m) => [{ member: m.name }, m.leader ? 1 : 0]),
  );
  metric(
    'tandem_member_reachable',
    '0 while a member is unreachable.',
    'gauge',
    (d.cluster?.members ?? []).map((m) => [{ member: m.name }, m.unreachable === null ? 1 : 0]),
  );
  metric(
    'tandem_heartbeats_sent_total',
    'Heartbeats sent per interface.',
    'counter',
    d.matrix.map((r) => [{ iface: r.iface }, r.sent]),
  );
  metric(
    'tandem_heartbeats_accepted_total',
    'Valid heartbeats received per interface.',
    'counter',
    d.matrix.map((r) => [{ iface: r.iface }, r.accepted]),
  );
  metric(
    'tandem_heartbeats_superseded_total',
    'Heartbeats read but not examined: a newer valid one of the same sender came in the same read.',
    'counter',
    d.matrix.map((r) => [{ iface: r.iface }, r.superseded]),
  );
  metric(
    'tandem_heartbeats_dropped_total',
    "Heartbeat-interface frames lost before they were examined, per interface and where: kernel (the socket queue was full), ring (the heartbeat thread's ring overflowed while the main loop stalled).",
    'counter',
    d.matrix.flatMap((r): [Record<string, string>, number][] => [
      [{ iface: r.iface, where: 'kernel' }, r.kernelDrops],
      [{ iface: r.iface, where: 'ring' }, r.ringDrops ?? 0],
    ]),
  );
  metric(
    'tandem_heartbeats_rejected_total',
    'Heartbeats dropped per interface and reason.',
    'counter',
    d.matrix.flatMap((r) => Object.entries(r.rejected).map(([reason, n]): [Record<string, string>, number] => [{ iface: r.iface, reason }, n])),
  );
  metric('tandem_role_changes_total', 'Role changes since the daemon started.', 'counter', [[{}, d.roleChangesTotal]]);
  if (d.sync) {
    metric('tandem_sync_lag', 'State updates not yet acknowledged (source) or not yet applied (standby).', 'gauge', [[{}, d.sync.lag]]);
    metric('tandem_sync_channel_up', '1 while the sync channel is up.', 'gauge', [[{}, d.sync.channel === 'up' ? 1 : 0]]);
    const c = d.sync.connections;
    if (c)
      metric('tandem_sync_connections', 'Connections in the synchronised table (the source kernel, or the standby copy), by address family.', 'gauge', [
        [{ node: d.node.name, family: 'ipv4' }, c.ipv4],
        [{ node: d.node.name, family: 'ipv6' }, c.ipv6],
      ]);
  }
  return out.join('\n') + '\n';
}
