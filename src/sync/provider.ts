/**
 * DOC: what a synchronised kind of state offers the sync engine
 *
 * One interface for every provider (conntrack, configuration, sessions):
 * the source side loads its state and follows its changes; the sink side
 * replaces its copy with a whole snapshot, applies batches of changes, and
 * at takeover commits its copy. Changes travel as chunks: a count and either
 * a binary body (packed records) or JSON data. A provider is persistent when
 * its copy survives a restart of the node (seed 000), transient otherwise.
 */

export interface Chunk {
  count: number;
  data?: unknown;
  body?: Uint8Array;
}

export interface ApplyReport {
  applied: number;
  failed: number;
  /** Of the time taken, how much the kernel spent (providers that write into it). */
  kernelMs?: number;
  /** A sample failure for the log. */
  error?: string;
}

export interface ProviderCounters {
  /** Entries sent to the peer (snapshots and updates). */
  sent: number;
  /** Entries applied from the peer. */
  applied: number;
  /** Entries the peer sent that could not be applied. */
  failed: number;
}

export interface Provider {
  readonly name: string;
  readonly persistent: boolean;
  readonly counters: ProviderCounters;
  /** Source: load the current state and follow changes; every batch of changes goes to emit. */
  startSource(emit: (c: Chunk) => void): Promise<void>;
  stopSource(): void;
  /** Source: the state now, as chunks of bounded size, taken at one instant. */
  snapshot(): Chunk[];
  /** Sink: a complete snapshot replaces the copy; nothing changes until every chunk is here. */
  replace(chunks: readonly Chunk[]): Promise<ApplyReport>;
  /** Sink: one batch of changes, in order. */
  apply(c: Chunk): ApplyReport;
  /** Sink, before this node claims the shared addresses: make the copy effective. */
  commit(): Promise<ApplyReport>;
  /** Entries held (the source's state, or the sink's copy). */
  count(): number;
  /** Entries held by kind where a provider has kinds (conntrack: per address family). */
  breakdown?(): Record<string, number>;
  /** An order-free digest of the keys held, to compare with the peer's. */
  digest(): number;
  close(): void;
}
