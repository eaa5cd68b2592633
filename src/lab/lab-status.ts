/**
 * DOC: what `tandem lab status` shows: each node's namespace, links and processes
 */
import { join } from 'node:path';
import { run } from './run.js';
import { qemuPid } from './vm.js';
import { listNetns, netnsPids } from './netns.js';
import type { LabPlan } from './topology.js';

export interface LabStatus {
  name: string;
  board: string;
  nodes: { name: string; netns: string; present: boolean; links: Record<string, string>; processes: number }[];
  missing: string[];
}

/** The lab `name` as the kernel has it now: which namespaces exist, each interface's carrier, processes inside. */
export async function labStatus(name: string, plan: LabPlan, netns: readonly string[], vmDir?: string): Promise<LabStatus> {
  const existing = new Set(await listNetns());
  if (vmDir !== undefined) return { name, board: plan.board, nodes: await vmNodes(plan, vmDir, existing), missing: netns.filter((ns) => !existing.has(ns)) };
  const nodes = [];
  for (const node of plan.nodes) {
    const links: Record<string, string> = {};
    if (existing.has(node.netns)) {
      const { stdout } = await run(['ip', '-n', node.netns, '-o', 'link', 'show']);
      for (const i of node.ifaces) {
        const line = stdout.split('\n').find((l) => l.includes(` ${i.ifname}@`)) ?? '';
        links[i.ifname] = line.includes('LOWER_UP') ? 'up' : line ? 'no-carrier' : 'missing';
      }
    }
    const pids = existing.has(node.netns) ? await netnsPids(node.netns) : [];
    nodes.push({ name: node.name, netns: node.netns, present: existing.has(node.netns), links, processes: pids.length });
  }
  const missing = netns.filter((ns) => !existing.has(ns));
  return { name, board: plan.board, nodes, missing };
}

/**
 * A VM lab's nodes are machines: present while QEMU runs (its pid file, vm.ts), their links the taps at the switch,
 * one process each (QEMU).
 */
async function vmNodes(plan: LabPlan, dir: string, existing: Set<string>): Promise<LabStatus['nodes']> {
  const ports = existing.has(plan.switchNs) ? (await run(['ip', '-n', plan.switchNs, '-o', 'link', 'show'])).stdout.split('\n') : [];
  return plan.nodes.map((node) => {
    const present = qemuPid(join(dir, `${node.name}.pid`)) !== null;
    const links: Record<string, string> = {};
    for (const i of node.ifaces) {
      const line = ports.find((l) => l.includes(` ${i.switchPort}:`)) ?? '';
      links[i.ifname] = line.includes('LOWER_UP') ? 'up' : line ? 'no-carrier' : 'missing';
    }
    return { name: node.name, netns: `QEMU in ${plan.switchNs}`, present, links, processes: present ? 1 : 0 };
  });
}
