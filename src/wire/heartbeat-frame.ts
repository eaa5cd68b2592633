/**
 * DOC: the heartbeat frame
 *
 * Encodes and decodes one heartbeat as it appears on the wire: Ethernet to
 * 11-00-00-00-NN-MM, IPv4 from the interface address to its broadcast with
 * TTL 255, UDP 999 -> 999, both checksums deliberately wrong (seed 001), and
 * an authenticated payload laid out byte by byte in docs/wire-format.md.
 *
 * The decoder is total: it never throws and returns either the frame or the
 * first reason, in ladder order, why it must be dropped. The stateless rungs
 * live here; replay and "from myself" need the receiver's memory and run in
 * heartbeat-verify.ts. Authentication is injected (`HeartbeatAuth`) so this
 * module stays free of node: imports; src/io/heartbeat-auth.ts supplies the
 * HMAC.
 */
import { internetChecksum, wrongChecksum } from './ipv4.js';
import { heartbeatMac, isHeartbeatMac } from './mac.js';

export const HEARTBEAT_MAGIC = 0x544e444d; // "TNDM"
/** 2: the takeover term after the node name (the tag moved 4 bytes on). */
export const HEARTBEAT_VERSION = 2;
/** The format before the term: still read and verified, so a node not yet upgraded is heard, never mistaken for this one. */
export const PREVIOUS_HEARTBEAT_VERSION = 1;
export const HEARTBEAT_PORT = 999;
export const HEARTBEAT_TTL = 255;
export const TAG_LENGTH = 16;
export const NODE_NAME_LENGTH = 16;

const ETH = 14;
const IP = 20;
const UDP = 8;
export const PAYLOAD_OFFSET = ETH + IP + UDP;
/** Bytes of the payload covered by the tag. */
export const SIGNED_LENGTH = 76;
/** The same in the previous format, which had no term. */
const PREVIOUS_SIGNED_LENGTH = 72;
export const PAYLOAD_LENGTH = SIGNED_LENGTH + TAG_LENGTH;
export const FRAME_LENGTH = PAYLOAD_OFFSET + PAYLOAD_LENGTH;
/** The shortest heartbeat read: one of the previous format. */
export const MIN_FRAME_LENGTH = PAYLOAD_OFFSET + PREVIOUS_SIGNED_LENGTH + TAG_LENGTH;

export type NodeType = 'master' | 'slave';
export type NodeState = 'starting' | 'inactive' | 'fencing' | 'active';
export type SyncStatus = 'unknown' | 'in-sync' | 'syncing' | 'out-of-sync';

const UTF8 = new TextEncoder();
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: false });

const NODE_TYPES: readonly NodeType[] = ['master', 'slave'];
// Appended, never reordered: the index is the wire value (docs/wire-format.md).
const NODE_STATES: readonly NodeState[] = ['starting', 'inactive', 'active', 'fencing'];
const SYNC_STATUSES: readonly SyncStatus[] = ['unknown', 'in-sync', 'syncing', 'out-of-sync'];

export const FLAG_YIELDING = 0x0001;
export const FLAG_SYNC_LINK_UP = 0x0002;
/** Active because the peer went silent (src/core/rank.ts: of two active nodes this one wins). */
export const FLAG_TOOK_OVER = 0x0004;
/** The sender holds the shared addresses now (its claim finished): a yielding peer may step down. */
export const FLAG_SHARED_HELD = 0x0008;
/** Disabled in the cluster by the administrator (seed 000 status bit 0x2). */
export const FLAG_DISABLED = 0x0010;
/** Drained: the health check answers 500, existing sessions go on. */
export const FLAG_DRAINING = 0x0020;
/** The sender holds the cluster's leader role (seed 000 status bit 0x8000; src/core/leader.ts). */
export const FLAG_LEADER = 0x0040;
/** The sender, active, has just come back from a stall longer than the failover time (src/core/rank.ts rule 3). */
export const FLAG_STALLED = 0x0080;

/** What a node says about itself in every heartbeat. */
export interface HeartbeatFields {
  clusterId: number;
  nodeType: NodeType;
  state: NodeState;
  flags: number;
  /** NN of the interface the frame leaves on (authenticated copy of the MAC's NN). */
  nn: number;
  /** True when sent on the sync interface. */
  fromSync: boolean;
  nodeId: number;
  bootId: bigint;
  sequence: bigint;
  connections: number;
  /** Monitored interfaces with link and reachable targets (src/core/rank.ts). */
  health: number;
  syncStatus: SyncStatus;
  intervalMs: number;
  syncSequence: bigint;
  configGeneration: number;
  softwareVersion: { major: number; minor: number; patch: number };
  nodeName: string;
  /** The sender's takeover term (src/core/term.ts); 0 in a frame of the previous format. */
  term: number;
  /** The payload format it was read from (a frame encoded here is always HEARTBEAT_VERSION). */
  version?: number;
}

