/**
 * DOC: the Corosync that tandemd runs for its cluster (or the one the image already runs)
 *
 * Managed: writes corosync.conf and the authkey (src/cluster/corosync-conf.ts)
 * under stateDir/corosync atomically, runs `corosync -f` as its child,
 * restarts it (after a second) when it dies unexpectedly, ends it when
 * tandemd's worker ends (even by SIGKILL: a parent-death signal), reloads the
 * node list at runtime (`corosync-cfgtool -R`) when a member is added or
 * removed, and stops it with tandemd. Attached (`corosync.manage: false`):
 * the image's own Corosync is used as it is; tandemd only joins its group.
 *
 * `privateRun`: corosync keeps its pid file and lock at the fixed path
 * /run/corosync.pid, so several on one host (the lab's members, each in its
 * own network namespace) each get a private /run in their own mount
 * namespace. An appliance runs one and leaves this off.
 *
 * `view()` reads Corosync's own account (corosync-quorumtool,
 * corosync-cfgtool) for `tandem status`, beside tandemd's.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../cluster/atomic-file.js';
import { corosyncAuthkey, corosyncConf, type CorosyncPlan } from '../../cluster/corosync-conf.js';
import type { Logger } from '../logging/log.js';
import { runCommand } from '../run-command.js';

export interface CorosyncSettings {
  /** false: attach to the Corosync the image runs, configure nothing. */
  manage: boolean;
  privateRun: boolean;
  port: number;
  tokenMs: number;
}

export interface CorosyncView {
  /** Corosync's own node id, its quorum and the members it counts. */
  nodeId: number | null;
  quorate: boolean | null;
  expectedVotes: number | null;
  totalVotes: number | null;
  quorum: number | null;
  members: { nodeid: number; name: string }[];
  links: { nodeid: number; state: string }[];
  error?: string;
}

const RESTART_MS = 1000;
const STOP_MS = 5000;

export class CorosyncRunner {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  readonly dir: string;

  constructor(
    stateDir: string,
    private readonly settings: CorosyncSettings,
    private readonly clusterKey: Buffer,
    private readonly log: Logger,
  ) {
    this.dir = join(stateDir, 'corosync');
  }

  get confFile(): string {
    return join(this.dir, 'corosync.conf');
  }

  plan(clusterName: string, members: CorosyncPlan['members']): CorosyncPlan {
    return {
      clusterName,
      members,
      keyfile: join(this.dir, 'authkey'),
      stateDir: this.dir,
      logFile: join(this.dir, 'corosync.log'),
      port: this.settings.port,
      tokenMs: this.settings.tokenMs,
    };
  }

  private write(plan: CorosyncPlan): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(plan.keyfile, corosyncAuthkey(this.clusterKey));
    writeFileAtomic(this.confFile, corosyncConf(plan));
  }

  /** Managed: configuration written, Corosync started. Attached: nothing. */
  start(plan: CorosyncPlan): void {
    if (!this.settings.manage) return;
    this.write(plan);
    this.spawn();
  }

  private spawn(): void {
    const args = ['-f', '-c', this.confFile];
    const command = this.settings.privateRun
      ? [
          'unshare',
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          'mount -t tmpfs -o size=1m,mode=755 tandem-run /run && exec corosync "$@"',
          'corosync',
          ...args,
        ]
      : ['corosync', ...args];
    // The parent-death signal: a worker killed outright takes its Corosync with it (the next worker starts its own).
    const child = spawn('setpriv', ['--pdeathsig', 'SIGTERM', ...command], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.on('error', (e) =>
      this.log.log('error', 'corosync_exited', { pid: child.pid ?? null, reason: `cannot start corosync: ${e.message} (is the corosync package installed?)` }),
    );
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      this.log.log('error', 'corosync_exited', {
        pid: child.pid ?? null,
        code,
        signal,
        stderr: stderr.trim().slice(-500),
        log: join(this.dir, 'corosync.log'),
        restartInMs: RESTART_MS,
      });
      this.restartTimer = setTimeout(() => this.spawn(), RESTART_MS);
    });
    this.child = child;
    this.log.log('info', 'corosync_started', { pid: child.pid ?? null, config: this.confFile });
  }

  /** A member added or removed: the node list rewritten and reloaded without a restart. */
  async reload(plan: CorosyncPlan): Promise<void> {
    if (!this.settings.manage) return;
    this.write(plan);
    await runCommand('corosync-cfgtool', ['-R'], { timeoutMs: 10_000 });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_MS);
    await gone;
    clearTimeout(timer);
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  async view(): Promise<CorosyncView> {
    const v: CorosyncView = { nodeId: null, quorate: null, expectedVotes: null, totalVotes: null, quorum: null, members: [], links: [] };
    try {
      parseQuorum(await output('corosync-quorumtool', ['-s']), v);
      parseLinks(await output('corosync-cfgtool', ['-n']), v);
    } catch (e) {
      v.error = (e as Error).message;
    }
    return v;
  }
}

/** A tool's report: corosync-quorumtool exits 2 when not quorate, with its report still on stdout. */
function output(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { timeout: 3000 }, (err, stdout, stderr) => {
      if (stdout.trim() !== '') return resolve(stdout);
      reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || err?.message || 'no output'}`));
    }),
  );
}

export function parseQuorum(text: string, v: CorosyncView): void {
  const field = (name: string) => new RegExp(`^${name}:\\s+(.+)$`, 'm').exec(text)?.[1]?.trim();
  const num = (name: string) => {
    const f = field(name);
    return f === undefined ? null : Number.parseInt(f, 10);
  };
  v.nodeId = num('Node ID');
  v.quorate = field('Quorate') === undefined ? null : field('Quorate') === 'Yes';
  v.expectedVotes = num('Expected votes');
  v.totalVotes = num('Total votes');
  v.quorum = num('Quorum');
  v.members = [...text.matchAll(/^\s+(\d+)\s+\d+\s+(\S+)/gm)].map((m) => ({ nodeid: Number(m[1]), name: m[2]! }));
}

export function parseLinks(text: string, v: CorosyncView): void {
  // "nodeid: 2 reachable" then "   LINK: 0 udp (198.19.255.11->198.19.255.12) enabled connected mtu: 1397"
  for (const line of text.split('\n')) {
    const node = /^nodeid:\s+(\d+)\s+(\S+)/.exec(line);
    if (node) v.links.push({ nodeid: Number(node[1]), state: node[2]! });
    const link = /^\s+LINK:.*\b(connected|disconnected)\b/.exec(line);
    const last = v.links[v.links.length - 1];
    if (link && last) last.state += `, link ${link[1]!}`;
  }
}
