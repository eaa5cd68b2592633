/**
 * DOC: the sync engine: who sends state to whom
 *
 * The active node is the source (source.ts), the standby the sink
 * (sink.ts); the failover runtime sets the role. Over the link (link.ts)
 * the protocol is:
 *
 *   both    state {role, epoch, seq}                 when the link comes up and on a role change
 *   sink    request {mode: full}                     a node that starts or joins asks for everything
 *   sink    request {mode: resume, epoch, after}     after a link outage: only what it missed
 *   source  snapshot-begin {id, epoch, seq}           then snapshot-chunk {id, provider, count, body|data}
 *   source  snapshot-end {id, counts}                the sink replaces its copies only now
 *   source  update {seq, provider, count, body|data}  live changes, numbered, also during a snapshot
 *   sink    ack {applied}                            the source knows the sink's lag
 *   source  digest {seq, tables} / sink digest-result  table drift, shown on both nodes
 *
 * The engine routes messages to the side that matches the role, keeps what
 * status shows across role changes, and answers the runtime (commit before
 * a takeover, heartbeat fields).
 *
 * Active/Active (seed 000: both members serve and synchronise both ways):
 * a serving member runs a source and a sink at once ("dual"), for the
 * system state and the sessions; messages go to the side their type is
 * for. Who overwrites whom when the channel comes up is the leader's call
 * (the member with the most recent state, src/core/leader.ts): the other
 * member asks the leader for everything, the leader follows the other from
 * its current number on. The kernel's connection table is not synchronised
 * in this mode: each member carries its own flows (docs/cluster.md).
 */
import type { SyncStatus } from '../wire/heartbeat-frame.js';
import type { SyncMessage } from '../wire/sync-frame.js';
import type { SyncLink, SyncLog } from './link.js';
import type { Provider } from './provider.js';
import { Sink } from './sink.js';
import { Source } from './source.js';
import type { DriftTables, FullTransfer, SideContext, SyncRole, SyncStatusView } from './sync-types.js';

export type { SyncRole, SyncStatusView } from './sync-types.js';

const TO_SINK = new Set(['snapshot-begin', 'snapshot-chunk', 'snapshot-end', 'update', 'digest']);

export class SyncEngine {
  private source: Source | undefined;
  private sink: Sink | undefined;
  private peer: { role: SyncRole; epoch: unknown; seq: number } | null = null;
  /** Active/Active: whether this member leads (null: not known yet; the sink waits for it). */
  private leader: boolean | null = null;
  private readonly dualCtx: SideContext | undefined;
  private lastFull: FullTransfer | null = null;
  private lastDrift: SyncStatusView['drift'] = null;
  private readonly ctx: SideContext;
  /** Called when what the heartbeats should say changed. */
  onChange: () => void = () => undefined;

  constructor(
    private readonly link: SyncLink,
    private readonly providers: Provider[],
    private readonly log: SyncLog,
    mode: 'active-passive' | 'active-active' = 'active-passive',
  ) {
    this.ctx = {
      link,
      providers,
      log,
      changed: () => this.onChange(),
      fullTransfer: (t: FullTransfer) => (this.lastFull = t),
      drift: (tables: DriftTables) => (this.lastDrift = { at: new Date().toISOString(), tables }),
    };
    // Each member carries its own flows in Active/Active: the connection table is not exchanged.
    if (mode === 'active-active') this.dualCtx = { ...this.ctx, providers: providers.filter((p) => p.name !== 'conntrack') };
    link.on('up', () => {
      this.peer = null;
      this.announce();
      this.onChange();
    });
    link.on('down', () => {
      this.peer = null;
      this.source?.linkDown();
      this.sink?.linkDown(link.unreachable);
      this.onChange();
    });
    link.on('message', (m: SyncMessage) => this.receive(m));
  }

  get role(): SyncRole {
    return this.source && this.sink ? 'dual' : this.source ? 'source' : this.sink ? 'sink' : 'idle';
  }

  provider(name: string): Provider | undefined {
    return this.providers.find((p) => p.name === name);
  }

  /** The failover runtime's role: active -> source, inactive -> sink (Active/Active: active -> both). */
  async setRole(active: boolean): Promise<void> {
    if (this.dualCtx) return this.setDual(active);
    if (active && !this.source) {
      await this.sink?.stop();
      this.sink = undefined;
      const source = new Source(this.ctx);
      this.source = source;
      await source.start();
    } else if (!active && !this.sink) {
      this.source?.stop();
      this.source = undefined;
      this.sink = new Sink(this.ctx);
      this.log.log('info', 'sync_role', { role: 'sink' });
      if (this.peer?.role === 'source') this.sink.follow(this.peer.epoch, this.peer.seq);
    } else {
      return;
    }
    this.announce();
    this.onChange();
  }