/** The addresses of the interface a heartbeat leaves on. */
export interface HeartbeatLink {
  srcMac: Uint8Array;
  srcIp: number;
  broadcastIp: number;
  ttl?: number;
}

/** Keyed authentication of the payload (HMAC in production, see src/io). */
export interface HeartbeatAuth {
  /** Returns at least TAG_LENGTH bytes; only the first TAG_LENGTH are used. */
  sign(data: Uint8Array): Uint8Array;
}

export type FrameRejection = 'truncated' | 'not_heartbeat' | 'bad_magic' | 'bad_version' | 'malformed' | 'ttl_too_low' | 'wrong_cluster' | 'bad_tag';

export interface DecodedHeartbeat {
  fields: HeartbeatFields;
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  srcIp: number;
  dstIp: number;
  ttl: number;
  /** NN taken from the destination MAC (the receiver compares it with its own). */
  macNn: number;
  macCluster: number;
}

export type DecodeResult = { ok: true; frame: DecodedHeartbeat } | { ok: false; reason: FrameRejection; partial?: Partial<HeartbeatFields> };

export function encodeHeartbeat(fields: HeartbeatFields, link: HeartbeatLink, auth: HeartbeatAuth): Uint8Array {
  const buf = new Uint8Array(FRAME_LENGTH);
  const view = new DataView(buf.buffer);
  buf.set(heartbeatMac(fields.nn, fields.clusterId), 0);
  buf.set(link.srcMac.subarray(0, 6), 6);
  view.setUint16(12, 0x0800);

  const ip = ETH;
  buf[ip] = 0x45;
  view.setUint16(ip + 2, IP + UDP + PAYLOAD_LENGTH);
  view.setUint16(ip + 4, Number(fields.sequence & 0xffffn));
  view.setUint16(ip + 6, 0x4000); // don't fragment
  buf[ip + 8] = link.ttl ?? HEARTBEAT_TTL;
  buf[ip + 9] = 17;
  view.setUint32(ip + 12, link.srcIp);
  view.setUint32(ip + 16, link.broadcastIp);

  const udp = ETH + IP;
  view.setUint16(udp, HEARTBEAT_PORT);
  view.setUint16(udp + 2, HEARTBEAT_PORT);
  view.setUint16(udp + 4, UDP + PAYLOAD_LENGTH);

  writePayload(view, buf, PAYLOAD_OFFSET, fields);
  seal(buf, view, auth);
  return buf;
}

/**
 * Gives an encoded frame the next sequence number in place: the sequence,
 * the IPv4 ID, the tag and both checksums change, nothing else. The sender
 * keeps one encoded frame per interface and restamps it, which is most of
 * the cost of a heartbeat saved (fields other than the sequence change
 * rarely, and then the frame is encoded anew).
 */
export function restampHeartbeat(buf: Uint8Array, sequence: bigint, auth: HeartbeatAuth): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setUint16(ETH + 4, Number(sequence & 0xffffn));
  view.setBigUint64(PAYLOAD_OFFSET + 24, sequence);
  seal(buf, view, auth);
}

/**
 * The bytes [offset, length] in which one heartbeat of a sender differs from its next when nothing it says
 * changed: what restampHeartbeat writes (IPv4 ID and checksum, UDP checksum, sequence, tag), and the two counts a
 * sender refreshes lazily (connections, sync sequence: src/io/heartbeat-sender.ts), which no decision needs
 * sooner than the next service tick. Sorted. The heartbeat thread wakes the main loop for a frame that differs
 * from the last one elsewhere (native/pacer_rx.c).
 */
export const HEARTBEAT_VOLATILE_RANGES: readonly (readonly [number, number])[] = [
  [ETH + 4, 2],
  [ETH + 10, 2],
  [ETH + IP + 6, 2],
  [PAYLOAD_OFFSET + 24, 8],
  [PAYLOAD_OFFSET + 32, 4],
  [PAYLOAD_OFFSET + 40, 8],
  [PAYLOAD_OFFSET + SIGNED_LENGTH, TAG_LENGTH],
];

/**
 * Whether two heartbeats of a sender say the same apart from what HEARTBEAT_VOLATILE_RANGES covers (sequence,
 * connections, sync sequence): of a run of such frames read at once, only the newest tells the core anything.
 */
