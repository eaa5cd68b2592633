/**
 * DOC: the lab: build, inspect, fault and tear down a cluster in namespaces
 *
 * Carries out a LabPlan (topology.ts) with `ip`, `tc` and `nft`, records it in
 * a state file under /run/tandem/lab so that another process (`tandem lab
 * status|down`) can find it, and injects the faults the tests and benchmarks
 * need: a cable cut, a node powered off, heartbeats dropped on a segment, a
 * mirrored switch port, a foreign host on a segment. Teardown kills only the
 * processes inside the lab's own namespaces and deletes those namespaces; it
 * also finds namespaces with the lab prefix whose run died without a state
 * file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Board } from '../board/board-file.js';
import { ipBatch, run, tool } from './run.js';
import { buildLab } from './lab-build.js';
import { dualStackNamespace, listNetns, netnsPids, pollUntil, quietNamespace, removeNetns, signal, sleep } from './netns.js';
import { labStatus, type LabStatus } from './lab-status.js';
import { blockPathRules, heartbeatDropRules, heartbeatDropTable, partitionRules, powerOffRules, powerTable, type HeartbeatKind } from './switch-rules.js';
import { allNetns, findIface, findNode, findSegment, LAB_NAME, LAB_PREFIX, labName, planLab, type LabIface, type LabPlan } from './topology.js';

export { listNetns, pollUntil, sleep };
export type { LabStatus };

export const LAB_STATE_DIR = process.env['TANDEM_LAB_STATE'] ?? '/run/tandem/lab';

interface LabState {
  plan: LabPlan;
  created: string;
  /** Namespaces added after `up` (foreign hosts). */
  extraNetns: string[];
  /** A VM lab's (vm-lab.ts): the directory of its machines' disks, sockets and logs. */
  vm?: VmRecord;
}

export interface VmRecord {
  dir: string;
  /** The lab made the directory (`tandem lab up --vm`), so its teardown removes it; a test keeps its own. */
  owned: boolean;
}

export class Lab {
  private constructor(
    readonly plan: LabPlan,
    private readonly extraNetns: string[] = [],
    /** Set for a lab of booted appliances: their QEMU runs in the switch's namespace and ends with it. */
    readonly vm?: VmRecord,
  ) {}

  get name(): string {
    return this.plan.name;
  }

  /** Builds the lab; on any failure removes what was built and rethrows. */
  /** `ipv6`: a dual-stack lab (topology.ts); without it IPv6 is off in every namespace of the lab. */
  static async up(board: Board, opts: { nodes?: number; name?: string; ipv6?: boolean } = {}): Promise<Lab> {
    const plan = planLab(board, opts.nodes ?? 2, opts.name ?? labName(), opts.ipv6 ?? false);
    const lab = new Lab(plan);
    lab.save();
    try {
      await lab.build();
    } catch (e) {
      await lab.down().catch(() => undefined);
      throw e;
    }
    return lab;
  }

  static load(name: string): Lab {
    const state = JSON.parse(readFileSync(stateFile(name), 'utf8')) as LabState;
    return new Lab(state.plan, state.extraNetns, state.vm);
  }

  /** Records a VM lab (vm-lab.ts builds it) so that `tandem lab status|console|down` find it. */
  static record(plan: LabPlan, vm: VmRecord): Lab {
    const lab = new Lab(plan, [], vm);
    lab.save();
    return lab;
  }

