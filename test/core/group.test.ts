/**
 * The replicated state over ordered delivery, against a simulated process group: one delivery
 * order per partition, views, and members whose state is the list of change ids they applied (so
 * a gap, a duplicate or a reordering shows).
 */
import test from 'ava';
import { GroupCore, type GroupAction, type GroupMsg } from '../../src/core/group.js';

interface Sim {
  core: GroupCore;
  applied: string[];
  events: string[];
  skipped: string[];
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

class Bus {
  readonly m = new Map<number, Sim>();
  private queue: { comp: number[]; from: number; msg: GroupMsg | null; view?: number[] }[] = [];
  private pid = 100;
  private pids = new Map<number, number>();
  private counter = 0;
  readonly eagerWriters = new Set<number>();

  add(id: number, configured: number, seq = 0, applied: string[] = []): void {
    this.m.set(id, { core: new GroupCore(id, ids(configured), seq), applied: [...applied], events: [], skipped: [] });
    this.pids.set(id, this.pid++);
  }

  /** A new view for one component (a partition's side, or everyone). */
  view(comp: number[]): void {
    this.queue.push({ comp, from: 0, msg: null, view: comp });
  }

  change(from: number, comp: number[]): string {
    const id = `${from}:${++this.counter}`;
    this.queue.push({ comp, from, msg: { t: 'change', id, body: id } });
    return id;
  }

  run(limit = 100_000): void {
    for (let n = 0; this.queue.length > 0 && n < limit; n++) {
      const ev = this.queue.shift()!;
      for (const id of ev.comp) {
        const s = this.m.get(id)!;
        const acts = ev.view ? s.core.onView(ev.view.map((x) => ({ nodeid: x, pid: this.pids.get(x)! }))) : s.core.onMessage(ev.from, ev.msg!);
        this.act(id, s, ev.comp, acts);
      }
    }
    if (this.queue.length > 0) throw new Error('the bus did not settle');
  }

