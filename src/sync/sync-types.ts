/**
 * DOC: what the sync engine's two sides share: roles, updates, the status view, chunk <-> message
 */
import type { SyncStatus } from '../wire/heartbeat-frame.js';
import type { SyncMessage } from '../wire/sync-frame.js';
import type { SyncLink, SyncLog } from './link.js';
import type { Chunk, Provider } from './provider.js';

/** dual: Active/Active, both at once. */
export type SyncRole = 'source' | 'sink' | 'dual' | 'idle';

export interface Update {
  seq: number;
  provider: string;
  chunk: Chunk;
}

export interface FullTransfer {
  at: string;
  tookMs: number;
  entries: Record<string, number>;
  direction: 'sent' | 'received';
}

export type DriftTables = Record<string, { count: number; peerCount: number; digestMatch: boolean }>;

export interface SyncStatusView {
  enabled: boolean;
  role: SyncRole;
  status: SyncStatus;
  channel: 'up' | 'down';
  peerUnreachable: string | null;
  epoch: string | null;
  /** Source: the last update's number; sink: the last one applied. */
  sequence: number;
  /** Source: updates the sink has not acknowledged; sink: updates the source announced that are not here yet. */
  lag: number;
  lastFullTransfer: FullTransfer | null;
  /** A full transfer to the peer is under way (the receiving side says status "syncing"). */
  sendingFull: boolean;
  drift: null | { at: string; tables: DriftTables };
  providers: Record<string, { count: number; sent: number; applied: number; failed: number; persistent: boolean; ipv4?: number; ipv6?: number }>;
}

/** What a side needs from the engine. */
export interface SideContext {
  link: SyncLink;
  providers: readonly Provider[];
  log: SyncLog;
  /** What the heartbeats say changed. */
  changed(): void;
  fullTransfer(t: FullTransfer): void;
  drift(tables: DriftTables): void;
}

export function chunkToMessage(type: string, fields: Record<string, unknown>, c: Chunk): SyncMessage {
  const m: SyncMessage = { type, ...fields, count: c.count };
  if (c.body) m.body = c.body;
  else m['data'] = c.data ?? null;
  return m;
}

export function chunkOf(m: SyncMessage): Chunk {
  const c: Chunk = { count: Number(m['count']) || 0 };
  if (m.body) c.body = m.body;
  else c.data = m['data'];
  return c;
}

export function countsOf(providers: readonly Provider[]): Record<string, number> {
  return Object.fromEntries(providers.map((p) => [p.name, p.count()]));
}
