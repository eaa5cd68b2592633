/**
 * DOC: cluster membership operations (docs/cluster.md)
 *
 * Pure functions from the store's content to the next content: create,
 * add/remove a member, enable/disable, drain, properties, and adopting a
 * newer definition from another member. Each refuses a change that makes
 * no sense with an error that says what to do instead; none touches a file
 * (store.ts writes) or the network (cluster-service.ts).
 */
import { createHash } from 'node:crypto';
import { isLinkLocal6, parseIpv6 } from '../wire/ipv6.js';
import { parseCidr4, parseCidr6 } from './iface-config.js';
import {
  DEFAULT_PROPERTIES,
  GROUP_MODES,
  type ClusterDefinition,
  type ClusterEngine,
  type ClusterProperties,
  type Member,
  type StoreContent,
} from './store.js';

export const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,15}$/;
export const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** A pair on tandem's heartbeats; up to 16 members on Corosync. */
export const MAX_MEMBERS: Readonly<Record<ClusterEngine, number>> = { heartbeat: 2, corosync: 16 };

export function engineOf(c: ClusterDefinition): ClusterEngine {
  return c.properties.engine ?? 'heartbeat';
}

export class MembershipError extends Error {
  override name = 'MembershipError';
}

export function fail(message: string): never {
  throw new MembershipError(message);
}

export function checkAddress(address: string, what: string): string {
  const m = IPV4.exec(address);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) fail(`${what}: expected an IPv4 address such as 198.19.255.12, got "${address}"`);
  return address;
}

/** The default cluster ID (the MM byte of the MACs) for a name: stable, so every member derives the same. */
export function clusterIdFor(name: string): number {
  return createHash('sha256').update(name).digest()[0]! & 63;
}

export function create(
  s: StoreContent,
  o: {
    name: string;
    node: string;
    address: string;
    key: string;
    salt: string;
    id?: number;
    mode?: ClusterProperties['mode'];
    engine?: ClusterEngine;
    shared?: Record<string, string>;
    shared6?: Record<string, string>;
  },
): StoreContent {
  if (s.cluster) fail(`this node is already member ${s.me} of cluster ${s.cluster.name}: run "tandem cluster leave" first`);
  if (!CLUSTER_NAME.test(o.name)) fail(`cluster name "${o.name}": 1 to 32 letters, digits, "-", "_" or "."`);
  if (!MEMBER_NAME.test(o.node)) fail(`node name "${o.node}": 1 to 16 letters, digits, "-", "_" or "."`);
  checkAddress(o.address, "this node's sync address");
  if (o.engine === 'corosync' && o.mode !== 'active-active') fail('a cluster on Corosync runs active/active behind a load balancer: add --mode active-active');
  const id = o.id ?? clusterIdFor(o.name);
  if (!Number.isInteger(id) || id < 0 || id > 63) fail(`cluster ID ${id}: 0..63`);
  const member: Member = { name: o.node, id: 1, address: o.address, type: 'master', enabled: true, draining: false, joined: true };
  const cluster: ClusterDefinition = {
    name: o.name,
    id,
    salt: o.salt,
    revision: 1,
    members: [member],
    shared: o.mode === 'active-active' ? {} : { ...(o.shared ?? {}) },
    ...(o.mode !== 'active-active' && Object.keys(o.shared6 ?? {}).length > 0 ? { shared6: { ...o.shared6 } } : {}),
    properties: { ...DEFAULT_PROPERTIES, ...(o.mode ? { mode: o.mode } : {}), ...(o.engine === 'corosync' ? { engine: o.engine } : {}) },
  };
  return { ...s, cluster, me: o.node, key: o.key };
}

function cluster(s: StoreContent): ClusterDefinition {
  if (!s.cluster) fail('this node is standalone: run "tandem cluster create" or "tandem cluster join" first');
  return s.cluster;
}

function member(c: ClusterDefinition, name: string): Member {
  const m = c.members.find((x) => x.name === name);
  if (!m) fail(`cluster ${c.name} has no member "${name}" (members: ${c.members.map((x) => x.name).join(', ')})`);
  return m;
}

function revise(s: StoreContent, c: ClusterDefinition): StoreContent {
  return { ...s, cluster: { ...c, revision: c.revision + 1 } };
}

