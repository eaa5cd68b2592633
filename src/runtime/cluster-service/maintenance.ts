/**
 * DOC: maintenance with planned failovers on a member (seed 002): files distributed, applied, confirmed
 *
 * `tandem update FILE` and `tandem upgrade IMAGE` (src/cli/maintenance-command.ts)
 * drive the sequence from the active node, one step per request:
 *
 *   send         the active node keeps a copy and sends the file to the inactive one in chunks
 *                over the cluster service; the receiver checks the SHA-256 and renames it in
 *   apply-peer   the inactive node runs its configured command on the file (COMMAND FILE KIND)
 *   (failover)   planned failover: the inactive node takes over, no connection lost
 *   apply-local  the former active node, now inactive, runs the command on its copy
 *   failover-peer  the peer hands back: a planned failover the other way
 *
 * Every step is logged on the node it runs on. An upgrade restarts the
 * node's service after its command succeeded (the new software starts as
 * inactive and receives the state). On tandem's own image, an upgrade without
 * upgradeCommand is a firmware bundle: the firmware controller checks it and
 * writes the other slot, and the box reboots into it (its trial boot keeps it
 * only once it is back in sync); the sequence then ends with the roles swapped. The files live in
 * `stateDir/maintenance/KIND-SHA256` (the newest per kind is kept).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalConfig } from '../../cluster/config-file.js';
import type { Role } from '../../core/failover-types.js';
import type { SyncMessage } from '../../wire/sync-frame.js';
import type { Logger } from '../logging/log.js';
import { runCommand } from '../run-command.js';

export const KINDS = ['update', 'upgrade'] as const;
/** What `check` reports as the upgrade command on tandem's image. */
export const FIRMWARE_COMMAND = 'tandem firmware install (systemd-sysupdate, then a reboot into the new slot)';
export type Kind = (typeof KINDS)[number];
const CHUNK = 4 * 1024 * 1024;

export interface MaintenanceDeps {
  local: LocalConfig;
  node: string;
  log: Logger;
  role(): Role;
  /** A planned failover of this node (the runtime's input). */
  failover(): void;
  askPeer(m: SyncMessage, timeoutMs?: number): Promise<{ name: string; answer: SyncMessage }>;
  restart(why: string): void;
  /** tandem's own image: an upgrade without upgradeCommand is a firmware bundle (src/runtime/firmware/firmware.ts). */
  firmware?: FirmwareInstaller;
}

export interface FirmwareInstaller {
  appliance(): boolean;
  install(file: string, o: { reboot: boolean; via: string }): Promise<{ version: string; slot: string; from: string; reboot: boolean }>;
  /** How long a rebooted member may take to come back confirmed (maintenance.confirmMs). */
  confirmMs: number;
}

function kindOf(v: unknown): Kind {
  if (!(KINDS as readonly unknown[]).includes(v)) throw new Error(`kind: update or upgrade, not ${JSON.stringify(v)}`);
  return v as Kind;
}

function shaOf(v: unknown): string {
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new Error(`sha256: 64 hex digits, not ${JSON.stringify(v)}`);
  return v;
}

export class Maintenance {
  private applying: string | null = null;
  private readonly dir: string;

  constructor(private readonly d: MaintenanceDeps) {
    this.dir = join(d.local.stateDir, 'maintenance');
  }

  private command(kind: Kind): string | null {
    if (kind === 'update') return this.d.local.maintenance.updateCommand;
    return this.d.local.maintenance.upgradeCommand ?? (this.firmware() ? FIRMWARE_COMMAND : null);
  }

  /** The appliance's own updater, where the node file names no upgrade command. */
  private firmware(): FirmwareInstaller | null {
    return this.d.firmware?.appliance() ? this.d.firmware : null;
  }

  private fileFor(kind: Kind, sha: string): string {
    return join(this.dir, `${kind}-${sha}`);
  }

  /** What the other member asks (over the cluster service). */
  async serve(m: SyncMessage): Promise<SyncMessage> {
    switch (m.type) {
      case 'maintenance-check': {
        const kind = kindOf(m['kind']);
        return { type: 'maintenance-ready', node: this.d.node, role: this.d.role(), command: this.command(kind), pid: process.pid, applying: this.applying };
      }
      case 'maintenance-chunk':
        return this.receive(m);
      case 'maintenance-apply': {
        const kind = kindOf(m['kind']);
        const sha = shaOf(m['sha256']);
        const r = await this.apply(kind, sha, String(m['id'] ?? ''));
        return { type: 'maintenance-applied', ...r };
      }
      case 'maintenance-failover':
        this.d.log.log('info', 'maintenance_step', { id: m['id'], step: 'fail back', node: this.d.node, role: this.d.role(), requestedBy: m['from'] });
        this.d.failover();
        return { type: 'done', role: this.d.role() };
      default:
        throw new Error(`unknown maintenance request ${m.type}`);
    }
  }

