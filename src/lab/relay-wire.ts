/**
 * DOC: the lab puts each node's bypass relays on its wire
 *
 * Real relays act on copper; the lab's nodes are namespaces. This watcher
 * reads each node's simulated relay state (hw-sim-state.ts) every 20 ms and
 * makes the wire match:
 *   inline      the node's two segment cables are in; nothing else
 *   bypass      the node's cables are out and the two switch segments are
 *               spliced where the node was (a veth pair between the two
 *               bridges): the box is a wire
 *   disconnect  the node's cables are out, no splice: the ports are cut
 * Every change is recorded with its time, so a test can say when the wire
 * changed after a fault.
 */
import type { BypassSegment } from '../board/board-file.js';
import { simSegmentMode } from './hw-sim-state.js';
import type { Lab } from './lab.js';
import { ipBatch } from './run.js';
import { findIface, findNode, findSegment } from './topology.js';

export interface WireChange {
  at: number;
  node: string;
  segment: string;
  mode: string;
}

export class RelayWire {
  private timer: NodeJS.Timeout | undefined;
  private readonly current = new Map<string, string>();
  readonly changes: WireChange[] = [];
  private busy = false;

  constructor(
    private readonly lab: Lab,
    private readonly segments: readonly BypassSegment[],
    /** Each node's simulator directory, and its watchdog number (when the board has one). */
    private readonly sims: Record<string, { dir: string; watchdog?: number }>,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), 20);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private splice(node: string, seg: BypassSegment): { a: string; b: string } {
    const n = findNode(this.lab.plan, node);
    return { a: `sp${n.index}${seg.name}`.slice(0, 13) + 'a', b: `sp${n.index}${seg.name}`.slice(0, 13) + 'b' };
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const [node, sim] of Object.entries(this.sims)) {
        for (const seg of this.segments) {
          const mode = simSegmentMode(sim.dir, seg, sim.watchdog);
          const key = `${node}/${seg.name}`;
          if (this.current.get(key) === mode) continue;
          await this.apply(node, seg, mode, this.current.has(key));
          this.current.set(key, mode);
          this.changes.push({ at: Date.now(), node, segment: seg.name, mode });
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async apply(node: string, seg: BypassSegment, mode: string, spliceExists: boolean): Promise<void> {
    const { plan } = this.lab;
    const n = findNode(plan, node);
    const ports = seg.ports.map((p) => findIface(n, p));
    const bridges = ports.map((i) => findSegment(plan, i.segment).bridge);
    const sp = this.splice(node, seg);
    const cmds: string[] = [];
    if (!spliceExists) {
      cmds.push(`link add ${sp.a} type veth peer name ${sp.b}`, `link set ${sp.a} master ${bridges[0]}`, `link set ${sp.b} master ${bridges[1]}`);
    }
    const coupled = mode === 'bypass';
    const cablesIn = mode === 'inline' || mode === 'normal';
    for (const i of ports) cmds.push(`link set ${i.switchPort} ${cablesIn ? 'up' : 'down'}`);
    cmds.push(`link set ${sp.a} ${coupled ? 'up' : 'down'}`, `link set ${sp.b} ${coupled ? 'up' : 'down'}`);
    await ipBatch(cmds, plan.switchNs);
  }
}
