/**
 * DOC: a running cluster in a lab: tandemd on every node, traffic, outage
 *
 * Writes each node's configuration (lab-config.ts), starts `tandemd` in the
 * node namespaces (supervised, as in production), reads their status over
 * the control sockets, and measures what a client sees: a ping from the
 * client to the server through the shared addresses every `intervalMs`,
 * whose longest gap between replies is the outage. Used by the README demo,
 * the lab tests and the failover benchmark.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Board } from '../board/board-file.js';
import { askControl } from '../api/control-socket.js';
import type { Snapshot } from '../runtime/pair/failover-runtime.js';
import type { SyncStatusView } from '../sync/engine.js';
import type { ConnReport } from './tcp-probe.js';
import type { Lab } from './lab.js';
import { sleep } from './lab.js';
import { labManagedConfig, labNodeConfig, type LabConfigOptions } from './lab-config.js';

export type LabClusterOptions = Partial<Pick<LabConfigOptions, 'timers' | 'boardRef' | 'monitorTargets' | 'sync'>> & {
  onEvent?: (node: string, ev: Record<string, unknown>) => void;
  passwords?: Record<string, string>;
  env?: (node: string) => Record<string, string>;
  configFor?: (node: string) => Record<string, unknown>;
  /** Another tandemd than this checkout's (the one an image installed). */
  tandemd?: string;
  /** Managed nodes (no cluster in their files, formed with `tandem cluster`); `shared`: data segments' .1 as shared addresses. */
  managed?: { shared: boolean; factory?: string[] };
};

const TANDEMD = join(__dirname, '..', '..', '..', 'bin', 'tandemd');

export interface ClusterNode {
  name: string;
  netns: string;
  config: string;
  socket: string;
  process: ChildProcess;
  events: { event: string; [k: string]: unknown }[];
}

export class LabCluster {
  readonly nodes: ClusterNode[] = [];
  private readonly logs: WriteStream[] = [];

  private constructor(
    readonly lab: Lab,
    readonly dir: string,
    /** Extra environment per node (a simulator preloaded, say). */
    private readonly env?: (node: string) => Record<string, string>,
  ) {}

  /** Starts tandemd on every node of a two-node lab. */
  static async start(lab: Lab, board: Board, opts: LabClusterOptions = {}): Promise<LabCluster> {
    const dir = mkdtempSync(join(tmpdir(), `${lab.name}-`));
    const c = new LabCluster(lab, dir, opts.env);
    writeFileSync(join(dir, 'cluster.key'), `${lab.name}-password\n`, { mode: 0o600 });
    for (const node of lab.plan.nodes) {
      const config = join(dir, `${node.name}.json`);
      const socket = join(dir, `${node.name}.sock`);
      // A node given its own password (tests of a wrong one) gets its own key file.
      const own = opts.passwords?.[node.name];
      if (own !== undefined) writeFileSync(join(dir, `${node.name}.key`), `${own}\n`, { mode: 0o600 });
      const common = {
        ...(opts.sync ? { sync: opts.sync } : {}),
        stateDir: join(dir, `${node.name}-state`),
        controlSocket: socket,
        ...(opts.timers ? { timers: opts.timers } : {}),
        ...(opts.boardRef ? { boardRef: opts.boardRef } : {}),
        ...(opts.monitorTargets ? { monitorTargets: opts.monitorTargets } : {}),
      };
      // Managed nodes start standalone: the test forms the cluster with `tandem cluster`.
      const raw = opts.managed
        ? labManagedConfig(lab.plan, board, node.index, { ...common, shared: opts.managed.shared, factory: opts.managed.factory?.includes(node.name) ?? false })
        : labNodeConfig(lab.plan, board, node.index, { ...common, passwordFile: join(dir, own !== undefined ? `${node.name}.key` : 'cluster.key') });
      // Per-node additions (fence, bypass failure modes ...), over what the lab writes.
      writeFileSync(config, JSON.stringify({ ...raw, ...(opts.configFor?.(node.name) ?? {}) }, null, 2));
      const events: ClusterNode['events'] = [];
      c.nodes.push({
        name: node.name,
        netns: node.netns,
        config,
        socket,
        events,
        process: c.launch(node.name, node.netns, config, events, opts.onEvent, opts.tandemd),
      });
    }
    return c;
  }

