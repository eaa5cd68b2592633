/**
 * DOC: the failover state machine
 *
 * step(state, input) -> {state, effects}: pure, no clock of its own (every
 * input carries `now`, monotonic ns), no I/O. The shell in src/runtime/
 * applies the effects (role, shared addresses, fencing, heartbeat flags,
 * timers, logs) and feeds timers back as inputs. Every role change carries
 * its reason and evidence, so `tandem why` can always answer.
 *
 * The rules (DESIGN.md "Failover rules", seeds 001-003), one case per role:
 * - starting: listen for the initial silence; a peer already active makes
 *   us inactive at once; after the silence, no peer -> active, otherwise the
 *   total order (rank.ts) decides;
 * - inactive: the peer silent for the failover time -> active, or fencing
 *   first when configured (fencing -> active once the fence is done, ->
 *   inactive when it failed and the policy says stay), unless every heartbeat cable of ours is out
 *   (then we are the one cut off); the peer yielding -> active; we outrank the peer
 *   (both inactive, or health/connections once the hold-down is over) ->
 *   active;
 * - active: every heartbeat cable out -> inactive (isolated: release the
 *   shared addresses rather than compete when the cables return); yielding
 *   and the peer now active -> inactive (planned failover
 *   completed, make before break); both active and the peer outranks us
 *   (rank.ts; a peer that took over while we were stalled or cut off has the
 *   higher term) -> inactive at once, committing nothing; of two active
 *   nodes the one back from a stall longer than the failover time loses. An active node never demotes itself merely because the peer
 *   outranks it while the peer is still inactive: the peer takes over first
 *   and the both-active rule then hands over, so the shared addresses are
 *   never left without an owner.
 *
 * Terms (term.ts): every change to active takes the term after the highest
 * seen; an active node that hears a higher term from a peer that is not
 * active takes the next one too, so the node serving always holds the
 * highest term of the pair. Only a heartbeat newer than the newest accepted
 * from the peer's boot is a sign of life: an older one (a replay, or a frame
 * overtaken on another interface) says nothing about now.
 */
import { weOutrankPeer, type Contender, type Verdict } from './rank.js';
import { anyLink, contender as us, evidence, health, log, peerAlive, syncLinkUp } from './core-view.js';
import { standing } from './standing.js';
import { checkStall } from './stall.js';
import { raiseTerm, seenTerm, takeTerm } from './takeover-term.js';
import {
  ms,
  type Change,
  type CoreState,
  type Effect,
  type Evidence,
  type FailoverConfig,
  type HeartbeatInfo,
  type Input,
  type Ns,
  type Reason,
  type Role,
  type Transition,
} from './failover-types.js';

/** When the active node announces the shared addresses again after the peer stepped down (see onHeartbeat). */
export const ANNOUNCE_AGAIN_MS = 1000;

export function initialState(config: FailoverConfig, now: Ns): CoreState {
  const links: Record<string, boolean> = {};
  const targets: Record<string, boolean> = {};
  for (const i of config.ifaces) {
    links[i.name] = true;
    targets[i.name] = true;
  }
  return {
    config,
    role: 'starting',
    startedAt: now,
    roleSince: now,
    links,
    targets,
    connections: 0,
    stopping: false,
    peer: undefined,
    lastChange: undefined,
    stallCheckDue: undefined,
    clock: now,
    term: 0,
    highestTerm: config.term ?? 0,
    stalledUntil: undefined,
    implausibleLogged: undefined,
    listenUntil: undefined,
    fenceFailed: false,
    disabled: config.disabled === true,
    yielding: config.disabled === true,
    standing: { leader: false, draining: config.draining === true, bypass: {} },
  };
}

export { anyLink, health, peerAlive, syncLinkUp };

