/**
 * DOC: the VM lab's failover, as `make demo-vm` shows it and test/vm/pair.test.ts checks it
 *
 * Two booted appliances settle (one active, one inactive, each hearing the other), both become stateful firewalls,
 * the client opens TCP connections to the server through the active box, the standby's kernel holds them (the
 * state sync), and the active box loses its power and its cables in one step. What comes back is every figure the
 * demo prints and the test asserts: which box did what, how many connections the standby held, when it took over,
 * and each connection's bytes.
 */
import { TcpProbe, type ProbeReport } from './cluster.js';
import { pollUntil, sleep } from './netns.js';
import { run } from './run.js';
import type { VmLab } from './vm-lab.js';

interface NodeStatus {
  role: string;
  peer?: { alive: boolean } | null;
  sync?: { status?: string };
}

/** Waits until one box is active and the other inactive, each hearing the other; null (and the last statuses) if not. */
export async function vmPairSettled(
  lab: VmLab,
  timeoutMs: number,
): Promise<{ active: string; inactive: string } | { last: Record<string, NodeStatus | null> }> {
  const names = lab.plan.nodes.map((n) => n.name);
  let last: Record<string, NodeStatus | null> = {};
  const ok = await pollUntil(
    async () => {
      const s = await Promise.all(names.map((n) => lab.status(n) as Promise<NodeStatus | null>));
      last = Object.fromEntries(names.map((n, i) => [n, s[i]!]));
      return (
        s
          .map((x) => x?.role)
          .sort()
          .join(',') === 'active,inactive' && s.every((x) => x?.peer?.alive === true)
      );
    },
    timeoutMs,
    5000,
  );
  if (!ok) return { last };
  const active = names.find((n) => last[n]?.role === 'active')!;
  return { active, inactive: names.find((n) => n !== active)! };
}

export interface VmFailover {
  active: string;
  inactive: string;
  /** Connections in ESTABLISHED state in the standby's conntrack table before the power-off. */
  held: number;
  /** From the power-off until `tandem status` in the other box says active (polled every 2 s: an upper bound). */
  tookOverMs: number | null;
  /** From the power-off until every connection carried data again. */
  flowingMs: number | null;
  report: ProbeReport;
}

/**
 * The failover: `connections` TCP connections through the active box (writing every 100 ms), the standby in sync,
 * the active box powered off. The probe is stopped before this returns, also on a failure.
 */
export async function vmPowerOffFailover(
  lab: VmLab,
  pair: { active: string; inactive: string },
  o: { connections: number; port: number; say: (line: string) => void },
): Promise<VmFailover> {
  const { active, inactive } = pair;
  const server = lab.plan.hosts.find((h) => h.name === 'server')!.iface.address.split('/')[0]!;
  const client = lab.plan.hosts.find((h) => h.name === 'client')!;
  const ping = () => run(['ip', 'netns', 'exec', client.netns, 'ping', '-c', '1', '-W', '2', server]).then(() => true);
  if (!(await pollUntil(ping, 120_000, 1000))) throw new Error(`the client does not reach the server ${server} through ${active}`);
  await lab.statefulGateways();
  o.say('both boxes stateful firewalls (forward policy drop, established/related accepted, SNAT to the WAN shared address, nf_conntrack_tcp_loose=0)');
  const probe = await TcpProbe.start(lab, { connections: o.connections, intervalMs: 100, family: 4, port: o.port });
  try {
    if (!(await pollUntil(async () => probe.allFlowing(o.connections), 60_000, 200))) throw new Error(`the ${o.connections} connections do not all flow`);
    const inSync = async () => ((await lab.status(inactive)) as NodeStatus | null)?.sync?.status === 'in-sync';
    if (!(await pollUntil(inSync, 120_000, 3000))) throw new Error(`${inactive} is not in sync`);
    await sleep(3000); // the connections' latest state on the standby (the sync batches)
    const count = await lab.vm(inactive).sh(`conntrack -L -p tcp --dport ${o.port} 2>/dev/null | grep -c ESTABLISHED`);
    const held = Number(count.stdout.trim()) || 0;
    o.say(`${o.connections} TCP connections from the client to the server ${server} through ${active}; ${inactive}'s kernel holds ${held} of them`);
    o.say(`powering off ${active} (the machine stopped and its cables down in one step)`);
    const offAt = Date.now();
    await lab.powerOff(active);
    const tookOver = await pollUntil(async () => ((await lab.status(inactive)) as NodeStatus | null)?.role === 'active', 300_000, 2000);
    const tookOverMs = tookOver ? Date.now() - offAt : null;
    const flowing = await pollUntil(async () => probe.allFlowing(o.connections), 120_000, 200);
    const flowingMs = flowing ? Date.now() - offAt : null;
    return { active, inactive, held, tookOverMs, flowingMs, report: await probe.stop() };
  } finally {
    await probe.stop().catch(() => undefined);
  }
}

/** The connections that carried every byte they sent, and came back. */
export function wholeConnections(r: ProbeReport): number {
  return r.conns.filter((c) => c.error === null && c.echoed === c.sent && c.echoed > 0).length;
}
