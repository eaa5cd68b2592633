/**
 * DOC: the pair's protocol as a model: two failover cores, a switch, a sync cable, clients and an intruder
 *
 * A discrete-event simulation that runs two real cores (src/core/failover.ts, or a mutant given as `step`)
 * against a simulated network and clock, with the faults of the field: freeze and thaw of a node (SIGSTOP,
 * a starved CPU), power off and on (the kernel's table lost, a new boot), a restart of the worker (the
 * supervisor's: the shared addresses released, the table kept), cable cuts and repairs per interface, the
 * switch dropping heartbeats on a segment, heartbeat loss and delay, a foreign host replaying a frame it
 * captured, a planned failover and connection counts. Each node's receiver is modelled as production has it:
 * frames wait in a queue and are read in batches, each interface's newest frame first, the older ones of the
 * batch superseded (recorded in the replay window, src/wire/heartbeat-verify.ts's ReplayMemory, unless the
 * model is told to forget them); a frame that passes goes to the core with its arrival time as its stamp.
 *
 * Beside the cores the model keeps the ground truth no core can see: which node the switch sends clients to
 * (the last one whose claim or announcement reached it), the writes those clients make (a global counter, so
 * "newer" is a number), what each node's table holds (the writes it took, or copied from the active node over
 * the sync cable), and checks after every event:
 *
 * - P1 two nodes that can hear each other are never both active for longer than the failover time (plus the
 *   heartbeats that carry the news);
 * - P2 when two active nodes meet and one steps down (a both-active resolution), the survivor holds the newest
 *   takeover term; and a node that stopped during the split (frozen or powered off for longer than the failover
 *   time) and served no client since it began never survives against one that served them: a stale table never wins over one that took the writes
 *   since. (Two tables both written during a split cannot both survive; writes the standby had not copied when
 *   it took over are the sync lag; and of two nodes that both ran through a split, each sure the other was dead,
 *   nothing both can see tells which one the clients reached: neither is the rule's to decide.)
 * - P3 while some node is healthy (up, running, past its initial silence, carrier on every monitored
 *   interface), the pair is never without a running active node for longer than two failover times (a node back
 *   from isolation or a stall listens a failover time first; a less healthy node waits for a healthier one; a
 *   node being fed, in order, frames an intruder captured before it restarted cannot tell them from a live peer:
 *   the known limit of any replay window, excused here and written down in docs/failover.md);
 * - P4 after every fault is healed and the pair has settled, no role changes without a cause: exactly one
 *   active node, holding the pair's highest term, and no change for two seconds.
 *
 * Pure apart from its own seeded random numbers: a sequence and its seed replay exactly.
 */
import { initialState, step as coreStep } from '../../src/core/failover.js';
import { contender } from '../../src/core/core-view.js';
import { ms, type CoreState, type Effect, type HeartbeatInfo, type Input, type Ns, type Transition } from '../../src/core/failover-types.js';
import { newerTerm } from '../../src/core/term.js';
import { ReplayMemory } from '../../src/wire/heartbeat-verify.js';
import { seededRandom } from '../../src/lab/seeded-random.js';

export const MODEL_IFACES = ['eth0', 'eth1', 'eth3'] as const;
export type ModelIface = (typeof MODEL_IFACES)[number];
const SYNC: ModelIface = 'eth3';
/** The interface clients reach the shared addresses on. */
const CLIENT: ModelIface = 'eth0';

export type StepFn = (s: CoreState, input: Input) => Transition;

export interface ModelOptions {
  failoverMs?: number;
  intervalMs?: number;
  initialSilenceMs?: number;
  holdDownMs?: number;
  stateSync?: boolean;
  /** The core under test: the real one unless a mutant is given. */
  step?: StepFn;
  /** Receivers forget the sequence numbers of the frames a batch superseded (as before issue 30). */
  forgetSuperseded?: boolean;
  seed?: number;
}

