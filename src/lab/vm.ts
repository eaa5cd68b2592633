/**
 * DOC: one appliance booted from tandem's image under QEMU, for the VM tests and the VM lab (vm-lab.ts)
 *
 * TCG: hardware KVM does not run guests on this machine. UEFI (OVMF, its variables kept per VM so systemd-boot's choices survive a reboot), the image behind
 * a copy-on-write overlay (the guest's writes survive its reboots and a kill of QEMU, the image stays as built), the
 * first serial line on a socket (`tandem lab console` and the tests type there; QEMU logs every byte the guest
 * writes to a file, whether or not a client is attached), the i6300esb watchdog, QMP for the power, a pid file (another process
 * finds the machine again: `tandem lab console|down`), and QEMU's guest agent (the image
 * carries qemu-guest-agent) to run commands in the guest and read their output. Directories of the host can be
 * shared read-only over 9p (a USB stick's part in these tests); virtio NICs are taps in a namespace QEMU runs in.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, openSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { freemem } from 'node:os';
import { join } from 'node:path';

export const QEMU = '/usr/bin/qemu-system-x86_64';

/** Polls an asynchronous check until it holds or `ms` pass (a throwing check counts as false). */
async function until(check: () => Promise<boolean>, ms: number, step: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  const ask = () => check().catch(() => false);
  while (Date.now() < deadline) {
    if (await ask()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return ask();
}
const OVMF = { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' };
export const MEMORY_MB = 1536;

/** Why the VM tests cannot run here (they are then counted as skipped with it), or null. */
export function vmMissing(image: string, vms = 1): string | null {
  if (!existsSync(image)) return `no image ${image}: make image builds it`;
  if (!existsSync(QEMU)) return `no ${QEMU} (Debian package qemu-system-x86)`;
  if (!existsSync(OVMF.code)) return `no ${OVMF.code} (Debian package ovmf)`;
  const need = (MEMORY_MB + 256) * vms + 256;
  if (freemem() < need * 2 ** 20) return `${Math.round(freemem() / 2 ** 20)} MiB free, ${vms} VM(s) need ${need}`;
  return null;
}

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '');

/**
 * One request on a QEMU JSON socket: the answer to `request`, or its error. QMP greets, and takes qmp_capabilities
 * first. The guest agent's channel may still hold the answer to a request whose client gave up (it answers late
 * while the guest boots): guest-sync-delimited with a fresh id first, and everything before its answer is dropped.
 */
async function jsonCall(path: string, kind: 'qmp' | 'qga', request: object, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    const syncId = Math.floor(Math.random() * 2 ** 31);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${path}: no answer within ${timeoutMs} ms to ${JSON.stringify(request).slice(0, 120)}`));
    }, timeoutMs);
    let phase: 'hello' | 'request' = 'hello';
    const send = (m: object) => s.write(JSON.stringify(m) + '\n');
    s.on('connect', () => {
      if (kind === 'qga') send({ execute: 'guest-sync-delimited', arguments: { id: syncId } });
    });
    s.on('data', (d) => {
      // The agent's sync answer starts with a 0xFF byte (not UTF-8: it decodes as U+FFFD).
      buf += d.toString().replace(/[\uFFFD\xFF]/g, '');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if ('event' in msg) continue;
        if (phase === 'hello') {
          if (kind === 'qmp' && 'QMP' in msg) send({ execute: 'qmp_capabilities' });
          else if ((kind === 'qmp' && 'return' in msg) || (kind === 'qga' && msg['return'] === syncId)) {
            phase = 'request';
            send(request);
          }
          continue;
        }
        clearTimeout(timer);
        s.end();
        if ('error' in msg) reject(new Error(`${path}: ${JSON.stringify(msg['error'])}`));
        else resolve(msg['return']);
        return;
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export interface VmOptions {
  name: string;
  image: string;
  dir: string;
  /** Host directories shared read-only over 9p: tag -> path. */
  shares?: Record<string, string>;
  /** The network namespace QEMU runs in: its NICs' taps appear there (the lab's switch). */
  netns?: string;
  /** virtio NICs in PCI order (the guest names them eth0, eth1 ...): each a tap of this name and a MAC. */
  nics?: { tap: string; mac: string }[];
  /** Virtual CPUs (2 by default; the lab gives each of its two VMs one on a two-core host). */
  cpus?: number;
}

/**
 * The QEMU whose pid file this is, while it runs (another process may have started it: `tandem lab up --vm`). A
 * zombie (its parent gone without reaping it) runs no machine; a reused pid is another program.
 */
export function qemuPid(pidFile: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /\) Z /.test(stat) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(pidFile) ? null : pid;
  } catch {
    return null;
  }
}

export class Vm {
  private proc: ChildProcess | null = null;
  readonly serialLog: string;
  /** The first serial line's socket: one client at a time (a console, or a test typing). */
  readonly serialSocket: string;
  private readonly pidFile: string;
  private readonly qmp: string;
  private readonly qga: string;
  private readonly overlay: string;
  private readonly vars: string;

  constructor(private readonly o: VmOptions) {
    this.serialLog = join(o.dir, `${o.name}-serial.log`);
    this.serialSocket = join(o.dir, `${o.name}-serial.sock`);
    this.pidFile = join(o.dir, `${o.name}.pid`);
    this.qmp = join(o.dir, `${o.name}-qmp.sock`);
    this.qga = join(o.dir, `${o.name}-qga.sock`);
    this.overlay = join(o.dir, `${o.name}.qcow2`);
    this.vars = join(o.dir, `${o.name}-vars.fd`);
    // A machine found again (another process's lab) keeps its disk and its firmware variables.
    if (!existsSync(this.overlay)) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', o.image, '-F', 'raw', this.overlay]);
    if (!existsSync(this.vars)) copyFileSync(OVMF.vars, this.vars);
  }

  /**
   * Starts QEMU (again, after a kill: the disk and the firmware variables are kept). `detached`: the machine
   * outlives this process (`tandem lab up --vm`); the lab's teardown ends it by its pid file.
   */
  start(detached = false): void {
    const shares = Object.entries(this.o.shares ?? {}).flatMap(([tag, path]) => [
      '-virtfs',
      `local,path=${path},mount_tag=${tag},security_model=none,readonly=on`,
    ]);
    const nics = (this.o.nics ?? []).flatMap((n, i) => [
      '-netdev',
      `tap,id=nic${i},ifname=${n.tap},script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=nic${i},mac=${n.mac},addr=${(0x10 + i).toString(16)}`,
    ]);
    const [cmd, ...pre] = this.o.netns ? ['ip', 'netns', 'exec', this.o.netns, QEMU] : [QEMU];
    this.proc = spawn(
      cmd!,
      [
        ...pre,
        ...['-accel', 'tcg', '-cpu', 'max', '-m', String(MEMORY_MB), '-smp', String(this.o.cpus ?? 2), '-machine', 'q35'],
        ...['-drive', `if=pflash,format=raw,readonly=on,file=${OVMF.code}`, '-drive', `if=pflash,format=raw,file=${this.vars}`],
        ...['-drive', `file=${this.overlay},format=qcow2,if=virtio`, '-display', 'none', '-device', 'i6300esb'],
        ...(nics.length ? nics : ['-nic', 'none']),
        ...['-chardev', `socket,id=ser0,path=${this.serialSocket},server=on,wait=off,logfile=${this.serialLog},logappend=on`, '-serial', 'chardev:ser0'],
        ...['-qmp', `unix:${this.qmp},server=on,wait=off`, '-pidfile', this.pidFile],
        ...[
          '-chardev',
          `socket,id=qga0,path=${this.qga},server=on,wait=off`,
          '-device',
          'virtio-serial',
          '-device',
          'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
        ],
        ...shares,
      ],
      { stdio: ['ignore', 'ignore', openSync(join(this.o.dir, `${this.o.name}-qemu.log`), 'a')], detached },
    );
    if (detached) this.proc.unref();
  }

  /** What QEMU said on its standard error (why it would not start). */
  qemuLog(): string {
    const f = join(this.o.dir, `${this.o.name}-qemu.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** QEMU's pid: of the process this object started, or from its pid file (a machine another process started). */
  private pid(): number | null {
    if (this.proc) return this.proc.exitCode === null && this.proc.signalCode === null ? (this.proc.pid ?? null) : null;
    return qemuPid(this.pidFile);
  }

  get running(): boolean {
    return this.pid() !== null;
  }

  /** Pulls the plug: QEMU killed, nothing flushed. */
  kill(): void {
    const pid = this.pid();
    if (pid !== null) process.kill(pid, 'SIGKILL');
  }

  async stopped(timeoutMs = 10_000): Promise<boolean> {
    return until(async () => !this.running, timeoutMs, 200);
  }

  serial(): string {
    return existsSync(this.serialLog) ? stripAnsi(readFileSync(this.serialLog, 'utf8')) : '';
  }

  /** The serial text after `from` characters matches `re` (polled once a second). */
  async waitSerial(re: RegExp, timeoutMs: number, from = 0): Promise<boolean> {
    return until(async () => re.test(this.serial().slice(from)), timeoutMs, 1000);
  }

  /**
   * Types on the serial line as a person at a terminal would: one key at a time, `perKeyMs` apart (one client at a
   * time: fails while a console is attached).
   */
  async typeSerial(text: string, perKeyMs = 15): Promise<void> {
    const s: Socket = connect(this.serialSocket);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${this.serialSocket}: not accepted within 10 s (is a console attached?)`)), 10_000);
        s.once('error', (e) => (clearTimeout(timer), reject(e)));
        s.once('connect', () => (clearTimeout(timer), resolve()));
      });
      for (const key of text) {
        await new Promise<void>((resolve) => s.write(key, () => resolve()));
        await new Promise((r) => setTimeout(r, perKeyMs));
      }
      await new Promise<void>((resolve) => s.end(() => resolve()));
    } finally {
      s.destroy();
    }
  }

  async qmpCall(command: string, args?: object): Promise<unknown> {
    return jsonCall(this.qmp, 'qmp', { execute: command, ...(args ? { arguments: args } : {}) }, 10_000);
  }

  /** The guest agent answers (it starts late in the boot, and again after each reboot). */
  async agentUp(timeoutMs: number): Promise<boolean> {
    return until(
      async () => {
        try {
          await jsonCall(this.qga, 'qga', { execute: 'guest-ping' }, 3000);
          return true;
        } catch {
          return false;
        }
      },
      timeoutMs,
      2000,
    );
  }

  /** Runs a command in the guest and waits for it: its exit code and output. */
  async exec(argv: readonly string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
    const { pid } = (await jsonCall(
      this.qga,
      'qga',
      { execute: 'guest-exec', arguments: { path: argv[0], arg: argv.slice(1), 'capture-output': true } },
      10_000,
    )) as {
      pid: number;
    };
    const t0 = Date.now();
    for (;;) {
      const s = (await jsonCall(this.qga, 'qga', { execute: 'guest-exec-status', arguments: { pid } }, 10_000)) as {
        exited: boolean;
        exitcode?: number;
        signal?: number;
        'out-data'?: string;
        'err-data'?: string;
      };
      if (s.exited)
        return {
          code: s.exitcode ?? 128 + (s.signal ?? 0),
          stdout: Buffer.from(s['out-data'] ?? '', 'base64').toString(),
          stderr: Buffer.from(s['err-data'] ?? '', 'base64').toString(),
        };
      if (Date.now() - t0 > timeoutMs) throw new Error(`${argv.join(' ')}: still running after ${timeoutMs} ms in ${this.o.name}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** Starts a command in the guest without waiting for it (a reboot: the agent goes away with the answer). */
  async spawn(argv: readonly string[]): Promise<void> {
    await jsonCall(this.qga, 'qga', { execute: 'guest-exec', arguments: { path: argv[0], arg: argv.slice(1) } }, 10_000);
  }

  /** Writes a file in the guest (small files: a node file, a password). */
  async writeFile(path: string, content: string, mode = '0644'): Promise<void> {
    const b64 = Buffer.from(content).toString('base64');
    const r = await this.sh(`mkdir -p "$(dirname ${path})" && echo ${b64} | base64 -d > ${path}.tmp && chmod ${mode} ${path}.tmp && mv ${path}.tmp ${path}`);
    if (r.code !== 0) throw new Error(`${this.o.name}: writing ${path}: ${r.stderr.trim()}`);
  }

  /** A shell line in the guest (sh -c). */
  async sh(line: string, timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.exec(['/bin/sh', '-c', line], timeoutMs);
  }
}
