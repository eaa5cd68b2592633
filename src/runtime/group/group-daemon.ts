/**
 * DOC: the worker of a member of a cluster on Corosync (docs/cluster.md, "Clusters of three and more")
 *
 * No heartbeats, no shared addresses, no failover: every member serves
 * behind the load balancer, and the group (group-node.ts) keeps them in one
 * state. Around it: the cluster control (its cluster-wide changes go
 * through the group's order), the control socket and the management HTTP
 * server (status, health check), and log sync through the group's leader.
 */
import type { Request } from '../../api/control-socket.js';
import type { StatusDoc } from '../../api/status-page.js';
import { managementAddresses } from '../../cluster/config-check.js';
import type { NodeConfig } from '../../cluster/config-file.js';
import type { ClusterStore } from '../../cluster/store.js';
import { ClusterControl } from '../cluster-service/cluster-control.js';
import { refuse } from '../cluster-service/cluster-service.js';
import { conntrackCount, type DaemonOptions } from '../pair/daemon.js';
import { recorderDir } from '../explain/flight-recorder.js';
import { GroupNode } from './group-node.js';
import { groupHealth, groupMembers, type GroupFacts } from './group-status.js';
import type { StoreName } from './group-state.js';
import { LogForwarder, sendForwarded } from '../logging/log-forwarder.js';
import { adminNote, type Logger } from '../logging/log.js';
import { startServices } from '../cluster-service/node-services.js';
import { VERSION } from '../version.js';