  /** What `tandem update|upgrade` asks its local node (over the control socket). */
  async control(op: string, a: Record<string, unknown>): Promise<unknown> {
    const id = String(a['id'] ?? '');
    switch (op) {
      case 'check': {
        const kind = kindOf(a['kind']);
        const { name, answer } = await this.d.askPeer({ type: 'maintenance-check', kind });
        return { me: { node: this.d.node, role: this.d.role(), command: this.command(kind), pid: process.pid }, peer: { ...answer, node: name } };
      }
      case 'send':
        return this.send(kindOf(a['kind']), String(a['path']), id);
      case 'apply-peer': {
        const { name, answer } = await this.d.askPeer(
          { type: 'maintenance-apply', kind: kindOf(a['kind']), sha256: shaOf(a['sha256']), id },
          this.d.local.maintenance.timeoutMs + 15_000,
        );
        return { ...answer, node: name };
      }
      case 'apply-local':
        return { ...(await this.apply(kindOf(a['kind']), shaOf(a['sha256']), id)), node: this.d.node };
      case 'failover-peer': {
        const { name, answer } = await this.d.askPeer({ type: 'maintenance-failover', id, from: this.d.node });
        return { ...answer, node: name };
      }
      case 'report': {
        const done = a['outcome'] === 'done';
        this.d.log.log(done ? 'info' : 'error', done ? 'maintenance_done' : 'maintenance_stopped', {
          id,
          kind: a['kind'],
          ...(done ? {} : { step: a['step'], error: a['error'], serving: a['serving'] }),
          totalMs: a['totalMs'],
        });
        return { logged: true };
      }
      default:
        throw new Error(`unknown maintenance operation ${op} (check, send, apply-peer, apply-local, failover-peer, report)`);
    }
  }

  /**
   * Keeps a copy here (the file the administrator named may change afterwards) and sends it in chunks. Read,
   * hashed and sent a chunk at a time: a large image must not hold the main loop (the heartbeats) for long.
   */
  private async send(kind: Kind, path: string, id: string): Promise<unknown> {
    const t0 = performance.now();
    if (this.d.role() !== 'active') throw new Error(`this node is ${this.d.role()}: run tandem ${kind} on the active node`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `${kind}-sending.part`);
    const hash = createHash('sha256');
    let bytes = 0;
    const src = await open(path, 'r').catch((e: Error) => {
      throw new Error(`${path}: ${e.message}`);
    });
    const copy = await open(tmp, 'w', 0o600);
    try {
      for await (const chunk of chunks(src)) {
        hash.update(chunk);
        await copy.write(chunk);
        bytes += chunk.length;
      }
      await copy.sync();
    } finally {
      await src.close();
      await copy.close();
    }
    const sha256 = hash.digest('hex');
    await rename(tmp, this.fileFor(kind, sha256));
    await this.prune(kind, sha256);
    const name = path.split('/').pop();
    let peer = '';
    const fh = await open(this.fileFor(kind, sha256), 'r');
    try {
      let offset = 0;
      for await (const body of chunks(fh, CHUNK)) {
        peer = (await this.d.askPeer({ type: 'maintenance-chunk', kind, sha256, offset, total: bytes, name, id, body }, 30_000)).name;
        offset += body.length;
      }
      if (bytes === 0) peer = (await this.d.askPeer({ type: 'maintenance-chunk', kind, sha256, offset: 0, total: 0, name, id }, 30_000)).name;
    } finally {
      await fh.close();
    }
    const ms = performance.now() - t0;
    this.d.log.log('info', 'maintenance_step', { id, kind, step: 'file sent', node: this.d.node, to: peer, file: path, bytes, sha256, ms });
    return { sha256, bytes, peer, ms };
  }

  private async prune(kind: Kind, keep: string): Promise<void> {
    for (const f of await readdir(this.dir)) {
      if (f.startsWith(`${kind}-`) && f !== `${kind}-${keep}` && !f.endsWith('.part')) await unlink(join(this.dir, f)).catch(() => undefined);
    }
  }

