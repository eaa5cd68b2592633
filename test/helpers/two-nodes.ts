/**
 * DOC: a discrete-event simulation of two failover cores exchanging heartbeats
 *
 * No network, no clock: each node's core gets the inputs the runtime would
 * give it (heartbeats on each interface whose cable is in on both ends and
 * that is not being dropped, link changes, timers it armed), in time order.
 * Used by the core's scenario and property tests.
 */
import { initialState, step } from '../../src/core/failover.js';
import { ms, type CoreState, type Effect, type FailoverConfig, type Input, type Ns } from '../../src/core/failover-types.js';

export const IFACES = ['eth0', 'eth1', 'eth2', 'eth3'] as const;
export const SYNC = 'eth3';

export function config(nodeId: number, over: Partial<FailoverConfig> = {}): FailoverConfig {
  return {
    nodeId,
    nodeType: nodeId === 1 ? 'master' : 'slave',
    failoverTimeMs: 300,
    initialSilenceMs: 1000,
    holdDownMs: 500,
    ifaces: IFACES.map((name) => ({ name, isSync: name === SYNC, monitored: name !== SYNC })),
    fence: false,
    ...over,
  };
}

export interface SimNode {
  state: CoreState;
  timers: Map<string, Ns>;
  effects: { at: Ns; effect: Effect }[];
  /** Our cable per interface (false = cut at this node). */
  cable: Record<string, boolean>;
  /** Frozen nodes (SIGSTOP) neither send nor process until thawed. */
  frozen: boolean;
  yieldingAdvertised: boolean;
  /** A node that has not started yet sends nothing. */
  started: boolean;
}

export class TwoNodes {
  now: Ns = 0n;
  readonly nodes: [SimNode, SimNode];
  /** Interfaces on which heartbeats are dropped by the switch (both directions). */
  readonly dropped = new Set<string>();
  private nextBeat: Ns = 0n;
  readonly log: { at: Ns; node: number; effect: Effect }[] = [];
  private seq = 0n;

  constructor(
    readonly intervalMs = 50,
    cfg: [FailoverConfig, FailoverConfig] = [config(1), config(2)],
    startOffsetMs = 0,
  ) {
    this.nodes = cfg.map((c): SimNode => ({
      state: initialState(c, 0n),
      timers: new Map(),
      effects: [],
      cable: Object.fromEntries(c.ifaces.map((i) => [i.name, true])),
      frozen: false,
      yieldingAdvertised: false,
      started: false,
    })) as unknown as [SimNode, SimNode];
    this.feed(0, { type: 'start', now: 0n });
    if (startOffsetMs === 0) this.feed(1, { type: 'start', now: 0n });
    else this.later = { at: ms(startOffsetMs), node: 1 };
  }

  private later: { at: Ns; node: number } | undefined;

  /** What a node's fence does when asked: succeed at once (the default), fail (policy stay-inactive), or hang until a test feeds the result. */
  readonly fenceOutcome: ['fenced' | 'failed' | 'hold', 'fenced' | 'failed' | 'hold'] = ['fenced', 'fenced'];

  feed(i: number, input: Input): void {
    const n = this.nodes[i]!;
    if (n.frozen && input.type !== 'link') return;
    if (input.type === 'start') n.started = true;
    if (!n.started) return;
    const t = step(n.state, input);
    n.state = t.state;
    for (const e of t.effects) {
      n.effects.push({ at: input.now, effect: e });
      this.log.push({ at: input.now, node: i, effect: e });
      if (e.type === 'arm-timer') n.timers.set(e.name, e.at);
    }
    if (t.effects.some((e) => e.type === 'fence')) {
      const outcome = this.fenceOutcome[i]!;
      if (outcome === 'fenced') this.feed(i, { type: 'fence-done', now: input.now, fenced: true });
      if (outcome === 'failed') this.feed(i, { type: 'fence-failed', now: input.now });
    }
  }

