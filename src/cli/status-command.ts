/**
 * DOC: `tandem status|why|failover`: the administrator's view of the running node
 *
 * Asks tandemd over its control socket (--socket, the one named in
 * --config, or the default) and prints the answer for a person, or as JSON.
 */
import { askControl } from '../api/control-socket.js';
import { DEFAULTS, loadLocal } from '../cluster/config-file.js';
import type { Snapshot } from '../runtime/pair/failover-runtime.js';
import { firmwareText, leaderText, type FirmwareSummary, type StatusDoc } from '../api/status-page.js';
import { flag, str, UsageError, type Parsed } from './args.js';
import { HEARTBEAT_VERSION } from '../wire/heartbeat-frame.js';
import { formatGroupStatus, type GroupStatus } from './group-status-format.js';

export const STATUS_USAGE = `tandem status [--json] [--socket PATH | --config FILE]
tandem why [--list] [--json] [--socket PATH | --config FILE]   (the last role change explained; --list: the last 20)
tandem failover [--socket PATH | --config FILE]
tandem note TEXT... [--socket PATH | --config FILE]   (a note into the cluster log: a change window, a ticket)
tandem resync [--socket PATH | --config FILE]    (a full state transfer: asked by a standby, sent by an active node)`;

export const DIAG_USAGE = `tandem diag stall MS [--socket PATH | --config FILE]   (diagnostic: blocks tandemd's main thread for MS ms, as a
    long GC or a starved CPU would; shorter than timers.heartbeatLeaseMs the peer sees nothing, longer it takes over)`;

export async function diagCommand(p: Parsed): Promise<number> {
  const [what, ms] = p.positionals;
  if (what !== 'stall' || ms === undefined || !/^[0-9]+$/.test(ms)) throw new UsageError('diag needs: stall MS');
  const r = (await askControl(socketPath(p), { cmd: 'diag-stall', ms: Number(ms) }, Number(ms) + 5000)) as { stalledMs: number };
  process.stdout.write(`tandemd's main thread was blocked for ${r.stalledMs} ms\n`);
  return 0;
}

export function socketPath(p: Parsed): string {
  const socket = str(p, 'socket');
  if (socket) return socket;
  const config = str(p, 'config');
  return config ? loadLocal(config).controlSocket : DEFAULTS.controlSocket;
}

const ago = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? 'never' : ms < 1000 ? `${ms.toFixed(0)} ms ago` : `${(ms / 1000).toFixed(1)} s ago`;

/** What `status` answers on a clustered node: the runtime's snapshot and the cluster view. */
export type NodeStatus = Snapshot & { cluster?: StatusDoc['cluster']; healthCheck?: StatusDoc['health']; softwareVersion?: string; pid?: number };
export interface StandaloneStatus {
  standalone: true;
  hex: string;
  words: string[];
  softwareVersion: string;
  stores: { config: number; sessions: number };
}

export function formatCluster(c: NonNullable<StatusDoc['cluster']>, h: StatusDoc['health'] | undefined): string[] {
  const lines = [
    `cluster ${c.name} (${c.mode}), revision ${c.revision}, leader ${leaderText(c)}${h ? `; health check: ${h.ok ? '200' : '500'} ${h.text}` : ''}`,
    'member            address          role       status   meaning',
  ];
  for (const m of c.members) {
    const why = m.unreachable ? ` [unreachable: ${m.unreachable}]` : '';
    lines.push(
      `${(m.name + (m.self ? ' *' : '')).padEnd(17)} ${m.address.padEnd(16)} ${m.role.padEnd(10)} ${m.hex}  ${m.words.join(', ')}${why}${m.softwareVersion && !m.self ? ` (version ${m.softwareVersion})` : ''}`,
    );
  }
  return [...lines, ''];
}