  /** A chunk from the active node: appended at its offset; the last one is checked and renamed in. */
  private async receive(m: SyncMessage): Promise<SyncMessage> {
    const kind = kindOf(m['kind']);
    const sha256 = shaOf(m['sha256']);
    const offset = Number(m['offset']);
    const total = Number(m['total']);
    const body = m.body ?? new Uint8Array();
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const part = `${this.fileFor(kind, sha256)}.part`;
    if (offset !== 0) {
      const have = await stat(part).then(
        (s) => s.size,
        () => -1,
      );
      if (have !== offset)
        throw new Error(
          `chunk at ${offset} of ${kind} ${sha256.slice(0, 12)}: ${have < 0 ? 'no transfer in progress' : `${have} bytes received so far`}; send the file again`,
        );
    }
    const fh = await open(part, offset === 0 ? 'w' : 'a', 0o600);
    try {
      await fh.write(body);
      if (offset + body.length >= total) await fh.sync();
    } finally {
      await fh.close();
    }
    if (offset + body.length < total) return { type: 'done', received: offset + body.length };
    const hash = createHash('sha256');
    const check = await open(part, 'r');
    try {
      for await (const chunk of chunks(check)) hash.update(chunk);
    } finally {
      await check.close();
    }
    const got = hash.digest('hex');
    if (got !== sha256) {
      await unlink(part).catch(() => undefined);
      throw new Error(`${kind} file damaged in transfer: SHA-256 ${got}, expected ${sha256}`);
    }
    await rename(part, this.fileFor(kind, sha256));
    await this.prune(kind, sha256);
    this.d.log.log('info', 'maintenance_step', { id: m['id'], kind, step: 'file received', node: this.d.node, name: m['name'], bytes: total, sha256 });
    return { type: 'done', received: total };
  }

  /** Runs the configured command on the stored file; an upgrade then restarts this node's service. */
  private async apply(
    kind: Kind,
    sha256: string,
    id: string,
  ): Promise<{ ok: true; ms: number; output: string; restarting: boolean; rebooting?: boolean; backWithinMs?: number }> {
    const command = this.command(kind);
    const file = this.fileFor(kind, sha256);
    if (!command) throw new Error(`${this.d.local.file}: maintenance.${kind}Command is not set on ${this.d.node}: nothing can apply the ${kind}`);
    if (this.applying) throw new Error(`${this.d.node} is already applying ${this.applying}`);
    await stat(file).catch(() => {
      throw new Error(`${this.d.node} has no ${kind} file with SHA-256 ${sha256.slice(0, 12)}...: send it first`);
    });
    this.applying = `${kind} ${sha256.slice(0, 12)}`;
    const t0 = performance.now();
    const role = this.d.role();
    try {
      const fw = kind === 'upgrade' && !this.d.local.maintenance.upgradeCommand ? this.firmware() : null;
      if (fw) {
        // The bundle checked and written to the slot not running; the box reboots into it once, after this answer.
        const r = await fw.install(file, { reboot: true, via: 'maintenance' });
        const ms = performance.now() - t0;
        const output = `firmware ${r.version} written to slot ${r.slot} (running ${r.from}); rebooting into it`;
        this.d.log.log('info', 'maintenance_step', { id, kind, step: 'applied', node: this.d.node, role, command, ms, output });
        return { ok: true, ms, output, restarting: true, rebooting: true, backWithinMs: fw.confirmMs + 120_000 };
      }
      const output = await runCommand(command, [file, kind], {
        timeoutMs: this.d.local.maintenance.timeoutMs,
        env: { TANDEM_NODE: this.d.node, TANDEM_ROLE: role, TANDEM_KIND: kind },
      });
      const ms = performance.now() - t0;
      this.d.log.log('info', 'maintenance_step', { id, kind, step: 'applied', node: this.d.node, role, command, ms, output: output.slice(-500) });
      if (kind === 'upgrade') {
        // After the answer has gone out: the new software starts inactive and receives the state.
        setTimeout(() => this.d.restart(`${kind} applied`), 200);
      }
      return { ok: true, ms, output: output.slice(-2000), restarting: kind === 'upgrade' };
    } catch (e) {
      this.d.log.log('error', 'maintenance_apply_failed', {
        id,
        kind,
        node: this.d.node,
        role,
        command,
        error: (e as Error).message,
        ms: performance.now() - t0,
      });
      throw e;
    } finally {
      this.applying = null;
    }
  }
}

/** A file's content in pieces (1 MiB by default), each read and handed out on its own turn of the loop. */
async function* chunks(fh: FileHandle, size = 1024 * 1024): AsyncGenerator<Uint8Array> {
  for (;;) {
    const buf = Buffer.allocUnsafe(size);
    const { bytesRead } = await fh.read(buf, 0, size, null);
    if (bytesRead === 0) return;
    yield buf.subarray(0, bytesRead);
  }
}
