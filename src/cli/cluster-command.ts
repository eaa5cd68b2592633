/**
 * DOC: `tandem cluster ...`, `tandem restart`, `tandem admin-password`: managing the cluster from a node
 *
 * Every command goes to the local tandemd over its control socket, which
 * writes the cluster store and tells the other member (src/runtime/
 * cluster-control.ts). What overwrites or stops something asks first.
 */
import { askControl } from '../api/control-socket.js';
import { flag, int, str, UsageError, type Parsed } from './args.js';
import { terminal, type Asker } from './prompt.js';
import type { StatusDoc } from '../api/status-page.js';
import type { ClusterDefinition } from '../cluster/store.js';
import { formatCluster, socketPath } from './status-command.js';
import { disableWarning, joinWarning, LEAVE_WARNING, RESTART_CLUSTER_WARNING } from '../api/cluster-warnings.js';

export const CLUSTER_USAGE = `tandem cluster [status]                       (the cluster as this member sees it: members, roles, status bits)
tandem cluster create --name NAME --node NODE [--mode active-passive|active-active] [--engine heartbeat|corosync] [--cluster-id 0..63] [--password-file F | --password-fd N]
tandem cluster add-member NAME ADDRESS        (ADDRESS: the member's sync address; then join from that member)
tandem cluster join --member ADDRESS [--password-file F | --password-fd N] [--yes]
                                              (this node's system state and sessions are replaced by the cluster's)
tandem cluster leave [--yes] | remove-member NAME
tandem cluster enable|disable|drain|undrain NODE [--yes]
tandem cluster password [--password-file F | --password-fd N]    (this member only: not synchronised)
tandem cluster properties [KEY=VALUE ...]    (name, mode, sync, logSync, healthCheckFailsWhileSyncing)
tandem restart [--only-this] [--yes]          (seed 000: an enabled member restarts the whole cluster)
tandem admin-password [--password-file F | --password-fd N]    (the status page's password, user admin)
  each takes [--socket PATH | --config FILE]`;

// Longer than the daemon's own deadlines (a change ordered through Corosync: 10 s, then the store's fsync), so the
// administrator reads the daemon's reason rather than a timeout of this command.
const CLUSTER_OP_MS = 30_000;
const cluster = (p: Parsed, op: string, args: Record<string, unknown>, timeoutMs = CLUSTER_OP_MS) =>
  askControl(socketPath(p), { cmd: 'cluster', op, args }, timeoutMs);

function print(p: Parsed, result: unknown, text: string): void {
  process.stdout.write(flag(p, 'json') ? JSON.stringify(result) + '\n' : text + '\n');
}

function passwordSource(p: Parsed): { file?: string; fd?: number } {
  const file = str(p, 'password-file');
  const fd = int(p, 'password-fd', 0, 1024);
  return { ...(file !== undefined ? { file } : {}), ...(fd !== undefined ? { fd } : {}) };
}