  private async setDual(active: boolean): Promise<void> {
    const ctx = this.dualCtx!;
    if (!this.sink) {
      this.sink = new Sink(ctx);
      this.log.log('info', 'sync_role', { role: 'sink' });
    }
    if (active && !this.source) {
      this.source = new Source(ctx);
      await this.source.start();
    } else if (!active && this.source) {
      this.source.stop();
      this.source = undefined;
    } else return;
    this.announce();
    this.followPeer();
    this.onChange();
  }

  /** Active/Active: the cluster layer says whether this member leads. */
  setLeader(leader: boolean | null): void {
    if (this.leader === leader) return;
    this.leader = leader;
    this.followPeer();
  }

  /** Starts following the peer's source: A/P always; A/A once it is known who leads. */
  private followPeer(): void {
    const p = this.peer;
    const k = this.sink;
    if (!p || !k || (p.role !== 'source' && p.role !== 'dual')) return;
    if (!this.dualCtx) return k.follow(p.epoch, p.seq);
    if (k.appliedEpoch === p.epoch && (k.inSync || k.receiving)) return;
    if (this.leader === null) return;
    if (this.leader) k.startFrom(p.epoch, p.seq);
    else k.follow(p.epoch, p.seq);
  }

  /** Before the claim of the shared addresses (the runtime's commit-state effect). */
  async commitForTakeover(peerSequence: number): Promise<Record<string, unknown>> {
    if (this.sink) return this.sink.commit(peerSequence);
    const fields = { tookMs: 0, inSync: false, neverSynced: true, note: 'this node was not following a source (it just started)' };
    this.log.log('warn', 'state_committed', fields);
    return fields;
  }

  /** `tandem resync`: a sink asks for a full transfer; a source sends one. */
  resync(): { requested: boolean; why?: string } {
    if (!this.link.up) return { requested: false, why: `the sync channel is down (${this.link.unreachable ?? 'unknown'})` };
    if (this.sink) {
      this.sink.request(true);
      return { requested: true };
    }
    if (this.source) {
      void this.source.sendFull();
      return { requested: true };
    }
    return { requested: false, why: 'this node has no role yet' };
  }

  private announce(): void {
    this.link.send({ type: 'state', role: this.role, epoch: this.source?.epoch ?? null, seq: this.source?.seq ?? 0 });
  }

  private receive(m: SyncMessage): void {
    try {
      if (m.type === 'state') {
        this.peer = { role: m['role'] as SyncRole, epoch: m['epoch'], seq: Number(m['seq']) || 0 };
        this.followPeer();
        return;
      }
      if (this.source && this.sink) {
        if (TO_SINK.has(m.type)) this.sink.handle(m);
        else this.source.handle(m);
      } else if (this.source) this.source.handle(m);
      else if (this.sink) this.sink.handle(m);
    } catch (e) {
      this.log.log('error', 'sync_message_refused', { type: m.type, error: (e as Error).message });
    }
  }

  /** What the heartbeats carry. */
  heartbeatFields(): { syncStatus: SyncStatus; syncSequence: bigint } {
    return { syncStatus: this.syncStatus(), syncSequence: BigInt(this.source?.seq ?? this.sink?.applied ?? 0) };
  }

  private syncStatus(): SyncStatus {
    if (this.source && this.sink) return this.sink.status(this.link.up);
    if (this.source) return this.link.up ? 'in-sync' : 'out-of-sync';
    if (this.sink) return this.sink.status(this.link.up);
    return 'unknown';
  }

  /**
   * The connections this node carries for others, the count that decides who
   * is active while the sync link is down: the source's table (the kernel's,
   * less the nodes' own flows such as this very channel); a standby carries
   * none, though its kernel holds the copies.
   */
  carriedConnections(): number {
    return this.source ? (this.provider('conntrack')?.count() ?? 0) : 0;
  }

  status(): SyncStatusView {
    const s = this.source;
    const k = this.sink;
    return {
      enabled: true,
      role: this.role,
      status: this.syncStatus(),
      channel: this.link.up ? 'up' : 'down',
      peerUnreachable: this.link.unreachable,
      epoch: s ? s.epoch : (k?.appliedEpoch ?? null),
      sequence: s ? s.seq : (k?.applied ?? 0),
      lag: s ? s.seq - s.peerApplied : k ? Math.max(0, k.announced - k.applied) : 0,
      lastFullTransfer: this.lastFull,
      sendingFull: s?.sending ?? false,
      drift: this.lastDrift,
      providers: Object.fromEntries(
        this.providers.map((p) => [p.name, { count: p.count(), ...(p.breakdown?.() ?? {}), ...p.counters, persistent: p.persistent }]),
      ),
    };
  }

  async stop(): Promise<void> {
    this.source?.stop();
    await this.sink?.stop();
    for (const p of this.providers) p.close();
  }
}