  /** Names of the labs with a state file. */
  static list(): string[] {
    try {
      return readdirSync(LAB_STATE_DIR)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5))
        .filter((n) => LAB_NAME.test(n));
    } catch {
      return [];
    }
  }

  private save(): void {
    mkdirSync(LAB_STATE_DIR, { recursive: true });
    const state: LabState = { plan: this.plan, created: new Date().toISOString(), extraNetns: this.extraNetns, ...(this.vm ? { vm: this.vm } : {}) };
    const tmp = `${stateFile(this.name)}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 2));
    renameSync(tmp, stateFile(this.name));
  }

  private async build(): Promise<void> {
    await buildLab(this.plan);
    await this.waitCarrier(5_000);
  }

  /** Waits until every node interface reports LOWER_UP (opening a capture before that loses frames). */
  async waitCarrier(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const down: string[] = [];
      for (const node of this.plan.nodes) {
        const { stdout } = await run(['ip', '-n', node.netns, '-o', 'link', 'show']);
        for (const i of node.ifaces) {
          const line = stdout.split('\n').find((l) => l.includes(` ${i.ifname}@`));
          if (!line || !line.includes('LOWER_UP')) down.push(`${node.name}:${i.ifname}`);
        }
      }
      if (down.length === 0) return;
      if (Date.now() > deadline) throw new Error(`lab ${this.name}: no carrier after ${timeoutMs} ms on ${down.join(', ')}`);
      await sleep(50);
    }
  }

  netns(): string[] {
    // A VM lab's nodes are machines, not namespaces.
    const all = this.vm ? allNetns(this.plan).filter((ns) => !this.plan.nodes.some((n) => n.netns === ns)) : allNetns(this.plan);
    return [...all, ...this.extraNetns];
  }

  /** Removes everything of this lab; safe to call twice and after a partial build. */
  async down(): Promise<void> {
    await removeNetns(this.netns());
    if (this.vm?.owned) rmSync(this.vm.dir, { recursive: true, force: true });
    rmSync(stateFile(this.name), { force: true });
  }

  // ---- processes ----

  /** Starts a process inside a lab namespace; it ends with the lab at the latest. */
  spawn(netns: string, argv: readonly string[], opts: { stdio?: 'pipe' | 'inherit' | 'ignore'; env?: Record<string, string> } = {}): ChildProcess {
    if (!this.netns().includes(netns)) throw new Error(`${netns} is not a namespace of lab ${this.name}`);
    const [cmd, ...args] = argv;
    return spawn(tool('ip'), ['netns', 'exec', netns, tool(cmd!), ...args], {
      stdio: opts.stdio ?? 'pipe',
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    });
  }

  // ---- faults ----

  /** Pulls the cable of one node interface (carrier lost on the node); a sync cable is cut at both ends. */
  async cutLink(node: string, ifname: string): Promise<void> {
    await this.setLinks(this.cablePorts(node, ifname), 'down');
  }

  async restoreLink(node: string, ifname: string): Promise<void> {
    await this.setLinks(this.cablePorts(node, ifname), 'up');
  }

  /**
   * Power off, as the network sees it: in one nftables transaction the switch
   * stops every frame from and to the node's ports, so its heartbeats (sent by
   * a thread of its own) and its forwarding stop in the same instant; then
   * every process of the node is frozen (SIGSTOP) and all its cables cut in
   * one `ip -batch` (the peer loses carrier on the cross-over sync cable, as
   * with a real power cut). Returns the wall-clock instant (ms) of the drop.
   */
  async powerOff(node: string): Promise<number> {
    const n = findNode(this.plan, node);
    await this.switchNft(
      powerOffRules(
        node,
        n.ifaces.map((i) => i.switchPort),
      ),
    );
    const at = Date.now();
    for (const pid of await netnsPids(n.netns)) signal(pid, 'SIGSTOP');
    await this.setLinks(
      n.ifaces.flatMap((i) => this.cablePorts(node, i.ifname)),
      'down',
    );
    return at;
  }

  /** Cables back, processes thawed, the switch forwarding again (as after a power cut that froze, not rebooted, the box). */
  async powerOn(node: string): Promise<void> {
    const n = findNode(this.plan, node);
    await this.setLinks(
      n.ifaces.flatMap((i) => this.cablePorts(node, i.ifname)),
      'up',
    );
    for (const pid of await netnsPids(n.netns)) signal(pid, 'SIGCONT');
    await run(['ip', 'netns', 'exec', this.plan.switchNs, tool('nft'), 'delete', 'table', 'bridge', powerTable(node)]).catch(() => undefined);
  }

  /**
   * Splits one segment's switch in two (nftables drops in the bridge, both ways): each side still
   * reaches its own, neither the other's. `heal()` removes it. For partitions of the sync network.
   */
  async partition(segment: string, sideA: readonly string[], sideB: readonly string[]): Promise<void> {
    const seg = this.plan.segments.find((s) => s.name === segment);
    if (!seg) throw new Error(`lab ${this.name} has no segment "${segment}" (${this.plan.segments.map((s) => s.name).join(', ')})`);
    const ports = (side: readonly string[]) => side.map((n) => findNode(this.plan, n).ifaces.find((i) => i.segment === segment)!.switchPort);
    const rules = partitionRules(ports(sideA), ports(sideB));
    await this.heal();
    await this.switchNft(rules);
  }

  async heal(): Promise<void> {
    await run(['ip', 'netns', 'exec', this.plan.switchNs, tool('nft'), 'delete', 'table', 'bridge', 'tandem_partition']).catch(() => undefined);
  }

  /** Thaws every process of the lab (before a graceful stop of what runs in it). */
  async thawAll(): Promise<void> {
    for (const ns of this.netns()) for (const pid of await netnsPids(ns)) signal(pid, 'SIGCONT');
  }

  /** Drops `percent` % of heartbeat frames (tandem's 11-00-00-00-xx-xx, or VRRP's) crossing a segment's switch. */
  async dropHeartbeats(segment: string, percent: number, kind: HeartbeatKind = 'tandem'): Promise<void> {
    const seg = findSegment(this.plan, segment);
    if (!(percent >= 0 && percent <= 100)) throw new Error(`drop percentage must be 0..100, not ${percent}`);
    await this.clearHeartbeatDrops(segment);
    if (percent === 0) return;
    const ports = await this.bridgePorts(seg.bridge);
    await this.switchNft(heartbeatDropRules(heartbeatDropTable(seg.bridge), ports, percent, kind));
  }

  private async bridgePorts(bridge: string): Promise<string[]> {
    const { stdout } = await run(['ip', '-n', this.plan.switchNs, '-o', 'link', 'show', 'master', bridge]);
    return [...stdout.matchAll(/^\d+: ([^@:]+)[@:]/gm)].map((m) => m[1]!);
  }

  async clearHeartbeatDrops(segment: string): Promise<void> {
    const seg = findSegment(this.plan, segment);
    await run(['ip', 'netns', 'exec', this.plan.switchNs, tool('nft'), 'delete', 'table', 'bridge', heartbeatDropTable(seg.bridge)]).catch(() => undefined);
  }

  /** The switch stops forwarding between two of its ports, both ways (a path broken behind the switch). */
  async blockPath(portA: string, portB: string): Promise<void> {
    await this.switchNft(blockPathRules(portA, portB));
  }

  /** Runs an nft script in the switch's namespace (one transaction). */
  private async switchNft(script: string): Promise<void> {
    await run(['ip', 'netns', 'exec', this.plan.switchNs, tool('nft'), '-f', '-'], { input: script + '\n' });
  }

  /** The switch port of a node interface (for blockPath). */
  switchPort(node: string, ifname: string): string {
    return findIface(findNode(this.plan, node), ifname).switchPort;
  }

  /** Reflects every frame a node sends on an interface back to it (a mis-set mirror port). */
  async mirrorPort(node: string, ifname: string): Promise<void> {
    const port = findIface(findNode(this.plan, node), ifname).switchPort;
    const ns = this.plan.switchNs;
    await run(['tc', '-n', ns, 'qdisc', 'add', 'dev', port, 'ingress']);
    await run([
      'tc',
      '-n',
      ns,
      'filter',
      'add',
      'dev',
      port,
      'parent',
      'ffff:',
      'protocol',
      'all',
      'u32',
      'match',
      'u32',
      '0',
      '0',
      'action',
      'mirred',
      'egress',
      'mirror',
      'dev',
      port,
    ]);
  }

  async unmirrorPort(node: string, ifname: string): Promise<void> {
    const port = findIface(findNode(this.plan, node), ifname).switchPort;
    await run(['tc', '-n', this.plan.switchNs, 'qdisc', 'del', 'dev', port, 'ingress']).catch(() => undefined);
  }

  /**
   * Adds a foreign host (another appliance, another cluster) on a segment: a
   * namespace of its own cabled to the segment's switch, address .200+k.
   */
  /** In a dual-stack lab the host has the IPv6 twin too (`address6`, ::200 and up). */
  async addForeignHost(segment: string): Promise<{ netns: string; ifname: string; address: string; address6: string; switchPort: string }> {
    const seg = findSegment(this.plan, segment);
    const k = this.extraNetns.length;
    const netns = `${this.name}-fx${k}`;
    const port = `fx${k}-eth0`;
    const address = `${seg.subnet.split('.').slice(0, 3).join('.')}.${200 + k}/24`;
    const address6 = `${seg.sharedIp6.slice(0, -1)}${200 + k}/64`;
    this.extraNetns.push(netns);
    this.save();
    await run(['ip', 'netns', 'add', netns]);
    if (this.plan.ipv6) await dualStackNamespace(netns, false);
    else await quietNamespace(netns);
    await ipBatch(
      [
        `link add eth0 type veth peer name ${port} netns ${this.plan.switchNs}`,
        `addr add ${address} brd + dev eth0`,
        ...(this.plan.ipv6 ? [`addr add ${address6} dev eth0 nodad`] : []),
        'link set eth0 up',
        'link set lo up',
      ],
      netns,
    );
    await ipBatch([`link set ${port} master ${seg.bridge}`, `link set ${port} up`], this.plan.switchNs);
    return { netns, ifname: 'eth0', address, address6, switchPort: port };
  }

  private cablePorts(node: string, ifname: string): string[] {
    const iface: LabIface = findIface(findNode(this.plan, node), ifname);
    const seg = findSegment(this.plan, iface.segment);
    // Two nodes: the sync segment is a cross-over cable, so cutting it takes carrier from both ends.
    if (seg.role === 'sync' && this.plan.nodes.length === 2) {
      return this.plan.nodes.map((n) => findIface(n, ifname).switchPort);
    }
    return [iface.switchPort];
  }

  private async setLinks(ports: string[], state: 'up' | 'down'): Promise<void> {
    await ipBatch(
      ports.map((p) => `link set ${p} ${state}`),
      this.plan.switchNs,
    );
  }

  // ---- status ----

  async status(): Promise<LabStatus> {
    return labStatus(this.name, this.plan, this.netns(), this.vm?.dir);
  }
}

function stateFile(name: string): string {
  if (!LAB_NAME.test(name)) throw new Error(`"${name}" is not a lab name (tdm and 5 hex digits)`);
  return join(LAB_STATE_DIR, `${name}.json`);
}

/** Removes one lab by name, from its state file or, when that is gone, by its namespaces' prefix. */
export async function downByName(name: string): Promise<void> {
  if (Lab.list().includes(name)) return Lab.load(name).down();
  if (!LAB_NAME.test(name)) throw new Error(`"${name}" is not a lab name (tdm and 5 hex digits)`);
  await removeNetns((await listNetns()).filter((ns) => ns.startsWith(`${name}-`)));
}

/**
 * Removes every lab: those with a state file and any namespace with the lab
 * prefix left by a run that died before writing or after losing its state.
 */
export async function downAll(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of Lab.list()) {
    await Lab.load(name).down();
    removed.push(name);
  }
  const orphans = (await listNetns()).filter((ns) => new RegExp(`^${LAB_PREFIX}[0-9a-f]{5}-`).test(ns));
  await removeNetns(orphans);
  for (const ns of orphans) {
    const name = ns.split('-')[0]!;
    if (!removed.includes(name)) removed.push(name);
  }
  return removed;
}