export async function startGroupDaemon(config: NodeConfig, store: ClusterStore, log: Logger, opts: DaemonOptions): Promise<{ stop(): Promise<void> }> {
  const node = new GroupNode(config, store, log);
  let enabled = config.member.enabled;
  let draining = config.member.draining;
  const nameOf = (id: number | null) => store.value.cluster?.members.find((m) => m.id === id)?.name ?? null;
  const control = new ClusterControl(config, config, store, log, {
    restart: opts.restart,
    live: (me) => {
      if (me.enabled !== enabled) log.log('info', me.enabled ? 'member_enabled' : 'member_disabled', { member: config.node.name });
      if (me.draining !== draining) log.log('info', me.draining ? 'member_draining' : 'member_drain_ended', { member: config.node.name });
      enabled = me.enabled;
      draining = me.draining;
      setImmediate(serving);
    },
    systemState: async () => node.state.config.entries(),
    replaceSystemState: () => {
      throw new Error('only a standalone node joins');
    },
    localState: async () => ({ systemKeys: node.state.config.count(), sessions: node.state.sessions.count() }),
    peer: () => null,
    maintenance: () =>
      Promise.reject(
        new Error(
          'tandem update/upgrade with planned failovers is for Active/Passive pairs; a cluster on Corosync is updated one member at a time (disable, update, enable)',
        ),
      ),
    logBatch: (messages, from) => {
      if (node.core.leader !== config.node.id) refuse('busy', `${config.node.name} is not the log-server leader`);
      return sendForwarded(opts.syslog, messages, from, log);
    },
    ordered: (op, args) => node.request({ k: 'cluster', op, args }),
    membersChanged: (after) => node.membersChanged(after),
  });
  node.control = control;

  // Every change of whether this member serves, with why: the status page's "changes", `tandem why`, the log.
  const history: StatusDoc['changes'] = [];
  let changesTotal = 0;
  let last: { ok: boolean; text: string } = { ok: false, text: 'starting' };
  const serving = () => {
    const c = store.value.cluster;
    if (!c) return;
    const f = facts();
    const h = groupHealth(c, f);
    if (h.text === last.text) return;
    const group = f.view.map((id) => nameOf(id) ?? `node ${id}`);
    const change = {
      wallTime: new Date().toISOString(),
      from: last.ok ? 'active' : 'inactive',
      to: h.ok ? 'active' : 'inactive',
      reason: `${h.text}; group: ${group.join(', ') || 'none'}; leader: ${nameOf(f.leader) ?? 'none'}`,
    };
    history.push(change);
    changesTotal++;
    if (history.length > 20) history.shift();
    log.log(h.ok ? 'info' : 'warn', 'group_serving_changed', { from: change.from, to: change.to, health: h.text, group, leader: nameOf(f.leader) });
    last = h;
  };
  node.onChange = serving;

  let forwarder: LogForwarder | undefined;
  const syslog = opts.syslog;
  if (syslog) {
    forwarder = new LogForwarder({
      enabled: () => store.value.cluster?.properties.logSync ?? false,
      leader: () => (node.core.leader === null ? null : node.core.leader === config.node.id ? 'self' : 'other'),
      forward: async (batch) => {
        const leader = nameOf(node.core.leader);
        if (!leader) throw new Error('no log-server leader now');
        await control.askPeer({ type: 'log-batch', messages: batch }, 5000, leader);
      },
      direct: (m) => syslog.direct(m),
      log,
      queueMax: config.syslog?.queueMax ?? 10_000,
    });
    syslog.route = forwarder;
  }

  const facts = (): GroupFacts => ({
    me: config.node.name,
    connected: node.connected,
    quorate: node.core.quorate,
    quorum: node.core.quorum,
    configured: node.core.configured,
    view: node.core.view.map((m) => m.nodeid),
    holders: node.core.holderIds,
    holdsState: node.core.holdsState,
    leader: node.core.leader,
    receivingFrom: node.core.receivingFrom,
    softwareVersion: VERSION.text,
  });
  const statusDoc = (): StatusDoc => {
    const c = store.value.cluster;
    const f = facts();
    const health = groupHealth(c, f);
    return {
      node: { name: config.node.name, role: health.ok ? 'active' : 'inactive', standalone: !c, softwareVersion: VERSION.text },
      cluster: c && { name: c.name, mode: c.properties.mode, revision: c.revision, leader: nameOf(f.leader), quorate: f.quorate, members: groupMembers(c, f) },
      health,
      matrix: [],
      changes: [...history],
      roleChangesTotal: changesTotal,
      connections: conntrackCount(),
      sync: {
        status: f.holdsState ? 'in-sync' : f.quorate ? 'syncing' : 'no-quorum',
        channel: f.connected ? 'corosync' : 'down',
        lag: 0,
        sequence: node.core.seq,
      },
    };
  };
  const commands = async (req: Request): Promise<unknown> => {
    switch (req.cmd) {
      case 'status': {
        const doc = statusDoc();
        const f = facts();
        return {
          group: {
            ...f,
            seq: node.core.seq,
            stores: { config: node.state.config.count(), sessions: node.state.sessions.count() },
            corosync: await node.runner.view(),
            corosyncPid: node.runner.pid,
          },
          cluster: doc.cluster,
          healthCheck: doc.health,
          node: doc.node,
          role: doc.node.role,
          disabled: !enabled,
          softwareVersion: VERSION.text,
          pid: process.pid,
        };
      }
      case 'store-get': {
        const s = node.state.store(String(req.store));
        return req.key === undefined ? s.entries() : (s.get(String(req.key)) ?? null);
      }
      case 'store-set': {
        node.state.store(String(req.store));
        const store = String(req.store) as StoreName;
        if (Array.isArray(req.entries)) {
          if (req.entries.length > 10_000) throw new Error(`store-set: at most 10000 entries at once, not ${req.entries.length}`);
          await Promise.all(req.entries.map(([key, value]) => node.request({ k: 'store', store, key: String(key), value: value ?? null })));
          return { stored: req.entries.length };
        }
        if (req.key === undefined) throw new Error('store-set needs a key (or entries)');
        return node.request({ k: 'store', store, key: String(req.key), value: req.value ?? null });
      }
      case 'note':
        return adminNote(log, req.text);
      case 'why':
        // No failover here: what a member of a cluster on Corosync can be asked is why it serves or not.
        return { dir: recorderDir(config.stateDir), records: [], group: [...history].reverse() };
      default:
        throw new Error(
          `"${req.cmd}" is for a pair on tandem's heartbeats; this member is in cluster ${config.cluster.name} on Corosync, where every member serves`,
        );
    }
  };
  const services = await startServices({
    local: config,
    log,
    control,
    managementHosts: managementAddresses(config),
    nodeName: config.node.name,
    statusDoc,
    commands,
  });
  await control.start().catch((e: Error) => log.log('error', 'cluster_service_failed', { error: e.message }));
  node.start();
  log.log('info', 'daemon_started', {
    node: config.node.name,
    cluster: config.cluster.name,
    mode: config.cluster.mode,
    engine: 'corosync',
    members: store.value.cluster!.members.length,
  });
  return {
    async stop() {
      forwarder?.close();
      control.stop();
      services.stop();
      await node.stop();
    },
  };
}
