/**
 * DOC: lab fixtures for tests: a lab per test, removed when the test ends
 * (pass or fail), and heartbeat nodes inside it.
 */
import type { ExecutionContext } from 'ava';
import { resolveBoard, type Board } from '../../src/board/board-file.js';
import { Lab } from '../../src/lab/lab.js';
import { HeartbeatNode, type NodeIdentity } from '../../src/runtime/pair/heartbeat-node.js';
import type { Level, LogFields, Logger } from '../../src/runtime/logging/log.js';
import { hmacAuth } from '../../src/io/heartbeat-auth.js';
import { CLUSTER, PASSWORD } from './frames.js';

export const board: Board = resolveBoard('sim');

export async function labFor(t: ExecutionContext, nodes = 2, opts: { ipv6?: boolean } = {}): Promise<Lab> {
  const lab = await Lab.up(board, { nodes, ...opts });
  t.teardown(() => lab.down());
  return lab;
}

/** A logger that keeps what it is told, for assertions. */
export class MemoryLog implements Logger {
  readonly lines: { level: Level; event: string; fields: LogFields }[] = [];
  log(level: Level, event: string, fields: LogFields = {}): void {
    this.lines.push({ level, event, fields });
  }
  events(name: string) {
    return this.lines.filter((l) => l.event === name);
  }
}

export function heartbeatNode(
  t: ExecutionContext,
  lab: Lab,
  index: number,
  over: Partial<NodeIdentity> & { intervalMs?: number; password?: string } = {},
): { node: HeartbeatNode; log: MemoryLog } {
  const log = new MemoryLog();
  const identity: NodeIdentity = {
    clusterId: over.clusterId ?? CLUSTER,
    nodeId: over.nodeId ?? index,
    nodeName: over.nodeName ?? `n${index}`,
    nodeType: over.nodeType ?? (index === 1 ? 'master' : 'slave'),
    bootId: over.bootId ?? BigInt(Date.now()) * 1000n,
  };
  const node = new HeartbeatNode(board, identity, hmacAuth(over.password ?? PASSWORD, identity.clusterId), log, {
    netns: lab.plan.nodes[index - 1]!.netns,
    intervalMs: over.intervalMs ?? 50,
  });
  t.teardown(() => node.stop());
  return { node, log };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it holds or `ms` pass; returns whether it held. */
export async function eventually(check: () => boolean, ms: number, step = 20): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(step);
  }
  return check();
}

/** eventually() for an asynchronous check (a control-socket question); a throwing check counts as false. */
export async function until(check: () => Promise<boolean | undefined>, ms: number, step = 100): Promise<boolean> {
  const deadline = Date.now() + ms;
  const ask = () =>
    check().then(
      (v) => v === true,
      () => false,
    );
  while (Date.now() < deadline) {
    if (await ask()) return true;
    await sleep(step);
  }
  return ask();
}
