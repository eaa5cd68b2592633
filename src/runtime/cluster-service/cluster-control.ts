/**
 * DOC: cluster management on a node: the `tandem cluster` commands and the cluster service's answers
 *
 * The one writer of the cluster store (store.ts) in a running node. A
 * command changes the store through membership.ts, tells the other member
 * (cluster-service.ts), and then either applies the change to the running
 * node (enable, disable, drain: no restart) or restarts this node's service
 * (create, join, leave, members or mode changed), which the supervisor does
 * at once. A static configuration (cluster in the node's file) has no
 * store: the commands say so.
 *
 * Members converge on the newest definition: every heartbeat carries its
 * revision, and a member that sees another revision from its live peer
 * exchanges definitions with it (the newer wins on both).
 */
import { deriveClusterKey } from '../../cluster/cluster-key.js';
import type { LocalConfig, NodeConfig } from '../../cluster/config-file.js';
import * as M from '../../cluster/membership.js';
import type { OrderedOp } from '../../cluster/membership.js';
import { self, type ClusterDefinition, type ClusterStore, type StoreContent } from '../../cluster/store.js';
import { askMember, ownSyncAddress, refuse, serveCluster, servicePort, type ServiceHandlers } from './cluster-service.js';
import type { Logger } from '../logging/log.js';
import type { SyncMessage } from '../../wire/sync-frame.js';
import { VERSION } from '../version.js';
import type { Asker } from '../../api/control-socket.js';
import { askToJoin, createRequest, str, type ClusterArgs, type ControlHooks } from './cluster-requests.js';

export type { ControlHooks };

export type { OrderedOp } from '../../cluster/membership.js';

export type { ClusterArgs };

/** What cluster_operation says of an operation (its name and the member it is about); null: it changes nothing. */
function operationLogged(op: string, a: ClusterArgs): Record<string, unknown> | null {
  if (op === 'join-preview' || op === 'status' || (op === 'properties' && ((a['set'] ?? []) as unknown[]).length === 0)) return null;
  return { op, ...(typeof a['node'] === 'string' ? { node: a['node'] } : {}), ...(typeof a['name'] === 'string' ? { name: a['name'] } : {}) };
}

export class ClusterControl {
  private server: { close(cb?: () => void): unknown } | undefined;
  private reconcile: NodeJS.Timeout | undefined;
  private lastExchange = 0;
  private restarting = false;

  constructor(
    private readonly local: LocalConfig,
    private config: NodeConfig | null,
    private readonly store: ClusterStore | null,
    private readonly log: Logger,
    private readonly hooks: ControlHooks,
  ) {}

  /** The store's content now (null for a static configuration). */
  get content(): StoreContent | null {
    return this.store?.value ?? null;
  }

  get members(): NodeConfig['members'] {
    return this.store?.value.cluster?.members ?? this.config?.members ?? [];
  }

  async start(): Promise<void> {
    const s = this.store?.value;
    if (!this.store || !s?.cluster || !s.key) return;
    const host = ownSyncAddress(this.local, this.config);
    this.server = await serveCluster(
      { clusterId: s.cluster.id, salt: s.cluster.salt, key: Buffer.from(s.key, 'hex') },
      { host, port: servicePort(this.local) },
      this.handlers(),
      (e, from) => this.log.log('warn', 'cluster_request_refused', { from, error: e.message }),
    );
    this.reconcile = setInterval(() => void this.converge(), 500);
  }

  stop(): void {
    if (this.reconcile) clearInterval(this.reconcile);
    this.server?.close();
  }

  private managed(): ClusterStore {
    if (!this.store)
      throw new Error(
        `${this.local.file} defines the cluster itself (static configuration): edit the file on both nodes, or remove cluster/node/peer from it to manage the cluster with "tandem cluster"`,
      );
    return this.store;
  }

  private write(why: string, change: (s: StoreContent) => StoreContent): StoreContent {
    const next = this.managed().write(change);
    this.log.log('info', 'cluster_store_written', { why, generation: next.generation, revision: next.cluster?.revision ?? null });
    return next;
  }

  private restartSoon(why: string): void {
    if (this.restarting) return;
    this.restarting = true;
    // After the answer has gone out, and with the new membership on disk (the next worker reads it).
    const restart = () => setTimeout(() => this.hooks.restart(why), 100);
    void (this.store
      ? this.store.durable().then(restart, (e: Error) => (this.log.log('error', 'cluster_store_write_failed', { error: e.message }), restart()))
      : restart());
  }

