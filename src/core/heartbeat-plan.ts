/**
 * DOC: which interface sends the next heartbeat
 *
 * Seed 001: heartbeats go out on every enabled interface, and the sync
 * interface's are interleaved between the others ("G1, Sync, G2, Sync, G3,
 * Sync"), so the sync interface sends more than twice as many as any other.
 * With fewer than three other interfaces the plain interleave would not reach
 * "more than twice", so the sync interface gets at least SYNC_MIN_PER_CYCLE
 * slots a cycle. Interfaces with heartbeats disabled do not exist here.
 *
 * Pure. src/io/heartbeat-sender.ts walks the plan on a timer.
 */

export const SYNC_MIN_PER_CYCLE = 3;

export interface PlannedIface {
  name: string;
  isSync: boolean;
  heartbeats: boolean;
}

/** One cycle of slots; every non-sync interface appears once per cycle. */
export function heartbeatSlots(ifaces: readonly PlannedIface[]): string[] {
  const enabled = ifaces.filter((i) => i.heartbeats);
  const data = enabled.filter((i) => !i.isSync).map((i) => i.name);
  const sync = enabled.find((i) => i.isSync)?.name;
  if (sync === undefined) return data;
  if (data.length === 0) return [sync];
  const syncPerCycle = Math.max(data.length, SYNC_MIN_PER_CYCLE);
  const slots: string[] = [];
  data.forEach((name, i) => {
    slots.push(name);
    const n = Math.floor(((i + 1) * syncPerCycle) / data.length) - Math.floor((i * syncPerCycle) / data.length);
    for (let k = 0; k < n; k++) slots.push(sync);
  });
  return slots;
}

/**
 * The slots grouped into timer ticks: each run of data slots goes out with
 * the sync slot after it. Every wakeup of a process costs far more CPU than
 * the frames it sends, and what needs even spacing is the sync interface's
 * frames (they alone keep the peer alive when every other cable is gone), so
 * one tick per sync slot halves the wakeups and keeps that spacing. Without
 * a sync interface each slot is its own tick.
 */
export function heartbeatTicks(slots: readonly string[], syncName: string | undefined): string[][] {
  if (syncName === undefined) return slots.map((s) => [s]);
  const ticks: string[][] = [];
  let pending: string[] = [];
  for (const s of slots) {
    pending.push(s);
    if (s === syncName) {
      ticks.push(pending);
      pending = [];
    }
  }
  if (pending.length > 0) ticks.push(pending);
  return ticks;
}
