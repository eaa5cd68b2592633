/**
 * DOC: the heartbeat benches' board: five heartbeat interfaces (four data ports and the sync port)
 *
 * And what both heartbeat benches read of a running daemon: its worker, each thread's CPU and wakeups.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBoard, type Board } from '../src/board/board-file.js';

export const FIVE_PORTS: Board = parseBoard(
  {
    name: 'bench-5port',
    nics: [
      { name: 'eth0', bus: 0, slot: 1, port: 0, role: 'wan' },
      { name: 'eth1', bus: 0, slot: 1, port: 1, role: 'lan' },
      { name: 'eth2', bus: 0, slot: 1, port: 2, role: 'dmz' },
      { name: 'eth3', bus: 0, slot: 1, port: 3, role: 'data' },
      { name: 'eth4', bus: 0, slot: 2, port: 0, role: 'sync' },
    ],
    watchdog: null,
    console: null,
  },
  'bench-5port',
);

/** The board as a file a real tandemd reads (`boardRef`), and how to remove it. */
export function writeBenchBoard(): { boardFile: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-'));
  const boardFile = join(dir, 'board.json');
  writeFileSync(boardFile, JSON.stringify({ ...FIVE_PORTS, nics: FIVE_PORTS.nics.map(({ nn: _nn, ...n }) => n) }));
  return { boardFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The worker process a supervised tandemd runs (its only child). */
export function workerOf(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  if (children.length !== 1) throw new Error(`tandemd ${pid} has ${children.length} children, expected its worker`);
  return children[0]!;
}

export interface ThreadUse {
  comm: string;
  /** CPU time from the scheduler's nanosecond accounting (not tick-sampled). */
  cpuNs: number;
  /** Voluntary context switches: each is one sleep, so one wakeup after it. */
  wakeups: number;
}

/** Every thread of a process, by thread id, with its CPU and wakeups so far. */
export function threadUse(pid: number): Map<number, ThreadUse> {
  const out = new Map<number, ThreadUse>();
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    try {
      const base = `/proc/${pid}/task/${tid}`;
      const comm = readFileSync(`${base}/comm`, 'utf8').trim();
      const cpuNs = Number(readFileSync(`${base}/schedstat`, 'utf8').split(' ')[0]);
      const wakeups = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`${base}/status`, 'utf8'))![1]);
      out.set(tid, { comm, cpuNs, wakeups });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** A process's threads summed: CPU and wakeups so far, and the CPU of its threads named `comm`. */
export function processUse(pid: number, comm?: string): { cpuNs: number; wakeups: number; commNs: number } {
  const sum = { cpuNs: 0, wakeups: 0, commNs: 0 };
  for (const t of threadUse(pid).values()) {
    sum.cpuNs += t.cpuNs;
    sum.wakeups += t.wakeups;
    if (t.comm === comm) sum.commNs += t.cpuNs;
  }
  return sum;
}