export async function clusterCommand(p: Parsed, ask: Asker = terminal): Promise<number> {
  const [op, ...rest] = p.positionals;
  const yes = flag(p, 'yes');
  switch (op) {
    case 'create': {
      const name = str(p, 'name');
      const node = str(p, 'node');
      if (!name || !node) throw new UsageError('cluster create needs --name NAME and --node NODE');
      const password = await ask.password('cluster password', { ...passwordSource(p), confirm: true });
      const r = (await cluster(p, 'create', {
        name,
        node,
        password,
        ...(str(p, 'mode') ? { mode: str(p, 'mode') } : {}),
        ...(str(p, 'engine') ? { engine: str(p, 'engine') } : {}),
        ...(p.options['cluster-id'] !== undefined ? { clusterId: int(p, 'cluster-id', 0, 63) } : {}),
      })) as Record<string, unknown>;
      print(
        p,
        r,
        `cluster ${String(r['created'])} created (ID ${String(r['clusterId'])}), this node is member ${String(r['member'])}; the service restarts as a member.\nnext: tandem cluster add-member NAME ADDRESS for each other member, then join from it`,
      );
      return 0;
    }
    case 'add-member': {
      const [name, address] = rest;
      if (!name || !address) throw new UsageError('cluster add-member needs NAME and ADDRESS');
      const r = (await cluster(p, 'add-member', { name, address })) as Record<string, unknown>;
      print(
        p,
        r,
        `${name} added (members: ${(r['members'] as string[]).join(', ')}); it stays unreachable until it joins.\nnext, ${String(r['next'])}\nthis node's cluster service restarts to reach the new member.`,
      );
      return 0;
    }
    case 'remove-member': {
      const [name] = rest;
      if (!name) throw new UsageError('cluster remove-member needs NAME');
      print(p, await cluster(p, 'remove-member', { name }), `${name} removed from the cluster`);
      return 0;
    }
    case 'join': {
      const member = str(p, 'member');
      if (!member) throw new UsageError("cluster join needs --member ADDRESS (an existing member's sync address)");
      const here = (await cluster(p, 'join-preview', {})) as { systemKeys: number; sessions: number };
      const ok = await ask.confirm(`${joinWarning(member, here)} Continue?`, yes);
      if (!ok) {
        process.stdout.write('not joined: nothing was changed\n');
        return 1;
      }
      const password = await ask.password('cluster password', passwordSource(p));
      const r = (await cluster(p, 'join', { member, password })) as Record<string, unknown>;
      print(
        p,
        r,
        `joined cluster ${String(r['joined'])} as ${String(r['as'])} (members: ${(r['members'] as string[]).join(', ')}); the service restarts as a member`,
      );
      return 0;
    }
    case 'leave': {
      if (!(await ask.confirm(`${LEAVE_WARNING} Continue?`, yes))) return 1;
      const r = (await cluster(p, 'leave', {})) as Record<string, unknown>;
      const notTold = r['notTold'] as string[];
      print(
        p,
        r,
        `left cluster ${String(r['left'])}; this node is standalone${notTold.length ? `\nnot told (remove this node there with tandem cluster remove-member): ${notTold.join('; ')}` : ''}`,
      );
      return 0;
    }
    case 'enable':
    case 'disable':
    case 'drain':
    case 'undrain': {
      const [node] = rest;
      if (!node) throw new UsageError(`cluster ${op} needs NODE`);
      if (op === 'disable' && !(await ask.confirm(`${disableWarning(node)} Continue?`, yes))) return 1;
      const r = (await cluster(p, op, { node })) as Record<string, unknown>;
      const notTold = r['notTold'] as string[];
      print(p, r, `${node}: ${op === 'undrain' ? 'drain ended' : `${op}d`}${notTold.length ? ` (not told yet: ${notTold.join('; ')})` : ''}`);
      return 0;
    }
    case 'password': {
      const password = await ask.password('new cluster password', { ...passwordSource(p), confirm: true });
      const r = (await cluster(p, 'password', { password })) as Record<string, unknown>;
      print(p, r, `cluster password changed on this member; ${String(r['note'])}`);
      return 0;
    }
    case 'properties': {
      const set = rest.map((kv) => {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new UsageError(`"${kv}": properties are set as KEY=VALUE`);
        return [kv.slice(0, eq), kv.slice(eq + 1)];
      });
      const r = (await cluster(p, 'properties', { set })) as ClusterDefinition | null;
      print(p, r, r ? formatProperties(r) : 'standalone: no cluster, no properties (tandem cluster create or join)');
      return 0;
    }
    case undefined:
    case 'status': {
      const s = (await askControl(socketPath(p), 'status')) as { cluster?: StatusDoc['cluster']; healthCheck?: StatusDoc['health'] } | null;
      print(
        p,
        s?.cluster ?? null,
        s?.cluster ? formatCluster(s.cluster, s.healthCheck).join('\n').trimEnd() : 'standalone: this node is in no cluster (tandem cluster create or join)',
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown cluster operation "${op}"`);
  }
}

/** The properties as an administrator reads them: one per line, booleans as on/off (as they are set). */
export function formatProperties(c: ClusterDefinition): string {
  const shown = (v: unknown) => (v === true ? 'on' : v === false ? 'off' : String(v));
  const rows: [string, unknown][] = [
    ['name', c.name],
    ...Object.entries(c.properties),
    ...Object.entries(c.shared).map(([iface, ip]): [string, unknown] => [`shared.${iface}`, ip]),
    ...Object.entries(c.shared6 ?? {}).map(([iface, ip]): [string, unknown] => [`shared6.${iface}`, ip]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`cluster ${c.name} (ID ${c.id}), revision ${c.revision}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${shown(v)}`)].join('\n');
}

export async function restartCommand(p: Parsed, ask: Asker = terminal): Promise<number> {
  const only = flag(p, 'only-this');
  const question = only
    ? 'Restart the service of this member only? (If it is enabled, the cluster may still see it leave and come back.)'
    : `${RESTART_CLUSTER_WARNING} (tandem cluster disable NODE, or give --only-this.) Continue?`;
  if (!(await ask.confirm(question, flag(p, 'yes')))) return 1;
  const r = (await askControl(socketPath(p), { cmd: 'cluster', op: 'restart', args: { only } }, CLUSTER_OP_MS)) as Record<string, unknown>;
  const missed = (r['notReached'] as string[] | undefined) ?? [];
  print(p, r, `restarting: ${String(r['restarting'])}${missed.length ? `\nnot reached: ${missed.join('; ')}` : ''}`);
  return 0;
}

export async function adminPasswordCommand(p: Parsed, ask: Asker = terminal): Promise<number> {
  const password = await ask.password('administrator password', { ...passwordSource(p), confirm: true });
  await askControl(socketPath(p), { cmd: 'admin-password', args: { password } });
  print(p, { set: true }, 'administrator password set (status page user: admin)');
  return 0;
}
