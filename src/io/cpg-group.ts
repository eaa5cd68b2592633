/**
 * DOC: one Corosync closed process group (CPG), joined through the addon
 *
 * Membership and totally ordered delivery among many members are Corosync's
 * (virtual synchrony: every member sees the same configuration changes and
 * the same messages in the same order between them). This module only joins,
 * sends and hands over what arrives: messages sent while Corosync applies
 * flow control (EAGAIN) wait here, in order, and are retried; nothing here
 * decides what a message means (src/runtime/group/group-node.ts does).
 */
import type { CpgAddress, CpgEvent, NativeError } from './native.js';
import { sys, wrapNativeError } from './native.js';

/** Larger messages are split by the caller: Corosync's IPC buffer is 1 MiB by default. */
export const MAX_CPG_MESSAGE = 512 * 1024;

export interface CpgHandlers {
  message(nodeid: number, pid: number, data: Buffer): void;
  view(members: CpgAddress[], left: CpgAddress[], joined: CpgAddress[]): void;
  /** The Corosync ring (every node whose Corosync runs, whether or not it joined the group). */
  ring?(ringNodeid: number, ringSeq: number, nodes: number[]): void;
  /** Corosync went away or a queued send failed for good; the group is closed. */
  error(err: Error): void;
}

const RETRY_MS = 2;

export class CpgGroup {
  private readonly handle = {};
  private readonly queue: Buffer[] = [];
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  /** This node's Corosync node id. */
  readonly nodeid: number;

  private constructor(
    readonly name: string,
    private readonly handlers: CpgHandlers,
  ) {
    this.nodeid = sys(`Corosync group ${name}`, (b) => b.tandem_cpg_open(name, this.handle, (ev) => this.dispatch(ev)));
  }

  /** Connects to this namespace's Corosync and joins `name` (throws ECONNREFUSED while Corosync is not up). */
  static join(name: string, handlers: CpgHandlers): CpgGroup {
    return new CpgGroup(name, handlers);
  }

  private dispatch(ev: CpgEvent): void {
    if (this.closed) return;
    try {
      if (ev.type === 'deliver') this.handlers.message(ev.nodeid, ev.pid, ev.data);
      else if (ev.type === 'confchg') this.handlers.view(ev.members, ev.left, ev.joined);
      else if (ev.type === 'totem') this.handlers.ring?.(ev.ringNodeid, ev.ringSeq, ev.nodes);
      else this.fail(wrapNativeError(ev.error, `Corosync group ${this.name}`));
    } catch (e) {
      // A handler's bug must not be mistaken for Corosync failing: it surfaces as itself.
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  /** Multicast in agreed order to every member of the group, this one included. */
  send(data: Buffer): void {
    if (this.closed) throw new Error(`Corosync group ${this.name}: send after close`);
    if (data.length > MAX_CPG_MESSAGE) throw new Error(`Corosync group ${this.name}: a message of ${data.length} bytes is over ${MAX_CPG_MESSAGE}; split it`);
    this.queue.push(data);
    if (this.queue.length === 1) this.flush();
  }

  private flush(): void {
    this.retry = undefined;
    while (this.queue.length > 0 && !this.closed) {
      try {
        sys(`Corosync group ${this.name}`, (b) => b.tandem_cpg_mcast(this.handle, this.queue[0]!));
      } catch (e) {
        if ((e as NativeError).code === 'EAGAIN') {
          this.retry = setTimeout(() => this.flush(), RETRY_MS);
          return;
        }
        this.fail(e as Error);
        return;
      }
      this.queue.shift();
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.close();
    this.handlers.error(err);
  }

  /** Leaves the group; idempotent. Messages still queued are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.queue.length = 0;
    sys(`Corosync group ${this.name}`, (b) => b.tandem_cpg_close(this.handle));
  }
}