export function saysTheSame(a: HeartbeatFields, b: HeartbeatFields): boolean {
  return (
    a.nodeId === b.nodeId &&
    a.bootId === b.bootId &&
    a.state === b.state &&
    a.flags === b.flags &&
    a.health === b.health &&
    a.syncStatus === b.syncStatus &&
    a.nodeType === b.nodeType &&
    a.configGeneration === b.configGeneration &&
    a.nodeName === b.nodeName &&
    a.clusterId === b.clusterId &&
    a.intervalMs === b.intervalMs &&
    a.nn === b.nn &&
    a.fromSync === b.fromSync &&
    a.softwareVersion.major === b.softwareVersion.major &&
    a.softwareVersion.minor === b.softwareVersion.minor &&
    a.softwareVersion.patch === b.softwareVersion.patch &&
    a.term === b.term
  );
}

/** Tag, then the deliberately wrong checksums (seed 001: so that no router forwards the frame). */
function seal(buf: Uint8Array, view: DataView, auth: HeartbeatAuth): void {
  const tag = auth.sign(buf.subarray(PAYLOAD_OFFSET, PAYLOAD_OFFSET + SIGNED_LENGTH));
  buf.set(tag.subarray(0, TAG_LENGTH), PAYLOAD_OFFSET + SIGNED_LENGTH);
  view.setUint16(ETH + 10, 0);
  view.setUint16(ETH + 10, wrongChecksum(internetChecksum(buf, ETH, ETH + IP)));
  view.setUint16(ETH + IP + 6, wrongChecksum(udpChecksum(buf, view)));
}

function writePayload(view: DataView, buf: Uint8Array, p: number, f: HeartbeatFields): void {
  view.setUint32(p, HEARTBEAT_MAGIC);
  buf[p + 4] = HEARTBEAT_VERSION;
  buf[p + 5] = f.clusterId;
  buf[p + 6] = NODE_TYPES.indexOf(f.nodeType) + 1;
  buf[p + 7] = NODE_STATES.indexOf(f.state);
  view.setUint16(p + 8, f.flags);
  buf[p + 10] = f.nn;
  buf[p + 11] = f.fromSync ? 1 : 0;
  view.setUint32(p + 12, f.nodeId);
  view.setBigUint64(p + 16, f.bootId);
  view.setBigUint64(p + 24, f.sequence);
  view.setUint32(p + 32, f.connections);
  buf[p + 36] = SYNC_STATUSES.indexOf(f.syncStatus);
  buf[p + 37] = f.health;
  view.setUint16(p + 38, f.intervalMs);
  view.setBigUint64(p + 40, f.syncSequence);
  view.setUint32(p + 48, f.configGeneration);
  buf[p + 52] = f.softwareVersion.major;
  buf[p + 53] = f.softwareVersion.minor;
  view.setUint16(p + 54, f.softwareVersion.patch);
  const name = UTF8.encode(f.nodeName).subarray(0, NODE_NAME_LENGTH);
  buf.set(name, p + 56);
  view.setUint32(p + 72, f.term);
}

function udpChecksum(buf: Uint8Array, view: DataView): number {
  const udp = ETH + IP;
  const len = view.getUint16(udp + 4);
  // Pseudo-header: source, destination, protocol, UDP length.
  let pseudo = 0;
  for (let i = ETH + 12; i < ETH + 20; i += 2) pseudo += view.getUint16(i);
  pseudo += 17 + len;
  const saved = view.getUint16(udp + 6);
  view.setUint16(udp + 6, 0);
  const sum = internetChecksum(buf, udp, udp + len, pseudo);
  view.setUint16(udp + 6, saved);
  return sum === 0 ? 0xffff : sum;
}

export interface DecodeContext {
  clusterId: number;
  auth: HeartbeatAuth;
}

/**
 * Drop ladder, in order: truncated, not_heartbeat (not to 11-00-00-00-xx-xx,
 * not IPv4/UDP 999),
 * bad_magic, bad_version, malformed (an enum byte out of range), ttl_too_low,
 * wrong_cluster, bad_tag. A frame of the previous format is read with its own
 * layout and tag position (no term), and says so in `version`.
 */