  /** Starts a node's tandemd; its JSON log lines become events, and everything goes to its log file. */
  private launch(
    name: string,
    netns: string,
    config: string,
    events: ClusterNode['events'],
    onEvent?: (node: string, ev: Record<string, unknown>) => void,
    bin = TANDEMD,
  ): ChildProcess {
    const proc = this.lab.spawn(netns, [process.execPath, bin, '--config', config], this.env ? { env: this.env(name) } : {});
    const log = createWriteStream(join(this.dir, `${name}.log`), { flags: 'a' });
    this.logs.push(log);
    proc.stderr?.pipe(log);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      log.write(line + '\n');
      try {
        const ev = JSON.parse(line) as ClusterNode['events'][number];
        events.push(ev);
        onEvent?.(name, ev);
      } catch {
        // not JSON: kept in the log file only
      }
    });
    return proc;
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name} in the cluster`);
    return n;
  }

  async status(name: string): Promise<Snapshot> {
    return (await askControl(this.node(name).socket, 'status')) as Snapshot;
  }

  /** A node's sync status (throws when sync is off). */
  async sync(name: string): Promise<SyncStatusView> {
    const s = (await this.status(name)).sync;
    if (!('role' in s)) throw new Error(`sync is off on ${name}`);
    return s;
  }

  /** Restarts a node's daemon (after its process ended) with the same configuration; `bin`: another tandemd (an upgrade). */
  restart(name: string, onEvent?: (node: string, ev: Record<string, unknown>) => void, bin?: string): void {
    const n = this.node(name);
    n.process = this.launch(n.name, n.netns, n.config, n.events, onEvent, bin);
  }

  /** Events of one name a node logged, in order. */
  events(node: string, event: string): ClusterNode['events'] {
    return this.node(node).events.filter((e) => e.event === event);
  }

  /** Waits until exactly one node is active, holding the shared addresses, and the other inactive; returns their names. */
  async settled(timeoutMs: number): Promise<{ active: string; inactive: string }> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const roles = await Promise.all(this.nodes.map(async (n) => [n.name, await this.status(n.name)] as const));
        last = roles.map(([n, s]) => `${n}:${s.role}${s.role === 'active' ? ` (shared ${s.sharedAddresses})` : ''}`).join(' ');
        const active = roles.filter(([, s]) => s.role === 'active');
        const inactive = roles.filter(([, s]) => s.role === 'inactive');
        // The role is decided a few ms before the claim has the shared links up: settled once they are.
        if (active.length === 1 && inactive.length === 1 && active[0]![1].sharedAddresses === 'held')
          return { active: active[0]![0], inactive: inactive[0]![0] };
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(50);
    }
    throw new Error(`the cluster did not settle within ${timeoutMs} ms (${last})`);
  }

  async stop(): Promise<void> {
    await this.lab.thawAll(); // a powered-off node's processes are frozen; they must run to stop
    for (const n of this.nodes) {
      if (n.process.exitCode === null && n.process.signalCode === null) n.process.kill('SIGTERM');
    }
    const deadline = Date.now() + 6000;
    for (const n of this.nodes) {
      while (n.process.exitCode === null && n.process.signalCode === null && Date.now() < deadline) await sleep(20);
    }
    for (const l of this.logs) l.end();
  }

  /** Removes the configuration directory (keep it to read the logs after a failure). */
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A ping from the client to the server every intervalMs; the outage is the longest gap between replies. */
export class Traffic {
  private readonly replies: number[] = [];
  private readonly seqs: number[] = [];
  private readonly proc: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(
    lab: Lab,
    target: string,
    readonly intervalMs = 10,
    seconds = 30,
  ) {
    const client = lab.plan.hosts.find((h) => h.name === 'client');
    if (!client) throw new Error('the lab has no client');
    this.proc = lab.spawn(client.netns, ['ping', '-n', '-D', '-i', String(intervalMs / 1000), '-w', String(seconds), '-W', '1', target]);
    this.exited = new Promise((r) => this.proc.once('exit', () => r()));
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      const m = /^\[(\d+\.\d+)\].*icmp_seq=(\d+)/.exec(line);
      if (m) {
        this.replies.push(Number(m[1]) * 1000);
        this.seqs.push(Number(m[2]));
      }
    });
  }

  get count(): number {
    return this.replies.length;
  }

  /** Longest time without a reply, in ms, minus one interval (the outage the client saw). */
  outageMs(fromMs = 0): number {
    let worst = 0;
    const r = this.replies.filter((t) => t >= fromMs);
    for (let i = 1; i < r.length; i++) worst = Math.max(worst, r[i]! - r[i - 1]!);
    return Math.max(0, worst - this.intervalMs);
  }

  /** Requests without a reply among those answered from `fromMs` on (sequence numbers missing). */
  lost(fromMs = 0): number {
    const seqs = this.seqs.filter((_, i) => this.replies[i]! >= fromMs).sort((a, b) => a - b);
    if (seqs.length < 2) return 0;
    return seqs.at(-1)! - seqs[0]! + 1 - new Set(seqs).size;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) this.proc.kill('SIGINT');
    await this.exited;
  }
}

const PROBE = join(__dirname, 'tcp-probe.js');

export interface ProbeReport {
  final: boolean;
  at: number;
  conns: ConnReport[];
}

/**
 * Long-lived TCP connections from the client to the server through the
 * cluster (tcp-probe.ts): an echo server on the server host, N connections
 * writing every intervalMs from the client, every echoed byte checked.
 */
export class TcpProbe {
  private latest: ProbeReport | undefined;
  private finalReport: ProbeReport | undefined;
  private client: ChildProcess | undefined;
  private clientExit: Promise<void> = Promise.resolve();
  private readonly serverExit: Promise<void>;

  private constructor(private readonly server: ChildProcess) {
    this.serverExit = new Promise((r) => server.once('exit', () => r()));
  }

  /** Starts the echo server, waits until it listens (5 s at most), then the client's connections. */
  /** `family` 6: to the server's IPv6 address (a dual-stack lab; the server listens on both). */
  /** Between the lab's client and server: a namespace lab, or the VM lab (its hosts are namespaces too). */
  static async start(
    lab: Pick<Lab, 'plan' | 'spawn'>,
    opts: { port?: number; connections?: number; intervalMs?: number; family?: 4 | 6 } = {},
  ): Promise<TcpProbe> {
    const client = lab.plan.hosts.find((h) => h.name === 'client');
    const server = lab.plan.hosts.find((h) => h.name === 'server');
    if (!client || !server) throw new Error('the lab has no client or no server');
    const port = opts.port ?? 7007;
    const p = new TcpProbe(lab.spawn(server.netns, [process.execPath, PROBE, 'server', String(port)]));
    const listening = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      createInterface({ input: p.server.stdout! }).once('line', () => (clearTimeout(timer), resolve(true)));
      p.server.once('exit', () => (clearTimeout(timer), resolve(false)));
    });
    if (!listening) {
      await p.stop().catch(() => undefined);
      throw new Error(`the TCP echo server did not listen on ${port} within 5 s`);
    }
    const proc = lab.spawn(client.netns, [
      process.execPath,
      PROBE,
      'client',
      (opts.family === 6 ? server.iface.address6 : server.iface.address).split('/')[0]!,
      String(port),
      String(opts.connections ?? 50),
      String(opts.intervalMs ?? 10),
    ]);
    p.client = proc;
    p.clientExit = new Promise((r) => proc.once('exit', () => r()));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const r = JSON.parse(line) as ProbeReport;
        p.latest = r;
        if (r.final) p.finalReport = r;
      } catch {
        // not a report
      }
    });
    return p;
  }

  get report(): ProbeReport | undefined {
    return this.latest;
  }

  /** Every connection established and echoing within the last 1.5 s. */
  allFlowing(n: number): boolean {
    const r = this.latest;
    return !!r && r.conns.length === n && r.conns.every((c) => c.connected && c.error === null && c.echoed > 0 && r.at - c.lastEchoAt < 1500);
  }

  async stop(): Promise<ProbeReport> {
    if (this.client && this.client.exitCode === null) this.client.kill('SIGTERM');
    await this.clientExit;
    if (this.server.exitCode === null) this.server.kill('SIGTERM');
    await this.serverExit;
    if (!this.finalReport) throw new Error('the TCP probe ended without a report');
    return this.finalReport;
  }
}
