/**
 * DOC: the appliance's firmware: its slots, installing an update bundle, confirming a trial boot, noticing a fallback
 *
 * On the image `make image` builds (docs/appliance-image.md) the root is one of two slots; systemd-boot boots the
 * newest version with tries left. This node's side of it:
 *
 *   status    the running version and slot, the other slot, a version waiting for its trial boot, the last
 *             fallback and why (from the ESP's file names, the slots' GPT labels and the trial boots' records)
 *   install   a bundle checked (bundle-check.ts), handed to systemd-sysupdate, which writes the slot not running
 *             and installs the bundle's kernel image with one boot try; then a reboot unless told not to
 *   confirm   on a trial boot (systemd-boot counts it: LoaderBootCountPath is set), the verdict within
 *             maintenance.confirmMs of the boot: tandemd up, and in a cluster the peer heard and the state in
 *             sync. It is recorded on the data partition; tandem-boot-check.service waits for it and holds
 *             boot-complete.target (so systemd-bless-boot keeps the version) or reboots (so systemd-boot
 *             goes back to the version before)
 *   fallback  at start: a newer version with no try left is a version that failed; logged once, with the
 *             reason its trial boot recorded (none recorded: a hang, a panic, a reset, a power loss)
 *
 * On a machine that is not such an image (a builder's own OS, the lab) status says so and install refuses.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { FirmwareSummary, StatusDoc } from '../../api/status-page.js';
import type { Logger } from '../logging/log.js';
import { BundleRefused, checkBundle } from './bundle-check.js';
import type { ThisBox } from './bundle-manifest.js';
import { confirmVerdict, type HealthFacts } from './confirm-verdict.js';
import { gptNames } from './gpt-labels.js';
import { firmwareView, type BootRecord, type FirmwareFacts, type FirmwareView } from './firmware-view.js';

const exec = promisify(execFile);
const LOADER_GUID = '4a67b082-0a4c-41cf-b6c7-440b29bb8c4f';

/** Where the facts are read (a test points them at a tree of its own). */
export interface FirmwarePaths {
  osRelease: string;
  /** The image's identity: board, compatible string, architecture (written by make image). */
  identity: string;
  esp: readonly string[];
  sysBlock: string;
  /** Where the disks' device nodes are (their GPT is read for the slots' labels). */
  dev: string;
  efivars: string;
  keyring: string;
  bootId: string;
  uptime: string;
}

export const SYSTEM_PATHS: FirmwarePaths = {
  osRelease: '/etc/os-release',
  identity: '/usr/lib/tandem/firmware.json',
  esp: ['/efi', '/boot'],
  sysBlock: '/sys/class/block',
  dev: '/dev',
  efivars: '/sys/firmware/efi/efivars',
  keyring: '/etc/systemd/import-pubring.gpg',
  bootId: '/proc/sys/kernel/random/boot_id',
  uptime: '/proc/uptime',
};

export interface FirmwareDeps {
  stateDir: string;
  log: Logger;
  confirmMs: number;
  /** What the confirmation reads of the node. */
  health(): HealthFacts;
  paths?: FirmwarePaths;
  /** The updater (argv); systemd-sysupdate by default. */
  sysupdate?: string[];
  reboot?: () => void;
}

export type FirmwareStatus =
  | { appliance: false; why: string }
  | (FirmwareView & { appliance: true; board: string; compatible: string; confirm: BootRecord | null; confirmDeadlineMs: number });

/** What the trial boot's verdict reads of the node's status document. */
export function healthOf(doc: StatusDoc): HealthFacts {
  const pair = doc.sync !== null || doc.matrix.length > 0;
  return {
    up: true,
    standalone: doc.node.standalone,
    role: doc.node.role,
    // Heard within three seconds on any interface: longer than any failover time the timers allow by default.
    peerHeard: pair && doc.cluster?.mode !== 'group' ? doc.matrix.some((r) => r.lastSeenAgoMs !== null && r.lastSeenAgoMs < 3000) : null,
    sync: doc.sync?.status ?? null,
    serving: doc.cluster?.mode === 'group' ? doc.health.ok : null,
  };
}