  /** The other members' cluster services (address, port). */
  private peers(): { name: string; host: string; port: number }[] {
    const s = this.store?.value;
    return (s?.cluster?.members ?? [])
      .filter((m) => m.name !== s?.me && m.joined)
      .map((m) => ({ name: m.name, host: m.address, port: servicePort(this.local) }));
  }

  private key(): Buffer {
    return Buffer.from(this.store?.value.key ?? M.fail('this node holds no cluster key'), 'hex');
  }

  private async tell(request: Record<string, unknown> & { type: string }): Promise<string[]> {
    const failed: string[] = [];
    for (const p of this.peers()) {
      try {
        const answer = await askMember({ host: p.host, port: p.port, localAddress: ownSyncAddress(this.local, this.config) }, { key: this.key() }, request);
        if (answer.type === 'definition') this.adopt(answer['cluster'] as ClusterDefinition);
      } catch (e) {
        failed.push(`${p.name}: ${(e as Error).message}`);
      }
    }
    if (failed.length > 0) this.log.log('warn', 'cluster_peer_not_told', { request: request.type, failed });
    return failed;
  }

  /** A newer definition from another member: stored, then applied live or by a restart. */
  private adopt(theirs: ClusterDefinition): void {
    const before = this.store!.value;
    const next = M.adopt(before, theirs);
    if (!next) return;
    this.write('newer definition from a member', () => next);
    this.applied(before, next);
  }

  private applied(before: StoreContent, after: StoreContent): void {
    const b = before.cluster;
    const a = after.cluster;
    if (this.hooks.membersChanged && b && a && b.properties.mode === a.properties.mode) {
      if (M.topology(b) !== M.topology(a)) this.hooks.membersChanged(after);
      const me = self(after);
      return this.hooks.live({ enabled: me.enabled, draining: me.draining });
    }
    const restartNeeded = !b || !a || M.topology(b) !== M.topology(a) || b.properties.mode !== a.properties.mode || b.properties.sync !== a.properties.sync;
    if (restartNeeded) return this.restartSoon('the cluster definition changed');
    const me = self(after);
    this.hooks.live({ enabled: me.enabled, draining: me.draining });
  }

  /**
   * Exchanges definitions with the live peer when its heartbeats carry another revision, and every 30 s
   * anyway: two changes made at once on both members have the same revision and differ (the digest settles it).
   */
  private async converge(): Promise<void> {
    const p = this.hooks.peer();
    const ours = this.store?.value.cluster?.revision;
    if (!p || !p.alive || ours === undefined) return;
    const since = performance.now() - this.lastExchange;
    if (since < 2000 || (p.revision === ours && since < 30_000)) return;
    this.lastExchange = performance.now();
    await this.tell({ type: 'definition', cluster: this.store!.value.cluster });
  }