export type Action =
  | { kind: 'freeze' | 'thaw' | 'power-off' | 'power-on' | 'restart-worker' | 'failover'; node: 0 | 1 }
  | { kind: 'cut' | 'repair'; node: 0 | 1; iface: ModelIface }
  | { kind: 'drop-heartbeats' | 'pass-heartbeats' | 'lossy' | 'lossless'; iface: ModelIface }
  | { kind: 'delay'; iface: ModelIface; delayMs: number }
  /** A foreign host on the segment re-sends the last `count` frames it captured from a node, one every 50 ms, round and round. */
  | { kind: 'replay'; iface: ModelIface; from: 0 | 1; count: number; forMs: number }
  | { kind: 'connections'; node: 0 | 1; count: number };

export interface TimedAction {
  gapMs: number;
  action: Action;
}

interface Frame {
  iface: ModelIface;
  from: HeartbeatInfo;
  /** Arrival at the receiver (its kernel stamp). */
  at: Ns;
}

/** A frame the intruder captured, and when. */
interface Captured {
  info: HeartbeatInfo;
  at: Ns;
}

interface ModelNode {
  state: CoreState;
  timers: Map<string, Ns>;
  up: boolean;
  frozen: boolean;
  cable: Record<ModelIface, boolean>;
  bootId: bigint;
  seq: bigint;
  persistedTerm: number;
  replay: ReplayMemory;
  startedAt: Ns;
  nextBeat: Ns;
  nextDrain: Ns;
  inbox: Frame[];
  /** Carrier changes that happened while the node was frozen (netlink queues them). */
  pending: Input[];
  /** The last frame read per interface (a frame that differs rings the doorbell: read at once). */
  lastRead: Partial<Record<ModelIface, HeartbeatInfo>>;
  holdsShared: boolean;
  /** The newest write this node's table holds (0: none). */
  data: number;
  wroteSinceSplit: boolean;
  /** Frozen or powered off for longer than the failover time at some time since the split began. */
  stoppedSinceSplit: boolean;
  /** When this node last stopped (froze, lost power) and last ran again. */
  stoppedAt: Ns;
  resumedAt: Ns;
  lastWriteAt: Ns;
  connections: number;
  /** Until then, an intruder replays frames captured before this node (re)started (see the replays in handleDue). */
  forgotUntil: Ns;
}

export interface Violation {
  property: 'P1' | 'P2' | 'P3' | 'P4';
  atMs: number;
  what: string;
}

const WRITE_EVERY = ms(10);
const INBOX_LIMIT = 256;

export class PairModel {
  now: Ns = 0n;
  readonly nodes: [ModelNode, ModelNode];
  readonly violations: Violation[] = [];
  /** Every core input and role change, for a counterexample's story. */
  readonly trace: string[] = [];
  /** Events handled (the size of what was explored). */
  steps = 0;
  private readonly o: Required<Omit<ModelOptions, 'step' | 'seed'>> & { step: StepFn };
  private readonly random: () => number;
  private readonly dropped = new Set<ModelIface>();
  private readonly lossy = new Set<ModelIface>();
  private readonly delayed = new Map<ModelIface, Ns>();
  private readonly inFlight: { to: 0 | 1; frame: Frame }[] = [];
  private readonly captured: Record<ModelIface, Captured[][]> = { eth0: [[], []], eth1: [[], []], eth3: [[], []] };
  private readonly replays: { to: 0 | 1; iface: ModelIface; frames: Captured[]; k: number; next: Ns; until: Ns }[] = [];
  private owner: 0 | 1 | undefined;
  private writes = 0;
  private nextWrite: Ns = 0n;
  private bothActiveSince: Ns | undefined;
  private noneActiveSince: Ns | undefined;
  private splitSince: Ns | undefined;

  constructor(opts: ModelOptions = {}) {
    this.o = {
      failoverMs: opts.failoverMs ?? 300,
      intervalMs: opts.intervalMs ?? 50,
      initialSilenceMs: opts.initialSilenceMs ?? 1000,
      holdDownMs: opts.holdDownMs ?? 500,
      stateSync: opts.stateSync ?? true,
      forgetSuperseded: opts.forgetSuperseded ?? false,
      step: opts.step ?? coreStep,
    };
    this.random = seededRandom(opts.seed ?? 1);
    this.nodes = [this.newNode(0), this.newNode(1)];
    for (const i of [0, 1] as const) this.boot(i, 0n);
  }

