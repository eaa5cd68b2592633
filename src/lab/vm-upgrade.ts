/**
 * DOC: both booted appliances of the VM lab updated one at a time, with the client's traffic (test/vm/upgrade.test.ts
 * checks it, bench/vm.ts measures it)
 *
 * `tandem upgrade BUNDLE` on the active box, as an administrator runs it: seed 002's sequence (the bundle to the
 * inactive member, installed there and booted once, confirmed healthy, a planned failover, installed here and
 * booted, confirmed). The bundle reaches the active box over 9p (a USB stick's part: VmLabOptions.shares, tag
 * `bundles`). Done when both boxes run the new version, confirmed, one active and one inactive hearing each other,
 * the standby in sync.
 */
import { TcpProbe, type ProbeReport } from './cluster.js';
import { pollUntil } from './netns.js';
import type { VmLab } from './vm-lab.js';

interface NodeStatus {
  role: string;
  peer?: { alive: boolean } | null;
  sync?: { status?: string };
  firmware?: { version?: string; slot?: string; trial?: string | null } | null;
}

export interface VmUpgrade {
  /** Each box's status before and after, in the order [active, inactive] of the start. */
  before: (NodeStatus | null)[];
  after: (NodeStatus | null)[];
  done: boolean;
  /** From the command until both run the new version, confirmed, the pair settled again. */
  ms: number;
  /** What `tandem upgrade` printed (kept on the active box's data partition: that box reboots at the end). */
  output: string;
  report: ProbeReport;
}

export async function vmUpgradeBoth(
  lab: VmLab,
  pair: { active: string; inactive: string },
  o: { bundle: string; version: string; connections: number; port: number; say: (line: string) => void },
): Promise<VmUpgrade> {
  const { active, inactive } = pair;
  const status = async (n: string) => (await lab.status(n)) as NodeStatus | null;
  const both = () => Promise.all([status(active), status(inactive)]);
  const before = await both();
  await lab.statefulGateways();
  const probe = await TcpProbe.start(lab, { connections: o.connections, intervalMs: 100, family: 4, port: o.port });
  try {
    if (!(await pollUntil(async () => probe.allFlowing(o.connections), 120_000, 200))) throw new Error(`the ${o.connections} connections do not all flow`);
    if (!(await pollUntil(async () => (await status(inactive))?.sync?.status === 'in-sync', 180_000, 3000))) throw new Error(`${inactive} is not in sync`);
    const mounted = await lab.vm(active).sh('mkdir -p /run/bundles && mount -t 9p -o trans=virtio,version=9p2000.L,ro bundles /run/bundles');
    if (mounted.code !== 0) throw new Error(`${active}: mounting the bundles' share: ${mounted.stderr.trim()}`);
    const t0 = Date.now();
    await lab
      .vm(active)
      .spawn(['/bin/sh', '-c', `tandem upgrade /run/bundles/${o.bundle} > /var/lib/tandem/upgrade.out 2>&1; echo "exit $?" >> /var/lib/tandem/upgrade.out`]);
    o.say(`tandem upgrade /run/bundles/${o.bundle} on ${active}, ${o.connections} TCP connections through the pair`);
    let after: (NodeStatus | null)[] = [];
    const done = await pollUntil(
      async () => {
        after = await both();
        return (
          after.every((s) => s?.firmware?.version === o.version && s.firmware.trial !== 'waiting' && s.peer?.alive === true) &&
          after
            .map((s) => s?.role)
            .sort()
            .join(',') === 'active,inactive' &&
          after.some((s) => s?.role === 'inactive' && s.sync?.status === 'in-sync')
        );
      },
      30 * 60_000,
      5000,
    );
    const ms = Date.now() - t0;
    const output =
      (
        await lab
          .vm(active)
          .sh('cat /var/lib/tandem/upgrade.out')
          .catch(() => null)
      )?.stdout ?? '';
    await pollUntil(async () => probe.allFlowing(o.connections), 120_000, 200);
    return { before, after, done, ms, output, report: await probe.stop() };
  } finally {
    await probe.stop().catch(() => undefined);
  }
}
