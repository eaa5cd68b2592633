/**
 * DOC: the daemon's worker: everything a node runs, built from its configuration
 *
 * Assembles the adapters (heartbeats, link monitor, shared addresses,
 * connection count, fence command) around the failover runtime, serves the
 * control socket, and removes shared links a crashed run left before the
 * first heartbeat goes out. The supervisor (supervisor.ts) runs this in a
 * child process.
 */
import { runCommand } from '../run-command.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Board } from '../../board/board-file.js';
import { hasOwnAddress, ownAddress, ownAddress6, peerSyncAddress } from '../../cluster/config-check.js';
import { clusterSecret } from '../../cluster/cluster-key.js';
import type { NodeConfig } from '../../cluster/config-file.js';
import type { FailoverConfig } from '../../core/failover-types.js';
import { readTerm, termFile, TermWriter } from './term-file.js';
import { hmacAuth } from '../../io/heartbeat-auth.js';
import { nextBootId } from '../../io/boot-id.js';
import { LinkMonitor } from '../../io/link-monitor.js';
import { monotonicNs } from '../../io/native.js';
import { SharedAddresses, type SharedIface } from '../../io/shared-address.js';
import { sharedIfacesOf } from '../shared-ifaces.js';
import { GUARD_TABLE, LEASE_TABLE, SharedLease } from '../../io/shared-lease.js';
import { TargetMonitor } from '../../io/target-monitor.js';
import type { SyncWorkerData } from '../../sync/worker.js';
import { SyncClient } from './sync-client.js';
import { FailoverRuntime } from './failover-runtime.js';
import { HeartbeatNode } from './heartbeat-node.js';
import { VERSION } from '../version.js';
import { WatchdogFeeder } from './watchdog-feeder.js';
import { BypassControl } from './bypass-control.js';
import type { Logger } from '../logging/log.js';
import type { ClusterStore } from '../../cluster/store.js';
import { ClusterNode } from '../cluster-service/cluster-node.js';
import { FlightRecorder, recorderDir } from '../explain/flight-recorder.js';
import type { SyslogLogger } from '../logging/syslog-logger.js';

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
    groupMode: config.cluster.mode,
    disabled: !config.member.enabled,
    draining: config.member.draining,
    stateSync: config.sync.enabled,
  };
}

export interface Daemon {
  runtime: FailoverRuntime;
  stop(): Promise<void>;
}

/** What both nodes must agree on to share state: who the members are and which addresses they share. */
export function clusterDefinition(config: NodeConfig): string {
  const members = config.members.map((n) => `${n.id}:${n.name}:${n.type}`).sort();
  const shared = config.interfaces
    .filter((i) => i.sharedIp)
    .map((i) => `${i.name}=${i.sharedIp!.address}/${i.sharedIp!.prefix}`)
    // IPv6 entries only where there are any: a pair without IPv6 keeps the definition it had.
    .concat(config.interfaces.filter((i) => i.sharedIp6).map((i) => `${i.name}=${i.sharedIp6!.address}/${i.sharedIp6!.prefix}`))
    .sort();
  return createHash('sha256')
    .update(JSON.stringify({ cluster: config.cluster.id, members, shared }))
    .digest('hex')
    .slice(0, 16);
}

/** The sync worker's settings from the configuration (undefined: sync is off). */
function syncWorkerData(config: NodeConfig, secret: Uint8Array): SyncWorkerData | undefined {
  const peer = peerSyncAddress(config);
  if (!config.sync.enabled || !config.peer || !peer) return undefined;
  const iface = config.interfaces.find((i) => i.sync)!;
  return {
    link: {
      secret,
      me: {
        clusterId: config.cluster.id,
        nodeId: config.node.id,
        nodeName: config.node.name,
        softwareVersion: VERSION.text,
        definition: clusterDefinition(config),
        groupMode: config.cluster.mode,
      },
      local: ownAddress(config, iface)!.address,
      peer,
      port: config.sync.port,
      dial: config.node.id < config.peer.id,
      timeoutMs: config.sync.timeoutMs,
    },
    ignore: [
      ...config.interfaces
        .flatMap((i) => [i.masterIp, i.slaveIp, i.address, i.masterIp6, i.slaveIp6, i.address6])
        .filter((c) => c !== null)
        .map((c) => c.address),
      ...config.members.map((m) => m.address).filter((a) => a !== ''),
    ],
    stateDir: config.stateDir,
    mode: config.cluster.mode,
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
    await runCommand(command, [peer.name, String(peer.nodeId)], { timeoutMs: fence.timeoutMs, label: `fence command ${command}` });
    done.push(`command ${command}`);
  }
  return done.join(', then ');
}