  // ---- the world's faults, applied at `now` ----

  apply(a: Action): void {
    this.trace.push(`${this.ms()} ms: ${JSON.stringify(a)}`);
    switch (a.kind) {
      case 'freeze':
        if (this.nodes[a.node].up && !this.nodes[a.node].frozen) {
          this.nodes[a.node].frozen = true;
          this.nodes[a.node].stoppedAt = this.now;
        }
        break;
      case 'thaw':
        this.thaw(a.node);
        break;
      case 'power-off':
        this.powerOff(a.node);
        break;
      case 'power-on':
        if (!this.nodes[a.node].up) this.powerOn(a.node);
        break;
      case 'restart-worker': {
        const n = this.nodes[a.node];
        if (!n.up || n.frozen) break;
        // The supervisor removes the dead worker's shared links at once; the kernel's table stays.
        n.holdsShared = false;
        if (this.owner === a.node) this.owner = undefined;
        this.boot(a.node, this.now);
        break;
      }
      case 'failover':
        this.feed(a.node, { type: 'failover', now: this.now });
        break;
      case 'connections':
        this.nodes[a.node].connections = a.count;
        this.feed(a.node, { type: 'connections', now: this.now, count: a.count });
        break;
      case 'cut':
      case 'repair':
        this.setCable(a.node, a.iface, a.kind === 'repair');
        break;
      case 'drop-heartbeats':
        this.dropped.add(a.iface);
        break;
      case 'pass-heartbeats':
        this.dropped.delete(a.iface);
        break;
      case 'lossy':
        this.lossy.add(a.iface);
        break;
      case 'lossless':
        this.lossy.delete(a.iface);
        break;
      case 'delay':
        if (a.delayMs <= 0) this.delayed.delete(a.iface);
        else this.delayed.set(a.iface, ms(a.delayMs));
        break;
      case 'replay': {
        const frames = this.captured[a.iface][a.from]!.slice(-a.count);
        if (frames.length > 0) this.replays.push({ to: a.from === 0 ? 1 : 0, iface: a.iface, frames, k: 0, next: this.now, until: this.now + ms(a.forMs) });
        break;
      }
    }
    this.check();
  }

  /** Every fault repaired: thawed, powered, cabled, the switch passing everything. */
  healAll(): void {
    for (const i of [0, 1] as const) {
      if (!this.nodes[i].up) this.apply({ kind: 'power-on', node: i });
      if (this.nodes[i].frozen) this.apply({ kind: 'thaw', node: i });
      for (const f of MODEL_IFACES) if (!this.nodes[i].cable[f]) this.apply({ kind: 'repair', node: i, iface: f });
    }
    for (const f of MODEL_IFACES) {
      this.dropped.delete(f);
      this.lossy.delete(f);
      this.delayed.delete(f);
    }
    this.replays.length = 0;
  }

  /** Runs a sequence, then heals everything and checks that the pair settles (P4). */
  runSequence(actions: readonly TimedAction[], settleMs = 4000, quietMs = 2000): Violation[] {
    this.runFor(3000);
    for (const t of actions) {
      this.runFor(t.gapMs);
      this.apply(t.action);
    }
    // The last fault plays out before everything is healed.
    this.runFor(3000);
    this.healAll();
    this.runFor(settleMs);
    const changes = this.roleChanges();
    this.runFor(quietMs);
    const [a, b] = this.nodes.map((n) => n.state.role);
    const actives = [a, b].filter((r) => r === 'active').length;
    if (this.roleChanges() !== changes) this.violate('P4', `roles still changing ${settleMs} ms after every fault was healed`);
    else if (actives !== 1) this.violate('P4', `after healing: roles ${a}/${b}`);
    else {
      const active = a === 'active' ? 0 : 1;
      const other = this.nodes[1 - active]!.state;
      if (newerTerm(other.term, this.nodes[active].state.term))
        this.violate('P4', `the active node n${active + 1} holds term ${this.nodes[active].state.term}, the other ${other.term}`);
    }
    return this.violations;
  }