export function formatStatus(status: (NodeStatus | StandaloneStatus) & { firmware?: FirmwareSummary | null }): string {
  // On tandem's own image: the firmware version, its slot, a trial or pending version, the last fallback.
  const firmware = status.firmware ? `\n${firmwareText(status.firmware)}` : '';
  if ('standalone' in status) {
    return (
      `this node is standalone (status ${status.hex}: ${status.words.join(', ')}), software ${status.softwareVersion}; system state ${status.stores.config} keys, ${status.stores.sessions} sessions
` +
      'next: tandem cluster create --name NAME --node NODE, or tandem cluster join --member ADDRESS' +
      firmware
    );
  }
  const s = status;
  const lines = [
    ...(s.cluster ? formatCluster(s.cluster, s.healthCheck) : []),
    `node ${s.node.name} (#${s.node.id}, ${s.node.type}): ${s.role.toUpperCase()} for ${ago(s.roleSinceMsAgo).replace(' ago', '')}` +
      `${s.yielding ? ', handing over' : ''}; shared addresses ${s.sharedAddresses}; health ${s.health}; connections ${s.connections}; sync link ${s.syncLinkUp ? 'up' : 'DOWN'}; ` +
      `term ${s.term} (highest seen ${s.highestTerm})`,
    s.peer
      ? `peer ${s.peer.name} (#${s.peer.id}, ${s.peer.type}): ${s.peer.alive ? s.peer.role.toUpperCase() : 'DEAD'}, heard ${ago(s.peer.lastHeardMsAgo)}; health ${s.peer.health}; connections ${s.peer.connections}; term ${s.peer.term}` +
        (s.peer.heartbeatFormat !== undefined && s.peer.heartbeatFormat < HEARTBEAT_VERSION
          ? ` [heartbeat format ${s.peer.heartbeatFormat}: not upgraded; this node defers to it until it is]`
          : '')
      : 'peer: never heard',
    ...(s.implausiblePeerTerm !== undefined ? [`peer advertised an impossible term ${s.implausiblePeerTerm}: ignored (term_implausible in the log)`] : []),
    ...formatSync(s),
    ...(s.heartbeats ? [formatPacer(s.heartbeats)] : []),
    ...Object.entries(s.bypass ?? {}).map(([name, b]) => `bypass ${name} (${b.ports.join('-')}): ${b.mode.toUpperCase()} (failure mode ${b.failureMode})`),
    s.lastChange
      ? `last change: ${s.lastChange.from} -> ${s.lastChange.to} because ${s.lastChange.reason} (${ago(s.lastChange.msAgo)}, ${s.lastChange.wallTime})`
      : 'last change: none',
    '',
    // superseded: read with a newer authentic frame of the same sender, so not examined (src/io/newest-first.ts)
    'iface  sync   sent  accepted  superseded  dropped  rejected (by reason)          last heard',
  ];
  for (const r of s.matrix) {
    const rejected =
      Object.entries(r.received.rejected)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ') || '0';
    lines.push(
      `${r.iface.padEnd(6)} ${(r.sync ? 'yes' : '').padEnd(4)} ${String(r.sent.sent).padStart(6)} ${String(r.received.accepted).padStart(9)} ${String(r.received.superseded ?? 0).padStart(11)} ${String((r.received.kernelDrops ?? 0) + (r.received.ringDrops ?? 0)).padStart(8)}  ${rejected.padEnd(28)} ${ago(r.lastSeenAgoMs)}`,
    );
  }
  return lines.join('\n') + firmware;
}

function formatPacer(h: Snapshot['heartbeats']): string {
  const left = h.leaseLeftMs === null ? 'not running' : `${h.leaseLeftMs.toFixed(0)} of ${h.leaseMs} ms left`;
  const trouble = [h.ticksMissed > 0 ? `${h.ticksMissed} ticks missed` : '', h.leaseExpiries > 0 ? `lease ran out ${h.leaseExpiries}x` : '']
    .filter((x) => x)
    .join(', ');
  return `heartbeat lease: ${left}${trouble ? ` (${trouble})` : ''}; main loop delay over the last minute: max ${h.loopDelayMaxMs} ms, p99 ${h.loopDelayP99Ms} ms`;
}

function formatSync(s: Snapshot): string[] {
  const y = s.sync;
  if (!('role' in y)) return ['sync: off (sync.enabled is false: connections will not survive a failover)'];
  const peer = s.peer ? `; peer says ${s.peer.syncStatus} at #${s.peer.syncSequence}` : '';
  const lines = [
    `sync: ${y.role} ${y.status.toUpperCase()}, channel ${y.channel}${y.peerUnreachable ? ` (peer unreachable: ${y.peerUnreachable})` : ''}; sequence #${y.sequence}, lag ${y.lag}${peer}`,
  ];
  for (const [name, p] of Object.entries(y.providers)) {
    lines.push(
      `  ${name.padEnd(9)} ${String(p.count).padStart(7)} entries${p.ipv6 !== undefined ? ` (IPv4 ${p.ipv4 ?? 0}, IPv6 ${p.ipv6})` : ''} (${p.persistent ? 'persistent' : 'transient'}); sent ${p.sent}, applied ${p.applied}, failed ${p.failed}`,
    );
  }
  const f = y.lastFullTransfer;
  lines.push(
    f
      ? `  last full transfer: ${f.direction} ${f.at}, ${f.tookMs} ms, ${Object.entries(f.entries)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`
      : '  last full transfer: none',
  );
  if (y.drift) {
    const bad = Object.entries(y.drift.tables).filter(([, t]) => !t.digestMatch || t.count !== t.peerCount);
    lines.push(
      `  table drift (${y.drift.at}): ${bad.length === 0 ? 'none' : bad.map(([k, t]) => `${k} here ${t.count} / peer ${t.peerCount}${t.digestMatch ? '' : ', digests differ'}`).join('; ')}`,
    );
  }
  return lines;
}

export async function statusCommand(verb: 'status' | 'failover' | 'resync' | 'note', p: Parsed): Promise<number> {
  const path = socketPath(p);
  if (verb === 'note') {
    await askControl(path, { cmd: 'note', text: p.positionals.join(' ') });
    return 0;
  }
  const result = await askControl(path, verb);
  if (flag(p, 'json')) process.stdout.write(JSON.stringify(result) + '\n');
  else if (verb === 'status' && typeof result === 'object' && result !== null && 'group' in result)
    process.stdout.write(formatGroupStatus(result as GroupStatus, formatCluster) + '\n');
  else if (verb === 'status') process.stdout.write(formatStatus(result as NodeStatus | StandaloneStatus) + '\n');
  else if (verb === 'resync') {
    const r = result as { requested: boolean; why?: string };
    process.stdout.write(r.requested ? 'full state transfer requested; watch it with: tandem status\n' : `no transfer: ${r.why}\n`);
    return r.requested ? 0 : 1;
  } else process.stdout.write(`planned failover requested (this node is ${(result as { role: string }).role}); watch it with: tandem status\n`);
  return 0;
}
