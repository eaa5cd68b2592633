/**
 * DOC: the VM lab: two appliances booted from tandem's image under QEMU on the lab's switch (issue 31, item 3)
 *
 * The lab's plan as for namespaces (topology.ts: board qemu-x86, two nodes, the client on the LAN and the server
 * on the WAN), but the nodes are booted appliances: QEMU runs in the switch's namespace, so each virtio NIC's tap
 * appears there and is a port of its segment's bridge (the guest names them eth0..eth3 in PCI order, as the board
 * says). Each appliance gets the node file the namespace lab would write (a static pair, master and slave) with its
 * own addresses, the cluster password, forwarding on, and its tandemd restarted; the timers are relaxed for TCG
 * (Node runs about 25x slower than on the host) and given here. Faults act as the real ones: a power-off stops the
 * machine and takes its cables down in the same instant.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolveBoard } from '../board/board-file.js';
import type { NodeConfig } from '../cluster/config-file.js';
import { buildLab } from './lab-build.js';
import { labManagedConfig, labNodeConfig } from './lab-config.js';
import { Lab } from './lab.js';
import { ipBatch, run, tool } from './run.js';
import { statefulRuleset } from './firewall.js';
import { findSegment, labName, planLab, type LabNode, type LabPlan } from './topology.js';
import { Vm } from './vm.js';

/** What a TCG guest keeps up with: a heartbeat every 500 ms, the peer dead after 5 s of silence. */
export const VM_TIMERS: Partial<NodeConfig['timers']> = { heartbeatIntervalMs: 500, failoverTimeMs: 5000, initialSilenceMs: 10_000 };

export interface VmLabOptions {
  image: string;
  /**
   * Where the VMs' overlays, firmware variables, serial logs and sockets go (a test's own directory, kept after a
   * failure); by default /var/tmp/tandem-vm/NAME, removed with the lab.
   */
  dir?: string;
  name?: string;
  timers?: Partial<NodeConfig['timers']>;
  /**
   * What the boxes are: `static` (the default) a pair defined in each node file; `managed` a cluster made with
   * `tandem cluster create`, `add-member` and `join` (what maintenance with planned failovers needs: `tandem
   * upgrade`); `factory` both left in factory state, to be set up on their serial consoles.
   */
  setup?: 'static' | 'managed' | 'factory';
  /** The machines outlive this process (`tandem lab up --vm`): `tandem lab down` ends them. */
  detached?: boolean;
  /** Host directories each box sees read-only over 9p (tag -> path): update bundles, as on a USB stick. */
  shares?: Record<string, string>;
}

export const VM_LAB_DIR = '/var/tmp/tandem-vm';

export class VmLab {
  private constructor(
    private readonly lab: Lab,
    readonly vms: Map<string, Vm>,
    readonly timers: Partial<NodeConfig['timers']>,
  ) {}

  get plan(): LabPlan {
    return this.lab.plan;
  }

  /**
   * Builds the switch and the hosts, boots both appliances and (unless `factory`) configures them; recorded like a
   * namespace lab from the start, so a run that dies is still removed by `tandem lab down`. On a failure removes
   * what it made.
   */
  static async up(o: VmLabOptions, say: (line: string) => void = () => undefined): Promise<VmLab> {
    const board = resolveBoard('qemu-x86');
    const plan = planLab(board, 2, o.name ?? labName(), false);
    const dir = o.dir ?? join(VM_LAB_DIR, plan.name);
    const setup = o.setup ?? 'static';
    mkdirSync(dir, { recursive: true });
    const vms = new Map<string, Vm>();
    const lab = new VmLab(Lab.record(plan, { dir, owned: o.dir === undefined }), vms, { ...VM_TIMERS, ...o.timers });
    try {
      await buildLab(plan, false);
      for (const node of plan.nodes) {
        const vm = new Vm({
          name: node.name,
          image: o.image,
          dir,
          netns: plan.switchNs,
          cpus: 1,
          nics: nicsOf(node),
          ...(o.shares ? { shares: o.shares } : {}),
        });
        vms.set(node.name, vm);
        vm.start(o.detached);
      }
      await lab.plugTaps();
      say(
        `lab ${plan.name}: ${plan.nodes.map((n) => n.name).join(' and ')} booting (TCG)${setup === 'factory' ? ' in factory state' : `, timers ${JSON.stringify(lab.timers)}`}`,
      );
      for (const node of plan.nodes) {
        if (!(await vms.get(node.name)!.agentUp(600_000))) throw new Error(`${node.name} did not boot within 10 minutes: ${vms.get(node.name)!.qemuLog()}`);
      }
      if (setup !== 'factory') {
        const password = randomBytes(16).toString('hex');
        for (const node of plan.nodes) await lab.configure(node, password, setup);
        if (setup === 'managed') await lab.formCluster();
        say(
          `lab ${plan.name}: both appliances configured (${setup === 'managed' ? 'cluster vmlab, made with tandem cluster' : 'static pair'}, ${plan.nodes.map((n) => `${n.name} ${n.ifaces[0]!.address}`).join(', ')})`,
        );
      }
      return lab;
    } catch (e) {
      await lab.down();
      throw e;
    }
  }

