/**
 * DOC: the replicated state of a cluster of three and more members, over Corosync's ordered delivery
 *
 * Pure: fed the process group's views and messages in Corosync's order (the
 * same order on every member: virtual synchrony), it says what to send, what
 * to apply and when to install a transferred state. Every member that holds
 * the state ("synced") applies the same ordered changes, so all hold the
 * same; nothing here knows what a change means (group-node.ts does).
 *
 * After every view change each member announces (hello) whether it holds
 * the state and how many changes it has applied (`seq`). Once every
 * member's hello of this view is in, all compute the same:
 * - quorum: more than half of the members are in the view, counting every
 *   member that has joined and every one present (a member added but not
 *   yet started does not count until it appears); a view without it holds
 *   no state (nobody serves, nothing is written);
 * - if nobody holds the state (a cold start), the member with the highest
 *   seq (then the lowest node id) is elected to hold it;
 * - the donor is the lowest node id that holds it; it snapshots its state at
 *   exactly this point of the order and sends it to the others, which keep
 *   every change delivered from this point on and apply them after the
 *   snapshot: no gap, no duplicate. A view change before the transfer ends
 *   starts it again from the new point.
 * - the leader is the member holding the state the longest (since the
 *   lowest change count; then the lowest node id): a member back from a
 *   restart does not take the role back.
 * A change counts only when its sender holds the state (every member knows
 * who does, from the same hellos and `ready`s): a member refuses to write
 * while it does not, and a change it sent just before losing quorum is
 * skipped everywhere alike.
 */

export interface GroupMember {
  nodeid: number;
  pid: number;
}

export type GroupMsg =
  | { t: 'hello'; key: string; synced: boolean; seq: number; since?: number }
  | { t: 'state'; key: string; to: number[]; i: number; n: number; seq: number; body: unknown }
  | { t: 'ready'; key: string; seq: number }
  | { t: 'change'; id: string; body: unknown };

export type GroupAction =
  | { type: 'send'; msg: GroupMsg }
  /** Donor: snapshot the state now (before the next delivery) and send it as `state` messages. */
  | { type: 'send-state'; key: string; to: number[]; seq: number }
  | { type: 'apply'; id: string; from: number; body: unknown }
  /** A change delivered while this member holds no state: not applied here (its sender is told). */
  | { type: 'skip'; id: string; from: number }
  /** Replace the state with the snapshot's parts, then apply the changes kept since its point. */
  | { type: 'install'; parts: unknown[]; then: { id: string; from: number; body: unknown }[] }
  | { type: 'event'; name: 'quorum_lost' | 'quorum_regained' | 'state_elected' | 'state_installed' | 'state_requested'; fields: Record<string, unknown> };

interface Transfer {
  key: string;
  /** The donor. */
  from: number;
  parts: (unknown | undefined)[];
  got: number;
  n: number;
  seq: number;
  kept: { id: string; from: number; body: unknown }[];
}

export class GroupCore {
  private members: GroupMember[] = [];
  private key = '';
  private hellos = new Map<number, { synced: boolean; seq: number; since: number }>();
  private settled = false;
  private quorateNow = false;
  /** Who holds the state, and since which change (the order every member agrees on). */
  private holders = new Map<number, number>();
  private mySince = 0;
  private transfer: Transfer | undefined;
  private synced = false;
  private appliedSeq: number;

  private counted: Set<number>;

  constructor(
    readonly self: number,
    /** The members that have joined (node ids): quorum is more than half of them and of those present. */
    counted: readonly number[],
    /** Changes applied before this process started (the persistent state's count). */
    seq: number,
  ) {
    this.counted = new Set(counted);
    this.appliedSeq = seq;
  }

  /** Members that count towards quorum: the joined ones and whoever is present. */
  get configured(): number {
    const all = new Set(this.counted);
    for (const m of this.members) all.add(m.nodeid);
    return all.size;
  }

  get holdsState(): boolean {
    return this.synced;
  }

  get seq(): number {
    return this.appliedSeq;
  }

  get quorate(): boolean {
    return this.quorateNow;
  }

  get quorum(): number {
    return Math.floor(this.configured / 2) + 1;
  }

  get view(): readonly GroupMember[] {
    return this.members;
  }

  /** Who holds the state, as all members agree after the last settled view. */
  get holderIds(): number[] {
    return [...this.holders.keys()].sort((a, b) => a - b);
  }

  get leader(): number | null {
    if (!this.quorateNow || this.holders.size === 0) return null;
    // The longest holder leads (then the lowest ID): a member back from a restart does not take the role back.
    return [...this.holders].sort(([a, x], [b, y]) => x - y || a - b)[0]![0];
  }

  /** The member this one waits for the state from (null: not waiting). */
  get receivingFrom(): number | null {
    return this.transfer?.from ?? null;
  }

  setCounted(ids: readonly number[]): GroupAction[] {
    this.counted = new Set(ids);
    return this.checkQuorum();
  }