  private handlers(): ServiceHandlers {
    return {
      join: async (req) => {
        const s = this.managed().value;
        const c = s.cluster!;
        if (req.cluster !== undefined && req.cluster !== c.name)
          refuse('cluster_mismatch', `this is cluster ${c.name}, not ${req.cluster}: check the cluster name and the member's address`);
        const m = c.members.find((x) => x.address === req.address);
        if (!m)
          refuse(
            'unknown_member',
            `cluster ${c.name} has no member with address ${req.address}: run "tandem cluster add-member NAME ${req.address}" on ${s.me} first`,
          );
        if (m.name === s.me) refuse('address_mismatch', `${req.address} is the address of ${s.me} itself`);
        if (req.softwareVersion !== VERSION.text)
          refuse('software_version_mismatch', `${s.me} runs ${VERSION.text}, the joining node ${req.softwareVersion}: upgrade one of them first`);
        // On Corosync the member marks itself joined once it holds the cluster state (it counts for quorum from then on).
        const next = m.joined || this.hooks.ordered ? s : this.write(`${m.name} joined`, (x) => M.markJoined(x, m.name));
        if (!this.hooks.ordered) this.log.log('info', 'member_joined', { member: m.name, from: req.from });
        await this.store?.durable();
        return { cluster: next.cluster!, name: m.name, systemState: await this.hooks.systemState() };
      },
      definition: (theirs) => {
        this.adopt(theirs);
        return this.managed().value.cluster!;
      },
      leave: (name) => {
        const before = this.managed().value;
        if (!before.cluster?.members.some((m) => m.name === name)) return;
        const after = this.write(`${name} left`, (x) => M.removeMember(x, name));
        this.log.log('info', 'member_left', { member: name });
        this.applied(before, after);
      },
      restart: (from) => {
        const me = self(this.managed().value);
        if (!me.enabled) refuse('disabled', `${me.name} is disabled: it does not restart with the cluster`);
        this.log.log('warn', 'cluster_restart_requested', { from });
        this.restartSoon(`cluster restart requested by ${from}`);
      },
      maintenance: (m) => this.hooks.maintenance(m),
      logBatch: (messages, from) => this.hooks.logBatch(messages, from),
      // Some fields are bigints (monotonic instants): sent as their decimal text, as the log lines have them.
      events: () => JSON.parse(JSON.stringify(this.log.recent?.() ?? [], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as unknown[],
    };
  }

  /** One request to the other member (a pair has one), or to the one named; refusals and failures are thrown with their reason. */
  async askPeer(request: SyncMessage, timeoutMs = 5000, name?: string): Promise<{ name: string; answer: SyncMessage }> {
    if (!this.store)
      throw new Error(
        `${this.local.file} defines the cluster itself (static configuration): maintenance with planned failovers needs a managed cluster (tandem cluster)`,
      );
    const p = name === undefined ? this.peers()[0] : this.peers().find((x) => x.name === name);
    if (!p) throw new Error(name === undefined ? 'this cluster has no other member that has joined' : `no joined member ${name}`);
    const answer = await askMember(
      { host: p.host, port: p.port, localAddress: ownSyncAddress(this.local, this.config) },
      { key: this.key() },
      request,
      timeoutMs,
    );
    return { name: p.name, answer };
  }

  /** Corosync: a change in the group's order, applied here as on every member (same store, same change: same result). */
  applyOrdered(op: OrderedOp, a: ClusterArgs): StoreContent {
    const before = this.managed().value;
    if (op === 'remove-member' && a['name'] === before.me) {
      this.write('removed from the cluster by another member', (x) => ({ ...x, cluster: null, me: null, key: null }));
      this.log.log('warn', 'member_left', { member: before.me });
      this.restartSoon('removed from the cluster');
      return this.managed().value;
    }
    const after = this.write(`${op} (ordered)`, M.orderedChange(op, a));
    if (op === 'mark-joined') this.log.log('info', 'member_joined', { member: str(a, 'name') });
    this.applied(before, after);
    return after;
  }

  /** Checked here first (a plain mistake is refused at once), then ordered through the group. */
  private async viaGroup(op: OrderedOp, a: ClusterArgs): Promise<StoreContent | null> {
    if (!this.hooks.ordered) return null;
    M.orderedChange(op, a)(this.managed().value);
    await this.hooks.ordered(op, a);
    return this.managed().value;
  }

  /**
   * Every cluster operation of every front end (the CLI and the serial console over the control socket, the web
   * console in-process) comes here: answered once what it changed is on disk.
   */
  async handle(op: string, a: ClusterArgs, asker: Asker = { via: 'cli' }): Promise<unknown> {
    const what = operationLogged(op, a);
    if (what) this.log.log('info', 'cluster_operation', { ...what, ...asker });
    const answer = await this.operate(op, a);
    await this.store?.durable();
    return answer;
  }

  private async operate(op: string, a: ClusterArgs): Promise<unknown> {
    switch (op) {
      case 'create': {
        const next = this.write('cluster created', (s) => M.create(s, createRequest(this.local, a)));
        this.restartSoon('cluster created');
        return { created: next.cluster!.name, clusterId: next.cluster!.id, member: next.me, restarting: true };
      }
      case 'add-member': {
        const grouped = await this.viaGroup('add-member', a);
        if (grouped)
          return {
            added: str(a, 'name'),
            members: grouped.cluster!.members.map((m) => m.name),
            restarting: false,
            next: `on ${str(a, 'name')}: tandem cluster join --member ${ownSyncAddress(this.local, this.config)}`,
          };
        const next = this.write('member added', (s) => M.addMember(s, str(a, 'name'), str(a, 'address')));
        this.restartSoon(`member ${str(a, 'name')} added`);
        return {
          added: str(a, 'name'),
          members: next.cluster!.members.map((m) => m.name),
          restarting: true,
          next: `on ${str(a, 'name')}: tandem cluster join --member ${ownSyncAddress(this.local, this.config)}`,
        };
      }
      case 'remove-member': {
        if (await this.viaGroup('remove-member', a)) return { removed: str(a, 'name') };
        const before = this.managed().value;
        const after = this.write('member removed', (s) => M.removeMember(s, str(a, 'name')));
        this.applied(before, after);
        return { removed: str(a, 'name') };
      }
      case 'join-preview':
        return this.hooks.localState();
      case 'join':
        return this.join(str(a, 'member'), str(a, 'password'), typeof a['cluster'] === 'string' ? a['cluster'] : undefined);
      case 'leave': {
        const s = this.managed().value;
        self(s);
        // On Corosync the removal is ordered like any change; applying it here makes this node standalone.
        if (this.hooks.ordered)
          return this.hooks.ordered('remove-member', { name: s.me }).then(() => ({ left: s.cluster!.name, standalone: true, notTold: [] }));
        const failed = await this.tell({ type: 'leave', name: s.me });
        this.write('left the cluster', (x) => ({ ...x, cluster: null, me: null, key: null }));
        this.restartSoon('left the cluster');
        return { left: s.cluster!.name, standalone: true, notTold: failed };
      }
      case 'enable':
      case 'disable':
      case 'drain':
      case 'undrain': {
        const name = str(a, 'node');
        if (await this.viaGroup(op, a)) return { [op === 'undrain' ? 'undrained' : `${op}d`]: name, notTold: [] };
        const before = this.managed().value;
        const after = this.write(`${op} ${name}`, (s) =>
          op === 'enable' || op === 'disable' ? M.setEnabled(s, name, op === 'enable') : M.setDraining(s, name, op === 'drain'),
        );
        this.applied(before, after);
        // The member concerned applies its own enabled/draining when it hears of it (now, or once reachable).
        const notTold = await this.tell({ type: 'definition', cluster: after.cluster });
        return { [op === 'undrain' ? 'undrained' : `${op}d`]: name, notTold };
      }
      case 'properties': {
        const set = (a['set'] ?? []) as [string, string][];
        if (set.length === 0) return this.managed().value.cluster ?? this.config?.cluster ?? null;
        const grouped = await this.viaGroup('properties', a);
        if (grouped) return grouped.cluster;
        const before = this.managed().value;
        let after = before;
        for (const [k, v] of set) after = this.write(`property ${k}`, (s) => M.setProperty(s, k, v));
        this.applied(before, after);
        await this.tell({ type: 'definition', cluster: after.cluster });
        return after.cluster;
      }
      case 'restart':
        return this.restartCluster(a['only'] === true);
      case 'password': {
        // Seed 000: the password is not synchronised; each member is given the new one by its administrator.
        const s = this.managed().value;
        self(s);
        this.write('cluster password changed', (x) => ({ ...x, key: deriveClusterKey(str(a, 'password'), x.cluster!.salt).toString('hex') }));
        this.restartSoon('cluster password changed');
        return { changed: true, note: 'set the same password on every other member: until then they cannot reach this one (wrong_password)' };
      }
      default:
        throw new Error(`unknown cluster operation "${op}"`);
    }
  }

  private async join(address: string, password: string, cluster?: string): Promise<unknown> {
    const s = this.store?.value;
    if (!this.store) this.managed();
    if (s?.cluster) throw new Error(`this node is already member ${s.me} of cluster ${s.cluster.name}: run "tandem cluster leave" first`);
    M.checkAddress(address, '--member');
    const answer = await askToJoin(this.local, address, password, cluster);
    const hint = answer['hint'] as { clusterId: number; salt: string };
    const def = answer['cluster'] as ClusterDefinition;
    const name = String(answer['name']);
    // The member's state overwrites ours (seed 000): the system state now, the rest after the restart.
    this.hooks.replaceSystemState((answer['systemState'] ?? {}) as Record<string, unknown>);
    this.write(`joined cluster ${def.name} from ${address}`, (x) => ({
      ...x,
      cluster: def,
      me: name,
      key: deriveClusterKey(password, hint.salt).toString('hex'),
    }));
    this.log.log('info', 'cluster_joined', { cluster: def.name, member: name, from: address });
    this.restartSoon(`joined cluster ${def.name}`);
    return { joined: def.name, as: name, members: def.members.map((m) => m.name), restarting: true };
  }

  /** Seed 000: restarting an enabled member restarts the cluster's service on every enabled member. */
  private async restartCluster(only: boolean): Promise<unknown> {
    const s = this.store?.value;
    const enabled = s?.cluster ? self(s).enabled : (this.config?.member.enabled ?? true);
    const clustered = (s?.cluster?.members.length ?? this.config?.members.length ?? 1) > 1;
    if (clustered && enabled && !only) {
      const failed = this.store ? await this.tell({ type: 'restart', from: s!.me }) : [];
      this.restartSoon('cluster restart');
      return { restarting: 'cluster', notReached: failed };
    }
    this.restartSoon('restart of this member');
    return { restarting: 'this member' };
  }
}
