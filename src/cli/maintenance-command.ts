/**
 * DOC: `tandem update FILE` and `tandem upgrade IMAGE`: seed 002's sequence with two planned failovers
 *
 * Run on the active node. Each step is a request to the local tandemd
 * (src/runtime/cluster-service/maintenance.ts), which relays to the other member; between
 * steps the command waits for what the next step needs (the standby in
 * sync before a planned failover, the roles swapped after it, a restarted
 * service back after an upgrade). The steps are printed as they finish and
 * logged on the node each runs on. A failure stops the sequence where it
 * is: no further failover, the cluster keeps serving, and the command says
 * which step failed and which node serves (exit 1).
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { askControl } from '../api/control-socket.js';
import type { Kind } from '../runtime/cluster-service/maintenance.js';
import { UsageError, type Parsed } from './args.js';
import { socketPath, type NodeStatus } from './status-command.js';

export const MAINTENANCE_USAGE = `tandem update FILE [--socket PATH | --config FILE]    (on the active node: the file to both members, applied with two planned failovers)
tandem upgrade IMAGE [--socket PATH | --config FILE]  (the same for a software image: each member restarts on the new software;
    on tandem's image, a firmware bundle: each member reboots into it, and the upgrade ends with the roles swapped)`;

interface Check {
  me: { node: string; role: string; command: string | null; pid: number };
  peer: { node: string; role: string; command: string | null; pid: number; applying: string | null };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function maintenanceCommand(kind: Kind, p: Parsed): Promise<number> {
  const file = p.positionals[0];
  if (!file) throw new UsageError(`tandem ${kind} ${kind === 'update' ? 'FILE' : 'IMAGE'}: which file?`);
  const sock = socketPath(p);
  const id = randomBytes(4).toString('hex');
  const t0 = Date.now();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const ask = (op: string, args: Record<string, unknown> = {}, timeoutMs = 15_000) =>
    askControl(sock, { cmd: 'maintenance', op, args: { kind, id, ...args } }, timeoutMs);
  const status = () => askControl(sock, 'status') as Promise<NodeStatus & { pid: number }>;
  /** Polls the local status (the service may be restarting: no answer counts as not yet). */
  const waitFor = async (what: string, ok: (s: NodeStatus & { pid: number }) => boolean, ms = 30_000) => {
    const deadline = Date.now() + ms;
    let last = 'no answer';
    while (Date.now() < deadline) {
      const s = await status().catch((e: Error) => ((last = e.message), null));
      if (s && ok(s)) return s;
      if (s)
        last = `role ${s.role}, peer ${s.peer ? `${s.peer.alive ? s.peer.role : 'dead'}, its copy ${s.peer.syncStatus}` : 'unknown'}${'status' in s.sync ? `, own copy ${s.sync.status}` : ''}`;
      await sleep(100);
    }
    throw new Error(`waited ${ms / 1000} s for ${what}; last seen: ${last}`);
  };
  const syncOn = (s: NodeStatus) => 'status' in s.sync;
  let step = 'check';
  let me = '?';
  let peer = '?';
  try {
    const c = (await ask('check')) as Check;
    me = c.me.node;
    peer = c.peer.node;
    if (c.me.role !== 'active') throw new Error(`${me} is ${c.me.role}: run tandem ${kind} on the active node`);
    if (!c.me.command) throw new Error(`maintenance.${kind}Command is not set in ${me}'s node file`);
    if (c.peer.role !== 'inactive') throw new Error(`${peer} is ${c.peer.role}, not inactive: it cannot take over for the planned failover`);
    if (!c.peer.command) throw new Error(`maintenance.${kind}Command is not set in ${peer}'s node file`);
    say(`${kind} ${resolve(file)}: ${me} (active) and ${peer} (inactive), sequence ${id}`);

    step = `send to ${peer}`;
    // A firmware bundle is hundreds of MiB: 2 minutes and a second a MiB (a TCG guest moved 323 MiB in 3.5 minutes).
    const mib = Math.ceil(statSync(resolve(file)).size / 2 ** 20);
    const sent = (await ask('send', { path: resolve(file) }, 120_000 + mib * 1000)) as { sha256: string; bytes: number; ms: number };
    say(`1/5 sent ${sent.bytes} bytes (SHA-256 ${sent.sha256.slice(0, 16)}...) to ${peer} in ${sent.ms.toFixed(0)} ms`);

    step = `apply on ${peer}`;
    const applied = (await ask('apply-peer', { sha256: sent.sha256 }, 3_600_000)) as Applied;
    say(
      `2/5 ${peer} applied it in ${applied.ms.toFixed(0)} ms${applied.rebooting ? `: ${applied.output}` : applied.restarting ? '; its service restarts' : ''}`,
    );
    if (applied.restarting) await peerBack(ask, c.peer.pid, peer, applied.backWithinMs ?? 120_000);

    step = `planned failover to ${peer}`;
    await waitFor(
      `${peer} to hold the state (in sync)`,
      (s) => !!s.peer?.alive && s.peer.role === 'inactive' && (!syncOn(s) || s.peer.syncStatus === 'in-sync'),
    );
    await askControl(sock, 'failover');
    await waitFor(`${peer} to take over`, (s) => s.role === 'inactive' && !!s.peer?.alive && s.peer.role === 'active');
    say(`3/5 planned failover: ${peer} is active`);

    step = `apply on ${me}`;
    const local = (await ask('apply-local', { sha256: sent.sha256 }, 3_600_000)) as Applied;
    if (local.rebooting) {
      // This box reboots into the new firmware (this command with it): it comes back as the standby, confirmed in sync
      // by its trial boot, or falls back to the version before. The peer keeps serving: one failover, not two.
      say(`4/5 ${me}: ${local.output}; ${peer} serves meanwhile and stays active (a firmware upgrade ends with the roles swapped)`);
      await ask('report', { outcome: 'done', totalMs: Date.now() - t0 });
      say(`done: both members wrote the firmware; ${me} reboots now. Follow it with tandem firmware status on ${me} once it is back.`);
      return 0;
    }
    say(`4/5 ${me} applied it in ${local.ms.toFixed(0)} ms${local.restarting ? '; its service restarts' : ''}`);
    if (local.restarting) await waitFor(`${me}'s service to come back`, (s) => s.pid !== c.me.pid && s.role === 'inactive' && !!s.peer?.alive, 120_000);

    step = `fail back to ${me}`;
    await waitFor(`${me} to hold the state (in sync)`, (s) => s.role === 'inactive' && (!syncOn(s) || ('status' in s.sync && s.sync.status === 'in-sync')));
    await ask('failover-peer');
    await waitFor(`${me} to take over again`, (s) => s.role === 'active' && s.sharedAddresses === 'held' && !!s.peer?.alive && s.peer.role === 'inactive');
    say(`5/5 failed back: ${me} is active`);
    await ask('report', { outcome: 'done', totalMs: Date.now() - t0 });
    say(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s: both members applied the ${kind}`);
    return 0;
  } catch (e) {
    const error = (e as Error).message;
    const serving = await status().then(
      (s) => (s.role === 'active' ? s.node.name : s.peer?.alive && s.peer.role === 'active' ? s.peer.name : 'no member (check tandem status)'),
      () => `unknown: ${me} does not answer`,
    );
    process.stderr.write(
      `tandem ${kind}: stopped at step "${step}": ${error}\nthe cluster is serving: ${serving} is active. Fix the cause and run tandem ${kind} again on the active node.\n`,
    );
    await ask('report', { outcome: 'stopped', step, error, serving, totalMs: Date.now() - t0 }).catch(() => undefined);
    return 1;
  }
}

interface Applied {
  ms: number;
  restarting: boolean;
  /** tandem's image: the member writes the bundle to its other slot and reboots into it (output says which). */
  rebooting?: boolean;
  output?: string;
  backWithinMs?: number;
}

/** After an upgrade the peer's service restarts (or the box reboots): back when it answers with another process, inactive. */
async function peerBack(ask: (op: string) => Promise<unknown>, pid: number, peer: string, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const c = (await ask('check').catch(() => null)) as Check | null;
    if (c && c.peer.pid !== pid && c.peer.role === 'inactive') return;
    await sleep(200);
  }
  throw new Error(`${peer}'s service did not come back within ${Math.round(withinMs / 1000)} s after the upgrade`);
}
