/**
 * Two managed nodes in a lab (no cluster in their files: they start standalone), driven through the
 * real CLI, and the cluster formed as an administrator would: create on n1, add-member, join from n2.
 */
import type { ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { askControl } from '../../src/api/control-socket.js';
import { LabCluster, type LabClusterOptions } from '../../src/lab/cluster.js';
import type { Lab } from '../../src/lab/lab.js';
import type { NodeStatus, StandaloneStatus } from '../../src/cli/status-command.js';
import { tandem } from './cli.js';
import { board, labFor, until } from './lab.js';

export const SYNC_ADDR = { n1: '198.19.255.11', n2: '198.19.255.12' } as const;

export type AnyStatus = NodeStatus & Partial<Pick<StandaloneStatus, 'standalone'>>;

/** Managed nodes started standalone in `lab`, stopped at the test's end (logs kept when it failed), and a password file. */
export async function startManaged(t: ExecutionContext, lab: Lab, opts: LabClusterOptions): Promise<{ cluster: LabCluster; pw: string }> {
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800 }, ...opts });
  t.teardown(async () => {
    await cluster.stop();
    if (!t.passed) t.log(`logs kept in ${cluster.dir}`);
    else cluster.cleanup();
  });
  const pw = join(cluster.dir, 'password');
  writeFileSync(pw, 'lab cluster password\n', { mode: 0o600 });
  return { cluster, pw };
}

/** `ipv6`: a dual-stack lab. */
export async function managedPair(t: ExecutionContext, shared = true, opts: LabClusterOptions = {}, ipv6 = false) {
  const lab = await labFor(t, 2, { ipv6 });
  const { cluster, pw } = await startManaged(t, lab, { managed: { shared }, ...opts });
  const sock = (n: string) => cluster.node(n).socket;
  const cli = (n: string, ...args: string[]) => tandem([...args, '--socket', sock(n)]);
  const status = (n: string) => askControl(sock(n), 'status').catch(() => null) as Promise<AnyStatus | null>;
  return { lab, cluster, pw, sock, cli, status };
}

/** Forms the cluster: create on n1 (fw-a), add fw-b, join from n2; resolves when both see both, in sync. */
export async function form(t: ExecutionContext, p: Awaited<ReturnType<typeof managedPair>>, mode: 'active-passive' | 'active-active'): Promise<void> {
  const ok = async (r: Promise<{ code: number | null; stderr: string }>) => {
    const x = await r;
    t.is(x.code, 0, x.stderr);
  };
  t.true(await until(async () => (await p.status('n1'))?.standalone === true && (await p.status('n2'))?.standalone === true, 10_000), 'both start standalone');
  await ok(p.cli('n1', 'cluster', 'create', '--name', 'labc', '--node', 'fw-a', '--mode', mode, '--password-file', p.pw));
  t.true(await until(async () => (await p.status('n1'))?.cluster?.members.length === 1, 10_000), 'fw-a restarted as a member');
  await ok(p.cli('n1', 'cluster', 'add-member', 'fw-b', SYNC_ADDR.n2));
  await ok(p.cli('n2', 'cluster', 'join', '--member', SYNC_ADDR.n1, '--password-file', p.pw, '--yes'));
  t.true(
    await until(async () => {
      const [a, b] = [await p.status('n1'), await p.status('n2')];
      const good = (s: AnyStatus | null) =>
        s?.cluster?.members.length === 2 && s.cluster.members.every((m) => m.unreachable === null) && 'role' in s.sync && s.sync.status === 'in-sync';
      return good(a) && good(b);
    }, 30_000),
    'both members see each other, in sync',
  );
}
