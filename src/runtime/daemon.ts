/**
 * DOC: the daemon's worker: everything a node runs, built from its configuration
 *
 * Assembles the adapters (heartbeats, link monitor, shared addresses,
 * connection count, fence command) around the failover runtime, serves the
 * control socket, and removes shared links a crashed run left before the
 * first heartbeat goes out. The supervisor (supervisor.ts) runs this in a
 * child process.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Board } from '../board/board-file.js';
import { ownAddress } from '../cluster/config-check.js';
import type { NodeConfig } from '../cluster/config-file.js';
import type { FailoverConfig } from '../core/failover-types.js';
import { serveControl } from '../api/control-socket.js';
import { hmacAuth } from '../io/heartbeat-auth.js';
import { nextBootId } from '../io/boot-id.js';
import { LinkMonitor } from '../io/link-monitor.js';
import { monotonicNs } from '../io/native.js';
import { SharedAddresses, type SharedIface } from '../io/shared-address.js';
import { TargetMonitor } from '../io/target-monitor.js';
import type { SyncWorkerData } from '../sync/worker.js';
import { SyncClient } from './sync-client.js';
import { FailoverRuntime } from './failover-runtime.js';
import { HeartbeatNode, SOFTWARE_VERSION } from './heartbeat-node.js';
import { WatchdogFeeder } from './watchdog-feeder.js';
import { BypassControl } from './bypass-control.js';
import { BYPASS_MODES, type BypassMode } from '../core/bypass-modes.js';
import type { Logger } from './log.js';

/** The kernel's count of tracked connections in this network namespace (0 when conntrack is not loaded). */
export function conntrackCount(): number {
  try {
    return Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_count', 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

export function failoverConfig(config: NodeConfig): FailoverConfig {
  return {
    nodeId: config.node.id,
    nodeType: config.node.type,
    failoverTimeMs: config.timers.failoverTimeMs,
    initialSilenceMs: config.timers.initialSilenceMs,
    holdDownMs: config.timers.holdDownMs,
    ifaces: config.interfaces.filter((i) => i.heartbeats).map((i) => ({ name: i.name, isSync: i.sync, monitored: i.monitor })),
    fence: config.fence.command !== null || config.fence.bypassSegment !== null,
  };
}

export interface Daemon {
  runtime: FailoverRuntime;
  stop(): Promise<void>;
}

/** What both nodes must agree on to share state: who the members are and which addresses they share. */
export function clusterDefinition(config: NodeConfig): string {
  const members = [config.node, config.peer].map((n) => `${n.id}:${n.name}:${n.type}`).sort();
  const shared = config.interfaces.filter((i) => i.sharedIp).map((i) => `${i.name}=${i.sharedIp!.address}/${i.sharedIp!.prefix}`).sort();
  return createHash('sha256').update(JSON.stringify({ cluster: config.cluster.id, members, shared })).digest('hex').slice(0, 16);
}

/** The sync worker's settings from the configuration (undefined: sync is off). */
function syncWorkerData(config: NodeConfig, password: string): SyncWorkerData | undefined {
  if (!config.sync.enabled) return undefined;
  const iface = config.interfaces.find((i) => i.sync)!;
  const v = SOFTWARE_VERSION;
  return {
    link: {
      password,
      me: { clusterId: config.cluster.id, nodeId: config.node.id, nodeName: config.node.name, softwareVersion: `${v.major}.${v.minor}.${v.patch}`, definition: clusterDefinition(config), groupMode: 'active-passive' },
      local: ownAddress(config, iface)!.address,
      peer: (config.node.type === 'master' ? iface.slaveIp : iface.masterIp)!.address,
      port: config.sync.port,
      dial: config.node.id < config.peer.id,
      timeoutMs: config.sync.timeoutMs,
    },
    ignore: config.interfaces.flatMap((i) => [i.masterIp, i.slaveIp]).filter((c) => c !== null).map((c) => c.address),
    stateDir: config.stateDir,
  };
}

/** Fences a dead peer: the bypass segment wired to cut its path first, then the STONITH command. Resolves with how. */
export async function fencePeer(fence: NodeConfig['fence'], bypass: BypassControl | undefined, peer: { nodeId: number; name: string }): Promise<string> {
  const done: string[] = [];
  if (fence.bypassSegment !== null) {
    if (!bypass) throw new Error(`fence.bypassSegment ${fence.bypassSegment}: the bypass relays cannot be driven (see bypass_unavailable)`);
    bypass.setForFence(fence.bypassSegment, fence.bypassMode);
    done.push(`bypass segment ${fence.bypassSegment} ${fence.bypassMode}`);
  }
  if (fence.command !== null) {
    const command = fence.command;
    await new Promise<void>((resolve, reject) =>
      execFile(command, [peer.name, String(peer.nodeId)], { timeout: fence.timeoutMs }, (err, _o, stderr) => {
        if (!err) return resolve();
        const e = err as Error & { killed?: boolean; code?: number | string };
        if (e.killed) return reject(new Error(`fence command ${command} did not finish within ${fence.timeoutMs} ms and was killed`));
        reject(new Error(`fence command ${command} failed (exit ${String(e.code)}): ${stderr.trim() || e.message}`));
      }),
    );
    done.push(`command ${command}`);
  }
  return done.join(', then ');
}

export async function startDaemon(config: NodeConfig, board: Board, log: Logger): Promise<Daemon> {
  const sharedIfaces = config.interfaces
    .filter((i) => i.sharedIp !== null)
    .map((i): SharedIface => ({ parent: i.name, nn: board.nics.find((n) => n.name === i.name)!.nn, address: i.sharedIp!.address, prefix: i.sharedIp!.prefix }));
  {
    const cleaner = new SharedAddresses(config.cluster.id, sharedIfaces, config.garp);
    const stale = await cleaner.removeStale();
    cleaner.close();
    if (stale.length > 0) log.log('warn', 'stale_shared_links_removed', { links: stale });
  }

  // Armed first: from here on, a hung worker lets the hardware act.
  const watchdog = WatchdogFeeder.start(board, log);
  // The relays hold their failure mode until the node has decided its role.
  const bypass = BypassControl.start(board, config, log);
  const heartbeatIfaces = config.interfaces.filter((i) => i.heartbeats && ownAddress(config, i) !== null).map((i) => i.name);
  const password = readFileSync(config.cluster.passwordFile, 'utf8').trim();
  const syncData = syncWorkerData(config, password);
  const sync = syncData ? await SyncClient.start(syncData, log) : undefined;
  let runtime: FailoverRuntime | undefined;
  const heartbeats = new HeartbeatNode(
    board,
    { clusterId: config.cluster.id, nodeId: config.node.id, nodeName: config.node.name, nodeType: config.node.type, bootId: nextBootId(config.stateDir) },
    hmacAuth(password, config.cluster.id),
    log,
    {
      intervalMs: config.timers.heartbeatIntervalMs,
      disabled: board.nics.map((n) => n.name).filter((n) => !heartbeatIfaces.includes(n)),
      onHeartbeat: (ifname, frame, stamp) => runtime?.heartbeat(ifname, frame, stamp),
    },
  );
  // Gratuitous ARPs leave through the heartbeat sockets of the parent NICs (no socket per takeover).
  const shared = new SharedAddresses(config.cluster.id, sharedIfaces, config.garp, undefined, heartbeats.links());
  const fence = config.fence;
  runtime = new FailoverRuntime(failoverConfig(config), config.node.name, {
    heartbeats,
    shared,
    log,
    ...(sync ? { sync } : {}),
    ...(bypass ? { onRole: (role: string) => void (role !== 'starting' && bypass.ready()) } : {}),
    ...(fence.command === null && fence.bypassSegment === null ? {} : { fence: (peer) => fencePeer(fence, bypass, peer), fenceOnFailure: fence.onFailure }),
  });
  const rt = runtime;
  if (sync) {
    sync.onChange = () => rt.advertise();
    // With sync on, the count that decides who is active while the sync link is down comes from the
    // worker as it changes: the flows this node carries, not the copies a standby holds nor its own.
    sync.onConnections = (count) => rt.feed({ type: 'connections', now: monotonicNs(), count });
  }
  const links = new LinkMonitor(heartbeatIfaces, (ifname, up) => rt.feed({ type: 'link', now: monotonicNs(), iface: ifname, up }));
  const initial = await links.start();
  rt.start();
  for (const [ifname, up] of initial) if (!up) rt.feed({ type: 'link', now: monotonicNs(), iface: ifname, up: false });
  heartbeats.start();
  const targets = new TargetMonitor(
    config.interfaces.filter((i) => i.monitor && i.heartbeats).map((i) => ({ name: i.name, targets: i.monitorTargets })),
    { intervalMs: config.timers.monitorIntervalMs, misses: config.timers.monitorMisses },
    (ifname, reachable) => rt.feed({ type: 'targets', now: monotonicNs(), iface: ifname, reachable }),
  );
  targets.start();

  let lastCount = -1;
  const counter = setInterval(() => {
    const count = sync ? sync.carriedConnections() : conntrackCount();
    if (count !== lastCount) rt.feed({ type: 'connections', now: monotonicNs(), count });
    lastCount = count;
  }, 1000);

  let server: Server | undefined;
  try {
    server = await serveControl(config.controlSocket, async (req) => {
      switch (req.cmd) {
        case 'status':
          return bypass ? { ...rt.snapshot(), bypass: bypass.status() } : rt.snapshot();
        case 'why':
          return rt.whyHistory();
        case 'failover':
          rt.feed({ type: 'failover', now: monotonicNs() });
          return { requested: true, role: rt.snapshot().role };
        case 'bypass': {
          if (!bypass) throw new Error(`board ${board.name} has no bypass segments, or their relays cannot be driven (see bypass_unavailable in the log)`);
          if (req.mode === undefined) return bypass.status();
          if (!(BYPASS_MODES as readonly string[]).includes(req.mode)) throw new Error(`unknown mode "${req.mode}" (inline, bypass, disconnect)`);
          const role = rt.snapshot().role;
          if (role === 'active' && !req.force) {
            throw new Error(`this node is active: putting ${req.segment} in ${req.mode} would change the path of live traffic; repeat with --force if that is what you want`);
          }
          bypass.setByAdmin(String(req.segment), req.mode as BypassMode);
          return bypass.status();
        }
        case 'resync':
          if (!sync) throw new Error('state synchronisation is off in this node\'s configuration (sync.enabled)');
          return sync.request({ op: 'resync' });
        case 'store-get':
        case 'store-set': {
          if (!sync) throw new Error('state synchronisation is off in this node\'s configuration (sync.enabled)');
          if (req.cmd === 'store-set' && rt.snapshot().role !== 'active') throw new Error(`this node is ${rt.snapshot().role}: write on the active node, which synchronises it here`);
          return sync.request({ op: req.cmd, ...(req.store !== undefined ? { store: req.store } : {}), ...(req.key !== undefined ? { key: req.key } : {}), value: req.value ?? null });
        }
      }
    });
  } catch (e) {
    log.log('error', 'control_socket_failed', { path: config.controlSocket, error: (e as Error).message });
  }
  log.log('info', 'daemon_started', { node: config.node.name, type: config.node.type, clusterId: config.cluster.id, failoverTimeMs: config.timers.failoverTimeMs });

  return {
    runtime: rt,
    async stop() {
      clearInterval(counter);
      await rt.stop();
      await sync?.stop();
      bypass?.stop();
      watchdog?.stop();
      targets.close();
      heartbeats.stop();
      links.close();
      shared.close();
      server?.close();
    },
  };
}