  runFor(msToRun: number): void {
    const until = this.now + ms(msToRun);
    // Bounded: a core that armed a timer in the past cannot spin the model forever.
    for (let guard = 0; guard < 1_000_000; guard++) {
      const next = this.nextEvent(until);
      this.now = next;
      this.handleDue();
      this.check();
      if (this.now >= until) return;
    }
    throw new Error('the model made no progress (a timer armed in the past?)');
  }

  roles(): [string, string] {
    return [this.nodes[0].state.role, this.nodes[1].state.role];
  }

  private roleChanges = (): number => this.trace.filter((l) => l.includes(' -> ')).length;

  private ms(): number {
    return Number(this.now / 1_000_000n);
  }

  // ---- nodes ----

  private newNode(i: 0 | 1): ModelNode {
    return {
      state: initialState(this.config(i, 0), 0n),
      timers: new Map(),
      up: true,
      frozen: false,
      cable: { eth0: true, eth1: true, eth3: true },
      bootId: 0n,
      seq: 0n,
      persistedTerm: 0,
      replay: new ReplayMemory(),
      startedAt: 0n,
      nextBeat: 0n,
      nextDrain: 0n,
      inbox: [],
      pending: [],
      lastRead: {},
      holdsShared: false,
      data: 0,
      wroteSinceSplit: false,
      stoppedSinceSplit: false,
      stoppedAt: 0n,
      resumedAt: 0n,
      lastWriteAt: 0n,
      connections: 0,
      forgotUntil: 0n,
    };
  }

  private config(i: 0 | 1, term: number) {
    return {
      nodeId: i + 1,
      nodeType: i === 0 ? ('master' as const) : ('slave' as const),
      failoverTimeMs: this.o.failoverMs,
      initialSilenceMs: this.o.initialSilenceMs,
      holdDownMs: this.o.holdDownMs,
      ifaces: MODEL_IFACES.map((name) => ({ name, isSync: name === SYNC, monitored: name !== SYNC })),
      fence: false,
      stateSync: this.o.stateSync,
      term,
    };
  }

  /** A new worker (or a new boot): a fresh core with the persisted term, a new boot ID, a new receiver. */
  private boot(i: 0 | 1, now: Ns): void {
    const n = this.nodes[i];
    n.state = initialState(this.config(i, n.persistedTerm), now);
    n.timers.clear();
    n.bootId += 1n;
    n.seq = 0n;
    n.replay = new ReplayMemory();
    n.inbox = [];
    n.pending = [];
    n.lastRead = {};
    n.startedAt = now;
    n.nextBeat = now + ms(this.random() * this.o.intervalMs);
    n.nextDrain = now;
    this.feed(i, { type: 'start', now });
    for (const f of MODEL_IFACES) if (!n.cable[f]) this.feed(i, { type: 'link', now, iface: f, up: false });
    if (n.connections > 0) this.feed(i, { type: 'connections', now, count: n.connections });
  }

  private powerOff(i: 0 | 1): void {
    const n = this.nodes[i];
    if (!n.up) return;
    n.up = false;
    n.frozen = false;
    n.stoppedAt = this.now;
    n.holdsShared = false;
    n.data = 0; // the kernel's table is gone with the power
    if (this.owner === i) this.owner = undefined;
    // The sync cable is point to point: the peer loses its carrier.
    const peer = this.nodes[1 - i]!;
    if (peer.cable[SYNC] && n.cable[SYNC]) this.feed((1 - i) as 0 | 1, { type: 'link', now: this.now, iface: SYNC, up: false });
  }

