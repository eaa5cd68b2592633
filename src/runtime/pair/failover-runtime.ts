/**
 * DOC: the failover runtime: the one choke point between the world and the core
 *
 * feed() is the only writer of the core state: it steps the pure core
 * (src/core/failover.ts) with an input, logs every role change once with
 * its reason and evidence, and queues the effects. Effects run strictly in
 * order on one promise chain (fence before claim, claim before anything
 * after it), because claiming the shared addresses takes netlink round trips.
 * Timers the core asks for become `timer` inputs. Admin commands (planned
 * failover, stop) are inputs too, never direct calls into the adapters, so
 * the shared addresses have a single owner. snapshot() is the read-only view
 * for the control socket, the CLI and the status page.
 *
 * Runs on the Node main loop; I/O lives in the adapters it is given.
 */
import { health, initialState, peerAlive, step, syncLinkUp } from '../../core/failover.js';
import type { Change, CoreState, Effect, FailoverConfig, Input } from '../../core/failover-types.js';
import {
  FLAG_DISABLED,
  FLAG_DRAINING,
  FLAG_LEADER,
  FLAG_SHARED_HELD,
  FLAG_STALLED,
  FLAG_SYNC_LINK_UP,
  FLAG_YIELDING,
  HEARTBEAT_VERSION,
  PREVIOUS_HEARTBEAT_VERSION,
  type DecodedHeartbeat,
} from '../../wire/heartbeat-frame.js';
import { monotonicNs } from '../../io/native.js';
import { takeoverFields } from './takeover-log.js';
import { heartbeatInfo } from './heartbeat-info.js';
import { CoreTimers } from './core-timers.js';
import { leaseView } from './heartbeat-node.js';
import type { EventName } from '../logging/events.js';
import type { RuntimeDeps, RuntimeHeartbeats, RuntimeSync, Snapshot } from './runtime-ports.js';

export type { RuntimeDeps, RuntimeHeartbeats, RuntimeSync, Snapshot };

const HISTORY = 50;
const versionText = (v: { major: number; minor: number; patch: number } | undefined) => (v ? `${v.major}.${v.minor}.${v.patch}` : '0.0.0');

/** The event a change of standing is logged as, by what changed and to what (a bypass mode: bypass_set_by_admin). */
const STANDING_EVENTS: Record<string, EventName> = {
  'leader leader': 'leader_role_taken',
  'leader member': 'leader_role_released',
  'drain draining': 'member_draining',
  'drain serving': 'member_drain_ended',
};

/** The commercial firewalls' names for these role changes (Clavister/NetDefendOS log reference), logged beside role_change. */
const SEED_EVENTS: Partial<Record<Change['reason'], EventName>> = {
  peer_dead: 'peer_gone',
  both_active_resolved: 'conflict_both_peers_active',
  peer_took_over: 'conflict_both_peers_active',
  stalled_peer_active: 'conflict_both_peers_active',
  fewer_connections_sync_down: 'peer_has_more_connections',
  more_connections_sync_down: 'peer_has_fewer_connections',
};

export class FailoverRuntime {
  private state: CoreState;
  private readonly timers: CoreTimers;
  private queue: Promise<void> = Promise.resolve();
  private readonly history: (Change & { wallTime: string })[] = [];
  private shared: 'held' | 'released' = 'released';
  /** Monotonic ms of the last gratuitous ARPs for the shared addresses (the claim's, an announce, a refresh). */
  private announcedAtMs = -Infinity;
  private stopped = false;
  private roleChanges = 0;
  /** When the last takeover's commit of the synchronised state began and ended (for the takeover log). */
  private committing: { from: bigint; to?: bigint } | undefined;

  constructor(
    config: FailoverConfig,
    private readonly name: string,
    private readonly deps: RuntimeDeps,
  ) {
    this.state = initialState(config, monotonicNs());
    const hb = deps.heartbeats;
    this.timers = new CoreTimers({
      drain: () => hb.drain(),
      fire: (name, now) => this.feed({ type: 'timer', now, name }),
      ...(hb.every && hb.serviceTickNs ? { everyTick: (fn: () => void) => hb.every!(0, fn), tickNs: hb.serviceTickNs } : {}),
    });
  }