export function addMember(s: StoreContent, name: string, address: string): StoreContent {
  const c = cluster(s);
  if (!MEMBER_NAME.test(name)) fail(`member name "${name}": 1 to 16 letters, digits, "-", "_" or "."`);
  checkAddress(address, `address of ${name}`);
  if (c.members.some((m) => m.name === name)) fail(`cluster ${c.name} already has a member named ${name}`);
  if (c.members.some((m) => m.address === address)) fail(`${address} is already the address of ${c.members.find((m) => m.address === address)!.name}`);
  const engine = engineOf(c);
  if (c.members.length >= MAX_MEMBERS[engine]) {
    fail(
      engine === 'heartbeat'
        ? `cluster ${c.name} is a pair on tandem's heartbeats: clusters of three and more members run on Corosync (create the cluster with --engine corosync --mode active-active)`
        : `cluster ${c.name} has ${c.members.length} members, the most a cluster on Corosync runs here`,
    );
  }
  const id = Math.max(...c.members.map((m) => m.id)) + 1;
  const type = c.members.some((m) => m.type === 'master') ? 'slave' : 'master';
  return revise(s, { ...c, members: [...c.members, { name, id, address, type, enabled: true, draining: false, joined: false }] });
}

export function removeMember(s: StoreContent, name: string): StoreContent {
  const c = cluster(s);
  member(c, name);
  if (name === s.me) fail(`${name} is this node: run "tandem cluster leave" to take it out of the cluster`);
  return revise(s, { ...c, members: c.members.filter((m) => m.name !== name) });
}

/** A joining member was accepted: it is a member in full from now on. */
export function markJoined(s: StoreContent, name: string): StoreContent {
  const c = cluster(s);
  member(c, name);
  return revise(s, { ...c, members: c.members.map((m) => (m.name === name ? { ...m, joined: true } : m)) });
}

export function setEnabled(s: StoreContent, name: string, enabled: boolean): StoreContent {
  const c = cluster(s);
  const m = member(c, name);
  // Only undrain ends a drain (docs/cluster.md): enabling a draining member would end it unasked.
  if (m.enabled === enabled)
    fail(
      m.draining
        ? `${name} is enabled and draining: "tandem cluster undrain ${name}" ends the drain`
        : `${name} is already ${enabled ? 'enabled' : 'disabled'}`,
    );
  // A disabled member serves nothing, so it drains nothing either.
  return revise(s, { ...c, members: c.members.map((x) => (x.name === name ? { ...x, enabled, draining: enabled && x.draining } : x)) });
}

export function setDraining(s: StoreContent, name: string, draining: boolean): StoreContent {
  const c = cluster(s);
  const m = member(c, name);
  if (!m.enabled) fail(`${name} is disabled: it serves nothing to drain; "tandem cluster enable ${name}" brings it back`);
  if (m.draining === draining) fail(`${name} is ${draining ? 'already draining' : 'not draining'}`);
  return revise(s, { ...c, members: c.members.map((x) => (x.name === name ? { ...x, draining } : x)) });
}