  private powerOn(i: 0 | 1): void {
    const n = this.nodes[i];
    n.up = true;
    n.resumedAt = this.now;
    this.boot(i, this.now);
    if (this.nodes[1 - i]!.cable[SYNC] && n.cable[SYNC]) this.feed((1 - i) as 0 | 1, { type: 'link', now: this.now, iface: SYNC, up: true });
  }

  private thaw(i: 0 | 1): void {
    const n = this.nodes[i];
    if (!n.frozen) return;
    n.frozen = false;
    n.resumedAt = this.now;
    for (const input of n.pending.splice(0)) this.feed(i, { ...input, now: this.now });
    // What waited in the kernel is read first, with its stamps; then the overdue timers (handleDue).
    this.drain(i);
  }

  private setCable(i: 0 | 1, iface: ModelIface, inserted: boolean): void {
    const n = this.nodes[i];
    if (n.cable[iface] === inserted) return;
    n.cable[iface] = inserted;
    if (n.up) this.feed(i, { type: 'link', now: this.now, iface, up: inserted });
    // A cross-over cable: the other end loses (or regains) its carrier too. A switch port only on the cut side.
    if (iface === SYNC) {
      const other = (1 - i) as 0 | 1;
      if (this.nodes[other].up && this.nodes[other].cable[SYNC]) this.feed(other, { type: 'link', now: this.now, iface, up: inserted });
    }
  }

  private running(i: 0 | 1): boolean {
    return this.nodes[i].up && !this.nodes[i].frozen;
  }

  /** Carrier on an interface: its own cable, and for the cross-over sync cable the peer's end too (and the peer powered). */
  private carrier(i: 0 | 1, iface: ModelIface): boolean {
    const n = this.nodes[i];
    if (!n.cable[iface]) return false;
    if (iface !== SYNC) return true;
    const p = this.nodes[1 - i]!;
    return p.cable[SYNC] && p.up;
  }

  // ---- the core, and what its effects do to the world ----

  private feed(i: 0 | 1, input: Input): void {
    const n = this.nodes[i];
    if (!n.up) return;
    // A stopped process reads nothing: what the kernel tells it (carrier changes) waits for it, the rest is lost.
    if (n.frozen) {
      if (input.type === 'link') n.pending.push(input);
      return;
    }
    const before = n.state.role;
    const t = this.o.step(n.state, input);
    n.state = t.state;
    for (const e of t.effects) this.effect(i, e);
    if (n.state.role !== before) {
      const c = n.state.lastChange;
      this.trace.push(
        `${this.ms()} ms: n${i + 1} ${before} -> ${n.state.role} (${c?.reason}${c?.evidence.rule ? `, rule ${c.evidence.rule}` : ''}) term ${n.state.term}`,
      );
      this.resolution(i, before, n.state.role, c?.reason);
    }
  }

  private effect(i: 0 | 1, e: Effect): void {
    const n = this.nodes[i];
    switch (e.type) {
      case 'arm-timer':
        n.timers.set(e.name, e.at);
        return;
      case 'persist-term':
        n.persistedTerm = e.term;
        return;
      case 'claim-shared':
        n.holdsShared = true;
        // The gratuitous ARPs reach the switch through the client-side port.
        if (n.cable[CLIENT]) this.owner = i;
        return;
      case 'announce-shared':
        if (n.holdsShared && n.cable[CLIENT]) this.owner = i;
        return;
      case 'release-shared':
        n.holdsShared = false;
        return;
      case 'fence':
        // The fence succeeds at once (the model has no relay): its result is the next input.
        this.pendingFence.push(i);
        return;
      default:
        return;
    }
  }

  private readonly pendingFence: (0 | 1)[] = [];

