/**
 * DOC: a member's cluster layer: the leader role, drain, status bits, the health check, and its commands
 *
 * Sits beside the failover runtime of a clustered node: ticks the leader
 * decision (cluster-view.ts) and puts it, with draining, into the
 * heartbeats; applies enable/disable/drain from the cluster control
 * without a restart; builds the status document for `tandem status`, the
 * status page, /status.json and /metrics; and serves the control socket's
 * node commands (status, why, failover, resync, bypass, stores).
 */
import { managementAddresses } from '../../cluster/config-check.js';
import type { NodeConfig } from '../../cluster/config-file.js';
import type { ClusterStore } from '../../cluster/store.js';
import type { StatusDoc } from '../../api/status-page.js';
import type { Request } from '../../api/control-socket.js';
import type { Board } from '../../board/board-file.js';
import { BYPASS_MODES, type BypassMode } from '../../core/bypass-modes.js';
import { FLAG_LEADER } from '../../wire/heartbeat-frame.js';
import { monotonicNs } from '../../io/native.js';
import type { BypassControl } from '../pair/bypass-control.js';
import { ClusterControl } from './cluster-control.js';
import { clusterView, health, LeaderRole, type ClusterView } from './cluster-view.js';
import type { FailoverRuntime } from '../pair/failover-runtime.js';
import { adminNote, type Logger } from '../logging/log.js';
import { stallMainThread } from '../diagnostics.js';
import { firmwareFor, startServices, type Services } from './node-services.js';
import type { Firmware } from '../firmware/firmware.js';
import type { SyncClient } from '../pair/sync-client.js';
import { VERSION } from '../version.js';
import { readRecords, recorderDir } from '../explain/flight-recorder.js';
import { Maintenance } from './maintenance.js';
import { LogForwarder, sendForwarded, type LeaderNow } from '../logging/log-forwarder.js';
import { refuse } from './cluster-service.js';
import type { SyslogLogger } from '../logging/syslog-logger.js';

export interface ClusterNodeDeps {
  runtime: FailoverRuntime;
  sync: SyncClient | undefined;
  bypass: BypassControl | undefined;
  restart: (why: string) => void;
  syslog?: SyslogLogger;
  /** Runs `fn` about every `ms` on a wakeup the node has anyway (the heartbeat service tick); returns its cancel. */
  every?: (ms: number, fn: () => void) => () => void;
}

export class ClusterNode {
  private readonly leader: LeaderRole;
  private services: Services | undefined;
  private stopTicker: (() => void) | undefined;
  private toldLeader: boolean | null | undefined;
  private advertisedGeneration = -1;
  readonly control: ClusterControl;
  private readonly maintenance: Maintenance;
  /** tandem's own image: the firmware slots, shared by the services (status, install) and the maintenance sequence. */
  readonly firmware: Firmware;
  private forwarder: LogForwarder | undefined;

  private constructor(
    private readonly config: NodeConfig,
    private readonly board: Board,
    private readonly log: Logger,
    private readonly d: ClusterNodeDeps,
    store: ClusterStore | null,
  ) {
    // A member just started has not heard a live leader yet: it listens for two failover times first.
    this.leader = new LeaderRole(2 * config.timers.failoverTimeMs);
    this.control = new ClusterControl(config, config, store, log, {
      restart: d.restart,
      live: (me) => this.live(me),
      systemState: async () => (d.sync ? ((await d.sync.request({ op: 'store-get', store: 'config' })) as Record<string, unknown>) : {}),
      replaceSystemState: () => {
        throw new Error('only a standalone node joins');
      },
      localState: async () => ({ systemKeys: 0, sessions: 0 }),
      peer: () => {
        const p = d.runtime.snapshot(false).peer;
        return p ? { alive: p.alive, revision: p.configGeneration } : null;
      },
      maintenance: (m) => this.maintenance.serve(m),
      logBatch: (messages, from) => {
        if (!this.leads()) refuse('busy', `${config.node.name} is not the log-server leader`);
        return sendForwarded(d.syslog, messages, from, log);
      },
    });
    this.firmware = firmwareFor({ local: config, log, statusDoc: () => this.statusDoc() });
    this.maintenance = new Maintenance({
      local: config,
      node: config.node.name,
      log,
      role: () => d.runtime.snapshot(false).role,
      failover: () => d.runtime.feed({ type: 'failover', now: monotonicNs() }),
      askPeer: (m, timeoutMs) => this.control.askPeer(m, timeoutMs),
      restart: d.restart,
      firmware: {
        appliance: () => this.firmware.status().appliance,
        install: (file, o) => this.firmware.install(file, o),
        confirmMs: config.maintenance.confirmMs,
      },
    });
  }

