/**
 * DOC: the flight recorder: what the node saw just before each role change, frozen to disk
 *
 * Bounded rings in memory: the last heartbeat arrivals per interface (who,
 * in which role, with how many connections and what health), and the last
 * happenings (link and monitor-target changes, admin commands, and every
 * logged event: sync channel, peers, decisions). At a role change the rings
 * are frozen into a record (monotonic instants turned into wall time once,
 * at the freeze) and written atomically (cluster/atomic-file.ts) into `stateDir/flight-recorder/`;
 * a second write a moment later adds what followed (the claim, the
 * release). The newest RECORDS_KEPT records are kept. `tandem why` reads
 * them (why.ts explains one in plain words).
 *
 * Recording a heartbeat costs a few stores into a preallocated ring: it
 * runs for every accepted heartbeat on the main loop.
 */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { writeFileAtomicAsync } from '../../cluster/atomic-file.js';
import { join } from 'node:path';
import type { Change, Input, StandingChange } from '../../core/failover-types.js';
import type { Level, LogFields, Logger } from '../logging/log.js';
import type { EventName } from '../logging/events.js';

export const RECORDS_KEPT = 20;
const ARRIVALS_PER_IFACE = 64;
const ARRIVALS_FROZEN = 40;
const HAPPENINGS = 120;
/** How long after a role change what follows (claim, release, takeover timings) is added to its record. */
const AFTER_MS = 1500;

export interface FrozenArrival {
  at: string;
  atMs: number;
  from: string;
  role: string;
  connections: number;
  health: number;
}
export interface Happening {
  at: string;
  atMs: number;
  kind: 'link' | 'targets' | 'admin' | 'event';
  what: string;
  fields?: LogFields;
}

export interface FlightRecord {
  version: 1;
  /** Ordinal of the record on this node (grows across restarts). */
  seq: number;
  node: string;
  config: { failoverTimeMs: number; heartbeatIntervalMs: number; holdDownMs: number; ifaces: { name: string; isSync: boolean; monitored: boolean }[] };
  /** A role change, or (with `what`) a change of standing: leader, drain, an administrator's bypass mode. */
  change: { from: string; to: string; reason: string; evidence: Change['evidence']; what?: StandingChange['what']; subject?: string; at: string; atMs: number };
  /** The role change before this one, when this process saw it (the hold-down counts from it). */
  previousChangeAtMs: number | null;
  peer: string | null;
  /** Oldest first, per heartbeat interface (an interface that heard nothing has an empty list). */
  heartbeats: Record<string, FrozenArrival[]>;
  /** The same in the moments after the change (added with `after`): on which interfaces the peer went on being heard. */
  heartbeatsAfter?: Record<string, FrozenArrival[]>;
  /** Oldest first: what happened before the change, and (after) in the moments that followed it. */
  before: Happening[];
  after: Happening[];
}

interface Arrival {
  at: bigint;
  from: string;
  role: string;
  connections: number;
  health: number;
}
interface RawHappening {
  at: bigint;
  kind: Happening['kind'];
  what: string;
  fields?: LogFields;
}

class Ring<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private count = 0;
  constructor(private readonly size: number) {
    this.items = new Array<T | undefined>(size);
  }
  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.size;
    if (this.count < this.size) this.count++;
  }
  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = this.count; i > 0; i--) out.push(this.items[(this.next - i + this.size) % this.size]!);
    return out;
  }
}

export interface RecorderOptions {
  node: string;
  dir: string;
  failoverTimeMs: number;
  heartbeatIntervalMs: number;
  holdDownMs: number;
  ifaces: FlightRecord['config']['ifaces'];
  /** The clocks (injected by tests): monotonic ns and wall ms. */
  mono: () => bigint;
  wall?: () => number;
  /** Told when a record cannot be written (the log; never the recorder's own tap). */
  onWriteFailed?: (error: string) => void;
  /** How long after a change what follows is added to its record (AFTER_MS; tests shorten it). */
  afterMs?: number;
}

export class FlightRecorder {
  private readonly arrivals = new Map<string, Ring<Arrival>>();
  private readonly happenings = new Ring<RawHappening>(HAPPENINGS);
  private seq: number | undefined;
  private writes: Promise<void> = Promise.resolve();
  private peer: string | null = null;
  private previousChange: bigint | undefined;

  constructor(private readonly o: RecorderOptions) {
    for (const i of o.ifaces) this.arrivals.set(i.name, new Ring(ARRIVALS_PER_IFACE));
  }

  /** Every input the failover runtime feeds its core passes here first. */
  input(i: Input): void {
    switch (i.type) {
      case 'heartbeat': {
        this.peer = i.from.name;
        this.arrivals.get(i.iface)?.push({ at: i.now, from: i.from.name, role: i.from.role, connections: i.from.connections, health: i.from.health });
        return;
      }
      case 'link':
        return this.happenings.push({
          at: i.now,
          kind: 'link',
          what: `${i.iface} ${i.up ? 'carrier up' : 'lost carrier'}`,
          fields: { iface: i.iface, up: i.up },
        });
      case 'targets':
        return this.happenings.push({
          at: i.now,
          kind: 'targets',
          what: `${i.iface} monitor targets ${i.reachable ? 'reachable' : 'lost'}`,
          fields: { iface: i.iface, reachable: i.reachable },
        });
      case 'failover':
        return this.happenings.push({ at: i.now, kind: 'admin', what: 'planned failover requested' });
      case 'enable':
        return this.happenings.push({ at: i.now, kind: 'admin', what: i.enabled ? 'enabled in the cluster' : 'disabled in the cluster' });
      case 'stop':
        return this.happenings.push({ at: i.now, kind: 'admin', what: 'stopping' });
      default:
        return;
    }
  }