  /** P2: two active nodes met and one stepped down. */
  private resolution(i: 0 | 1, from: string, to: string, reason: string | undefined): void {
    const other = (1 - i) as 0 | 1;
    const o = this.nodes[other];
    if (from !== 'active' || to === 'active' || o.state.role !== 'active' || !this.running(other)) return;
    // Health, a planned hand-over, a stop or the connection rule decide for reasons of their own, not freshness.
    if (!['peer_took_over', 'both_active_resolved', 'stalled_peer_active'].includes(reason ?? '')) return;
    const loser = this.nodes[i];
    const problems: string[] = [];
    // A node that did not run defers to the one that did, whatever the terms (the stall rule): only the tables say.
    if (reason !== 'stalled_peer_active' && newerTerm(loser.state.term, o.state.term)) {
      problems.push(`n${i + 1} (term ${loser.state.term}) stepped down for n${other + 1} (term ${o.state.term}): the older takeover survived`);
    }
    // The stall rule: the loser stopped, the survivor ran again before the loser did; whatever the loser wrote just
    // before it stopped and had not synchronised is the sync lag of a node that stopped, not a stale table winning.
    const survivorRanFirst = reason === 'stalled_peer_active' && o.resumedAt < loser.resumedAt && loser.stoppedAt <= loser.resumedAt;
    if (loser.data > o.data && loser.wroteSinceSplit && !o.wroteSinceSplit && o.stoppedSinceSplit && !survivorRanFirst) {
      problems.push(
        `n${other + 1} survived with an older table (write ${o.data}) than n${i + 1}'s (write ${loser.data}), which served the clients during the split`,
      );
    }
    // Judged once the survivor has kept the role a failover time: if it steps down as well meanwhile (both stalled,
    // both yield), the pair decides again and the next resolution is the one judged.
    if (problems.length > 0) this.pending = { survivor: other, at: this.now, since: o.state.lastChange?.at, problems };
  }

  private pending: { survivor: 0 | 1; at: Ns; since: Ns | undefined; problems: string[] } | undefined;

  private judgePending(): void {
    const p = this.pending;
    if (!p || this.now - p.at < ms(this.o.failoverMs + 2 * this.o.intervalMs)) return;
    this.pending = undefined;
    const s = this.nodes[p.survivor].state;
    if (s.role === 'active' && s.lastChange?.at === p.since) for (const what of p.problems) this.violate('P2', what);
  }

  private violate(property: Violation['property'], what: string): void {
    if (this.violations.some((v) => v.property === property)) return;
    this.violations.push({ property, atMs: this.ms(), what });
    this.trace.push(`${this.ms()} ms: VIOLATION ${property}: ${what}`);
  }

  // ---- time ----

  private nextEvent(until: Ns): Ns {
    let t = until;
    const consider = (x: Ns) => {
      if (x >= this.now && x < t) t = x;
    };
    consider(this.nextWrite);
    for (const i of [0, 1] as const) {
      const n = this.nodes[i];
      if (!this.running(i)) continue;
      consider(n.nextBeat);
      if (n.inbox.length > 0) consider(n.nextDrain);
      for (const at of n.timers.values()) consider(at < this.now ? this.now : at);
    }
    for (const f of this.inFlight) consider(f.frame.at);
    for (const r of this.replays) consider(r.next);
    if (this.pendingFence.length > 0) consider(this.now);
    return t;
  }