  /** Frames flow on an interface when both cables are in and the switch does not drop them. */
  flows(iface: string): boolean {
    return this.nodes[0].cable[iface]! && this.nodes[1].cable[iface]! && !this.dropped.has(iface);
  }

  canHear(): boolean {
    return !this.nodes[0].frozen && !this.nodes[1].frozen && IFACES.some((i) => this.flows(i));
  }

  cut(i: number, iface: string): void {
    this.nodes[i]!.cable[iface] = false;
    this.feed(i, { type: 'link', now: this.now, iface, up: false });
    // A cut cable takes carrier from the other end too (a point-to-point or switch port both see it only on the cut side;
    // the lab's sync cable is cross-over, so both ends lose it).
    if (iface === SYNC) {
      this.nodes[1 - i]!.cable[iface] = false;
      this.feed(1 - i, { type: 'link', now: this.now, iface, up: false });
    }
  }

  restore(i: number, iface: string): void {
    this.nodes[i]!.cable[iface] = true;
    this.feed(i, { type: 'link', now: this.now, iface, up: true });
    if (iface === SYNC) {
      this.nodes[1 - i]!.cable[iface] = true;
      this.feed(1 - i, { type: 'link', now: this.now, iface, up: true });
    }
  }

  /** Advances the clock to `untilMs`, delivering heartbeats and timers in order. */
  run(untilMs: number, onStep?: () => void): void {
    const until = ms(untilMs);
    while (this.now < until) {
      const candidates: Ns[] = [this.nextBeat, until];
      if (this.later) candidates.push(this.later.at);
      for (const n of this.nodes) for (const at of n.timers.values()) candidates.push(at);
      const next = candidates.filter((t) => t >= this.now).reduce((a, b) => (a < b ? a : b));
      this.now = next;
      if (this.later && this.later.at <= this.now) {
        this.feed(this.later.node, { type: 'start', now: this.now });
        this.later = undefined;
      }
      for (let i = 0; i < 2; i++) {
        const n = this.nodes[i]!;
        for (const [name, at] of [...n.timers]) {
          if (at <= this.now) {
            n.timers.delete(name);
            this.feed(i, { type: 'timer', now: this.now, name: name as never });
          }
        }
      }
      if (this.nextBeat <= this.now) {
        this.beat();
        this.nextBeat = this.now + ms(this.intervalMs);
      }
      onStep?.();
      if (this.now >= until) break;
    }
  }

  private beat(): void {
    for (let i = 0; i < 2; i++) {
      const from = this.nodes[i]!;
      const to = 1 - i;
      if (from.frozen || !from.started || !this.nodes[to]!.started) continue;
      const adv = [...from.effects].reverse().find((e) => e.effect.type === 'advertise')?.effect as
        { type: 'advertise'; yielding: boolean; health: number; term: number; stalled: boolean } | undefined;
      for (const iface of IFACES) {
        if (!this.flows(iface)) continue;
        this.feed(to, {
          type: 'heartbeat',
          now: this.now,
          iface,
          from: {
            nodeId: from.state.config.nodeId,
            name: `n${from.state.config.nodeId}`,
            nodeType: from.state.config.nodeType,
            role: from.state.role,
            connections: from.state.connections,
            health: adv?.health ?? from.state.config.ifaces.filter((x) => x.monitored).length,
            yielding: adv?.yielding ?? false,
            term: adv?.term ?? 0,
            stalled: adv?.stalled ?? false,
            holdsShared: this.sharedOwners().includes(i),
            bootId: 1n,
            sequence: ++this.seq,
          },
        });
      }
    }
  }

  roles(): [string, string] {
    return [this.nodes[0].state.role, this.nodes[1].state.role];
  }

  sharedOwners(): number[] {
    // Replays claim/release effects to find who holds the shared addresses now.
    const owners = new Set<number>();
    for (const l of this.log) {
      if (l.effect.type === 'claim-shared') owners.add(l.node);
      if (l.effect.type === 'release-shared') owners.delete(l.node);
    }
    return [...owners].sort();
  }
}
