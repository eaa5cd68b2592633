/**
 * DOC: `tandem firmware ...`: the appliance's firmware slots, installing an update bundle, confirming a trial boot
 *
 * status and install ask the running daemon (src/runtime/firmware/firmware.ts), which logs what happens;
 * confirm is what tandem-boot-check.service runs on a trial boot: it waits for tandemd's verdict and exits 0
 * (the boot is kept) or 1 (the unit's FailureAction reboots, and systemd-boot goes back to the version before).
 * When tandemd never answers it records the failure itself, so the next boot can say why.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { askControl } from '../api/control-socket.js';
import { firmwareText } from '../api/status-page.js';
import { DEFAULTS, loadLocal } from '../cluster/config-file.js';
import { Firmware, type FirmwareStatus } from '../runtime/firmware/firmware.js';
import { flag, str, UsageError, type Parsed } from './args.js';
import { socketPath } from './status-command.js';

export const FIRMWARE_USAGE = `tandem firmware [status] [--json]   the firmware version and slot running, the other slot, a version waiting for its
    trial boot, the last fallback and why (an appliance booted from tandem's image)
tandem firmware install BUNDLE [--no-reboot]   check an update bundle (signature, board, version), write it to the slot
    not running and reboot into it once: kept only if it comes up healthy (a cluster: tandem upgrade BUNDLE)
tandem firmware confirm [--config FILE]   (tandem-boot-check.service) wait for the verdict on this trial boot`;

function describe(s: FirmwareStatus): string {
  if (!s.appliance) return s.why;
  const lines = [
    firmwareText({
      version: s.version,
      slot: s.slot,
      pending: s.pending,
      trial: s.trial ? (s.confirm?.outcome ?? 'waiting') : null,
      lastFallback: s.lastFallback,
    }),
    `board ${s.board} (accepts bundles for ${s.compatible})`,
    ...s.slots.map((x) => `slot ${x.slot} (partition ${x.partition})  ${x.version ?? '-'}  ${x.state}`),
  ];
  if (s.confirm) lines.push(`this trial boot: ${s.confirm.outcome} at ${s.confirm.at}: ${s.confirm.reason}`);
  return lines.join('\n');
}

const uptimeMs = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function confirm(p: Parsed): Promise<number> {
  const config = str(p, 'config');
  let stateDir: string = DEFAULTS.stateDir;
  let confirmMs = 600_000;
  let socket: string = DEFAULTS.controlSocket;
  try {
    if (config) {
      const l = loadLocal(config);
      stateDir = l.stateDir;
      socket = l.controlSocket;
      confirmMs = l.maintenance.confirmMs;
    }
  } catch (e) {
    process.stderr.write(`tandem firmware confirm: ${(e as Error).message}; the defaults are used\n`);
  }
  const local = new Firmware({
    stateDir,
    log: { log: () => undefined },
    confirmMs,
    health: () => ({ up: false, standalone: false, role: '?', peerHeard: null, sync: null, serving: null }),
  });
  // tandemd judges (it knows the peer and the sync); this waits for it, a minute longer than its deadline.
  let lastError = '';
  while (uptimeMs() < confirmMs + 60_000) {
    try {
      const s = (await askControl(socket, { cmd: 'firmware', op: 'status' }, 5000)) as FirmwareStatus;
      if (!s.appliance || !s.trial) {
        process.stdout.write('not a trial boot: nothing to confirm\n');
        return 0;
      }
      if (s.confirm) {
        process.stdout.write(`firmware ${s.version}: ${s.confirm.outcome}: ${s.confirm.reason}\n`);
        return s.confirm.outcome === 'confirmed' ? 0 : 1;
      }
      lastError = '';
    } catch (e) {
      lastError = (e as Error).message;
    }
    await sleep(2000);
  }
  const reason = `tandemd gave no verdict within ${Math.round(confirmMs / 1000)} s of the boot${lastError ? ` (its control socket: ${lastError})` : ''}`;
  await local.recordFailure(reason).catch(() => undefined);
  process.stdout.write(`firmware: failed: ${reason}\n`);
  return 1;
}

export async function firmwareCommand(p: Parsed): Promise<number> {
  const [op = 'status', bundle] = p.positionals;
  if (op === 'confirm') return confirm(p);
  if (op === 'status') {
    const s = (await askControl(socketPath(p), { cmd: 'firmware', op: 'status' })) as FirmwareStatus;
    process.stdout.write(flag(p, 'json') ? JSON.stringify(s, null, 1) + '\n' : describe(s) + '\n');
    return 0;
  }
  if (op !== 'install') throw new UsageError(`tandem firmware: unknown operation "${op}" (status, install, confirm)`);
  if (!bundle) throw new UsageError('tandem firmware install BUNDLE [--no-reboot]');
  const reboot = !flag(p, 'no-reboot');
  process.stdout.write(`checking ${bundle}; if it is good, writing it to the slot not running (a few minutes) ...\n`);
  const r = (await askControl(socketPath(p), { cmd: 'firmware', op: 'install', args: { path: resolve(bundle), reboot } }, 25 * 60_000)) as {
    version: string;
    slot: string;
    from: string;
  };
  process.stdout.write(
    `firmware ${r.version} written to slot ${r.slot} (running ${r.from}); ` +
      (reboot ? 'rebooting into it: it is kept only if it comes up healthy\n' : 'the next boot tries it once (reboot when ready)\n'),
  );
  return 0;
}