  private handleDue(): void {
    this.steps++;
    while (this.pendingFence.length > 0) {
      const i = this.pendingFence.shift()!;
      this.feed(i, { type: 'fence-done', now: this.now, fenced: true });
    }
    // Frames that arrived.
    for (let k = 0; k < this.inFlight.length;) {
      const f = this.inFlight[k]!;
      if (f.frame.at > this.now) {
        k++;
        continue;
      }
      this.inFlight.splice(k, 1);
      this.arrive(f.to, f.frame);
    }
    for (const r of this.replays) {
      if (r.next > this.now) continue;
      const c = r.frames[r.k % r.frames.length]!;
      const n = this.nodes[r.to];
      if (n.cable[r.iface]) {
        // The known limit of a replay window (src/wire/replay-window.ts): a receiver started after the capture has
        // no memory of those frames, and a captured run replayed in order reads as a live sender.
        if (c.at < n.startedAt) n.forgotUntil = this.now + ms(this.o.failoverMs);
        this.arrive(r.to, { iface: r.iface, from: c.info, at: this.now });
      }
      r.k++;
      r.next = this.now + ms(50);
    }
    for (let k = this.replays.length - 1; k >= 0; k--) if (this.replays[k]!.until <= this.now) this.replays.splice(k, 1);
    for (const i of [0, 1] as const) {
      const n = this.nodes[i];
      if (!this.running(i)) continue;
      if (n.inbox.length > 0 && n.nextDrain <= this.now) this.drain(i);
      // Before a deadline is judged, what waits is read (src/runtime/pair/core-timers.ts).
      const due = [...n.timers].filter(([, at]) => at <= this.now);
      if (due.length > 0 && n.inbox.length > 0) this.drain(i);
      for (const [name, at] of due) {
        if (n.timers.get(name) !== at) continue;
        n.timers.delete(name);
        this.feed(i, { type: 'timer', now: this.now, name: name as never });
      }
      if (n.nextBeat <= this.now) {
        this.beat(i);
        n.nextBeat = this.now + ms(this.o.intervalMs);
      }
    }
    if (this.nextWrite <= this.now) {
      this.clients();
      this.nextWrite = this.now + WRITE_EVERY;
    }
  }

  /** A node sends one heartbeat on every interface with carrier (seed 001), as its runtime advertises. */
  private beat(i: 0 | 1): void {
    const n = this.nodes[i];
    const s = n.state;
    const to = (1 - i) as 0 | 1;
    for (const iface of MODEL_IFACES) {
      if (!this.carrier(i, iface)) continue;
      n.seq += 1n;
      const info: HeartbeatInfo = { ...contender(s), name: `n${i + 1}`, holdsShared: n.holdsShared, bootId: n.bootId, sequence: n.seq };
      const log = this.captured[iface][i]!;
      log.push({ info, at: this.now });
      if (log.length > 64) log.shift();
      if (this.dropped.has(iface)) continue;
      if (this.lossy.has(iface) && this.random() < 0.5) continue;
      const delay = ms(0.2 + this.random() * 0.5) + (this.delayed.get(iface) ?? 0n);
      this.inFlight.push({ to, frame: { iface, from: info, at: this.now + delay } });
    }
  }

  /** A frame reaches a node's interface: queued (read at once when it is news, else on the drain tick). */
  private arrive(i: 0 | 1, f: Frame): void {
    const n = this.nodes[i];
    if (!n.up || !this.carrier(i, f.iface)) return;
    if (n.inbox.length >= INBOX_LIMIT) return; // the socket's queue is full: the kernel drops it
    n.inbox.push(f);
    const last = n.lastRead[f.iface];
    const news =
      !last ||
      last.role !== f.from.role ||
      last.term !== f.from.term ||
      last.stalled !== f.from.stalled ||
      last.yielding !== f.from.yielding ||
      last.health !== f.from.health ||
      last.holdsShared !== f.from.holdsShared ||
      last.bootId !== f.from.bootId;
    if (news) n.nextDrain = this.now;
  }

  /** Reads the queue as production does: per interface, the newest frame first; older ones superseded once one passes. */
  private drain(i: 0 | 1): void {
    const n = this.nodes[i];
    const batch = n.inbox.splice(0);
    n.nextDrain = this.now + ms(this.o.intervalMs * 2.5);
    const byIface = new Map<ModelIface, Frame[]>();
    for (const f of batch) byIface.set(f.iface, [...(byIface.get(f.iface) ?? []), f]);
    const order = [...byIface.values()].sort((a, b) => Number(a[a.length - 1]!.at - b[b.length - 1]!.at));
    for (const list of order) {
      let k = list.length - 1;
      for (; k >= 0; k--) {
        const f = list[k]!;
        if (n.replay.check(f.from.nodeId, f.from.bootId, f.from.sequence)) {
          n.lastRead[f.iface] = f.from;
          this.feed(i, { type: 'heartbeat', now: f.at, readAt: this.now, iface: f.iface, from: f.from });
          break;
        }
      }
      if (k > 0 && !this.o.forgetSuperseded) {
        const accepted = list[k]!.from;
        for (const f of list.slice(0, k)) {
          if (f.from.nodeId === accepted.nodeId && f.from.sequence < accepted.sequence) n.replay.record(f.from.nodeId, f.from.bootId, f.from.sequence);
        }
      }
    }
  }