function osReleaseField(text: string, key: string): string | null {
  const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text);
  return m ? m[1]!.replace(/^["']|["']$/g, '') : null;
}

export class Firmware {
  private readonly p: FirmwarePaths;
  private readonly dir: string;
  private installing = false;
  private timer: NodeJS.Timeout | null = null;
  private record: BootRecord | null = null;

  constructor(private readonly d: FirmwareDeps) {
    this.p = d.paths ?? SYSTEM_PATHS;
    this.dir = join(d.stateDir, 'firmware');
  }

  private identity(): { board: string; compatible: string; architecture: string } | null {
    try {
      return JSON.parse(readFileSync(this.p.identity, 'utf8')) as { board: string; compatible: string; architecture: string };
    } catch {
      return null;
    }
  }

  private running(): string | null {
    try {
      return osReleaseField(readFileSync(this.p.osRelease, 'utf8'), 'IMAGE_VERSION');
    } catch {
      return null;
    }
  }

  private bootId(): string {
    return readFileSync(this.p.bootId, 'utf8').trim();
  }

  private espDir(): string | null {
    for (const e of this.p.esp) if (existsSync(join(e, 'EFI', 'Linux'))) return join(e, 'EFI', 'Linux');
    return null;
  }

  /** The root slots: the partitions sysfs lists, named as the GPT on the disk names them now (gpt-labels.ts). */
  private slots(): FirmwareFacts['slots'] {
    const parts: { partition: number; label: string; disk: string }[] = [];
    for (const dev of readdirSync(this.p.sysBlock)) {
      let uevent: string;
      try {
        uevent = readFileSync(join(this.p.sysBlock, dev, 'uevent'), 'utf8');
      } catch {
        continue;
      }
      const label = /^PARTNAME=(.*)$/m.exec(uevent)?.[1] ?? '';
      const n = /^PARTN=(\d+)$/m.exec(uevent)?.[1];
      if (!n) continue;
      // /sys/class/block/vda3 is a link into .../vda/vda3: the disk is the directory above.
      const disk = basename(dirname(realpathSync(join(this.p.sysBlock, dev))));
      parts.push({ partition: Number(n), label, disk });
    }
    const onDisk = new Map<string, Map<number, string> | null>();
    const names = (disk: string) => {
      if (!onDisk.has(disk)) onDisk.set(disk, this.gptOf(disk));
      return onDisk.get(disk)!;
    };
    return parts
      .map((x) => ({ partition: x.partition, label: names(x.disk)?.get(x.partition) ?? x.label }))
      .filter((x) => x.label.startsWith('tandem_') || x.label === '_empty');
  }

  private gptOf(disk: string): Map<number, string> | null {
    let fd: number | undefined;
    try {
      fd = openSync(join(this.p.dev, disk), 'r');
      const sector = Number(readFileSync(join(this.p.sysBlock, disk, 'queue', 'logical_block_size'), 'utf8').trim()) || 512;
      const read = (offset: number, length: number) => {
        const b = Buffer.alloc(length);
        readSync(fd!, b, 0, length, offset);
        return b;
      };
      return gptNames(read, sector);
    } catch {
      return null;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private readRecord(): BootRecord | null {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'trial-boot.json'), 'utf8')) as BootRecord;
    } catch {
      return null;
    }
  }

  facts(): FirmwareFacts | null {
    const running = this.running();
    if (!running || !this.identity()) return null;
    const esp = this.espDir();
    return {
      running,
      slots: this.slots(),
      entries: esp ? readdirSync(esp) : [],
      trialBoot: existsSync(join(this.p.efivars, `LoaderBootCountPath-${LOADER_GUID}`)),
      record: this.readRecord(),
    };
  }

  status(): FirmwareStatus {
    const f = this.facts();
    const id = this.identity();
    if (!f || !id)
      return {
        appliance: false,
        why: `not a tandem appliance image (no IMAGE_VERSION in ${this.p.osRelease} or no ${this.p.identity}): its firmware is the builder's`,
      };
    const v = firmwareView(f);
    const lastFallback = v.lastFallback ?? this.savedFallback();
    const mine = f.record && f.record.bootId === this.bootId() ? f.record : null;
    return { ...v, lastFallback, appliance: true, board: id.board, compatible: id.compatible, confirm: mine, confirmDeadlineMs: this.d.confirmMs };
  }

  /** The status document's part (the status page, /status.json): null where this is not an appliance image. */
  summary(): FirmwareSummary | null {
    const s = this.status();
    if (!s.appliance) return null;
    return {
      version: s.version,
      slot: s.slot,
      pending: s.pending,
      trial: s.trial ? (s.confirm ? s.confirm.outcome : 'waiting') : null,
      lastFallback: s.lastFallback,
    };
  }

  private savedFallback(): FirmwareView['lastFallback'] {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'last-fallback.json'), 'utf8')) as FirmwareView['lastFallback'];
    } catch {
      return null;
    }
  }

  private async save(name: string, value: unknown): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.${name}.tmp`);
    await writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
    await rename(tmp, join(this.dir, name));
  }

  /** At start: log a fallback once; on a trial boot, watch for the verdict. */
  start(): void {
    const f = this.facts();
    if (!f) return;
    const v = firmwareView(f);
    if (v.lastFallback) {
      const key = JSON.stringify(v.lastFallback);
      const saved = this.savedFallback();
      if (JSON.stringify(saved) !== key) {
        this.d.log.log('error', 'firmware_fallback', { from: v.lastFallback.from, to: v.lastFallback.to, reason: v.lastFallback.reason });
        // At once: a service restarting right after must not log it again.
        try {
          mkdirSync(this.dir, { recursive: true, mode: 0o700 });
          writeFileSync(join(this.dir, '.last-fallback.json.tmp'), key + '\n');
          renameSync(join(this.dir, '.last-fallback.json.tmp'), join(this.dir, 'last-fallback.json'));
        } catch (e) {
          this.d.log.log('warn', 'firmware_record_failed', { error: (e as Error).message });
        }
      }
    }
    const bootId = this.bootId();
    if (!f.trialBoot || (f.record && f.record.bootId === bootId)) return;
    this.timer = setInterval(() => void this.judge(f.running, bootId), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private uptimeMs(): number {
    return Number(readFileSync(this.p.uptime, 'utf8').split(' ')[0]) * 1000;
  }

  private async judge(version: string, bootId: string): Promise<void> {
    if (this.record) return;
    const v = confirmVerdict(this.d.health(), this.uptimeMs(), this.d.confirmMs);
    if (v.state === 'waiting') return;
    const record: BootRecord = { version, bootId, outcome: v.state, reason: v.state === 'confirmed' ? v.why : v.reason, at: new Date().toISOString() };
    this.record = record;
    this.stop();
    await this.save('trial-boot.json', record).catch((e: Error) => this.d.log.log('warn', 'firmware_record_failed', { error: e.message }));
    if (v.state === 'confirmed') this.d.log.log('info', 'firmware_confirmed', { version, why: v.why });
    else this.d.log.log('error', 'firmware_confirm_failed', { version, reason: v.reason, deadlineMs: this.d.confirmMs });
  }

  async install(file: string, o: { reboot: boolean; via: string }): Promise<{ version: string; slot: string; from: string; reboot: boolean }> {
    const id = this.identity();
    const running = this.running();
    if (!id || !running) throw new Error(`${file}: this machine is not a tandem appliance image (no firmware slots to write)`);
    if (this.installing) throw new Error(`${file}: an install is already running`);
    this.installing = true;
    const incoming = join(this.dir, 'incoming');
    try {
      const box: ThisBox = { version: running, architecture: id.architecture, compatible: id.compatible };
      let manifest;
      try {
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        manifest = await checkBundle(file, { keyring: this.p.keyring, box, into: incoming });
      } catch (e) {
        const reason = e instanceof BundleRefused ? e.reason : (e as Error).message;
        this.d.log.log('warn', 'firmware_install_refused', { file, reason, via: o.via });
        throw e instanceof BundleRefused ? e : new BundleRefused(file, reason);
      }
      const [cmd, ...args] = this.d.sysupdate ?? ['/usr/lib/systemd/systemd-sysupdate'];
      try {
        await exec(cmd!, [...args, 'update'], { timeout: 20 * 60_000, maxBuffer: 4 << 20 });
      } catch (e) {
        const output = String((e as { stderr?: string }).stderr || (e as Error).message)
          .trim()
          .split('\n')
          .slice(-6)
          .join(' | ');
        this.d.log.log('error', 'firmware_install_failed', { file, version: manifest.version, output });
        throw new Error(`${file}: systemd-sysupdate could not install version ${manifest.version}: ${output}`);
      }
      const slot = this.status();
      const written = slot.appliance ? (slot.slots.find((s) => s.version === manifest.version)?.slot ?? '?') : '?';
      this.d.log.log('info', 'firmware_installed', { file, version: manifest.version, slot: written, from: running, via: o.via });
      if (o.reboot) {
        this.d.log.log('info', 'firmware_rebooting', { version: manifest.version, via: o.via });
        setTimeout(() => (this.d.reboot ?? (() => void exec('systemctl', ['reboot']).catch(() => undefined)))(), 1000).unref();
      }
      return { version: manifest.version, slot: written, from: running, reboot: o.reboot };
    } finally {
      this.installing = false;
      await rm(incoming, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** tandem-boot-check.service's own record, when tandemd never gave a verdict (it did not start, or hung). */
  async recordFailure(reason: string): Promise<void> {
    const running = this.running();
    if (!running) return;
    await this.save('trial-boot.json', {
      version: running,
      bootId: this.bootId(),
      outcome: 'failed',
      reason,
      at: new Date().toISOString(),
    } satisfies BootRecord);
  }

  async lastRecord(): Promise<BootRecord | null> {
    try {
      return JSON.parse(await readFile(join(this.dir, 'trial-boot.json'), 'utf8')) as BootRecord;
    } catch {
      return null;
    }
  }
}