export function step(s0: CoreState, input: Input): Transition {
  const effects: Effect[] = [];
  let s = s0;
  const before = { health: health(s0), yielding: s0.yielding, term: s0.term, stalled: s0.stalledUntil !== undefined };
  s = checkStall(s, input.type === 'heartbeat' ? (input.readAt ?? input.now) : input.now, effects);
  switch (input.type) {
    case 'start':
      s = { ...s, startedAt: input.now, roleSince: input.now };
      effects.push({ type: 'arm-timer', name: 'initial-silence', at: input.now + ms(s.config.initialSilenceMs) });
      break;
    case 'heartbeat': {
      const fresh = heard(s, input.now, input.iface, input.from, effects);
      if (fresh === undefined) break;
      s = fresh;
      if (s.fenceFailed && s.peer?.nodeId === input.from.nodeId) s = { ...s, fenceFailed: false };
      break;
    }
    case 'fence-done':
      if (s.role === 'fencing')
        s = changeRole(s, input.now, 'active', input.fenced ? 'peer_fenced' : 'fence_failed_taking_over', evidence(s, input.now), effects);
      break;
    case 'fence-failed':
      if (s.role !== 'fencing') break;
      s = { ...changeRole(s, input.now, 'inactive', 'fence_failed', evidence(s, input.now), effects), fenceFailed: true };
      effects.push(log('warn', 'takeover_withheld', { why: 'the peer could not be fenced; policy: stay inactive until it is heard again' }));
      break;
    case 'link': {
      const hadLink = anyLink(s);
      s = { ...s, links: { ...s.links, [input.iface]: input.up } };
      effects.push(log('info', input.up ? 'link_up' : 'link_down', { iface: input.iface }));
      if (hadLink && !anyLink(s)) effects.push(log('warn', 'all_heartbeat_links_down', { role: s.role, consequence: 'no takeover while isolated' }));
      if (!hadLink && anyLink(s)) {
        // Back from isolation: the peer's silence so far says nothing; hear it for a failover time first.
        const until = input.now + ms(s.config.failoverTimeMs);
        s = { ...s, listenUntil: until };
        effects.push({ type: 'arm-timer', name: 'listen', at: until });
      }
      break;
    }
    case 'targets':
      s = { ...s, targets: { ...s.targets, [input.iface]: input.reachable } };
      effects.push(log(input.reachable ? 'info' : 'warn', input.reachable ? 'monitor_targets_reachable' : 'monitor_targets_lost', { iface: input.iface }));
      break;
    case 'connections':
      s = { ...s, connections: input.count };
      break;
    case 'enable':
      if (s.disabled === !input.enabled) break;
      // Disabled: yielding for good, so an active node hands over as in a planned failover.
      s = { ...s, disabled: !input.enabled, yielding: !input.enabled || s.stopping };
      effects.push(log('info', input.enabled ? 'member_enabled' : 'member_disabled', { role: s.role }));
      break;
    case 'failover':
      s = plannedFailover(s, input.now, effects);
      break;
    case 'leader':
    case 'drain':
    case 'bypass':
      s = standing(s, input, effects);
      break;
    case 'stop':
      s = { ...s, stopping: true, yielding: true };
      if (s.role === 'active' || s.role === 'fencing') s = changeRole(s, input.now, 'inactive', 'stopping', evidence(s, input.now), effects);
      break;
    case 'timer':
      if (input.name === 'announce-again' && s.role === 'active') effects.push({ type: 'announce-shared' });
      break;
  }
  // Decisions are made at the present (when this input was read), not at a heartbeat's kernel stamp, which is old
  // after a stall: the peer's liveness, the hold-down and the time of a change all count from now.
  if (!s.stopping) s = evaluate(s, s.clock, effects);
  const h = health(s);
  // The connection count too: seed 001's rule for a down sync link ranks the nodes on the count the peer advertises.
  // Leader and draining ride in the heartbeat flags too.
  const flagsMoved = s.standing.leader !== s0.standing.leader || s.standing.draining !== s0.standing.draining;
  if (
    h !== before.health ||
    s.yielding !== before.yielding ||
    s.term !== before.term ||
    (s.stalledUntil !== undefined) !== before.stalled ||
    s.role !== s0.role ||
    s.connections !== s0.connections ||
    flagsMoved
  ) {
    effects.push({ type: 'advertise', yielding: s.yielding, health: h, term: s.term, stalled: s.stalledUntil !== undefined });
  }
  return { state: s, effects };
}

