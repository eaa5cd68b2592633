/**
 * DOC: `tandem lab up --vm`, `tandem lab console N`, `tandem lab demo --vm`: the lab of two booted appliances
 *
 * The machines run from the image `make image` built (QEMU, TCG) on the lab's switch; `up` leaves them running for
 * `tandem lab console` (the serial line, as a terminal server gives it) and `tandem lab down`. The demo is the
 * README's `make demo-vm`: the failover of the namespace demo, between two booted boxes.
 */
import { connect } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { VmLab } from '../lab/vm-lab.js';
import { vmMissing } from '../lab/vm.js';
import { vmPairSettled, vmPowerOffFailover, wholeConnections } from '../lab/vm-failover.js';
import { VERSION } from '../runtime/version.js';
import { flag, str, UsageError, type Parsed } from './args.js';

export const LAB_VM_USAGE = `tandem lab up --vm [--managed | --factory] [--image FILE]   (two appliances booted under QEMU: a static pair;
    --managed: a cluster made with tandem cluster, as tandem upgrade needs; --factory: both left in factory state)
tandem lab console N [NAME]                     (the serial console of VM lab node N; Ctrl-] leaves)
tandem lab demo --vm [--image FILE]             (make demo-vm: a failover between two booted appliances)`;

const CONNECTIONS = 20;

/** The image `make image` built for this version, beside the checkout (bin/tandem runs from it). */
function imageOf(p: Parsed): string {
  const image = str(p, 'image') ?? join(__dirname, '..', '..', '..', 'image', `tandem-${VERSION.text}-x86_64.img`);
  const missing = vmMissing(image, 2);
  if (missing) throw new Error(`the VM lab cannot start: ${missing}`);
  return image;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

export async function labUpVm(p: Parsed): Promise<number> {
  const factory = flag(p, 'factory');
  if (factory && flag(p, 'managed')) throw new UsageError('--factory or --managed, not both');
  const setup = factory ? 'factory' : flag(p, 'managed') ? 'managed' : 'static';
  const lab = await VmLab.up({ image: imageOf(p), detached: true, setup }, say);
  const { plan } = lab;
  say(`lab ${plan.name} is up: two booted appliances; remove it with: tandem lab down ${plan.name}`);
  for (const node of plan.nodes)
    say(
      `  node ${node.name}  console: tandem lab console ${node.index} ${plan.name}  ${factory ? '(factory state: the setup menu)' : node.ifaces.map((i) => `${i.ifname}=${i.address}`).join(' ')}`,
    );
  for (const host of plan.hosts) say(`  ${host.name.padEnd(6)} ip netns exec ${host.netns} ...  ${host.iface.address} via ${host.gateway}`);
  return 0;
}

/**
 * The serial line of one node, as a terminal server gives it: the screen as it stands (the log from the last clear),
 * then every byte both ways; Ctrl-] leaves (the box's console keeps running).
 */
export async function labConsole(p: Parsed): Promise<number> {
  const [, which, name] = p.positionals;
  if (!which) throw new UsageError('lab console needs a node: 1, 2, n1 or n2');
  const vmLabs = Lab.list().filter((n) => Lab.load(n).vm);
  const labName = name ?? (vmLabs.length === 1 ? vmLabs[0] : undefined);
  if (!labName) throw new UsageError(vmLabs.length ? `several VM labs are up (${vmLabs.join(', ')}): name one` : 'no VM lab is up (tandem lab up --vm)');
  const lab = VmLab.attach(labName);
  const node = lab.plan.nodes.find((n) => n.name === which || String(n.index) === which);
  if (!node) throw new UsageError(`lab ${labName} has no node "${which}" (${lab.plan.nodes.map((n) => n.name).join(', ')})`);
  const vm = lab.vm(node.name);
  if (!vm.running) throw new Error(`${node.name} of lab ${labName} is not running (powered off, or its QEMU ended: ${join(lab.vm(node.name).serialLog)})`);
  if (existsSync(vm.serialLog)) {
    const log = readFileSync(vm.serialLog, 'latin1');
    const clear = Math.max(log.lastIndexOf('\x1b[2J'), log.lastIndexOf('\x1bc'), log.length - 8192);
    process.stdout.write(Buffer.from(log.slice(Math.max(0, clear)), 'latin1'));
  }
  process.stderr.write(`\r\n[${node.name} of lab ${labName}: serial console; Ctrl-] leaves]\r\n`);
  const socket = connect(vm.serialSocket);
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  return new Promise((resolve, reject) => {
    const leave = (code: number) => {
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      socket.destroy();
      process.stderr.write(`\r\n[left ${node.name}'s console]\r\n`);
      resolve(code);
    };
    socket.on('error', (e) => {
      if (stdin.isTTY) stdin.setRawMode(false);
      reject(new Error(`${node.name}'s serial line ${vm.serialSocket}: ${e.message}`));
    });
    socket.on('close', () => leave(0));
    socket.pipe(process.stdout);
    stdin.on('data', (d: Buffer) => {
      const quit = d.indexOf(0x1d);
      if (quit >= 0) {
        socket.write(d.subarray(0, quit));
        leave(0);
      } else socket.write(d);
    });
    stdin.on('end', () => socket.end());
  });
}

/** make demo-vm: two booted boxes, 20 TCP connections through the active one, its power cut; what the client saw. */
export async function labDemoVm(p: Parsed): Promise<number> {
  const image = imageOf(p);
  const t0 = Date.now();
  const at = (line: string) => say(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  at(`booting two appliances from ${image} under QEMU (TCG: a minute or two each)`);
  const lab = await VmLab.up({ image }, at);
  const onSignal = () => void lab.down().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  try {
    const pair = await vmPairSettled(lab, 600_000);
    if (!('active' in pair)) throw new Error(`the pair did not settle: ${JSON.stringify(pair.last)}`);
    at(`${pair.active} is active, ${pair.inactive} inactive; each hears the other`);
    const r = await vmPowerOffFailover(lab, pair, { connections: CONNECTIONS, port: 7031, say: at });
    at(
      `${r.inactive} active ${r.tookOverMs === null ? 'NEVER' : `within ${(r.tookOverMs / 1000).toFixed(1)} s`} (failover time ${lab.timers.failoverTimeMs} ms; status polled every 2 s)`,
    );
    const whole = wholeConnections(r.report);
    const gap = Math.max(0, ...r.report.conns.map((c) => c.maxGapMs));
    at(`TCP connections that survived with every byte: ${whole}/${CONNECTIONS} (longest echo gap ${gap} ms)`);
    const ok = r.tookOverMs !== null && whole === CONNECTIONS;
    say(ok ? `${r.inactive} took over` : 'THE TAKEOVER FAILED');
    return ok ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    await lab.down();
    say(`lab ${lab.plan.name} removed`);
  }
}
