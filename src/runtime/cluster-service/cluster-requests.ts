/**
 * DOC: the parts of the `tandem cluster` commands that need no node state: arguments, the create request, the join request
 *
 * Used by cluster-control.ts, the one writer of the cluster store, with the hooks it is given into the running node.
 */
import { deriveClusterKey, newSalt } from '../../cluster/cluster-key.js';
import type { LocalConfig } from '../../cluster/config-file.js';
import type * as M from '../../cluster/membership.js';
import type { OrderedOp } from '../../cluster/membership.js';
import type { SyncMessage } from '../../wire/sync-frame.js';
import { ENGINES, GROUP_MODES, type ClusterEngine, type GroupMode, type StoreContent } from '../../cluster/store.js';
import { askMember, ownSyncAddress, RefusedError, servicePort } from './cluster-service.js';
import { VERSION } from '../version.js';

export type ClusterArgs = Record<string, unknown>;

/** What cluster-control.ts is given into the running node. */
export interface ControlHooks {
  /** Restarts this node's service to run the new membership (the supervisor starts it again at once). */
  restart(why: string): void;
  /** Applies this member's enabled/draining to the running node. */
  live(me: { enabled: boolean; draining: boolean }): void;
  /** The system state a joining member receives (the config store's entries). */
  systemState(): Promise<Record<string, unknown>>;
  /** Replaces this node's system state (a join) before the restart. */
  replaceSystemState(entries: Record<string, unknown>): void;
  /** What a join would overwrite here, for the warning. */
  localState(): Promise<{ systemKeys: number; sessions: number }>;
  /** The peer's newest heartbeat: alive, and the revision it carries. */
  peer(): { alive: boolean; revision: number } | null;
  /** Answers the other member's maintenance requests (maintenance.ts). */
  maintenance(m: SyncMessage): Promise<SyncMessage>;
  /** Sends another member's log messages to the syslog server (this member is the log-server leader). */
  logBatch(messages: string[], from: string): number | Promise<number>;
  /**
   * Clusters on Corosync: a cluster-wide change goes through the group's total order and is applied
   * on every member (applyOrdered) at the same point; resolves with this member's result.
   */
  ordered?(op: OrderedOp, args: ClusterArgs): Promise<unknown>;
  /** Clusters on Corosync: the members changed and this one is still among them (no restart: Corosync reloads). */
  membersChanged?(after: StoreContent): void;
}

/** A non-empty string argument, or an error naming it. */
export const str = (a: ClusterArgs, k: string): string => {
  const v = a[k];
  if (typeof v !== 'string' || v.length === 0) throw new Error(`missing ${k}`);
  return v;
};

/** What `tandem cluster create` asks for, checked; the key is derived here with a new salt. */
export function createRequest(local: LocalConfig, a: ClusterArgs): Parameters<typeof M.create>[1] {
  const salt = newSalt();
  const mode = a['mode'] === undefined ? undefined : String(a['mode']);
  if (mode !== undefined && !(GROUP_MODES as readonly string[]).includes(mode)) throw new Error(`mode: ${GROUP_MODES.join(' or ')}, not "${mode}"`);
  const engine = a['engine'] === undefined ? undefined : String(a['engine']);
  if (engine !== undefined && !(ENGINES as readonly string[]).includes(engine)) throw new Error(`engine: ${ENGINES.join(' or ')}, not "${engine}"`);
  return {
    name: str(a, 'name'),
    node: str(a, 'node'),
    address: ownSyncAddress(local, null),
    salt,
    key: deriveClusterKey(str(a, 'password'), salt).toString('hex'),
    ...(typeof a['clusterId'] === 'number' ? { id: a['clusterId'] } : {}),
    ...(mode ? { mode: mode as GroupMode } : {}),
    ...(engine ? { engine: engine as ClusterEngine } : {}),
    // The creating node's shared addresses become the cluster's (a joining member gets them).
    shared: Object.fromEntries(local.interfaces.filter((i) => i.sharedIp).map((i) => [i.name, `${i.sharedIp!.address}/${i.sharedIp!.prefix}`])),
    shared6: Object.fromEntries(local.interfaces.filter((i) => i.sharedIp6).map((i) => [i.name, `${i.sharedIp6!.address}/${i.sharedIp6!.prefix}`])),
  };
}

/** Asks the member at `address` to let this node join; its answer carries the definition and the state. */
export async function askToJoin(local: LocalConfig, address: string, password: string, cluster?: string): Promise<Record<string, unknown>> {
  const mine = ownSyncAddress(local, null);
  // The member may be restarting its service (it just added us): nothing listening is retried for a while.
  const deadline = performance.now() + 10_000;
  for (;;) {
    try {
      return await askMember(
        { host: address, port: servicePort(local), localAddress: mine },
        { password },
        { type: 'join', address: mine, softwareVersion: VERSION.text, ...(cluster ? { cluster } : {}) },
        10_000,
      );
    } catch (e) {
      if (e instanceof RefusedError && e.reason === 'unreachable' && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (e instanceof RefusedError) throw new Error(`join refused by ${address} (${e.reason}): ${e.message}`);
      throw e;
    }
  }
}