  start(): void {
    this.feed({ type: 'start', now: monotonicNs() });
    this.advertise(); // the first heartbeats already carry our health and role
  }

  /** The choke point: every input, from every source, passes here. */
  feed(input: Input): void {
    if (this.stopped) return;
    this.deps.recorder?.input(input);
    const before = this.state;
    const { state, effects } = step(before, input);
    this.state = state;
    for (const e of effects) this.apply(e, input);
  }

  heartbeat(ifname: string, frame: DecodedHeartbeat, stampNs: bigint): void {
    this.feed({ type: 'heartbeat', now: stampNs, readAt: monotonicNs(), iface: ifname, from: heartbeatInfo(frame.fields) });
  }

  /** Resolves when every effect queued so far has run (tests, shutdown). */
  settled(): Promise<void> {
    return this.queue;
  }

  /**
   * Graceful stop, make before break: an active node with a live peer first
   * hands over as in a planned failover (yielding heartbeats at once; the
   * peer claims, then we step down), and only then stops: the shared
   * addresses are never without an owner. Bounded by two failover times.
   */
  async stop(): Promise<void> {
    const now = monotonicNs();
    if (this.state.role === 'active' && peerAlive(this.state, now)) {
      this.feed({ type: 'failover', now });
      this.sendNow();
      const deadline = Date.now() + 2 * this.state.config.failoverTimeMs + 100;
      while (this.state.role === 'active' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    }
    this.feed({ type: 'stop', now: monotonicNs() });
    await this.queue;
    // A few heartbeats with the yielding flag, at once, so the peer takes over without waiting for a failover time.
    for (let i = 0; i < 3; i++) this.sendNow();
    this.stopped = true;
    this.timers.stop();
  }

  private sendNow(): void {
    this.deps.heartbeats.sender.sendNow();
  }

  /** Every role change since start (the history keeps the newest HISTORY). */
  roleChangesTotal(): number {
    return this.roleChanges;
  }

  whyHistory(): (Change & { wallTime: string })[] {
    return [...this.history];
  }

  /**
   * The read-only view. `detail` false leaves out what costs the most to gather (the heartbeat matrix,
   * the pacer's counters, the loop-delay percentiles): for the cluster layer's frequent reads.
   */
  snapshot(detail = true): Snapshot {
    const s = this.state;
    const now = monotonicNs();
    const msAgo = (t: bigint) => Number(now - t) / 1e6;
    return {
      node: { name: this.name, id: s.config.nodeId, type: s.config.nodeType },
      role: s.role,
      roleSinceMsAgo: msAgo(s.roleSince),
      health: health(s),
      connections: s.connections,
      yielding: s.yielding,
      syncLinkUp: syncLinkUp(s, now),
      term: s.term,
      highestTerm: s.highestTerm,
      ...(s.implausibleLogged === undefined ? {} : { implausiblePeerTerm: s.implausibleLogged }),
      peer: s.peer
        ? {
            name: s.peer.name,
            id: s.peer.nodeId,
            type: s.peer.nodeType,
            role: s.peer.role,
            alive: peerAlive(s, now),
            connections: s.peer.connections,
            health: s.peer.health,
            lastHeardMsAgo: msAgo(s.peer.lastHeard),
            syncStatus: s.peer.facts?.syncStatus ?? 'unknown',
            syncSequence: (s.peer.facts?.syncSequence ?? 0n).toString(),
            flags: s.peer.facts?.flags ?? 0,
            configGeneration: s.peer.facts?.configGeneration ?? 0,
            softwareVersion: versionText(s.peer.facts?.softwareVersion),
            term: s.peer.term,
            heartbeatFormat: s.peer.previousFormat ? PREVIOUS_HEARTBEAT_VERSION : HEARTBEAT_VERSION,
          }
        : null,
      disabled: s.disabled,
      standing: s.standing,
      links: s.config.ifaces.map((i) => ({
        name: i.name,
        up: s.links[i.name] !== false,
        targetsReachable: s.targets[i.name] !== false,
        monitored: i.monitored,
      })),
      lastChange: s.lastChange
        ? ({ ...s.lastChange, at: undefined, msAgo: msAgo(s.lastChange.at), wallTime: this.history.at(-1)?.wallTime ?? '' } as Snapshot['lastChange'])
        : null,
      matrix: detail ? this.deps.heartbeats.matrix() : [],
      sharedAddresses: this.shared,
      heartbeats: leaseView(detail ? this.deps.heartbeats.sender : undefined),
      sync: this.deps.sync ? this.deps.sync.status() : { enabled: false },
    };
  }

  private apply(e: Effect, input: Input): void {
    switch (e.type) {
      case 'arm-timer':
        this.timers.arm(e.name, e.at);
        return;
      case 'log':
        this.deps.log.log(e.level, e.event, e.fields);
        return;
      case 'advertise':
        this.advertise();
        return;
      case 'persist-term':
        this.deps.persistTerm?.(e.term);
        return;
      case 'role': {
        const wallTime = new Date().toISOString();
        this.history.push({ ...e.change, wallTime });
        this.roleChanges++;
        if (this.history.length > HISTORY) this.history.shift();
        this.deps.recorder?.freeze(e.change);
        this.deps.log.log('info', 'role_change', {
          from: e.change.from,
          to: e.change.to,
          reason: e.change.reason,
          evidence: e.change.evidence,
          input: input.type,
        });
        const seed = SEED_EVENTS[e.change.reason];
        if (seed)
          this.deps.log.log('warn', seed, {
            role: e.change.to,
            peerConnections: e.change.evidence.peerConnections,
            ourConnections: e.change.evidence.ourConnections,
            peerLastHeardMsAgo: e.change.evidence.peerLastHeardMsAgo,
          });
        this.advertise();
        this.deps.onRole?.(e.role);
        // From active, the shared addresses go first (release-shared follows this effect): the sync engine's
        // change of side must not keep the shared MAC on a node that no longer serves.
        if (e.role === 'inactive' && this.deps.sync && e.change.from !== 'active') {
          const sync = this.deps.sync;
          this.enqueue('sync as standby', () => sync.setRole(false));
        }
        return;
      }
      case 'standing': {
        const c = e.change;
        const event = STANDING_EVENTS[`${c.what} ${c.to}`] ?? 'bypass_set_by_admin';
        this.deps.log.log(
          c.what === 'bypass' ? 'warn' : 'info',
          event,
          c.what === 'bypass'
            ? { segment: c.subject, mode: c.to, reason: c.reason }
            : { member: this.name, reason: c.reason, ...(c.evidence.rule ? { rule: c.evidence.rule } : {}) },
        );
        this.deps.recorder?.freeze(c);
        return;
      }
      case 'set-bypass':
        this.deps.bypass?.setByAdmin(e.segment, e.mode);
        return;
      case 'fence':
        this.enqueue('fence', async () => {
          if (!this.deps.fence) return;
          const t0 = monotonicNs();
          const tookMs = () => Number(monotonicNs() - t0) / 1e6;
          let fenced: boolean;
          try {
            const how = await this.deps.fence({ nodeId: e.peerNodeId, name: e.peerName });
            this.deps.log.log('info', 'peer_fenced', { peer: e.peerName, how, tookMs: tookMs() });
            fenced = true;
          } catch (err) {
            const policy = this.deps.fenceOnFailure ?? 'stay-inactive';
            this.deps.log.log('error', 'fence_failed', { peer: e.peerName, error: (err as Error).message, policy, tookMs: tookMs() });
            if (policy === 'stay-inactive') return this.feed({ type: 'fence-failed', now: monotonicNs() });
            fenced = false;
          }
          // The core takes over only now (fencing -> active): commit and claim are queued behind this effect.
          this.feed({ type: 'fence-done', now: monotonicNs(), fenced });
        });
        return;
      case 'commit-state': {
        const sync = this.deps.sync;
        if (!sync) return;
        const peerSequence = Number(this.state.peer?.facts?.syncSequence ?? 0n);
        this.enqueue('commit synchronised state', async () => {
          if (this.state.role !== 'active') return; // stepped down meanwhile (a failed fence)
          this.committing = { from: monotonicNs() };
          await sync.commitForTakeover(peerSequence);
          this.committing.to = monotonicNs();
        });
        return;
      }
      case 'claim-shared': {
        const change = this.state.lastChange;
        this.enqueue('claim shared addresses', async () => {
          if (this.state.role !== 'active') return; // stepped down meanwhile (a failed fence)
          const report = await this.deps.shared.claim();
          this.shared = 'held';
          if (report.ipv6Failed.length > 0) this.deps.log.log('error', 'shared_ipv6_failed', { errors: report.ipv6Failed });
          this.announcedAtMs = Number(monotonicNs()) / 1e6;
          // Say so at once: a peer handing over steps down only when it hears we hold them.
          this.advertise();
          this.sendNow();
          if (change?.to === 'active') this.deps.log.log('info', 'takeover', takeoverFields(change, report, this.committing));
        });
        const sync = this.deps.sync;
        // After the claim: becoming the source (a dump of the table) must not delay the addresses.
        if (sync) this.enqueue('sync as source', async () => (this.state.role === 'active' ? sync.setRole(true) : undefined));
        return;
      }
      case 'release-shared': {
        this.enqueue('release shared addresses', async () => {
          await this.deps.shared.release();
          this.shared = 'released';
          this.advertise();
          this.deps.log.log('info', 'shared_addresses_released', {});
        });
        const sync = this.deps.sync;
        if (sync) this.enqueue('sync as standby', async () => (this.state.role !== 'active' ? sync.setRole(false) : undefined));
        return;
      }
      case 'announce-shared':
        if (this.shared === 'held') {
          this.deps.shared.announce();
          this.announcedAtMs = Number(monotonicNs()) / 1e6;
        }
        return;
    }
  }

  private enqueue(what: string, work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((err: Error) => {
      this.deps.log.log('error', 'effect_failed', { effect: what, error: err.message });
    });
  }

  /**
   * The periodic ARP refresh (garp.refreshMs, as Clavister's): while this node holds the shared addresses, one
   * gratuitous ARP for each, so a switch that learnt the shared MAC on another port (a healed split, a port that
   * flapped) forwards to this one again within a refresh. Due `refreshMs` after the last announcement, the claim's
   * included (the caller asks more often than that: a timer of its own would fire at any phase of the claim).
   */
  refreshShared(refreshMs: number, nowMs = Number(monotonicNs()) / 1e6): void {
    if (this.shared !== 'held' || nowMs - this.announcedAtMs < refreshMs) return;
    this.announcedAtMs = nowMs;
    this.deps.shared.refresh();
  }

  /** Heartbeats say what changed: called by the sync engine when its status or sequence moves. */
  advertise(): void {
    const s = this.state;
    const now = monotonicNs();
    let flags = 0;
    if (s.yielding) flags |= FLAG_YIELDING;
    if (syncLinkUp(s, now)) flags |= FLAG_SYNC_LINK_UP;
    if (this.shared === 'held') flags |= FLAG_SHARED_HELD;
    if (s.disabled) flags |= FLAG_DISABLED;
    if (s.standing.leader) flags |= FLAG_LEADER;
    if (s.standing.draining) flags |= FLAG_DRAINING;
    if (s.stalledUntil !== undefined) flags |= FLAG_STALLED;
    this.deps.heartbeats.sender.update({
      state: s.role,
      flags,
      health: health(s),
      connections: s.connections,
      term: s.term,
      ...(this.deps.sync?.heartbeatFields() ?? {}),
      ...(this.deps.generation ? { configGeneration: this.deps.generation() } : {}),
    });
  }
}