/**
 * The shared addresses on the kernel's lease (src/io/shared-lease.ts). Another live tandemd holding it is
 * fatal (two daemons on one node); anything else is logged and the node runs on without it.
 */
async function takeLease(clusterId: number, shared: readonly SharedIface[], log: Logger): Promise<SharedLease | null> {
  const nics = [...new Map(shared.map((s) => [s.parent, { parent: s.parent, nn: s.nn }])).values()];
  try {
    const lease = await SharedLease.take(clusterId, nics);
    if (lease) log.log('info', 'shared_lease_taken', { nics: nics.map((n) => n.parent), guard: GUARD_TABLE, lease: LEASE_TABLE });
    return lease;
  } catch (e) {
    if (/held by another live tandemd/.test((e as Error).message)) throw e;
    log.log('error', 'shared_lease_unavailable', { error: (e as Error).message });
    return null;
  }
}

export interface DaemonOptions {
  /** The cluster store of a managed node (null: the cluster is in the configuration file). */
  store: ClusterStore | null;
  /** Ends this process so that the supervisor starts the node again with the new membership. */
  restart: (why: string) => void;
  /** The syslog side of the log (log sync routes it through the log-server leader). */
  syslog?: SyslogLogger;
}

export async function startDaemon(
  config: NodeConfig,
  board: Board,
  baseLog: Logger,
  opts: DaemonOptions = { store: null, restart: () => undefined },
): Promise<Daemon> {
  let term = 0;
  try {
    term = readTerm(config.stateDir);
  } catch (e) {
    baseLog.log('warn', 'term_file_unreadable', { file: termFile(config.stateDir), error: (e as Error).message });
  }
  const fo = { ...failoverConfig(config), term };
  const termWriter = new TermWriter(config.stateDir, (error) => baseLog.log('error', 'term_persist_failed', { file: termFile(config.stateDir), error }));
  const recorder = new FlightRecorder({
    node: config.node.name,
    dir: recorderDir(config.stateDir),
    failoverTimeMs: fo.failoverTimeMs,
    heartbeatIntervalMs: config.timers.heartbeatIntervalMs,
    holdDownMs: fo.holdDownMs,
    ifaces: fo.ifaces.map((i) => ({ ...i })),
    mono: monotonicNs,
    onWriteFailed: (error) => baseLog.log('error', 'flight_record_failed', { dir: recorderDir(config.stateDir), error }),
  });
  // Everything the node logs also goes into the flight recorder's ring.
  const log = recorder.tap(baseLog);
  const sharedIfaces = sharedIfacesOf(config, board);
  {
    const cleaner = new SharedAddresses(config.cluster.id, sharedIfaces, config.garp);
    const stale = await cleaner.removeStale();
    cleaner.close();
    if (stale.length > 0) log.log('warn', 'stale_shared_links_removed', { links: stale });
  }
  const lease = await takeLease(config.cluster.id, sharedIfaces, log);

  // Armed first: from here on, a hung worker lets the hardware act.
  const watchdog = WatchdogFeeder.start(board, log);
  // The relays hold their failure mode until the node has decided its role.
  const bypass = BypassControl.start(board, config, log);
  const heartbeatIfaces = config.interfaces.filter((i) => i.heartbeats && hasOwnAddress(config, i)).map((i) => i.name);
  const secret = clusterSecret(config.cluster);
  const syncData = syncWorkerData(config, secret);
  const sync = syncData ? await SyncClient.start(syncData, log) : undefined;
  let runtime: FailoverRuntime | undefined;
  let cluster: ClusterNode | undefined;
  const heartbeats = new HeartbeatNode(
    board,
    { clusterId: config.cluster.id, nodeId: config.node.id, nodeName: config.node.name, nodeType: config.node.type, bootId: nextBootId(config.stateDir) },
    hmacAuth(secret, config.cluster.id),
    log,
    {
      intervalMs: config.timers.heartbeatIntervalMs,
      // By the heartbeat thread as they arrive: a peer's change (lower health, yielding, holding the shared
      // addresses) wakes the main loop at once, a repeat waits with its kernel stamp for the service tick (each
      // wakeup of the main loop costs more than the frames); before judging a deadline the runtime reads them all.
      receive: 'paced',
      leaseMs: config.timers.heartbeatLeaseMs,
      rtPriority: config.timers.heartbeatRtPriority,
      disabled: board.nics.map((n) => n.name).filter((n) => !heartbeatIfaces.includes(n)),
      ipv6Only: config.interfaces.filter((i) => ownAddress(config, i) === null && ownAddress6(config, i) !== null).map((i) => i.name),
      onHeartbeat: (ifname, frame, stamp) => runtime?.heartbeat(ifname, frame, stamp),
    },
  );
  heartbeats.sender.update({ configGeneration: config.generation });
  // Gratuitous ARPs leave through the heartbeat sockets of the parent NICs (no socket per takeover).
  const shared = new SharedAddresses(config.cluster.id, sharedIfaces, config.garp, undefined, heartbeats.links());
  const fence = config.fence;
  runtime = new FailoverRuntime(fo, config.node.name, {
    heartbeats,
    persistTerm: (t) => termWriter.write(t),
    shared,
    log,
    recorder,
    ...(bypass ? { bypass } : {}),
    generation: () => cluster?.generation() ?? config.generation,
    ...(sync ? { sync } : {}),
    ...(bypass ? { onRole: (role: string) => void (role !== 'starting' && bypass.ready()) } : {}),
    ...(fence.command === null && fence.bypassSegment === null ? {} : { fence: (peer) => fencePeer(fence, bypass, peer), fenceOnFailure: fence.onFailure }),
  });
  const rt = runtime;
  const activeActive = config.cluster.mode === 'active-active';
  if (sync) {
    sync.onChange = () => rt.advertise();
    // With sync on, the count that decides who is active while the sync link is down comes from the
    // worker as it changes: the flows this node carries, not the copies a standby holds nor its own.
    // (Active/Active carries nothing for the peer: the kernel's own count, below.)
    if (!activeActive) sync.onConnections = (count) => rt.feed({ type: 'connections', now: monotonicNs(), count });
  }
  const links = new LinkMonitor(heartbeatIfaces, (ifname, up) => {
    heartbeats.sender.carrierChanged(ifname, up);
    rt.feed({ type: 'link', now: monotonicNs(), iface: ifname, up });
  });
  const initial = await links.start();
  for (const [ifname, up] of initial) heartbeats.sender.carrierChanged(ifname, up);
  rt.start();
  for (const [ifname, up] of initial) if (!up) rt.feed({ type: 'link', now: monotonicNs(), iface: ifname, up: false });
  heartbeats.start();
  const targets = new TargetMonitor(
    config.interfaces
      .filter((i) => i.monitor && i.heartbeats)
      .map((i) => ({ name: i.name, targets: i.monitorTargets, source6: ownAddress6(config, i)?.address })),
    { intervalMs: config.timers.monitorIntervalMs, misses: config.timers.monitorMisses },
    (ifname, reachable) => rt.feed({ type: 'targets', now: monotonicNs(), iface: ifname, reachable }),
  );
  targets.start();

  // Asked on every service tick (a comparison; the tick runs anyway): the refresh is due refreshMs after the claim's
  // own ARPs or the last refresh, so it comes at most a tick late, whatever the phase of the claim.
  const refreshMs = config.garp.refreshMs;
  const stopRefresh = refreshMs > 0 ? heartbeats.every(0, () => rt.refreshShared(refreshMs)) : () => undefined;
  let lastCount = -1;
  const stopCounter = heartbeats.every(1000, () => {
    const count = sync && !activeActive ? sync.carriedConnections() : conntrackCount();
    if (count !== lastCount) rt.feed({ type: 'connections', now: monotonicNs(), count });
    lastCount = count;
  });

  cluster = await ClusterNode.start(config, opts.store, board, log, {
    runtime: rt,
    sync,
    bypass,
    restart: opts.restart,
    every: (ms, fn) => heartbeats.every(ms, fn),
    ...(opts.syslog ? { syslog: opts.syslog } : {}),
  });
  log.log('info', 'daemon_started', {
    node: config.node.name,
    type: config.node.type,
    clusterId: config.cluster.id,
    cluster: config.cluster.name,
    mode: config.cluster.mode,
    failoverTimeMs: config.timers.failoverTimeMs,
  });

  return {
    runtime: rt,
    async stop() {
      stopCounter();
      stopRefresh();
      await rt.stop();
      await recorder.flushed();
      await sync?.stop();
      bypass?.stop();
      watchdog?.stop();
      targets.close();
      heartbeats.stop();
      links.close();
      shared.close();
      lease?.close();
      cluster?.stop();
    },
  };
}
