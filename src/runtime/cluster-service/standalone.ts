/**
 * DOC: a standalone node (factory state, or after leaving a cluster)
 *
 * No heartbeats, no shared addresses, no peer: the node keeps its own system
 * state and sessions (the same stores a member synchronises), answers the
 * CLI and the management HTTP server (the health check says 500
 * "Standalone": a load balancer must not count it as a cluster member), and
 * waits for `tandem cluster create` or `tandem cluster join`, after which it
 * restarts as a member.
 */
import { join } from 'node:path';
import type { Board } from '../../board/board-file.js';
import type { LocalConfig } from '../../cluster/config-file.js';
import type { ClusterStore } from '../../cluster/store.js';
import { KvProvider, storeCommand } from '../../sync/kv-provider.js';
import { refuse } from './cluster-service.js';
import { ClusterControl } from './cluster-control.js';
import type { Daemon } from '../pair/daemon.js';
import type { Logger } from '../logging/log.js';
import { startServices } from './node-services.js';
import { VERSION } from '../version.js';

export async function startStandalone(
  local: LocalConfig,
  store: ClusterStore,
  _board: Board,
  log: Logger,
  restart: (why: string) => void,
): Promise<Pick<Daemon, 'stop'>> {
  const stores = { config: new KvProvider('config', join(local.stateDir, 'system-state.json')), sessions: new KvProvider('sessions') };
  const control = new ClusterControl(local, null, store, log, {
    restart,
    live: () => undefined,
    systemState: async () => stores.config.entries(),
    replaceSystemState: (entries) => void stores.config.replace([{ count: Object.keys(entries).length, data: Object.entries(entries) }]),
    localState: async () => ({ systemKeys: stores.config.count(), sessions: stores.sessions.count() }),
    peer: () => null,
    maintenance: () => Promise.reject(new Error('this node is standalone: it takes part in no maintenance sequence')),
    logBatch: () => refuse('not_a_member', 'this node is standalone: it is no log-server leader'),
  });
  const mgmt = local.management && local.interfaces.find((i) => i.name === local.management!.interface);
  const doc = () => ({
    node: { name: '(standalone)', role: 'standalone', standalone: true, softwareVersion: VERSION.text },
    cluster: null,
    health: { ok: false, text: 'Standalone: this node is not a cluster member' },
    matrix: [],
    changes: [],
    roleChangesTotal: 0,
    connections: 0,
    sync: null,
  });
  const services = await startServices({
    local,
    log,
    control,
    managementHosts: mgmt ? [mgmt.address, mgmt.address6].flatMap((c) => (c ? [c.address] : [])) : [],
    statusDoc: doc,
    commands: (req) => {
      switch (req.cmd) {
        case 'status':
          return {
            standalone: true,
            pid: process.pid,
            bits: 1,
            hex: '0x00001',
            words: ['standalone'],
            softwareVersion: VERSION.text,
            stores: { config: stores.config.count(), sessions: stores.sessions.count() },
          };
        case 'store-get':
        case 'store-set':
          return storeCommand(stores, { op: req.cmd, store: req.store, key: req.key, value: req.cmd === 'store-set' ? req.value : undefined });
        default:
          throw new Error(`this node is standalone: "${req.cmd}" needs a cluster (tandem cluster create, or tandem cluster join --member ADDRESS)`);
      }
    },
  });
  log.log('info', 'standalone_started', { stateDir: local.stateDir, generation: store.generation, recovered: store.recovered });
  return {
    async stop() {
      services.stop();
      stores.config.close();
      stores.sessions.close();
    },
  };
}
