/**
 * DOC: `tandem why`: a flight record (flight-recorder.ts) told in plain words, with the instants that matter
 *
 * Pure: a record in, an explanation out. The words follow the rule that
 * decided (the core's reason): a dead peer is explained by when its
 * heartbeats stopped on each interface, a sync-link election by when the
 * sync interface fell silent and the two connection counts, a demotion by
 * the link or monitor targets that were lost and the two health values.
 * `facts` carries the same instants as numbers (epoch ms) for scripts and
 * tests. Times are UTC, to the millisecond.
 */
import type { FlightRecord, FrozenArrival, Happening } from './flight-recorder.js';

export interface Explanation {
  seq: number;
  /** One line: when, who, what, why. */
  headline: string;
  /** The explanation, a sentence per cause. */
  text: string;
  facts: {
    decidedAtMs: number;
    /** The peer's last heartbeat on any interface before the decision. */
    lastHeardAtMs?: number;
    heardOn?: string[];
    syncIface?: string;
    /** The sync interface's last heartbeat, when it fell silent before the others. */
    syncSilentSinceMs?: number;
    /** A carrier or monitor-target loss on this node that the decision follows. */
    lostAtMs?: number;
    lostIface?: string;
    ourConnections?: number;
    peerConnections?: number;
    ourHealth?: number;
    peerHealth?: number;
    /** When the peer's heartbeats first carried the lower health (the peer's loss). */
    peerHealthFellAtMs?: number;
    /** Interfaces on which the peer's heartbeats stopped while they went on elsewhere: the link the peer lost. */
    peerSilentOn?: string[];
    /** The takeover terms of both nodes when two active nodes met (src/core/term.ts). */
    ourTerm?: number;
    peerTerm?: number;
    /** How long this node had not run, when a stall preceded the decision. */
    stalledMs?: number;
  };
}

export const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function lastBefore(list: FrozenArrival[] | undefined, atMs: number): FrozenArrival | undefined {
  if (!list) return undefined;
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.atMs <= atMs) return list[i];
  return undefined;
}

function lastLoss(r: FlightRecord): Happening | undefined {
  return [...r.before].reverse().find((h) => (h.kind === 'link' && h.fields?.['up'] === false) || (h.kind === 'targets' && h.fields?.['reachable'] === false));
}

/** The words for a leader verdict's reason (core/leader.ts) and the placement rule that decided it. */
const LEADER_WHY: Record<string, string> = {
  no_live_peer: 'no live member claimed it (after listening for two failover times)',
  better_placed: 'it is better placed than PEER',
  peer_better_placed: 'PEER is better placed',
  tie_lower_node_id: 'neither member is better placed and it has the lower node ID',
  tie_higher_node_id: 'both claimed at once, neither is better placed, and the higher node ID lets go',
  holder_keeps: 'the holder keeps the role on a tie',
  peer_holds: 'PEER holds it',
};
const RULE_WHY: Record<string, string> = {
  enabled: 'a member enabled in the cluster against a disabled one',
  state_complete: 'a complete copy of the state (the source, or in sync) against one that is not',
  generation: 'the newer cluster definition',
};

/** A change of standing: the leader role, draining, an administrator's bypass mode. */
function explainStanding(r: FlightRecord): string {
  const c = r.change;
  const me = r.node;
  const at = clock(c.atMs);
  switch (c.what) {
    case 'leader': {
      const why = (LEADER_WHY[c.reason] ?? c.reason.replace(/_/g, ' ')).replace('PEER', r.peer ?? 'the other member');
      const rule = c.evidence.rule && RULE_WHY[c.evidence.rule] ? ` (first difference: ${RULE_WHY[c.evidence.rule]})` : '';
      return `${me} ${c.to === 'leader' ? 'took' : 'gave up'} the leader role at ${at}: ${why}${rule}.`;
    }
    case 'drain':
      return c.to === 'draining'
        ? `${me} started draining at ${at}: an administrator asked (tandem cluster drain); the health check answers 500, so the load balancer sends no new sessions, and existing ones go on.`
        : `${me} stopped draining at ${at}: an administrator asked (tandem cluster undrain); the health check answers 200 again.`;
    default:
      return `bypass segment ${c.subject ?? '?'} was put in ${c.to} at ${at} by an administrator (tandem bypass; before: ${c.from}); it holds until the service stops or starts.`;
  }
}