  static async start(config: NodeConfig, store: ClusterStore | null, board: Board, log: Logger, d: ClusterNodeDeps): Promise<ClusterNode> {
    const n = new ClusterNode(config, board, log, d, store);
    const syslog = d.syslog;
    if (syslog && store) {
      n.forwarder = new LogForwarder({
        enabled: () => n.control.content?.cluster?.properties.logSync ?? false,
        leader: () => n.logServer(),
        forward: async (batch) => void (await n.control.askPeer({ type: 'log-batch', messages: batch }, 5000)),
        direct: (m) => syslog.direct(m),
        log,
        queueMax: config.syslog?.queueMax ?? 10_000,
      });
      syslog.route = n.forwarder;
    }
    n.services = await startServices({
      local: config,
      log,
      control: n.control,
      managementHosts: managementAddresses(config),
      nodeName: config.node.name,
      statusDoc: () => n.statusDoc(),
      commands: (req) => n.command(req),
      firmware: n.firmware,
    });
    await n.control.start().catch((e: Error) => log.log('error', 'cluster_service_failed', { error: e.message }));
    const tickMs = Math.max(20, Math.floor(config.timers.failoverTimeMs / 3));
    if (d.every) n.stopTicker = d.every(tickMs, () => n.tick());
    else {
      const t = setInterval(() => n.tick(), tickMs);
      n.stopTicker = () => clearInterval(t);
    }
    return n;
  }

  stop(): void {
    this.stopTicker?.();
    this.forwarder?.close();
    this.control.stop();
    this.services?.stop();
  }

  /** The live revision of the cluster definition (the store changes while the node runs). */
  generation(): number {
    return this.control.content?.cluster?.revision ?? this.config.generation;
  }

  /** Who sends to the syslog server under log sync: this member, the other one, or nobody known yet. */
  /** Whether this member holds the leader role (the core's standing). */
  private leads(): boolean {
    return this.d.runtime.snapshot(false).standing.leader;
  }

  logServer(): LeaderNow {
    if (this.leads()) return 'self';
    const p = this.d.runtime.snapshot(false).peer;
    return p?.alive && (p.flags & FLAG_LEADER) !== 0 ? 'other' : null;
  }

  private tick(): void {
    const s = this.d.runtime.snapshot(false);
    const generation = this.generation();
    if (generation !== this.advertisedGeneration) {
      this.advertisedGeneration = generation;
      this.d.runtime.advertise();
    }
    const verdict = this.leader.decide(s, { ...this.config, generation });
    // Through the core, which logs and records the change (tandem why) and puts it in the heartbeats.
    if (verdict.lead !== s.standing.leader)
      this.d.runtime.feed({ type: 'leader', now: monotonicNs(), holding: verdict.lead, reason: verdict.reason, rule: verdict.rule });
    // Active/Active: the sync engine lets the leader's state win when the channel comes up.
    const lead = this.leads() ? true : s.peer?.alive && (s.peer.flags & FLAG_LEADER) !== 0 ? false : null;
    if (this.config.cluster.mode === 'active-active' && lead !== this.toldLeader) {
      this.toldLeader = lead;
      this.d.sync?.setLeader(lead);
    }
  }

  private live(me: { enabled: boolean; draining: boolean }): void {
    if (me.draining !== this.d.runtime.snapshot(false).standing.draining) this.d.runtime.feed({ type: 'drain', now: monotonicNs(), draining: me.draining });
    if (me.enabled === this.d.runtime.snapshot(false).disabled) this.d.runtime.feed({ type: 'enable', now: monotonicNs(), enabled: me.enabled });
  }

  view(): ClusterView {
    const members = this.control.members;
    return clusterView(this.d.runtime.snapshot(), { ...this.config, members }, VERSION.text);
  }

