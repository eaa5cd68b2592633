/**
 * DOC: what `tandem lab status` shows: each node's namespace, links and processes
 */
import { run } from './run.js';
import { listNetns, netnsPids } from './netns.js';
import type { LabPlan } from './topology.js';

export interface LabStatus {
  name: string;
  board: string;
  nodes: { name: string; netns: string; present: boolean; links: Record<string, string>; processes: number }[];
  missing: string[];
}

/** The lab `name` as the kernel has it now: which namespaces exist, each interface's carrier, processes inside. */
export async function labStatus(name: string, plan: LabPlan, netns: readonly string[]): Promise<LabStatus> {
  const existing = new Set(await listNetns());
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