/** The state after a heartbeat, or undefined when it says nothing new (an older frame of the peer's boot, a foreign node). */
function heard(s: CoreState, now: Ns, iface: string, from: HeartbeatInfo, effects: Effect[]): CoreState | undefined {
  const known = s.peer;
  if (known && known.nodeId !== from.nodeId && peerAlive(s, now)) {
    // Seed 001: a second cluster with our ID (or a cloned configuration) must not replace the peer.
    effects.push(log('warn', 'foreign_node_heartbeat', { iface, nodeId: from.nodeId, name: from.name, peerNodeId: known.nodeId }));
    return undefined;
  }
  const samePeer = known !== undefined && known.nodeId === from.nodeId;
  // A frame not newer than the newest accepted from the peer's boot is never a sign of life: a replay of a captured
  // frame would otherwise hold off a takeover from a dead peer for as long as it is replayed. (A frame overtaken on
  // another interface by a newer one is not needed: the newer one already said the peer lived.)
  if (samePeer && (from.bootId < known.bootId || (from.bootId === known.bootId && from.sequence <= known.sequence))) return undefined;
  if (!samePeer) effects.push(log('info', 'peer_found', { iface, nodeId: from.nodeId, name: from.name, type: from.nodeType, role: from.role }));
  else if (from.bootId > known.bootId) effects.push(log('info', 'peer_restarted', { iface, nodeId: from.nodeId }));
  const heardOn = samePeer ? { ...known.heardOn, [iface]: maxNs(known.heardOn[iface], now) } : { [iface]: now };
  const lastHeard = samePeer ? maxNs(known.lastHeard, now) : now;
  const peer = { ...from, lastHeard, heardOn };
  // The peer stepped down while we serve: until it released them, it may have sent from the shared MAC after our
  // gratuitous ARPs and pulled the switches back to its port; announce again (seed 001's ARP refresh, made prompt).
  // Once more a second later: a peer back from a power cut or a stall with its cables out still had the shared link
  // when its links came up, and its kernel may send from the shared MAC (an MLD or IGMP report, delayed up to a
  // second, an ARP answer) until its worker has released it, after this first announcement.
  if (samePeer && known.role === 'active' && from.role !== 'active' && s.role === 'active') {
    effects.push({ type: 'announce-shared' });
    effects.push({ type: 'arm-timer', name: 'announce-again', at: now + ms(ANNOUNCE_AGAIN_MS) });
  }
  effects.push({ type: 'arm-timer', name: 'peer-dead', at: lastHeard + ms(s.config.failoverTimeMs) });
  if (s.config.ifaces.find((i) => i.name === iface)?.isSync) {
    effects.push({ type: 'arm-timer', name: 'sync-silence', at: now + ms(s.config.failoverTimeMs) });
  }
  return seenTerm({ ...s, peer }, from, effects);
}

function maxNs(a: Ns | undefined, b: Ns): Ns {
  return a === undefined || b > a ? b : a;
}

function plannedFailover(s: CoreState, now: Ns, effects: Effect[]): CoreState {
  if (s.role !== 'active') {
    effects.push(log('warn', 'failover_refused', { why: `this node is ${s.role}, not active` }));
    return s;
  }
  if (!peerAlive(s, now)) {
    effects.push(log('warn', 'failover_refused', { why: 'no live peer to hand over to' }));
    return s;
  }
  effects.push(log('info', 'planned_failover_started', { peer: s.peer!.name }));
  return { ...s, yielding: true };
}