export function explain(r: FlightRecord): Explanation {
  const c = r.change;
  if (c.what !== undefined) {
    return {
      seq: r.seq,
      headline: `#${r.seq} ${day(c.atMs)} ${clock(c.atMs)} UTC ${r.node}: ${c.what}${c.what === 'bypass' ? ` ${c.subject ?? ''}` : ''} ${c.from} -> ${c.to} (${c.reason})`,
      text: explainStanding(r),
      facts: { decidedAtMs: c.atMs },
    };
  }
  const ev = c.evidence;
  const me = r.node;
  const peer = r.peer ?? 'the peer';
  const facts: Explanation['facts'] = { decidedAtMs: c.atMs };
  const sentences: string[] = [];
  const sync = r.config.ifaces.find((i) => i.isSync);
  const lastPer = r.config.ifaces.map((i) => ({ iface: i.name, last: lastBefore(r.heartbeats[i.name], c.atMs) }));
  const heard = lastPer.filter((x) => x.last);
  const newest = heard.reduce<FrozenArrival | undefined>((m, x) => (!m || x.last!.atMs > m.atMs ? x.last : m), undefined);
  if (newest) {
    facts.lastHeardAtMs = newest.atMs;
    facts.heardOn = heard.map((x) => x.iface);
  }
  const interval = r.config.heartbeatIntervalMs;
  const syncLast = sync ? lastBefore(r.heartbeats[sync.name], c.atMs) : undefined;
  if (sync) facts.syncIface = sync.name;
  // The sync interface fell silent before the rest: more than a couple of intervals before the newest heartbeat, or never heard.
  const syncSilent = sync && newest && (!syncLast || newest.atMs - syncLast.atMs > 2.5 * interval);
  if (syncSilent && syncLast) facts.syncSilentSinceMs = syncLast.atMs;
  const syncSentence = () => {
    if (!sync) return;
    const ownLoss = [...r.before].reverse().find((h) => h.kind === 'link' && h.fields?.['iface'] === sync.name && h.fields?.['up'] === false);
    if (ownLoss) {
      facts.lostAtMs = ownLoss.atMs;
      facts.lostIface = sync.name;
    }
    const since = syncLast ? `had been silent since ${clock(syncLast.atMs)}` : 'had carried no heartbeat';
    sentences.push(`the sync interface ${sync.name} ${since}${ownLoss ? ` (${sync.name} lost carrier here at ${clock(ownLoss.atMs)})` : ''}`);
  };
  const counts = () => {
    facts.ourConnections = ev.ourConnections;
    facts.peerConnections = ev.peerConnections;
    return `${me} had ${ev.ourConnections ?? '?'} connections, ${peer} ${ev.peerConnections ?? '?'}`;
  };
  const healths = () => {
    facts.ourHealth = ev.ourHealth;
    facts.peerHealth = ev.peerHealth;
    return `${me}'s health was ${ev.ourHealth ?? '?'}, ${peer}'s ${ev.peerHealth ?? '?'}`;
  };
  /** A comparison that waited for the hold-down after the previous change says so (else the delay is unexplained). */
  const holdDown = (causeAtMs: number | undefined) => {
    const prev = r.previousChangeAtMs;
    if (prev === null || causeAtMs === undefined || c.atMs - causeAtMs < 3 * interval) return;
    if (causeAtMs - prev < r.config.holdDownMs && c.atMs - prev >= r.config.holdDownMs - interval) {
      sentences.push(
        `the change waited for the hold-down: no comparison moves the role within ${r.config.holdDownMs} ms of the previous change (at ${clock(prev)})`,
      );
    }
  };
  const verb =
    c.to === 'active'
      ? c.from === 'inactive' || c.from === 'fencing'
        ? 'took over'
        : 'went active'
      : c.to === 'inactive'
        ? c.from === 'active'
          ? 'handed over'
          : 'went inactive'
        : c.to === 'fencing'
          ? `began fencing ${peer}`
          : `became ${c.to}`;
  /** The fence's own event (peer_fenced, fence_failed): logged just before its result reached the core. */
  const fenceEvent = () => [...r.before].reverse().find((h) => h.kind === 'event' && (h.what === 'peer_fenced' || h.what === 'fence_failed'));

  switch (c.reason) {
    case 'peer_dead': {
      if (newest) {
        const all =
          heard.length === r.config.ifaces.length
            ? `all ${heard.length} interfaces`
            : `${heard.map((x) => x.iface).join(', ')} (the only interfaces it had been heard on)`;
        sentences.push(
          `${me} stopped hearing ${peer} on ${all} at ${clock(newest.atMs)} (last heartbeat: ${heard.map((x) => `${x.iface} ${clock(x.last!.atMs)}`).join(', ')})`,
        );
        if (syncSilent) syncSentence();
        sentences.push(counts());
        sentences.push(
          `${me} ${verb} at ${clock(c.atMs)}, ${Math.round(c.atMs - newest.atMs)} ms after the last heartbeat (failover time ${r.config.failoverTimeMs} ms)`,
        );
      } else sentences.push(`${me} had not heard ${peer} at all; ${me} ${verb} at ${clock(c.atMs)}`);
      break;
    }
    case 'more_connections_sync_down':
    case 'fewer_connections_sync_down': {
      syncSentence();
      const others = heard.filter((x) => x.iface !== sync?.name);
      if (others.length > 0) sentences.push(`${peer} was still heard on ${others.map((x) => `${x.iface} (last ${clock(x.last!.atMs)})`).join(', ')}`);
      sentences.push(`with the sync link down, the node carrying more connections serves: ${counts()}`);
      holdDown(syncLast?.atMs);
      sentences.push(`${me} ${verb} at ${clock(c.atMs)}`);
      break;
    }
    case 'health_lower_than_peer':
    case 'isolated': {
      const loss = lastLoss(r);
      if (loss) {
        facts.lostAtMs = loss.atMs;
        facts.lostIface = String(loss.fields?.['iface']);
        sentences.push(
          `${loss.what} at ${clock(loss.atMs)}${r.config.ifaces.find((i) => i.name === facts.lostIface)?.monitored ? ' (a monitored interface)' : ''}`,
        );
      }
      sentences.push(c.reason === 'isolated' ? `${me} had no link left to serve on` : `${healths()}: the healthier node serves`);
      holdDown(loss?.atMs);
      // The healthier peer takes over first (make before break); the active side steps down on hearing it.
      let took: FrozenArrival | undefined;
      if (c.from === 'active') {
        for (const a of Object.values(r.heartbeats)
          .flat()
          .filter((x) => x.atMs <= c.atMs)
          .sort((x, y) => x.atMs - y.atMs))
          took = a.role !== 'active' ? undefined : (took ?? a);
      }
      if (took) sentences.push(`${peer} took over first (its heartbeat at ${clock(took.atMs)} said active)`);
      sentences.push(`${me} ${verb} at ${clock(c.atMs)}`);
      break;
    }
    case 'health_higher_than_peer': {
      const arrivals = Object.values(r.heartbeats)
        .flat()
        .filter((a) => a.atMs <= c.atMs)
        .sort((a, b) => a.atMs - b.atMs);
      let fell: FrozenArrival | undefined;
      let prev: FrozenArrival | undefined;
      for (const a of arrivals) {
        if (prev && a.health < prev.health) fell = a;
        prev = a;
      }
      if (fell) {
        facts.peerHealthFellAtMs = fell.atMs;
        sentences.push(`${peer}'s heartbeats reported a lower health (${fell.health}) from ${clock(fell.atMs)}`);
        // Which loss: a node sends no heartbeat where it has no carrier, so an interface on which the peer was
        // heard before the change and not in the moments after it (the record's aftermath), while it was heard
        // elsewhere, is the link it lost. Heard everywhere: a monitor target (its own `tandem why` names it).
        const after = r.heartbeatsAfter;
        if (after && Object.values(after).some((l) => l.length > 0)) {
          const silent = Object.entries(r.heartbeats)
            .map(([iface, list]) => [iface, lastBefore(list, c.atMs)?.atMs] as const)
            .filter(([iface, at]) => at !== undefined && (after[iface]?.length ?? 0) === 0);
          facts.peerSilentOn = silent.map(([iface]) => iface);
          if (silent.length > 0)
            sentences.push(
              `its heartbeats stopped on ${silent.map(([iface, at]) => `${iface} (last ${clock(at!)})`).join(', ')} and went on elsewhere: ${peer} lost its link there`,
            );
          else sentences.push(`${peer} was still heard on every interface: it lost a monitor target, not a link`);
        }
      }
      sentences.push(`${healths()}: the healthier node serves`);
      holdDown(fell?.atMs);
      sentences.push(`${me} ${verb} at ${clock(c.atMs)}`);
      break;
    }
    case 'planned_failover': {
      const asked = [...r.before].reverse().find((h) => h.kind === 'admin' && h.what === 'planned failover requested');
      sentences.push(
        `a planned failover was requested on ${me}${asked ? ` at ${clock(asked.atMs)}` : ''}; ${peer} claimed the shared addresses and ${me} ${verb} at ${clock(c.atMs)}`,
      );
      break;
    }
    case 'peer_fenced':
    case 'fence_failed':
    case 'fence_failed_taking_over': {
      const f = fenceEvent();
      const took = f?.fields?.['tookMs'] === undefined ? '' : ` after ${Math.round(Number(f.fields['tookMs']))} ms`;
      if (c.reason === 'peer_fenced') sentences.push(`${peer} was fenced (${String(f?.fields?.['how'] ?? '?')})${took}`);
      else sentences.push(`fencing ${peer} failed${took}: ${String(f?.fields?.['error'] ?? '?')}`);
      if (c.reason === 'fence_failed')
        sentences.push(
          `the policy (fence.onFailure stay-inactive) forbids a takeover without the fence: ${me} ${verb} at ${clock(c.atMs)} without ever holding the shared addresses, and takes over only once ${peer} is heard again`,
        );
      else sentences.push(`${me} ${verb} at ${clock(c.atMs)}${c.reason === 'fence_failed_taking_over' ? ' anyway (fence.onFailure take-over)' : ''}`);
      break;
    }
    case 'peer_took_over':
    case 'both_active_resolved':
    case 'stalled_peer_active': {
      const stall = [...r.before].reverse().find((h) => h.kind === 'event' && h.what === 'stall_detected');
      if (stall) {
        facts.stalledMs = Number(stall.fields?.['stalledMs'] ?? 0);
        sentences.push(`${me} did not run for ${Math.round(facts.stalledMs)} ms (stall detected at ${clock(stall.atMs)})`);
      }
      facts.ourTerm = ev.ourTerm;
      facts.peerTerm = ev.peerTerm;
      const terms = `${peer} held term ${ev.peerTerm ?? '?'}, ${me} term ${ev.ourTerm ?? '?'}`;
      if (c.reason === 'peer_took_over')
        sentences.push(`both nodes were active; ${terms}: ${peer}'s takeover was the newer, so its table is the fresher one and it serves`);
      else if (c.reason === 'stalled_peer_active')
        sentences.push(`${peer} was active when ${me} ran again (${terms}): it had taken over meanwhile, and ${me} handed over to it`);
      else sentences.push(`both nodes were active with the same term (${terms}); the rule ${ev.rule ?? '?'} decided`);
      sentences.push(`${me} ${verb} at ${clock(c.atMs)} and committed nothing`);
      break;
    }
    case 'peer_yielded':
      sentences.push(
        `${peer} yielded (a planned failover, a stop or a disable)${newest ? `; its heartbeat at ${clock(newest.atMs)} said so` : ''}; ${me} ${verb} at ${clock(c.atMs)}`,
      );
      break;
    default:
      sentences.push(`${me} ${verb} at ${clock(c.atMs)} because ${c.reason.replace(/_/g, ' ')}${ev.rule ? ` (rule: ${ev.rule})` : ''}`);
      if (ev.ourConnections !== undefined) sentences.push(counts());
  }
  return {
    seq: r.seq,
    headline: `#${r.seq} ${day(c.atMs)} ${clock(c.atMs)} UTC ${me}: ${c.from} -> ${c.to} (${c.reason})`,
    text: sentences.join('; ') + '.',
    facts,
  };
}

