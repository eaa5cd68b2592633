/**
 * DOC: the sync worker thread: state synchronisation off the failover loop
 *
 * Heartbeats and failover decisions run on the main thread, and nothing may
 * hold it for long: a burst of 100k conntrack events, a table dump or a
 * full transfer costs hundreds of milliseconds of work, which on the main
 * loop looked like a dead node to the peer (a false failover, measured).
 * So the link, the providers and the engine live in this worker; the main
 * thread (src/runtime/pair/sync-client.ts) sends it roles and commands and gets
 * back what the heartbeats and status show, pushed when it changes.
 *
 * Messages in:  {id, op: setRole|commit|resync|store-get|store-set|stop, ...}
 * Messages out: {reply: id, ok, result|error}, {type: state, ...}, {type: log, ...}
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { ConntrackProvider } from './conntrack-provider.js';
import { SyncEngine } from './engine.js';
import { KvProvider, storeCommand } from './kv-provider.js';
import { SyncLink, type SyncLinkOptions, type SyncLog } from './link.js';

export interface SyncWorkerData {
  link: Omit<SyncLinkOptions, 'log'>;
  /** The nodes' own addresses: their flows are not synchronised. */
  ignore: string[];
  stateDir: string;
  /** Active/Active: both members serve and synchronise both ways (engine.ts). */
  mode?: 'active-passive' | 'active-active';
}

export interface SyncRequest {
  id: number;
  op: 'setRole' | 'setLeader' | 'commit' | 'resync' | 'store-get' | 'store-set' | 'stop';
  active?: boolean;
  leader?: boolean | null;
  peerSequence?: number;
  store?: string;
  key?: string;
  value?: unknown;
}

const PUSH_EVERY_MS = 10;

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as SyncWorkerData;
  const log: SyncLog = { log: (level, event, fields = {}) => port.postMessage({ type: 'log', level, event, fields }) };
  mkdirSync(data.stateDir, { recursive: true, mode: 0o700 });
  const link = new SyncLink({ ...data.link, log });
  const stores = {
    config: new KvProvider('config', join(data.stateDir, 'system-state.json')),
    sessions: new KvProvider('sessions'),
  };
  const mode = data.mode ?? 'active-passive';
  // Active/Active exchanges no connection table: no conntrack follower at all.
  const providers =
    mode === 'active-active' ? [stores.config, stores.sessions] : [new ConntrackProvider({ ignore: data.ignore, log }), stores.config, stores.sessions];
  const engine = new SyncEngine(link, providers, log, mode);

  // What the main thread shows and advertises, pushed when it changes (at most every 10 ms).
  let pushTimer: NodeJS.Timeout | undefined;
  let lastPush = 0;
  let lastStatus = '';
  let lastPosted = '';
  const push = () => {
    if (pushTimer) clearTimeout(pushTimer);
    pushTimer = undefined;
    lastPush = performance.now();
    const hb = engine.heartbeatFields();
    lastStatus = hb.syncStatus;
    lastCarried = engine.carriedConnections();
    const state = {
      type: 'state',
      syncStatus: hb.syncStatus,
      syncSequence: hb.syncSequence.toString(),
      carried: engine.carriedConnections(),
      status: engine.status(),
    };
    // Nothing new: no message (each one wakes the main loop).
    const text = JSON.stringify(state);
    if (text === lastPosted) return;
    lastPosted = text;
    port.postMessage(state);
  };
  let lastCarried = -1;
  const schedulePush = () => {
    // A change of status (in sync, out of sync) or of the connection count goes out at once; sequence numbers at most every 10 ms.
    if (engine.heartbeatFields().syncStatus !== lastStatus || engine.carriedConnections() !== lastCarried) return push();
    if (pushTimer) return;
    pushTimer = setTimeout(push, Math.max(0, PUSH_EVERY_MS - (performance.now() - lastPush)));
  };
  engine.onChange = schedulePush;
  setInterval(schedulePush, 500).unref();

  const handle = async (r: SyncRequest): Promise<unknown> => {
    switch (r.op) {
      case 'setRole':
        return engine.setRole(r.active === true);
      case 'setLeader':
        return engine.setLeader(r.leader ?? null);
      case 'commit':
        return engine.commitForTakeover(r.peerSequence ?? 0);
      case 'resync':
        return engine.resync();
      case 'store-get':
      case 'store-set':
        return storeCommand(stores, { op: r.op, store: r.store, key: r.key, value: r.value });
      case 'stop':
        await engine.stop();
        await link.stop();
        return { stopped: true };
    }
  };
  port.on('message', (r: SyncRequest) => {
    handle(r).then(
      (result) => {
        port.postMessage({ reply: r.id, ok: true, result });
        schedulePush();
        if (r.op === 'stop') port.close();
      },
      (e: Error) => port.postMessage({ reply: r.id, ok: false, error: e.message }),
    );
  });
  await link.start();
  port.postMessage({ type: 'ready' });
  push();
}

main().catch((e: Error) => {
  parentPort?.postMessage({ type: 'fatal', error: e.message });
});