  statusDoc(): StatusDoc {
    const s = this.d.runtime.snapshot();
    const view = this.view();
    const props = this.control.content?.cluster?.properties;
    const ct = 'role' in s.sync ? s.sync.providers['conntrack'] : undefined;
    const sync =
      'role' in s.sync
        ? {
            status: s.sync.status,
            channel: s.sync.channel,
            lag: s.sync.lag,
            sequence: s.sync.sequence,
            ...(ct ? { connections: { ipv4: ct.ipv4 ?? ct.count, ipv6: ct.ipv6 ?? 0 } } : {}),
          }
        : null;
    return {
      node: { name: s.node.name, role: s.role, standalone: false, softwareVersion: VERSION.text },
      cluster: { ...view },
      health: health(s, view, { draining: s.standing.draining, failWhileSyncing: props?.healthCheckFailsWhileSyncing ?? true }),
      matrix: s.matrix.map((r) => ({
        iface: r.iface,
        sync: r.sync,
        sent: r.sent.sent,
        accepted: r.received.accepted,
        superseded: r.received.superseded,
        kernelDrops: r.received.kernelDrops,
        ringDrops: r.received.ringDrops ?? 0,
        rejected: r.received.rejected,
        lastSeenAgoMs: r.lastSeenAgoMs,
      })),
      changes: this.d.runtime.whyHistory().map((c) => ({ wallTime: c.wallTime, from: c.from, to: c.to, reason: c.reason })),
      roleChangesTotal: this.d.runtime.roleChangesTotal(),
      connections: s.connections,
      sync,
    };
  }

  private async command(req: Request): Promise<unknown> {
    const { runtime: rt, sync, bypass } = this.d;
    switch (req.cmd) {
      case 'status': {
        const doc = this.statusDoc();
        return {
          ...rt.snapshot(),
          ...(bypass ? { bypass: bypass.status() } : {}),
          cluster: doc.cluster,
          healthCheck: doc.health,
          softwareVersion: VERSION.text,
          pid: process.pid,
        };
      }
      case 'why': {
        const dir = recorderDir(this.config.stateDir);
        return { dir, records: await readRecords(dir) };
      }
      case 'maintenance':
        return this.maintenance.control(String(req.op), req.args ?? {});
      case 'note':
        return adminNote(this.log, req.text);
      case 'diag-stall':
        return stallMainThread(this.log, req.ms);
      case 'failover':
        rt.feed({ type: 'failover', now: monotonicNs() });
        return { requested: true, role: rt.snapshot().role };
      case 'bypass': {
        if (!bypass) throw new Error(`board ${this.board.name} has no bypass segments, or their relays cannot be driven (see bypass_unavailable in the log)`);
        if (req.mode === undefined) return bypass.status();
        if (!(BYPASS_MODES as readonly string[]).includes(req.mode)) throw new Error(`unknown mode "${req.mode}" (inline, bypass, disconnect)`);
        if (rt.snapshot().role === 'active' && !req.force) {
          throw new Error(
            `this node is active: putting ${req.segment} in ${req.mode} would change the path of live traffic; repeat with --force if that is what you want`,
          );
        }
        const segment = String(req.segment);
        if (!(segment in bypass.status())) throw new Error(`no bypass segment "${segment}" (segments: ${Object.keys(bypass.status()).join(', ')})`);
        // Through the core: recorded (tandem why) and logged, then the relay is set.
        rt.feed({ type: 'bypass', now: monotonicNs(), segment, mode: req.mode as BypassMode });
        return bypass.status();
      }
      case 'resync':
        if (!sync) throw new Error("state synchronisation is off in this node's configuration (sync.enabled)");
        return sync.request({ op: 'resync' });
      case 'store-get':
      case 'store-set': {
        if (!sync) throw new Error("state synchronisation is off in this node's configuration (sync.enabled)");
        if (req.cmd === 'store-set' && rt.snapshot().role !== 'active')
          throw new Error(`this node is ${rt.snapshot().role}: write on the active node, which synchronises it here`);
        return sync.request({
          op: req.cmd,
          ...(req.store !== undefined ? { store: req.store } : {}),
          ...(req.key !== undefined ? { key: req.key } : {}),
          value: req.cmd === 'store-set' ? (req.value ?? null) : null,
        });
      }
      default:
        throw new Error(`unknown command ${req.cmd}`);
    }
  }
}
