/**
 * Clusters on Corosync in the lab: N managed nodes (each with its own Corosync, a private /run),
 * formed as an administrator would: create on n1 with --engine corosync, add-member and join for
 * the others. `lateJoiners` nodes start standalone and are left for the test to add (all of them:
 * nothing is created).
 */
import type { ExecutionContext } from 'ava';
import { askControl } from '../../src/api/control-socket.js';
import type { GroupStatus } from '../../src/cli/group-status-format.js';
import { groupLabOptions, groupMemberName as memberName, groupSyncAddr as syncAddr } from '../../src/lab/group-lab.js';
import { tandem } from './cli.js';
import { labFor, until } from './lab.js';
import { startManaged } from './managed.js';

export { memberName, syncAddr };
export const lanAddr = (i: number) => `198.18.2.${10 + i}`;
export const wanAddr = (i: number) => `198.18.1.${10 + i}`;

export type { GroupStatus } from '../../src/cli/group-status-format.js';

export async function managedGroup(
  t: ExecutionContext,
  nodes: number,
  o: { lateJoiners?: number; configFor?: (node: string) => Record<string, unknown>; before?: (lab: Awaited<ReturnType<typeof labFor>>) => Promise<void> } = {},
) {
  const lab = await labFor(t, nodes);
  await o.before?.(lab);
  const { cluster, pw } = await startManaged(t, lab, groupLabOptions(o.configFor));
  const node = (i: number) => `n${i}`;
  const sock = (i: number) => cluster.node(node(i)).socket;
  const cli = (i: number, ...args: string[]) => tandem([...args, '--socket', sock(i)]);
  const status = (i: number) => askControl(sock(i), 'status').catch(() => null) as Promise<GroupStatus | null>;
  const ok = async (r: Promise<{ code: number | null; stderr: string; stdout: string }>, what: string) => {
    const x = await r;
    t.is(x.code, 0, `${what}: ${x.stderr}`);
    return x;
  };
  const serving = async (i: number) => (await status(i))?.healthCheck?.ok === true;
  const g = { lab, cluster, pw, sock, cli, status, ok, serving, node };

  const formed = nodes - (o.lateJoiners ?? 0);
  t.true(
    await until(
      async () =>
        (await Promise.all(Array.from({ length: nodes }, (_, k) => askControl(sock(k + 1), 'status').catch(() => null)))).every(
          (s) => (s as { standalone?: boolean } | null)?.standalone === true,
        ),
      15_000,
    ),
    'all start standalone',
  );
  // All late (formed 0): nothing is created; the test makes the cluster itself.
  if (formed === 0) return g;
  await ok(
    cli(1, 'cluster', 'create', '--name', 'labc', '--node', memberName(1), '--mode', 'active-active', '--engine', 'corosync', '--password-file', pw),
    'create',
  );
  t.true(await until(() => serving(1), 20_000), `${memberName(1)} restarted as a member on Corosync and serves alone`);
  for (let i = 2; i <= formed; i++) await addAndJoin(g, t, i);
  return g;
}

/** add-member on n1, join from node i; resolves when node i serves. */
export async function addAndJoin(
  g: {
    cli: (i: number, ...a: string[]) => ReturnType<typeof tandem>;
    pw: string;
    ok: (r: ReturnType<typeof tandem>, what: string) => Promise<unknown>;
    serving: (i: number) => Promise<boolean>;
  },
  t: ExecutionContext,
  i: number,
  via = 1,
): Promise<void> {
  await g.ok(g.cli(via, 'cluster', 'add-member', memberName(i), syncAddr(i)), `add-member ${memberName(i)}`);
  await g.ok(g.cli(i, 'cluster', 'join', '--member', syncAddr(via), '--password-file', g.pw, '--yes'), `join from n${i}`);
  t.true(await until(() => g.serving(i), 30_000), `${memberName(i)} joined and serves`);
}