function evaluate(s: CoreState, now: Ns, effects: Effect[]): CoreState {
  const alive = peerAlive(s, now);
  const peer = s.peer;
  const facts = { syncLinkUp: syncLinkUp(s, now), stateSync: s.config.stateSync === true };
  const verdict = (): Verdict => weOutrankPeer(us(s), peer!, facts);
  const holdDownOver = now - s.roleSince >= ms(s.config.holdDownMs);
  const ev = (rule?: string) => evidence(s, now, rule);

  if (s.config.groupMode === 'active-active') {
    // Every member serves; the load balancer moves the load. Only a disabled or cut-off member stops.
    if (s.disabled) return changeRole(s, now, 'inactive', 'disabled', ev(), effects);
    if (!anyLink(s)) return s.role === 'starting' ? s : changeRole(s, now, 'inactive', 'isolated', ev(), effects);
    return changeRole(s, now, 'active', 'enabled_active_active', ev(), effects);
  }
  if (s.disabled && s.role !== 'active') return s.role === 'starting' ? changeRole(s, now, 'inactive', 'disabled', ev(), effects) : s;

  switch (s.role) {
    case 'starting': {
      if (alive && peer!.role === 'active' && !peer!.yielding) {
        return changeRole(s, now, 'inactive', 'peer_active_at_start', ev(), effects);
      }
      if (now < s.startedAt + ms(s.config.initialSilenceMs)) return s;
      if (!alive && !anyLink(s)) return changeRole(s, now, 'inactive', 'isolated', ev(), effects);
      if (!alive) return changeRole(s, now, 'active', 'initial_silence_over_no_peer', ev(), effects);
      // Our initial silence is over: against a peer already running we decide as a running node (rank.ts rule 4 is
      // for a peer still listening); against one also at its start (a simultaneous start) as what we both are.
      const self: Contender = { ...us(s), role: peer!.role === 'starting' ? 'starting' : 'inactive' };
      const v = weOutrankPeer(self, peer!, facts);
      return changeRole(s, now, v.aWins ? 'active' : 'inactive', v.aWins ? 'outranks_peer' : 'peer_outranks_us', ev(v.rule), effects);
    }

    case 'inactive': {
      // Back from isolation or a stall: what we know of the peer is old (its silence, its health, its role), so
      // nothing moves us until we have listened for a failover time.
      if (s.listenUntil !== undefined && now < s.listenUntil) return s;
      // The peer was heard once and has been silent for the failover time: take over (fence it first).
      if (!alive) {
        // Every cable of ours is out: we are the one cut off, not the peer. Taking over would only add a second active node.
        if (!anyLink(s)) return s;
        if (s.fenceFailed) return s;
        if (peer !== undefined && s.config.fence) return changeRole(s, now, 'fencing', 'peer_dead', ev(), effects);
        return changeRole(s, now, 'active', peer === undefined ? 'initial_silence_over_no_peer' : 'peer_dead', ev(), effects);
      }
      // Planned failover or a stopping peer: take over at once, make before break.
      if (peer!.yielding && !s.yielding) return changeRole(s, now, 'active', 'peer_yielded', ev(), effects);
      if (s.yielding) return s;
      const v = verdict();
      if (!v.aWins) return s;
      // A peer still in its initial silence (rank.ts rule 4): once our hold-down is over, so that the frame it sent
      // just before it decided, at a simultaneous start, does not make us compete with its decision.
      if (v.rule === 'running' && !holdDownOver) {
        effects.push({ type: 'arm-timer', name: 'hold-down', at: s.roleSince + ms(s.config.holdDownMs) });
        return s;
      }
      if (peer!.role !== 'active') return changeRole(s, now, 'active', 'outranks_peer', ev(v.rule), effects);
      // The peer is active but we outrank it (health, or connections with the sync link down).
      if (!holdDownOver) {
        effects.push({ type: 'arm-timer', name: 'hold-down', at: s.roleSince + ms(s.config.holdDownMs) });
        return s;
      }
      const reason: Reason = v.rule === 'health' ? 'health_higher_than_peer' : v.rule === 'connections' ? 'more_connections_sync_down' : 'outranks_peer';
      return changeRole(s, now, 'active', reason, ev(v.rule), effects);
    }

    case 'fencing':
      // The fence is under way (it ends within its own timeout): its result decides, not what is heard meanwhile.
      return s;

    case 'active': {
      // Every cable out: we cannot serve, and holding the shared MAC would only
      // compete with the peer once the cables return. Step down and listen.
      if (!anyLink(s)) return changeRole(s, now, 'inactive', 'isolated', ev(), effects);
      // Disabled with nobody to hand over to: the administrator asked this node to stop serving.
      if (s.disabled && (!alive || peer!.yielding)) return changeRole(s, now, 'inactive', 'disabled', ev(), effects);
      if (!alive) {
        if (s.yielding) {
          effects.push(log('warn', 'planned_failover_abandoned', { why: 'the peer went silent' }));
          return { ...s, yielding: false };
        }
        return s;
      }
      if (peer!.role !== 'active') return raiseTerm(s, effects);
      if (!s.yielding) {
        const v = verdict();
        if (!v.aWins) return changeRole(s, now, 'inactive', bothActiveReason(v), ev(v.rule), effects);
        return s;
      }
      // Yielding (a planned failover, a disabled member). Make before break: step down once the peer holds the
      // shared addresses, not when it merely decided to be active (its commit and claim take a few milliseconds more).
      if (peer!.holdsShared === false) return s;
      const next = changeRole(s, now, 'inactive', s.disabled ? 'disabled' : 'planned_failover', ev(), effects);
      return { ...next, yielding: s.disabled };
    }
  }
}

/** Why an active node steps down when the peer, also active, outranks it. */
function bothActiveReason(v: Verdict): Reason {
  switch (v.rule) {
    case 'health':
      return 'health_lower_than_peer';
    case 'connections':
      return 'fewer_connections_sync_down';
    case 'newer_term':
      return 'peer_took_over';
    case 'stalled':
      return 'stalled_peer_active';
    default:
      return 'both_active_resolved';
  }
}

function changeRole(s: CoreState, now: Ns, to: Role, reason: Reason, evidence: Evidence, effects: Effect[]): CoreState {
  if (s.role === to) return s;
  if (to === 'active') {
    s = takeTerm(s, effects);
    evidence = { ...evidence, ourTerm: s.term };
  }
  const change: Change = { from: s.role, to, at: now, reason, evidence };
  effects.push({ type: 'role', role: to, change });
  if (to === 'fencing' && s.peer) effects.push({ type: 'fence', peerNodeId: s.peer.nodeId, peerName: s.peer.name });
  if (to === 'active') {
    // The synchronised state goes live before the shared MAC moves: no packet of a synced flow
    // may reach this node before it knows the flow (the window that resets keepalived+conntrackd flows).
    effects.push({ type: 'commit-state' });
    effects.push({ type: 'claim-shared' });
  } else if (s.role === 'active') {
    effects.push({ type: 'release-shared' });
  }
  effects.push({ type: 'arm-timer', name: 'hold-down', at: now + ms(s.config.holdDownMs) });
  return { ...s, role: to, roleSince: now, lastChange: change, stalledUntil: to === 'active' ? s.stalledUntil : undefined };
}