  /** A VM lab another process brought up (`tandem lab up --vm`), found by its name. */
  static attach(name: string): VmLab {
    const lab = Lab.load(name);
    if (!lab.vm) throw new Error(`lab ${name} is a lab of namespaces, not of booted appliances (tandem lab up --vm makes one)`);
    const vms = new Map(lab.plan.nodes.map((n) => [n.name, new Vm({ name: n.name, image: '', dir: lab.vm!.dir, netns: lab.plan.switchNs, nics: nicsOf(n) })]));
    return new VmLab(lab, vms, VM_TIMERS);
  }

  vm(node: string): Vm {
    const vm = this.vms.get(node);
    if (!vm) throw new Error(`no node ${node} in lab ${this.plan.name}`);
    return vm;
  }

  private node(name: string): LabNode {
    return this.plan.nodes.find((n) => n.name === name)!;
  }

  /** QEMU made the taps in the switch's namespace: each becomes a port of its segment's bridge. */
  private async plugTaps(): Promise<void> {
    const taps = this.plan.nodes.flatMap((n) => n.ifaces);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { stdout } = await run(['ip', '-n', this.plan.switchNs, '-o', 'link', 'show']);
      if (taps.every((i) => stdout.includes(` ${i.switchPort}:`))) break;
      if (Date.now() > deadline) throw new Error(`the VMs' taps did not appear in ${this.plan.switchNs}: ${stdout}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await ipBatch(
      taps.flatMap((i) => [`link set ${i.switchPort} master ${findSegment(this.plan, i.segment).bridge}`, `link set ${i.switchPort} up`]),
      this.plan.switchNs,
    );
  }

  /**
   * The node file the namespace lab would write (a static pair's, or a managed node's: addresses and shared
   * addresses, no cluster yet), with the node's own addresses; tandemd restarted on it.
   */
  private async configure(node: LabNode, password: string, setup: 'static' | 'managed'): Promise<void> {
    const vm = this.vm(node.name);
    const board = resolveBoard('qemu-x86');
    const where = { stateDir: '/var/lib/tandem', controlSocket: '/run/tandem/tandemd.sock', timers: this.timers, boardRef: 'qemu-x86' };
    const file =
      setup === 'managed'
        ? labManagedConfig(this.plan, board, node.index, { ...where, shared: true })
        : (labNodeConfig(this.plan, board, node.index, { ...where, passwordFile: '/etc/tandem/cluster-password' }) as {
            interfaces: Record<string, unknown>[];
          });
    const ifaces = (file as { interfaces: Record<string, unknown>[] }).interfaces;
    (file as { interfaces: Record<string, unknown>[] }).interfaces = ifaces.map((i) => ({
      ...i,
      address: node.ifaces.find((x) => x.ifname === i['name'])!.address,
    }));
    await vm.writeFile('/etc/tandem/cluster-password', password + '\n', '0600');
    await vm.writeFile('/etc/tandem/node.json', JSON.stringify(file, null, 2) + '\n');
    // Forwarding as the box's own setting (tandem-gateway.service puts it back at every boot: an update reboots).
    await vm.writeFile('/etc/tandem/gateway/sysctl.conf', 'net.ipv4.ip_forward = 1\n');
    const r = await vm.sh('sysctl -q -p /etc/tandem/gateway/sysctl.conf && touch /var/lib/tandem/.factory-state-set && systemctl restart tandemd', 300_000);
    if (r.code !== 0) throw new Error(`${node.name}: configuring: ${r.stderr.trim()}`);
  }

  /** The cluster as an administrator makes it from the CLI: created on n1, n2 named and joined. */
  private async formCluster(): Promise<void> {
    const [n1, n2] = this.plan.nodes;
    const sync = (n: LabNode) => n.ifaces.find((i) => i.ifname === 'eth3')!.address.split('/')[0]!;
    const tandem = async (node: LabNode, args: string) => {
      const r = await this.vm(node.name).sh(`tandem ${args}`, 300_000);
      if (r.code !== 0) throw new Error(`${node.name}: tandem ${args}: ${r.stderr.trim()}`);
    };
    const member = async (node: LabNode, members: number) => {
      const deadline = Date.now() + 300_000;
      while (Date.now() < deadline) {
        const s = (await this.status(node.name)) as { cluster?: { members?: unknown[] } } | null;
        if (s?.cluster?.members?.length === members) return;
        await new Promise((r) => setTimeout(r, 3000));
      }
      throw new Error(`${node.name} is not a member of a cluster of ${members} within 5 minutes`);
    };
    await tandem(n1!, 'cluster create --name vmlab --node n1 --password-file /etc/tandem/cluster-password');
    await member(n1!, 1);
    await tandem(n1!, `cluster add-member n2 ${sync(n2!)}`);
    await tandem(n2!, `cluster join --member ${sync(n1!)} --password-file /etc/tandem/cluster-password --yes`);
    await member(n2!, 2);
  }

  /** Both appliances stateful firewalls for the client's traffic, as the namespace lab's (firewall.ts). */
  async statefulGateways(): Promise<void> {
    for (const node of this.plan.nodes) {
      const vm = this.vm(node.name);
      // Kept on the data partition, as a gateway's own rules are (tandem-gateway.service loads them at boot).
      await vm.writeFile('/etc/tandem/gateway/rules.nft', statefulRuleset(this.plan, node.name) + '\n');
      await vm.writeFile('/etc/tandem/gateway/sysctl.conf', 'net.ipv4.ip_forward = 1\nnet.netfilter.nf_conntrack_tcp_loose = 0\n');
      const r = await vm.sh('nft -f /etc/tandem/gateway/rules.nft && sysctl -q -p /etc/tandem/gateway/sysctl.conf', 120_000);
      if (r.code !== 0) throw new Error(`${node.name}: the stateful ruleset: ${r.stderr.trim()}`);
    }
  }

  /** A process in one of the lab's host namespaces (the client, the server); the probes run there. */
  spawn(netns: string, argv: readonly string[], opts: { stdio?: 'pipe' | 'inherit' | 'ignore' } = {}): ChildProcess {
    if (!this.plan.hosts.some((h) => h.netns === netns)) throw new Error(`${netns} is not a host namespace of lab ${this.plan.name}`);
    const [cmd, ...args] = argv;
    return spawn(tool('ip'), ['netns', 'exec', netns, tool(cmd!), ...args], { stdio: opts.stdio ?? 'pipe' });
  }

  /** `tandem status --json` on a node (null while its tandemd does not answer). */
  async status(node: string): Promise<Record<string, unknown> | null> {
    const r = await this.vm(node)
      .exec(['/usr/bin/tandem', 'status', '--json'], 120_000)
      .catch(() => null);
    if (!r || r.code !== 0) return null;
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  /** The plug pulled: the node's cables down at the switch and the machine stopped, in one step. */
  async powerOff(node: string): Promise<void> {
    const vm = this.vm(node);
    await Promise.all([
      ipBatch(
        this.node(node).ifaces.map((i) => `link set ${i.switchPort} down`),
        this.plan.switchNs,
      ),
      vm.qmpCall('stop'),
    ]);
  }

  async powerOn(node: string): Promise<void> {
    await this.vm(node).qmpCall('cont');
    await ipBatch(
      this.node(node).ifaces.map((i) => `link set ${i.switchPort} up`),
      this.plan.switchNs,
    );
  }

  /** Ends the VMs and removes the lab's namespaces (and its directory, when the lab made it); safe after a partial build. */
  async down(): Promise<void> {
    for (const vm of this.vms.values()) vm.kill();
    for (const vm of this.vms.values()) await vm.stopped(10_000);
    await this.lab.down();
  }
}

/** The node's NICs in board order: taps named as the namespace lab names its switch ports, MACs unique per lab node. */
function nicsOf(node: LabNode): { tap: string; mac: string }[] {
  return node.ifaces.map((i, k) => ({ tap: i.switchPort, mac: `52:54:00:18:${node.index.toString(16).padStart(2, '0')}:${k.toString(16).padStart(2, '0')}` }));
}