  /** Clients write through the node the switch sends them to; the active node's table reaches the standby over the sync cable. */
  private clients(): void {
    const o = this.owner;
    if (o !== undefined) {
      const n = this.nodes[o];
      if (this.running(o) && n.state.role === 'active' && n.holdsShared && n.cable[CLIENT]) {
        n.data = ++this.writes;
        n.lastWriteAt = this.now;
        if (this.splitSince !== undefined) n.wroteSinceSplit = true;
      }
    }
    const [a, b] = [0, 1].map((i) => this.nodes[i]!.state.role === 'active');
    if (a !== b && this.running(0) && this.running(1) && this.carrier(0, SYNC) && this.carrier(1, SYNC)) {
      const src = a ? 0 : 1;
      const dst = this.nodes[1 - src]!;
      if (dst.state.role === 'inactive') dst.data = this.nodes[src].data;
    }
  }

  // ---- the properties checked after every event ----

  private canHear(): boolean {
    if (!this.running(0) || !this.running(1)) return false;
    return MODEL_IFACES.some(
      (f) => this.carrier(0, f) && this.carrier(1, f) && !this.dropped.has(f) && !this.lossy.has(f) && (this.delayed.get(f) ?? 0n) < ms(this.o.failoverMs / 2),
    );
  }

  private check(): void {
    this.judgePending();
    const [a, b] = this.nodes.map((n) => n.state.role === 'active');
    // The split: the time from which both are active (from either one's view), for P2's "served since".
    if (a && b) {
      if (this.splitSince === undefined) {
        this.splitSince = this.now;
        for (const n of this.nodes) n.wroteSinceSplit = false;
        for (const n of this.nodes) n.stoppedSinceSplit = false;
      }
      // Stopped long enough to matter: longer than the failover time (a shorter stop is no stale table).
      for (const i of [0, 1] as const) {
        if (!this.running(i) && this.now - this.nodes[i].stoppedAt > ms(this.o.failoverMs)) this.nodes[i].stoppedSinceSplit = true;
      }
    } else this.splitSince = undefined;

    const allowance1 = ms(this.o.failoverMs + 3 * this.o.intervalMs);
    if (a && b && this.canHear()) {
      this.bothActiveSince ??= this.now;
      if (this.now - this.bothActiveSince > allowance1)
        this.violate('P1', `both active for ${Number(this.now - this.bothActiveSince) / 1e6} ms while they could hear each other`);
    } else this.bothActiveSince = undefined;

    const candidate = ([0, 1] as const).some((i) => {
      const n = this.nodes[i];
      return (
        this.running(i) &&
        this.now - n.startedAt >= ms(this.o.initialSilenceMs) &&
        MODEL_IFACES.every((f) => f === SYNC || this.carrier(i, f)) &&
        n.forgotUntil <= this.now
      );
    });
    // Serving: active and running (a frozen or powered-off active node serves nobody).
    const serving = ([0, 1] as const).some((i) => this.running(i) && this.nodes[i].state.role === 'active');
    const allowance3 = ms(2 * this.o.failoverMs + 3 * this.o.intervalMs);
    if (!serving && candidate) {
      this.noneActiveSince ??= this.now;
      if (this.now - this.noneActiveSince > allowance3)
        this.violate('P3', `no running active node for ${Number(this.now - this.noneActiveSince) / 1e6} ms while a healthy node could serve`);
    } else this.noneActiveSince = undefined;
  }
}

/** A sequence as lines a person can read (a counterexample). */
export function describe(actions: readonly TimedAction[]): string {
  let at = 3000;
  return actions
    .map((t) => {
      at += t.gapMs;
      return `  at ${at} ms: ${JSON.stringify(t.action)}`;
    })
    .join('\n');
}