  private act(id: number, s: Sim, comp: number[], acts: GroupAction[]): void {
    for (const a of acts) {
      if (a.type === 'send') this.queue.push({ comp, from: id, msg: a.msg });
      else if (a.type === 'send-state') {
        // Two parts, to show a multi-part transfer.
        const half = Math.ceil(s.applied.length / 2);
        const parts = [s.applied.slice(0, half), s.applied.slice(half)];
        parts.forEach((body, i) => this.queue.push({ comp, from: id, msg: { t: 'state', key: a.key, to: a.to, i, n: 2, seq: a.seq, body } }));
      } else if (a.type === 'apply') s.applied.push(String(a.body));
      else if (a.type === 'install') {
        s.applied = [...(a.parts as string[][]).flat(), ...a.then.map((c) => String(c.body))];
        // A member that writes the moment it holds the state (before its `ready` has gone out).
        if (this.eagerWriters.has(id)) this.change(id, comp);
      } else if (a.type === 'skip') s.skipped.push(a.id);
      else s.events.push(a.name);
    }
  }
}

test('cold start: the member with the most changes holds the state and the others take it', (t) => {
  const bus = new Bus();
  bus.add(1, 3, 1, ['a']);
  bus.add(2, 3, 3, ['a', 'b', 'c']);
  bus.add(3, 3, 0, []);
  bus.view([1, 2, 3]);
  bus.run();
  for (const id of ids(3)) {
    const s = bus.m.get(id)!;
    t.true(s.core.holdsState, `member ${id} holds the state`);
    t.deepEqual(s.applied, ['a', 'b', 'c']);
    t.is(s.core.seq, 3);
  }
  t.true(bus.m.get(2)!.events.includes('state_elected'));
  t.is(bus.m.get(1)!.core.leader, 1, 'the leader is the lowest node id holding the state');
});

test('a member joining during a stream of changes ends with every change once, in order', (t) => {
  const bus = new Bus();
  for (const id of ids(4)) bus.add(id, 4);
  bus.view([1, 2, 3]);
  bus.run();
  for (let i = 0; i < 20; i++) bus.change((i % 3) + 1, [1, 2, 3]);
  bus.run();
  // Member 4 joins; changes keep coming before, between and after its hellos and the transfer.
  bus.view([1, 2, 3, 4]);
  for (let i = 0; i < 30; i++) bus.change((i % 4) + 1, [1, 2, 3, 4]);
  bus.run();
  const ref = bus.m.get(1)!.applied;
  t.is(ref.filter((x) => !x.startsWith('4:')).length, 43, 'every change of the members holding the state, once');
  for (const id of ids(4)) t.deepEqual(bus.m.get(id)!.applied, ref, `member ${id}`);
  t.true(bus.m.get(4)!.core.holdsState);
  t.deepEqual(bus.m.get(1)!.core.holderIds, [1, 2, 3, 4], 'everyone knows the joiner holds the state');
  const own = bus.m.get(4)!.skipped.filter((x) => x.startsWith('4:'));
  t.is(own.length, 7, "the joiner's changes sent before it held the state were refused (here and everywhere)");
  t.false(ref.some((x) => own.includes(x)));
});

test('the donor leaving during the transfer: the next one sends from the new point', (t) => {
  const bus = new Bus();
  for (const id of ids(5)) bus.add(id, 5);
  bus.view([1, 2, 3, 4]);
  bus.run();
  for (let i = 0; i < 10; i++) bus.change((i % 4) + 1, [1, 2, 3, 4]);
  bus.run();
  bus.view([1, 2, 3, 4, 5]);
  // The view change that removes the donor (1) arrives before the hellos settle anything.
  bus.view([2, 3, 4, 5]);
  for (let i = 0; i < 10; i++) bus.change((i % 4) + 2, [2, 3, 4, 5]);
  bus.run();
  const ref = bus.m.get(2)!.applied;
  for (const id of [3, 4, 5]) t.deepEqual(bus.m.get(id)!.applied, ref, `member ${id}`);
  t.true(bus.m.get(5)!.core.holdsState);
  t.is(bus.m.get(5)!.core.leader, 2);
});

test("a partition 3|2: the two lose quorum and hold no state; healed, they take the three's", (t) => {
  const bus = new Bus();
  for (const id of ids(5)) bus.add(id, 5);
  bus.view(ids(5));
  bus.run();
  bus.view([1, 2, 3]);
  bus.view([4, 5]);
  bus.run();
  t.false(bus.m.get(4)!.core.quorate);
  t.false(bus.m.get(4)!.core.holdsState);
  t.true(bus.m.get(4)!.events.includes('quorum_lost'));
  t.true(bus.m.get(1)!.core.quorate && bus.m.get(1)!.core.holdsState);
  t.is(bus.m.get(4)!.core.leader, null, 'no leader without quorum');
  for (let i = 0; i < 10; i++) bus.change((i % 3) + 1, [1, 2, 3]);
  const lost = bus.change(4, [4, 5]);
  bus.run();
  t.true(bus.m.get(4)!.skipped.includes(lost), 'a change on the side without quorum is refused');
  bus.view(ids(5));
  bus.run();
  const ref = bus.m.get(1)!.applied;
  t.is(ref.length, 10);
  for (const id of ids(5)) {
    t.deepEqual(bus.m.get(id)!.applied, ref, `member ${id}`);
    t.true(bus.m.get(id)!.core.holdsState);
  }
  t.true(bus.m.get(5)!.events.includes('quorum_regained'));
});

test('every side without quorum: nobody holds the state until a majority meets again', (t) => {
  const bus = new Bus();
  for (const id of ids(5)) bus.add(id, 5);
  bus.view(ids(5));
  bus.run();
  bus.change(1, ids(5));
  bus.run();
  bus.view([1, 2]);
  bus.view([3, 4]);
  bus.view([5]);
  bus.run();
  for (const id of ids(5)) t.false(bus.m.get(id)!.core.holdsState, `member ${id}`);
  bus.view([1, 2, 3]);
  bus.run();
  for (const id of [1, 2, 3]) t.true(bus.m.get(id)!.core.holdsState, `member ${id} after a majority met`);
  t.deepEqual(bus.m.get(3)!.applied, ['1:1']);
});

test('quorum follows the joined members and those present', (t) => {
  const bus = new Bus();
  for (const id of ids(3)) bus.add(id, 3);
  bus.view([1, 2]);
  bus.run();
  t.true(bus.m.get(1)!.core.quorate, '2 of 3');
  const acts = bus.m.get(1)!.core.setCounted(ids(5));
  t.false(bus.m.get(1)!.core.quorate, '2 of 5');
  t.true(acts.some((a) => a.type === 'event' && a.name === 'quorum_lost'));
});

test('random partitions, merges and writes: the members holding the state always agree', (t) => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let round = 0; round < 200; round++) {
    const bus = new Bus();
    for (const id of ids(5)) bus.add(id, 5);
    let comps: number[][] = [ids(5)];
    bus.view(ids(5));
    for (let step = 0; step < 25; step++) {
      const r = rnd(10);
      if (r < 2) {
        // Split one component in two.
        const c = comps.splice(rnd(comps.length), 1)[0]!;
        const a = c.filter(() => rnd(2) === 0);
        const b = c.filter((x) => !a.includes(x));
        for (const part of [a, b])
          if (part.length > 0) {
            comps.push(part);
            bus.view(part);
          }
      } else if (r < 4 && comps.length > 1) {
        const a = comps.splice(rnd(comps.length), 1)[0]!;
        const b = comps.splice(rnd(comps.length), 1)[0]!;
        const merged = [...a, ...b].sort();
        comps.push(merged);
        bus.view(merged);
      } else {
        // A write, from a member that holds the state (the runtime refuses the others), also while views settle.
        if (rnd(2) === 0) bus.run();
        const c = comps[rnd(comps.length)]!;
        const from = c[rnd(c.length)]!;
        if (bus.m.get(from)!.core.holdsState) bus.change(from, c);
      }
      if (rnd(3) === 0) continue; // let the next step's view or write interleave with this one's delivery
      bus.run();
      for (const c of comps) {
        const holders = c.filter((id) => bus.m.get(id)!.core.holdsState);
        for (const id of holders.slice(1)) {
          if (JSON.stringify(bus.m.get(id)!.applied) !== JSON.stringify(bus.m.get(holders[0]!)!.applied)) {
            t.fail(`round ${round} step ${step}: members ${holders[0]} and ${id} hold different states`);
            return;
          }
          if (bus.m.get(id)!.core.leader !== bus.m.get(holders[0]!)!.core.leader) {
            t.fail(`round ${round} step ${step}: members ${holders[0]} and ${id} name different leaders`);
            return;
          }
        }
      }
    }
    comps = [ids(5)];
    bus.view(ids(5));
    bus.run();
    const ref = JSON.stringify(bus.m.get(1)!.applied);
    for (const id of ids(5)) {
      if (!bus.m.get(id)!.core.holdsState || JSON.stringify(bus.m.get(id)!.applied) !== ref) {
        t.fail(`round ${round}: member ${id} did not converge after the last merge`);
        return;
      }
    }
  }
  t.pass();
});

