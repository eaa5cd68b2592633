/**
 * DOC: one AF_PACKET socket on one interface
 *
 * The kernel filters with a classic BPF program before anything reaches us
 * (attached before bind, so no unfiltered frame slips in); the socket joins
 * the multicast groups it is given and lives in the network namespace it was
 * opened in. Lifecycle, send and receive come from NativeSocket.
 */
import { IFF_RUNNING, IFF_UP, netnsPath, sys, SystemError, type SockHandle } from './native.js';
import { NativeSocket, type ErrorHandler, type FrameHandler } from './native-socket.js';

export type { ErrorHandler, FrameHandler };

export interface PacketLinkOptions {
  ifname: string;
  /** Network namespace name (from `ip netns`); the socket lives there for its life. */
  netns?: string;
  /** Classic BPF program (struct sock_filter[] bytes), attached before bind. */
  filter?: Uint8Array;
  /** Multicast MACs to join (heartbeat destinations). */
  multicast?: Uint8Array[];
  /** Receive queue in bytes: what the kernel holds for us while our loop is stalled. */
  rcvbuf?: number;
}

/** The port the heartbeat I/O needs; PacketLink is the real one. */
export interface FrameLink {
  readonly ifname: string;
  send(frame: Uint8Array): void;
  hasCarrier(): boolean;
  receive(onFrame: FrameHandler, onError: ErrorHandler): void;
  drain(onFrame: FrameHandler, onError: ErrorHandler): number;
  close(): void;
  readonly closed: boolean;
  /** Kernel counters since the last call (the real socket's; a test's fake has none). */
  stats?(): { packets: number; drops: number };
}

export class PacketLink extends NativeSocket implements FrameLink {
  readonly ifname: string;
  readonly netns: string | undefined;
  readonly ifindex: number;

  private constructor(opts: PacketLinkOptions) {
    super(`interface ${opts.ifname}${opts.netns ? ` (netns ${opts.netns})` : ''}`, 2048);
    this.ifname = opts.ifname;
    this.netns = opts.netns;
    this.ifindex = sys(this.where, (b) => b.tandem_packet_open(opts.ifname, opts.filter ?? null, netnsPath(opts.netns), this.handle, opts.rcvbuf ?? null));
    try {
      for (const mac of opts.multicast ?? []) sys(this.where, (b) => b.tandem_packet_membership(this.handle, mac, true));
    } catch (e) {
      this.close();
      throw e;
    }
  }

  static open(opts: PacketLinkOptions): PacketLink {
    return new PacketLink(opts);
  }

  /** IFF_* flags of the interface now (one ioctl on this socket). */
  ifflags(): number {
    this.ensureOpen('ifflags');
    return sys(this.where, (b) => b.tandem_packet_ifflags(this.handle));
  }

  /** Administratively up and with carrier. */
  hasCarrier(): boolean {
    const f = this.ifflags();
    return (f & IFF_UP) !== 0 && (f & IFF_RUNNING) !== 0;
  }

  /** The native handle, for the heartbeat pacer (it sends through a duplicate of this socket). */
  nativeHandle(): SockHandle {
    this.ensureOpen('nativeHandle');
    return this.handle;
  }

  /** Kernel counters since the last call: frames queued to us and frames dropped. */
  stats(): { packets: number; drops: number } {
    this.ensureOpen('stats');
    return sys(this.where, (b) => b.tandem_packet_stats(this.handle));
  }
}

export { SystemError };