  private checkQuorum(): GroupAction[] {
    const was = this.quorateNow;
    this.quorateNow = this.members.length >= this.quorum;
    const out: GroupAction[] = [];
    if (was && !this.quorateNow) {
      out.push({ type: 'event', name: 'quorum_lost', fields: { members: this.members.length, quorum: this.quorum, configured: this.configured } });
      // Without quorum a member's state may fall behind the other side's: it takes theirs when they meet again.
      this.synced = false;
      this.holders.clear();
      this.transfer = undefined;
    } else if (!was && this.quorateNow && this.members.length > 0) {
      out.push({ type: 'event', name: 'quorum_regained', fields: { members: this.members.length, quorum: this.quorum, configured: this.configured } });
    }
    return out;
  }

  /** A configuration change of the process group (Corosync's confchg). */
  onView(members: GroupMember[]): GroupAction[] {
    this.members = [...members].sort((a, b) => a.nodeid - b.nodeid);
    this.key = this.members.map((m) => `${m.nodeid}.${m.pid}`).join(',');
    this.hellos = new Map();
    this.settled = false;
    const present = new Set(this.members.map((m) => m.nodeid));
    for (const h of [...this.holders.keys()]) if (!present.has(h)) this.holders.delete(h);
    // A transfer under way restarts from this view's point (its donor may be gone).
    this.transfer = undefined;
    const out = this.checkQuorum();
    if (this.members.some((m) => m.nodeid === this.self))
      out.push({ type: 'send', msg: { t: 'hello', key: this.key, synced: this.synced, seq: this.appliedSeq, since: this.mySince } });
    return out;
  }

  onMessage(from: number, msg: GroupMsg): GroupAction[] {
    switch (msg.t) {
      case 'hello':
        if (msg.key !== this.key || this.settled) return [];
        this.hellos.set(from, { synced: msg.synced, seq: msg.seq, since: msg.since ?? 0 });
        return this.members.every((m) => this.hellos.has(m.nodeid)) ? this.settle() : [];
      case 'state':
        return this.onState(msg);
      case 'ready':
        if (msg.key !== this.key || !this.quorateNow) return [];
        this.holders.set(from, msg.seq);
        if (from === this.self) this.mySince = msg.seq;
        return [];
      case 'change':
        return this.onChange(from, msg.id, msg.body);
    }
  }

  private settle(): GroupAction[] {
    this.settled = true;
    const out: GroupAction[] = [];
    if (!this.quorateNow) return out;
    this.holders = new Map([...this.hellos].filter(([, h]) => h.synced).map(([id, h]) => [id, h.since]));
    if (this.holders.size === 0) {
      const [elected, h] = [...this.hellos].sort(([a, x], [b, y]) => y.seq - x.seq || a - b)[0]!;
      this.holders.set(elected, h.seq);
      if (elected === this.self) {
        this.synced = true;
        this.mySince = h.seq;
        out.push({ type: 'event', name: 'state_elected', fields: { seq: this.appliedSeq, members: this.members.length } });
      }
    }
    const donor = Math.min(...this.holders.keys());
    const to = this.members.map((m) => m.nodeid).filter((id) => !this.holders.has(id));
    if (to.length === 0) return out;
    if (donor === this.self) out.push({ type: 'send-state', key: this.key, to, seq: this.appliedSeq });
    if (to.includes(this.self)) {
      this.transfer = { key: this.key, from: donor, parts: [], got: 0, n: -1, seq: 0, kept: [] };
      out.push({ type: 'event', name: 'state_requested', fields: { from: donor } });
    }
    return out;
  }

  private onState(msg: Extract<GroupMsg, { t: 'state' }>): GroupAction[] {
    const tr = this.transfer;
    if (!tr || msg.key !== tr.key || !msg.to.includes(this.self)) return [];
    if (tr.n < 0) {
      tr.n = msg.n;
      tr.seq = msg.seq;
      tr.parts = new Array<unknown>(msg.n);
    }
    if (msg.i < 0 || msg.i >= tr.n || tr.parts[msg.i] !== undefined) return [];
    tr.parts[msg.i] = msg.body;
    tr.got++;
    if (tr.got < tr.n) return [];
    this.transfer = undefined;
    this.synced = true;
    // Not a holder yet, here either: every member (this one too) counts it from its `ready` on, so a change
    // it sends before that is skipped everywhere alike.
    this.appliedSeq = tr.seq + tr.kept.length;
    // The same count its `ready` carries: its hellos say it even if a view change drops the `ready`.
    this.mySince = this.appliedSeq;
    return [
      { type: 'install', parts: tr.parts, then: tr.kept },
      { type: 'send', msg: { t: 'ready', key: tr.key, seq: this.appliedSeq } },
      { type: 'event', name: 'state_installed', fields: { parts: tr.n, seq: this.appliedSeq, keptChanges: tr.kept.length } },
    ];
  }

  private onChange(from: number, id: string, body: unknown): GroupAction[] {
    // Only a member holding the state writes: the same rule on every member, so all agree on what applied.
    if (!this.holders.has(from)) return [{ type: 'skip', id, from }];
    if (this.synced) {
      this.appliedSeq++;
      return [{ type: 'apply', id, from, body }];
    }
    if (this.transfer) {
      this.transfer.kept.push({ id, from, body });
      return [];
    }
    return [{ type: 'skip', id, from }];
  }
}
