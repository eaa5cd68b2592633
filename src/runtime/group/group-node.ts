/**
 * DOC: a member of a cluster on Corosync (three and more members, active/active behind a load balancer)
 *
 * Runs (or attaches to) Corosync, joins the cluster's process group and
 * feeds its views and messages to the group core (src/core/group.ts), which
 * decides; this file carries out what it says: sends, applies changes to
 * the stores and the cluster definition, sends and installs state
 * transfers. Every write (a store entry, a cluster-wide change) is a
 * message in the group's total order, applied on every member at the same
 * point; the caller is answered when it has been applied here. While
 * Corosync is down the member rejoins every half second.
 */
import { groupName } from '../../cluster/corosync-conf.js';
import type { NodeConfig } from '../../cluster/config-file.js';
import { engineOf } from '../../cluster/membership.js';
import type { ClusterStore, StoreContent } from '../../cluster/store.js';
import { GroupCore, type GroupAction, type GroupMsg } from '../../core/group.js';
import { CpgGroup, MAX_CPG_MESSAGE } from '../../io/cpg-group.js';
import type { ClusterControl, OrderedOp } from '../cluster-service/cluster-control.js';
import { CorosyncRunner } from './corosync-runner.js';
import { GroupState, type GroupChange, type StatePart } from './group-state.js';
import type { Logger } from '../logging/log.js';

const REJOIN_MS = 500;
const BATCH_BYTES = MAX_CPG_MESSAGE / 4;

/** Several messages of one sender in one Corosync message, taken in their order. */
interface Batch {
  t: 'batch';
  msgs: GroupMsg[];
}

/** The members quorum counts besides those present: the ones that have joined (node ids). */
function counted(s: StoreContent): number[] {
  return (s.cluster?.members ?? []).filter((m) => m.joined).map((m) => m.id);
}
const CONFIRM_MS = 10_000;

interface Waiting {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class GroupNode {
  readonly core: GroupCore;
  readonly state: GroupState;
  readonly runner: CorosyncRunner;
  private group: CpgGroup | undefined;
  private rejoin: NodeJS.Timeout | undefined;
  private readonly waiting = new Map<string, Waiting>();
  private counter = 0;
  private stopped = false;
  private outbox: GroupMsg[] = [];
  private outboxBytes = 0;
  control!: ClusterControl;
  /** Called after whatever may change whether this member serves (a view, quorum, a transfer, the connection). */
  onChange: () => void = () => undefined;

  constructor(
    private readonly config: NodeConfig,
    private readonly store: ClusterStore,
    private readonly log: Logger,
  ) {
    const c = store.value.cluster!;
    if (engineOf(c) !== 'corosync') throw new Error(`cluster ${c.name} runs on tandem's heartbeats, not Corosync`);
    this.state = new GroupState(config.stateDir);
    this.core = new GroupCore(config.node.id, counted(store.value), this.state.savedSeq());
    this.runner = new CorosyncRunner(config.stateDir, config.corosync, Buffer.from(store.value.key!, 'hex'), log);
  }

  private plan(content: StoreContent = this.store.value) {
    const c = content.cluster!;
    return this.runner.plan(
      c.name,
      c.members.map((m) => ({ id: m.id, name: m.name, address: m.address })),
    );
  }

  start(): void {
    this.runner.start(this.plan());
    this.join();
  }

  get connected(): boolean {
    return this.group !== undefined;
  }

  private join(): void {
    this.rejoin = undefined;
    if (this.stopped) return;
    try {
      this.group = CpgGroup.join(groupName(this.store.value.cluster!.name), {
        view: (members) => {
          this.run(this.core.onView(members.map((m) => ({ nodeid: m.nodeid, pid: m.pid }))));
          this.onChange();
        },
        message: (nodeid, _pid, data) => this.onMessage(nodeid, data),
        error: (e) => {
          this.group = undefined;
          this.log.log('error', 'group_connection_lost', { error: e.message });
          this.run(this.core.onView([]));
          this.onChange();
          this.rejoin = setTimeout(() => this.join(), REJOIN_MS);
        },
      });
      this.log.log('info', 'group_joined', { group: this.group.name, nodeid: this.group.nodeid });
    } catch (e) {
      if ((e as { code?: string }).code !== 'ECONNREFUSED') this.log.log('warn', 'group_join_failed', { error: (e as Error).message });
      this.rejoin = setTimeout(() => this.join(), REJOIN_MS);
    }
  }

  private onMessage(from: number, data: Buffer): void {
    let msg: GroupMsg | Batch;
    try {
      msg = JSON.parse(data.toString('utf8')) as GroupMsg | Batch;
    } catch {
      this.log.log('warn', 'group_message_invalid', { from, bytes: data.length });
      return;
    }
    if (msg.t === 'batch') for (const m of msg.msgs) this.run(this.core.onMessage(from, m));
    else this.run(this.core.onMessage(from, msg));
  }

  /**
   * Changes written in one turn of the event loop leave as one Corosync message (in order): under many
   * concurrent writers the ring carries a few large messages instead of many small ones.
   */
  private post(msg: GroupMsg, size: number): void {
    if (this.outboxBytes + size > BATCH_BYTES) this.flushOutbox();
    this.outbox.push(msg);
    this.outboxBytes += size;
    if (this.outbox.length === 1) setImmediate(() => this.flushOutbox());
  }

  private flushOutbox(): void {
    const msgs = this.outbox.splice(0);
    this.outboxBytes = 0;
    if (msgs.length === 1) this.send(msgs[0]!);
    else if (msgs.length > 1) this.send({ t: 'batch', msgs });
  }

