/**
 * DOC: the one module that loads the C addon (native/tandem.c) and types it
 *
 * Nothing else imports the binding. Every call goes through `sys()`, which
 * turns the addon's errno errors (.code, .errno, .syscall) into a SystemError
 * whose message says what failed, on which interface, and what to do.
 */
import bindings from 'bindings';

export interface IfaceFacts {
  index: number;
  mac: Buffer;
  mtu: number;
  /** IFF_* flags (IFF_UP 0x1, IFF_RUNNING 0x40: carrier). */
  flags: number;
  ipv4?: string;
  broadcast?: string;
  netmask?: string;
}

/** A wrapped socket (packet or netlink): an opaque object owned by a NativeSocket. */
export type SockHandle = object & { readonly __sockHandle?: never };

interface Binding {
  tandem_packet_open(ifname: string, filter: Uint8Array | null, netnsPath: string | null, wrapper: SockHandle, rcvbuf?: number | null): number;
  tandem_netlink_open(protocol: number, groups: number, netnsPath: string | null, wrapper: SockHandle, rcvbuf?: number): number;
  tandem_packet_membership(h: SockHandle, mac: Uint8Array, add: boolean): void;
  tandem_sock_send(h: SockHandle, frame: Uint8Array): number;
  tandem_sock_start(h: SockHandle, ring: Buffer, lens: Uint32Array, stamps: BigInt64Array, onFrames: (err: NativeError | null, count: number) => void): void;
  tandem_sock_read(h: SockHandle, ring: Buffer, lens: Uint32Array, stamps: BigInt64Array): number;
  tandem_sock_close(h: SockHandle): void;
  tandem_packet_stats(h: SockHandle): { packets: number; drops: number };
  tandem_packet_ifflags(h: SockHandle): number;
  tandem_iface_info(ifname: string, netnsPath: string | null): IfaceFacts;
  tandem_clock_monotonic_ns(): bigint;
  tandem_gpio_chip_info(path: string): { name: string; label: string; lines: number };
  tandem_gpio_line_info(path: string, offset: number): { name: string; consumer: string; used: boolean; output: boolean; activeLow: boolean };
  tandem_gpio_request(path: string, offsets: Uint32Array, values: Uint8Array, consumer: string, activeLow: boolean): number;
  tandem_gpio_set(fd: number, values: Uint8Array): void;
  tandem_gpio_get(fd: number, values: Uint8Array): void;
  tandem_fd_close(fd: number): void;
  tandem_watchdog_open(path: string, timeoutSeconds: number): { fd: number; timeout: number };
  tandem_watchdog_keepalive(fd: number): void;
  tandem_watchdog_stop(fd: number): void;
  tandem_sd_notify(path: string, text: string): void;
  tandem_cpg_open(group: string, wrapper: object, onEvent: (ev: CpgEvent) => void): number;
  tandem_cpg_mcast(h: object, message: Uint8Array): void;
  tandem_cpg_close(h: object): void;
  tandem_pacer_open(wrapper: PacerHandle, socks: SockHandle[], startNs: bigint, tickNs: bigint, perTick: number, rtPriority: number): PacerHandle;
  tandem_pacer_load(h: PacerHandle, fromTick: bigint, frames: Uint8Array, lens: Uint16Array, ifidx: Uint8Array, nowCount: number): bigint;
  tandem_pacer_stats(h: PacerHandle, out: BigInt64Array): number;
  tandem_pacer_close(h: PacerHandle): void;
  tandem_pacer_receive(h: PacerHandle, onDoorbell: () => void, mask: Uint16Array, gapNs: bigint): void;
  tandem_pacer_drain(h: PacerHandle, ring: Uint8Array, lens: Uint32Array, stamps: BigInt64Array, socks: Uint8Array): number;
}

/** The heartbeat pacer's wrapper object (native/pacer.c), owned by src/io/heartbeat-pacer.ts. */
export type PacerHandle = object & { readonly __pacerHandle?: never };

export interface CpgAddress {
  nodeid: number;
  pid: number;
  /** CPG_REASON_*: 1 join, 2 leave, 3 node down, 4 node up, 5 process down. */
  reason: number;
}

/** What the addon hands over after each cpg_dispatch, in Corosync's delivery order. */
export type CpgEvent =
  | { type: 'deliver'; nodeid: number; pid: number; data: Buffer }
  | { type: 'confchg'; members: CpgAddress[]; left: CpgAddress[]; joined: CpgAddress[] }
  | { type: 'totem'; ringNodeid: number; ringSeq: number; nodes: number[] }
  | { type: 'error'; error: NativeError };

/** The shape of an error thrown by the addon. */
export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

const binding: Binding = bindings('tandem');

/** Error codes that mean "try again later" rather than "this will never work". */
const TRANSIENT = new Set(['EAGAIN', 'EWOULDBLOCK', 'ENOBUFS', 'EINTR']);
/** Codes that mean the link is gone or down. */
const LINK_GONE = new Set(['ENETDOWN', 'ENXIO', 'ENODEV']);