export function decodeHeartbeat(buf: Uint8Array, ctx: DecodeContext): DecodeResult {
  if (buf.length < PAYLOAD_OFFSET) return { ok: false, reason: 'truncated' };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (!isHeartbeatMac(buf) || view.getUint16(12) !== 0x0800) return { ok: false, reason: 'not_heartbeat' };
  const ip = ETH;
  const ihl = (buf[ip]! & 0x0f) * 4;
  if (buf[ip]! >> 4 !== 4 || ihl < IP || buf[ip + 9] !== 17) return { ok: false, reason: 'not_heartbeat' };
  const udp = ETH + ihl;
  if (buf.length < udp + UDP) return { ok: false, reason: 'truncated' };
  if (view.getUint16(udp + 2) !== HEARTBEAT_PORT) return { ok: false, reason: 'not_heartbeat' };
  const p = udp + UDP;
  if (buf.length < p + 5) return { ok: false, reason: 'truncated' };
  if (view.getUint32(p) !== HEARTBEAT_MAGIC) return { ok: false, reason: 'bad_magic' };
  const version = buf[p + 4]!;
  if (version !== HEARTBEAT_VERSION && version !== PREVIOUS_HEARTBEAT_VERSION) return { ok: false, reason: 'bad_version' };
  const signed = version === HEARTBEAT_VERSION ? SIGNED_LENGTH : PREVIOUS_SIGNED_LENGTH;
  if (buf.length < p + signed + TAG_LENGTH) return { ok: false, reason: 'truncated' };

  const fields = readPayload(view, buf, p);
  if (!fields) return { ok: false, reason: 'malformed' };
  const ttl = buf[ip + 8]!;
  // Seed 001: any other TTL means the frame crossed a router and cannot be trusted.
  if (ttl !== HEARTBEAT_TTL) return { ok: false, reason: 'ttl_too_low', partial: fields };
  const macCluster = buf[5]!;
  if (fields.clusterId !== ctx.clusterId || macCluster !== ctx.clusterId) {
    return { ok: false, reason: 'wrong_cluster', partial: fields };
  }
  const expected = ctx.auth.sign(buf.subarray(p, p + signed));
  if (!sameBytes(expected, buf, p + signed, TAG_LENGTH)) return { ok: false, reason: 'bad_tag', partial: fields };

  return {
    ok: true,
    frame: {
      fields,
      dstMac: buf.slice(0, 6),
      srcMac: buf.slice(6, 12),
      srcIp: view.getUint32(ip + 12),
      dstIp: view.getUint32(ip + 16),
      ttl,
      macNn: buf[4]!,
      macCluster,
    },
  };
}

/**
 * The sender's node ID, boot ID and sequence of a frame, read without judging it (no tag check): for frames left
 * unverified because a newer authentic one of the same sender was accepted. Undefined when it is no heartbeat.
 */
export function peekSender(buf: Uint8Array): { nodeId: number; bootId: bigint; sequence: bigint } | undefined {
  const p = PAYLOAD_OFFSET;
  if (buf.length < MIN_FRAME_LENGTH) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(p) !== HEARTBEAT_MAGIC) return undefined;
  return { nodeId: view.getUint32(p + 12), bootId: view.getBigUint64(p + 16), sequence: view.getBigUint64(p + 24) };
}

/** Reads the payload fields of either format without judging them (also used by `tandem capture`). */
export function readPayload(view: DataView, buf: Uint8Array, p: number): HeartbeatFields | undefined {
  const version = buf[p + 4]!;
  const nodeType = NODE_TYPES[buf[p + 6]! - 1];
  const state = NODE_STATES[buf[p + 7]!];
  const syncStatus = SYNC_STATUSES[buf[p + 36]!];
  if (!nodeType || !state || !syncStatus) return undefined;
  const nameBytes = buf.subarray(p + 56, p + 56 + NODE_NAME_LENGTH);
  const end = nameBytes.indexOf(0);
  return {
    clusterId: buf[p + 5]!,
    nodeType,
    state,
    flags: view.getUint16(p + 8),
    nn: buf[p + 10]!,
    fromSync: buf[p + 11] === 1,
    nodeId: view.getUint32(p + 12),
    bootId: view.getBigUint64(p + 16),
    sequence: view.getBigUint64(p + 24),
    connections: view.getUint32(p + 32),
    health: buf[p + 37]!,
    syncStatus,
    intervalMs: view.getUint16(p + 38),
    syncSequence: view.getBigUint64(p + 40),
    configGeneration: view.getUint32(p + 48),
    softwareVersion: { major: buf[p + 52]!, minor: buf[p + 53]!, patch: view.getUint16(p + 54) },
    nodeName: UTF8_DECODER.decode(end < 0 ? nameBytes : nameBytes.subarray(0, end)),
    term: version === PREVIOUS_HEARTBEAT_VERSION ? 0 : view.getUint32(p + 72),
    version,
  };
}

/** Constant-time comparison, so the tag check leaks no prefix length. */
function sameBytes(a: Uint8Array, buf: Uint8Array, offset: number, length: number): boolean {
  if (a.length < length) return false;
  let diff = 0;
  for (let i = 0; i < length; i++) diff |= a[i]! ^ buf[offset + i]!;
  return diff === 0;
}