  private send(msg: GroupMsg | Batch): void {
    const data = Buffer.from(JSON.stringify(msg));
    if (data.length > MAX_CPG_MESSAGE) throw new Error(`a group message of ${data.length} bytes (${msg.t})`);
    this.group?.send(data);
  }

  private run(actions: GroupAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.send(a.msg);
          break;
        case 'send-state': {
          // Taken now, before the next delivery: exactly the state at the point the core settled.
          const parts = this.state.snapshot(this.store.value.cluster!);
          parts.forEach((body, i) => this.send({ t: 'state', key: a.key, to: a.to, i, n: parts.length, seq: a.seq, body }));
          this.log.log('info', 'group_state_sent', {
            to: a.to,
            parts: parts.length,
            seq: a.seq,
            config: this.state.config.count(),
            sessions: this.state.sessions.count(),
          });
          break;
        }
        case 'apply':
          this.settle(a.id, () => this.apply(a.body as GroupChange));
          break;
        case 'skip':
          if (a.from === this.config.node.id)
            this.settle(a.id, () => {
              throw new Error(
                `not applied: this member did not hold the cluster state when the change was delivered (${this.core.quorate ? 'it was receiving it' : 'no quorum'})`,
              );
            });
          break;
        case 'install':
          this.install(a.parts as StatePart[], a.then);
          break;
        case 'event':
          // After this batch of actions (the `ready` goes first).
          if (a.name === 'state_installed' || a.name === 'state_elected') setImmediate(() => this.markJoined());
          this.log.log(a.name === 'quorum_lost' ? 'warn' : 'info', `group_${a.name}`, a.fields);
          this.onChange();
          break;
      }
    }
  }

  /** Applies a change and answers whoever here is waiting for it (its result, or its refusal). */
  private settle(id: string, apply: () => unknown): void {
    const w = this.waiting.get(id);
    let result: unknown;
    let error: Error | undefined;
    try {
      result = apply();
    } catch (e) {
      error = e as Error;
    }
    if (!w) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    if (error) w.reject(error);
    else w.resolve(result);
  }

  private apply(c: GroupChange): unknown {
    if (c.k === 'store') {
      this.state.applyStore(c);
      if (c.store === 'config') this.state.saveSeq(this.core.seq);
      return { stored: true };
    }
    const after = this.control.applyOrdered(c.op as OrderedOp, c.args);
    this.state.saveSeq(this.core.seq);
    return after.cluster;
  }

  /** Synchronous: the next delivery must find the installed state. */
  private install(parts: StatePart[], then: { id: string; from: number; body: unknown }[]): void {
    const cluster = this.state.install(parts);
    const before = this.store.value;
    if (cluster.revision !== before.cluster?.revision || JSON.stringify(cluster) !== JSON.stringify(before.cluster)) {
      if (!cluster.members.some((m) => m.name === before.me)) {
        // Removed while it was away: it becomes standalone, as if the removal had reached it in order.
        this.log.log('warn', 'group_state_installed', {
          removed: `the cluster's definition (revision ${cluster.revision}) no longer has member ${before.me}: this node becomes standalone`,
        });
        this.control.applyOrdered('remove-member', { name: before.me! });
      } else {
        this.store.write((s) => ({ ...s, cluster }));
        this.membersChanged(this.store.value);
      }
    }
    for (const c of then) this.settle(c.id, () => this.apply(c.body as GroupChange));
    this.state.saveSeq(this.core.seq);
    this.onChange();
  }

  /** The members changed (ordered, or with a state transfer): Corosync's node list and the quorum follow. */
  membersChanged(after: StoreContent): void {
    this.run(this.core.setCounted(counted(after)));
    this.runner.reload(this.plan(after)).catch((e: Error) => this.log.log('error', 'corosync_reload_failed', { error: e.message }));
  }

  /** A member that holds the cluster state for the first time says so to all: it counts for quorum from now on. */
  private markJoined(): void {
    const me = this.store.value.cluster?.members.find((m) => m.name === this.store.value.me);
    if (!me || me.joined) return;
    this.request({ k: 'cluster', op: 'mark-joined', args: { name: me.name } }).catch((e: Error) =>
      this.log.log('warn', 'group_join_failed', { error: `marking ${me.name} joined: ${e.message}` }),
    );
  }

  /** One change through the total order; resolves with its result here once applied. */
  request(change: GroupChange): Promise<unknown> {
    if (!this.group) return Promise.reject(new Error('this member is not connected to Corosync (see corosync_exited and group_connection_lost in the log)'));
    if (!this.core.holdsState) {
      const why = this.core.quorate
        ? 'it is still receiving the cluster state'
        : `it has no quorum (${this.core.view.length} of ${this.core.configured} members in its group, ${this.core.quorum} needed)`;
      return Promise.reject(new Error(`this member takes no writes: ${why}`));
    }
    if (change.k === 'store' && (change.key.length === 0 || change.key.length > 256))
      return Promise.reject(new Error(`${change.store}: a key is 1 to 256 characters`));
    const size = JSON.stringify(change).length;
    if (size > BATCH_BYTES) return Promise.reject(new Error(`the change is ${size} bytes as JSON; one change carries at most ${BATCH_BYTES}`));
    const id = `${this.config.node.id}:${process.pid}:${++this.counter}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the change was not delivered within ${CONFIRM_MS} ms: the group is congested or Corosync is down`));
      }, CONFIRM_MS);
      this.waiting.set(id, { resolve, reject, timer });
      // Its envelope adds the id and fewer than 32 bytes: the change is not serialised again to measure it.
      this.post({ t: 'change', id, body: change }, size + id.length + 32);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.rejoin) clearTimeout(this.rejoin);
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new Error('tandemd is stopping'));
    }
    this.waiting.clear();
    this.group?.close();
    this.group = undefined;
    await this.runner.stop();
    this.state.close();
  }
}