export type ErrorClass = 'transient' | 'link' | 'fatal';

export class SystemError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly kind: ErrorClass;

  constructor(cause: NativeError, where: string) {
    super(`${where}: ${cause.syscall} failed with ${cause.code}${advice(cause.code, where, cause.syscall)}`, { cause });
    this.name = 'SystemError';
    this.code = cause.code;
    this.errno = cause.errno;
    this.syscall = cause.syscall;
    this.kind = classify(cause.code);
  }
}

export function classify(code: string): ErrorClass {
  if (TRANSIENT.has(code)) return 'transient';
  if (LINK_GONE.has(code)) return 'link';
  return 'fatal';
}

/** What to do about a GPIO or watchdog device error (where starts with "GPIO" or "watchdog"). */
function deviceAdvice(code: string, where: string): string {
  switch (code) {
    case 'ENOENT':
      return `: no such device (${where}): check gpio.chip / watchdog.device in the board file (ls /dev/gpiochip* /dev/watchdog*)`;
    case 'EACCES':
    case 'EPERM':
      return ': permission denied: run tandemd as root, or give it access to the device node';
    case 'EBUSY':
      return ': the line is held by another consumer: see who with gpioinfo, and free it or use another line';
    case 'EINVAL':
      return ": the chip refused the request: is the line offset within the chip's lines (gpio.line in the board file)?";
    case 'ENOTTY':
      return ': the device does not speak this interface (an old kernel without the GPIO v2 uAPI?: the sysfs fallback applies)';
    default:
      return '';
  }
}

/** What to do about a Corosync CPG error (the syscall is a cpg_ call). */
function corosyncAdvice(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return ': no Corosync runs in this network namespace (or it is still starting): see corosync.log in the state directory, or "corosync-cfgtool -s"';
    case 'EACCES':
      return ": Corosync refused the connection: run tandemd as root (or in Corosync's uidgid.d)";
    case 'EAGAIN':
      return ': the Corosync ring is congested (flow control); the message is retried';
    case 'EMSGSIZE':
      return ': the message is larger than Corosync accepts; it must be split';
    default:
      return '';
  }
}

function advice(code: string, where: string, syscall = ''): string {
  if (where.startsWith('GPIO') || where.startsWith('watchdog')) return deviceAdvice(code, where);
  if (syscall === 'pthread_setschedparam(SCHED_FIFO)') {
    return ': the kernel refused a real-time priority for the heartbeat thread: run as root with CAP_SYS_NICE, give the cgroup real-time time (cpu.rt_runtime_us), or set timers.heartbeatRtPriority to 0';
  }
  if (syscall.startsWith('cpg_')) return corosyncAdvice(code);
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return ': needs CAP_NET_RAW (and CAP_SYS_ADMIN to enter a namespace): run as root';
    case 'ENODEV':
      return `: no such interface (${where}): check the interface name in the board and configuration files`;
    case 'ENOENT':
      return `: not found (${where}): does the network namespace exist? (ip netns list)`;
    case 'ENETDOWN':
      return ': the interface is down: bring it up (ip link set IFACE up) or check its cable';
    case 'ENXIO':
      return ': the interface has no carrier or was removed';
    case 'EAGAIN':
    case 'ENOBUFS':
      // On a receive (a netlink socket's poll or recvmmsg) it means the kernel dropped messages for us.
      if (syscall === 'poll' || syscall === 'recvmmsg') return ': the receive buffer overflowed; the kernel dropped messages for this socket';
      return ': the transmit queue is full; the frame was not sent';
    case 'EMSGSIZE':
      return ': the frame is larger than the interface MTU';
    default:
      return '';
  }
}

function isNative(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).code === 'string' && typeof (e as NativeError).syscall === 'string';
}

/** Runs one addon call, converting its errno error into a SystemError naming `where`. */
export function sys<T>(where: string, call: (b: Binding) => T): T {
  try {
    return call(binding);
  } catch (e) {
    if (isNative(e)) throw new SystemError(e, where);
    throw e;
  }
}

export function wrapNativeError(e: NativeError, where: string): SystemError {
  return new SystemError(e, where);
}

export function netnsPath(netns: string | undefined): string | null {
  return netns === undefined ? null : `/run/netns/${netns}`;
}

export function ifaceFacts(ifname: string, netns?: string): IfaceFacts {
  return sys(`interface ${ifname}${netns ? ` in netns ${netns}` : ''}`, (b) => b.tandem_iface_info(ifname, netnsPath(netns)));
}

export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;

/** The monotonic clock the frame stamps are on (same as process.hrtime.bigint()). */
export function monotonicNs(): bigint {
  return binding.tandem_clock_monotonic_ns();
}

/** One notification datagram to systemd (src/io/sd-notify.ts decides what and when). */
export function sdNotifyDatagram(path: string, text: string): void {
  sys(`sd_notify ${path}`, (b) => b.tandem_sd_notify(path, text));
}
