/**
 * DOC: a cluster on Corosync in the lab, formed as an administrator would (for benchmarks and tries)
 *
 * The nodes of a LabCluster started managed (standalone, each with
 * `corosync.privateRun`): `create --engine corosync` on the first, then for
 * each other one `add-member` on the first and `join` from it, through the
 * same control-socket requests the CLI sends. Throws with the step that
 * failed; bounded in time.
 */
import { askControl } from '../api/control-socket.js';
import type { LabCluster, LabClusterOptions } from './cluster.js';
import { pollUntil } from './lab.js';

/** Managed nodes for a cluster on Corosync: standalone at start, each with its own Corosync and a private /run. */
export function groupLabOptions(configFor?: (node: string) => Record<string, unknown>): LabClusterOptions {
  return { timers: { initialSilenceMs: 800 }, managed: { shared: false }, configFor: (n) => ({ corosync: { privateRun: true }, ...(configFor?.(n) ?? {}) }) };
}

export const groupMemberName = (i: number) => `fw-${String.fromCharCode(96 + i)}`;
export const groupSyncAddr = (i: number) => `198.19.255.${10 + i}`;

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  if (!(await pollUntil(check, ms))) throw new Error(`lab cluster on Corosync: ${what} did not happen within ${ms} ms`);
}

export async function serving(cluster: LabCluster, i: number): Promise<boolean> {
  const s = (await askControl(cluster.node(`n${i}`).socket, 'status').catch(() => null)) as { healthCheck?: { ok: boolean } } | null;
  return s?.healthCheck?.ok === true;
}

/** Creates the cluster on n1 (when `create`), then adds and joins each of `members` (indices, n2 ...). */
export async function formGroup(cluster: LabCluster, password: string, members: readonly number[], o: { create?: boolean; via?: number } = {}): Promise<void> {
  const sock = (i: number) => cluster.node(`n${i}`).socket;
  const via = o.via ?? 1;
  if (o.create ?? true) {
    await until('n1 standalone', async () => ((await askControl(sock(1), 'status')) as { standalone?: boolean }).standalone === true, 15_000);
    await askControl(sock(1), {
      cmd: 'cluster',
      op: 'create',
      args: { name: 'labc', node: groupMemberName(1), mode: 'active-active', engine: 'corosync', password },
    });
    await until(`${groupMemberName(1)} serving`, () => serving(cluster, 1), 20_000);
  }
  for (const i of members) {
    await until(`n${i} standalone`, async () => ((await askControl(sock(i), 'status')) as { standalone?: boolean }).standalone === true, 15_000);
    await askControl(sock(via), { cmd: 'cluster', op: 'add-member', args: { name: groupMemberName(i), address: groupSyncAddr(i) } });
    await askControl(sock(i), { cmd: 'cluster', op: 'join', args: { member: groupSyncAddr(via), password } }, 30_000);
    await until(`${groupMemberName(i)} serving`, () => serving(cluster, i), 60_000);
  }
}
