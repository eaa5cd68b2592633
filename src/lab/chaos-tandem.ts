/**
 * DOC: tandem's side of the chaos run: the lab's pair (LabCluster) behind the ChaosPair port
 *
 * The worker is what a stall freezes and what a crash kills (its supervisor restarts it); the role timeline and
 * the resolutions come from the nodes' own role_change events, each with its reason and rule.
 */
import type { Board } from '../board/board-file.js';
import { askControl } from '../api/control-socket.js';
import { peekSender } from '../wire/heartbeat-frame.js';
import type { ChaosPair } from './chaos.js';
import { LabCluster } from './cluster.js';
import type { Lab } from './lab.js';
import { signal } from './netns.js';
import { run } from './run.js';

/** The lab's timers (failover 300 ms), initial silence shortened as in the demo. */
export async function tandemPair(lab: Lab, board: Board): Promise<ChaosPair> {
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800 } });
  const workerOf = async (name: string) => {
    const pid = cluster.node(name).process.pid!;
    return Number((await run(['cat', `/proc/${pid}/task/${pid}/children`])).stdout.trim().split(/\s+/)[0]);
  };
  return {
    peer: 'tandem',
    failoverTimeMs: 300,
    heartbeats: 'tandem',
    settled: (timeoutMs) => cluster.settled(timeoutMs),
    inSync: async (inactive) => (await cluster.sync(inactive)).status === 'in-sync',
    stalled: async (node) => [await workerOf(node)],
    // The node's timeline ends its active role at worker_died; the new worker starts from scratch.
    killWorker: async (node) => signal(await workerOf(node), 'SIGKILL'),
    failover: (node) =>
      askControl(cluster.node(node).socket, 'failover').then(
        () => '',
        (e: Error) => e.message,
      ),
    heartbeatSender: (frame) => {
      const id = peekSender(frame)?.nodeId;
      return id === undefined ? undefined : String(id);
    },
    senderOf: async (node) => String((await cluster.status(node)).node.id),
    timeline: (node) =>
      cluster
        .node(node)
        .events.filter((e) => e.event === 'role_change' || e.event === 'worker_died')
        .map((e) => [Date.parse(String(e.ts)), e.event === 'role_change' && e['to'] === 'active']),
    roleChanges: () => {
      const out: Record<string, number> = {};
      for (const n of cluster.nodes) {
        for (const e of n.events.filter((x) => x.event === 'role_change')) {
          const rule = (e['evidence'] as { rule?: string } | undefined)?.rule;
          const key = `${String(e['from'])}->${String(e['to'])} ${String(e['reason'])}${rule ? ` (${rule})` : ''}`;
          out[key] = (out[key] ?? 0) + 1;
        }
      }
      return out;
    },
    stop: () => cluster.stop(),
    cleanup: () => cluster.cleanup(),
  };
}