  /** A logger that records every event into the ring, then passes it on. */
  tap(log: Logger): Logger {
    return {
      log: (level: Level, event: EventName, fields?: LogFields) => {
        if (event !== 'role_change')
          this.happenings.push({ at: this.o.mono(), kind: 'event', what: event, ...(fields ? { fields: { level, ...fields } } : {}) });
        log.log(level, event, fields);
      },
      ...(log.recent ? { recent: () => log.recent!() } : {}),
    };
  }

  /** Freezes the rings at a role change and writes the record; what follows is added AFTER_MS later. */
  freeze(change: Change | StandingChange): FlightRecord {
    const wall = this.wallOf();
    const happenings = this.happenings.toArray();
    const heartbeats: FlightRecord['heartbeats'] = {};
    for (const [iface, ring] of this.arrivals) {
      heartbeats[iface] = ring
        .toArray()
        .slice(-ARRIVALS_FROZEN)
        .map((a) => ({ ...wall(a.at), from: a.from, role: a.role, connections: a.connections, health: a.health }));
    }
    const record: FlightRecord = {
      version: 1,
      seq: 0,
      node: this.o.node,
      config: { failoverTimeMs: this.o.failoverTimeMs, heartbeatIntervalMs: this.o.heartbeatIntervalMs, holdDownMs: this.o.holdDownMs, ifaces: this.o.ifaces },
      change: {
        from: change.from,
        to: change.to,
        reason: change.reason,
        evidence: change.evidence,
        ...('what' in change ? { what: change.what, subject: change.subject } : {}),
        ...wall(change.at),
      },
      previousChangeAtMs: this.previousChange === undefined ? null : wall(this.previousChange).atMs,
      peer: this.peer,
      heartbeats,
      before: happenings.filter((h) => h.at <= change.at).map((h) => this.frozen(h, wall)),
      after: [],
    };
    if (!('what' in change)) this.previousChange = change.at; // the hold-down counts from role changes only
    this.writes = this.writes
      .then(async () => {
        record.seq = await this.nextSeq();
        await this.write(record);
      })
      .catch((e: Error) => this.o.onWriteFailed?.(e.message));
    const timer = setTimeout(() => {
      const later = this.wallOf();
      record.after = this.happenings
        .toArray()
        .filter((h) => h.at > change.at)
        .map((h) => this.frozen(h, later));
      record.heartbeatsAfter = {};
      for (const [iface, ring] of this.arrivals)
        record.heartbeatsAfter[iface] = ring
          .toArray()
          .filter((a) => a.at > change.at)
          .slice(-ARRIVALS_FROZEN)
          .map((a) => ({ ...later(a.at), from: a.from, role: a.role, connections: a.connections, health: a.health }));
      this.writes = this.writes.then(() => this.write(record)).catch((e: Error) => this.o.onWriteFailed?.(e.message));
    }, this.o.afterMs ?? AFTER_MS);
    timer.unref();
    return record;
  }

  /** Resolves when the records frozen so far are on disk. */
  flushed(): Promise<void> {
    return this.writes;
  }

  private frozen(h: RawHappening, wall: (t: bigint) => { at: string; atMs: number }): Happening {
    return { ...wall(h.at), kind: h.kind, what: h.what, ...(h.fields ? { fields: h.fields } : {}) };
  }

  /** Monotonic instants as wall time, against one reading of both clocks. */
  private wallOf(): (t: bigint) => { at: string; atMs: number } {
    const mono = this.o.mono();
    const now = (this.o.wall ?? Date.now)();
    return (t) => {
      const atMs = now - Number(mono - t) / 1e6;
      return { at: new Date(atMs).toISOString(), atMs: Math.round(atMs * 1000) / 1000 };
    };
  }

  private async nextSeq(): Promise<number> {
    if (this.seq === undefined) this.seq = (await recordFiles(this.o.dir)).reduce((m, f) => Math.max(m, f.seq), 0);
    return ++this.seq;
  }

  private async write(record: FlightRecord): Promise<void> {
    await mkdir(this.o.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomicAsync(
      join(this.o.dir, fileName(record.seq)),
      JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n',
    );
    for (const old of (await recordFiles(this.o.dir)).slice(0, -RECORDS_KEPT)) await unlink(join(this.o.dir, old.name)).catch(() => undefined);
  }
}

const fileName = (seq: number) => `${String(seq).padStart(8, '0')}.json`;

async function recordFiles(dir: string): Promise<{ name: string; seq: number }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .filter((n) => /^\d{8}\.json$/.test(n))
    .map((name) => ({ name, seq: Number(name.slice(0, 8)) }))
    .sort((a, b) => a.seq - b.seq);
}

/** The newest records on disk, newest first (a damaged file is named, not fatal). */
export async function readRecords(dir: string, max = RECORDS_KEPT): Promise<(FlightRecord | { seq: number; damaged: string })[]> {
  const files = (await recordFiles(dir)).slice(-max).reverse();
  return Promise.all(
    files.map(async (f) => {
      try {
        return JSON.parse(await readFile(join(dir, f.name), 'utf8')) as FlightRecord;
      } catch (e) {
        return { seq: f.seq, damaged: `${join(dir, f.name)}: ${(e as Error).message}` };
      }
    }),
  );
}

export const recorderDir = (stateDir: string) => join(stateDir, 'flight-recorder');