/** `tandem cluster properties --set key=value`: the cluster's name and the properties. */
export function setProperty(s: StoreContent, key: string, value: string): StoreContent {
  const c = cluster(s);
  const bool = (): boolean =>
    value === 'on' || value === 'true' ? true : value === 'off' || value === 'false' ? false : fail(`${key}: on or off, not "${value}"`);
  if (key.startsWith('shared.') || key.startsWith('shared6.')) {
    const six = key.startsWith('shared6.');
    const iface = key.slice(key.indexOf('.') + 1);
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(iface)) fail(`${key}: ${six ? 'shared6' : 'shared'}.IFACE with an interface name of the board`);
    let text = value;
    if (value !== 'none' && !six && parseCidr4(value) === undefined) fail(`${key}: an address with its prefix length such as 198.18.1.1/24, or none`);
    if (value !== 'none' && six) {
      const c6 = parseCidr6(value);
      if (typeof c6 === 'string') fail(`${key}: ${c6}, or none`);
      if (isLinkLocal6(parseIpv6(c6.address)!))
        fail(`${key}: ${c6.address} is link-local; the shared link-local address comes from the shared MAC: give a global address`);
      text = `${c6.address}/${c6.prefix}`;
    }
    if (value !== 'none' && c.properties.mode === 'active-active')
      fail(`${key}: an active/active cluster has no shared addresses (the load balancer holds the service address)`);
    const shared = { ...(six ? (c.shared6 ?? {}) : c.shared) };
    if (value === 'none') delete shared[iface];
    else shared[iface] = text;
    return revise(s, six ? { ...c, shared6: shared } : { ...c, shared });
  }
  switch (key) {
    case 'name':
      if (!CLUSTER_NAME.test(value)) fail(`cluster name "${value}": 1 to 32 letters, digits, "-", "_" or "."`);
      return revise(s, { ...c, name: value });
    case 'engine':
      return fail('engine is chosen when the cluster is created (tandem cluster create --engine corosync); create a new cluster to change it');
    case 'mode':
      if (engineOf(c) === 'corosync' && value !== 'active-active') fail('mode: a cluster on Corosync runs active/active only');
      if (!(GROUP_MODES as readonly string[]).includes(value)) fail(`mode: ${GROUP_MODES.join(' or ')}, not "${value}"`);
      return revise(s, { ...c, properties: { ...c.properties, mode: value as ClusterProperties['mode'] } });
    case 'sync':
    case 'logSync':
    case 'healthCheckFailsWhileSyncing':
      return revise(s, { ...c, properties: { ...c.properties, [key]: bool() } });
    default:
      return fail(`no property "${key}" (name, mode, sync, logSync, healthCheckFailsWhileSyncing, shared.IFACE, shared6.IFACE)`);
  }
}

/**
 * Another member's definition, newer than ours (a higher revision), replaces
 * ours; this node must still be in it. Equal revisions that differ are
 * settled by the digest, so both members keep the same one.
 */
export function adopt(s: StoreContent, theirs: ClusterDefinition): StoreContent | null {
  const ours = cluster(s);
  if (theirs.salt !== ours.salt) fail('the other member belongs to another cluster (its salt differs)');
  const newer = theirs.revision > ours.revision || (theirs.revision === ours.revision && digest(theirs) > digest(ours));
  if (!newer) return null;
  if (!theirs.members.some((m) => m.name === s.me))
    fail(`the newer definition (revision ${theirs.revision}) no longer has member ${s.me}: it was removed; run "tandem cluster leave" here`);
  return { ...s, cluster: theirs };
}

export function digest(c: ClusterDefinition): string {
  return createHash('sha256').update(JSON.stringify(c)).digest('hex');
}

/** What must match on every member for them to run together: the members and who they are, and the group mode. */
export function topology(c: ClusterDefinition): string {
  const shared = Object.entries(c.shared ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');
  const shared6 = Object.entries(c.shared6 ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');
  return (
    c.members
      .map((m) => `${m.id}:${m.name}:${m.type}:${m.address}`)
      .sort()
      .join(',') +
    `|${shared}` +
    // Definitions without IPv6 keep the topology they had.
    (Object.keys(c.shared6 ?? {}).length > 0 ? `|${shared6}` : '')
  );
}

/** The cluster-wide changes that a cluster on Corosync orders (applied on every member at the same point). */
export type OrderedOp = 'add-member' | 'remove-member' | 'mark-joined' | 'enable' | 'disable' | 'drain' | 'undrain' | 'properties';

/** The change an ordered op makes to the store; the function throws what is wrong with it. */
export function orderedChange(op: OrderedOp, a: Record<string, unknown>): (s: StoreContent) => StoreContent {
  const str = (k: string): string => {
    const v = a[k];
    if (typeof v !== 'string' || v.length === 0) fail(`${op}: missing ${k}`);
    return v;
  };
  switch (op) {
    case 'add-member':
      return (s) => addMember(s, str('name'), str('address'));
    case 'remove-member':
      return (s) => removeMember(s, str('name'));
    case 'mark-joined':
      return (s) => markJoined(s, str('name'));
    case 'enable':
    case 'disable':
      return (s) => setEnabled(s, str('node'), op === 'enable');
    case 'drain':
    case 'undrain':
      return (s) => setDraining(s, str('node'), op === 'drain');
    case 'properties':
      return (s) => ((a['set'] ?? []) as [string, string][]).reduce((x, [k, v]) => setProperty(x, k, v), s);
    default:
      return fail(`no cluster-wide change "${String(op)}"`);
  }
}