test('a member added but not yet started does not count until it appears', (t) => {
  const bus = new Bus();
  bus.add(1, 1);
  bus.view([1]);
  bus.run();
  t.true(bus.m.get(1)!.core.holdsState, 'one member alone holds the state');
  bus.add(2, 1);
  bus.view([1, 2]);
  bus.run();
  t.true(bus.m.get(1)!.core.quorate, '2 present of 2');
  t.true(bus.m.get(2)!.core.holdsState, 'the newcomer took the state');
  bus.m.get(1)!.core.setCounted([1, 2]);
  bus.m.get(2)!.core.setCounted([1, 2]);
  bus.view([1]);
  bus.run();
  t.false(bus.m.get(1)!.core.quorate, 'once joined, the second member counts: 1 of 2 is no quorum');
});

test('a joiner that writes the moment it holds the state: applied everywhere or nowhere', (t) => {
  const bus = new Bus();
  for (const id of ids(4)) bus.add(id, 4);
  bus.view([1, 2, 3]);
  bus.run();
  bus.eagerWriters.add(4);
  bus.view([1, 2, 3, 4]);
  bus.run();
  const ref = bus.m.get(1)!.applied;
  for (const id of ids(4)) t.deepEqual(bus.m.get(id)!.applied, ref, `member ${id}`);
  t.true(bus.m.get(4)!.skipped.length === 1 && !ref.includes(bus.m.get(4)!.skipped[0]!), 'its write before its ready was skipped by all, itself included');
  t.deepEqual(bus.m.get(4)!.core.holderIds, [1, 2, 3, 4]);
});

test('the leader holds the state the longest: a leader back from a restart does not take the role back', (t) => {
  const bus = new Bus();
  for (const id of ids(3)) bus.add(id, 3);
  bus.view([1, 2, 3]);
  bus.run();
  for (let i = 0; i < 5; i++) bus.change((i % 3) + 1, [1, 2, 3]);
  bus.run();
  t.is(bus.m.get(3)!.core.leader, 1);
  // Member 1 restarts: gone from the view, then back as a new process with its persisted count.
  bus.view([2, 3]);
  bus.run();
  t.is(bus.m.get(3)!.core.leader, 2);
  bus.add(1, 3, 0, []);
  bus.view([1, 2, 3]);
  bus.run();
  for (const id of ids(3)) t.is(bus.m.get(id)!.core.leader, 2, `member ${id}: fw-b keeps the role`);
  t.true(bus.m.get(1)!.core.holdsState);
  t.deepEqual(bus.m.get(1)!.applied, bus.m.get(2)!.applied);
});