/** What followed the change (the claim of the shared addresses, the release), from the record's `after`. */
export function aftermath(r: FlightRecord): string[] {
  const out: string[] = [];
  for (const h of r.after) {
    if (h.what === 'takeover')
      out.push(
        `the shared addresses were up at ${clock(Date.parse(String(h.fields?.['sharedUpAt'])))} and announced at ${clock(Date.parse(String(h.fields?.['firstGarpAt'])))}`,
      );
    else if (h.what === 'shared_addresses_released') out.push(`the shared addresses were released at ${clock(h.atMs)}`);
    else if (h.what === 'effect_failed' || h.what === 'fence_failed') out.push(`${h.what} at ${clock(h.atMs)}: ${String(h.fields?.['error'] ?? '')}`);
    else if (h.what === 'peer_fenced') out.push(`the peer was fenced (${String(h.fields?.['how'])}) at ${clock(h.atMs)}`);
  }
  return out;
}

/** The daemon's `why` answer (flight records, or a Corosync member's serving changes) told as `tandem why --list` tells it. */
export function explainRecords(answer: unknown): { headline: string; text: string; after: string[] }[] {
  const a = answer as {
    records?: (FlightRecord | { seq: number; damaged: string })[];
    group?: { wallTime: string; from: string; to: string; reason: string }[];
  };
  if (a.group)
    return a.group.map((c) => ({ headline: `${c.wallTime}: ${c.from === c.to ? `still ${c.to}` : `${c.from} -> ${c.to}`}`, text: c.reason, after: [] }));
  return (a.records ?? []).map((r) => {
    if ('damaged' in r) return { headline: `#${r.seq} cannot be read`, text: r.damaged, after: [] };
    const x = explain(r);
    return { headline: x.headline, text: x.text, after: aftermath(r) };
  });
}
