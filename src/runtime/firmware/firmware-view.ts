/**
 * What the administrator sees of the firmware (tandem status, the status page, the console): the running version
 * and slot, the other slot, a version waiting for its trial boot, and the last fallback with its reason. Pure: from
 * the names in the ESP (systemd-boot's boot counting is in them), the root slots' GPT labels, and the record the
 * health check of a trial boot leaves on the data partition.
 */
import { compareVersions } from './bundle-manifest.js';

/** EFI/Linux/tandem_V.efi, tandem_V+LEFT.efi or tandem_V+LEFT-DONE.efi (systemd-boot's boot counting). */
export interface BootEntry {
  file: string;
  version: string;
  /** null: not counted (a good entry); 0: no try left (bad: systemd-boot boots it only when nothing else is left). */
  triesLeft: number | null;
  triesDone: number | null;
}

export function parseEntry(file: string): BootEntry | null {
  const m = /^tandem_([0-9][0-9a-z.~^]*?)(?:\+(\d+)(?:-(\d+))?)?\.efi$/i.exec(file);
  if (!m) return null;
  return { file, version: m[1]!, triesLeft: m[2] === undefined ? null : Number(m[2]), triesDone: m[3] === undefined ? null : Number(m[3]) };
}

/** The health check's verdict on one boot of a version, kept on the data partition. */
export interface BootRecord {
  version: string;
  bootId: string;
  outcome: 'confirmed' | 'failed';
  reason: string;
  at: string;
}

export interface SlotInfo {
  /** The GPT partition number. */
  partition: number;
  /** tandem_VERSION, or _empty before its first update. */
  label: string;
}

export interface FirmwareFacts {
  running: string;
  /** The running root's GPT label (root=PARTLABEL=...), to name the slot. */
  slots: SlotInfo[];
  entries: string[];
  /** systemd-boot counts this boot (LoaderBootCountPath is set): a trial boot that must be confirmed. */
  trialBoot: boolean;
  record: BootRecord | null;
}

export interface FirmwareView {
  version: string;
  slot: string;
  slots: { slot: string; partition: number; version: string | null; running: boolean; state: 'running' | 'good' | 'trial pending' | 'failed' | 'empty' }[];
  /** A newer version installed and waiting to be booted once. */
  pending: string | null;
  /** This boot is the trial of a new version: good only once confirmed. */
  trial: boolean;
  lastFallback: { from: string; to: string; reason: string; at: string | null } | null;
}

const slotName = (i: number) => String.fromCharCode(65 + i);

export function firmwareView(f: FirmwareFacts): FirmwareView {
  const entries = f.entries.map(parseEntry).filter((e): e is BootEntry => e !== null);
  const byVersion = new Map(entries.map((e) => [e.version, e]));
  const slots = [...f.slots]
    .sort((a, b) => a.partition - b.partition)
    .map((s, i) => {
      const version = s.label.startsWith('tandem_') ? s.label.slice('tandem_'.length) : null;
      const e = version ? byVersion.get(version) : undefined;
      const running = version === f.running;
      const state = running
        ? ('running' as const)
        : version === null
          ? ('empty' as const)
          : e?.triesLeft === 0
            ? ('failed' as const)
            : e && e.triesLeft !== null
              ? ('trial pending' as const)
              : ('good' as const);
      return { slot: slotName(i), partition: s.partition, version, running, state };
    });
  const pending = slots.find((s) => s.state === 'trial pending' && s.version && compareVersions(s.version, f.running) > 0)?.version ?? null;
  // A newer version without tries left was booted and not confirmed: systemd-boot came back to this one.
  const failed = entries.filter((e) => e.triesLeft === 0 && compareVersions(e.version, f.running) > 0).sort((a, b) => compareVersions(b.version, a.version))[0];
  let lastFallback: FirmwareView['lastFallback'] = null;
  if (failed) {
    const r = f.record && f.record.version === failed.version && f.record.outcome === 'failed' ? f.record : null;
    lastFallback = {
      from: failed.version,
      to: f.running,
      reason: r ? r.reason : `its trial boot did not complete (no verdict recorded: a hang, a panic, a watchdog reset or a power loss)`,
      at: r ? r.at : null,
    };
  }
  return {
    version: f.running,
    slot: slots.find((s) => s.running)?.slot ?? '?',
    slots,
    pending,
    trial: f.trialBoot,
    lastFallback,
  };
}
