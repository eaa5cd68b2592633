/**
 * Issue 31, items 4 and 5: the setup menu on the serial line of two booted appliances. Both boot in factory state
 * and land in the menu on ttyS0 (the image's units); on the first, keystroke by keystroke over its serial line: the
 * network, a new cluster, the second box named as a member; on the second: the network, then "Join an existing
 * cluster". Then both are members, one active and one inactive, each hearing the other, the standby in sync.
 *
 * Counted as skipped, with the reason, where the image was not built, QEMU or OVMF is missing, or the machine has
 * too little free memory for two VMs.
 */
import test from 'ava';
import { IMAGE, vmLabFor } from '../helpers/vm.js';
import { vmMissing, type Vm } from '../../src/lab/vm.js';
import { until } from '../helpers/lab.js';

const missing = vmMissing(IMAGE, 2);
const name = 'two factory-state appliances set up on their serial lines, keystroke by keystroke: a cluster created on one, joined from the other';

/** A person at the serial terminal: waits for the prompt as the last thing on the line, then types the answer and Enter. */
class Terminal {
  private mark = 0;
  constructor(
    private readonly vm: Vm,
    private readonly log: (line: string) => void,
  ) {}

  async expect(prompt: RegExp, ms = 120_000): Promise<string> {
    if (!(await this.vm.waitSerial(prompt, ms, this.mark)))
      throw new Error(`no ${prompt} on the serial line within ${ms / 1000} s; the line shows:\n${this.vm.serial().slice(this.mark).slice(-1500)}`);
    return this.vm.serial().slice(this.mark);
  }

  async answer(prompt: RegExp, keys: string, ms?: number): Promise<void> {
    await this.expect(prompt, ms);
    this.mark = this.vm.serial().length;
    this.log(`${prompt.source.slice(0, 50)} <- ${/not shown/.test(prompt.source) ? '(not shown)' : JSON.stringify(keys)}`);
    await this.vm.typeSerial(`${keys}\r`);
  }
}

const CHOOSE = /Choose \(1-7\) \[1\]:\s*$/;

if (missing) test.skip(`${name} (skipped: ${missing})`, () => undefined);
else
  test.serial(name, async (t) => {
    t.timeout(25 * 60_000);
    const { lab, say } = await vmLabFor(t, 'console', { setup: 'factory' });
    const [n1, n2] = lab.plan.nodes;
    const addr = (node: typeof n1, ifname: string) => node!.ifaces.find((i) => i.ifname === ifname)!.address;
    const term = (node: typeof n1) => new Terminal(lab.vm(node!.name), (line) => say(`${node!.name}: ${line}`));
    const a = term(n1);
    const b = term(n2);

    // First boot lands in the menu on the serial line, in factory state, on both.
    for (const x of [a, b]) await x.expect(/This node is in factory state[\s\S]*1 {2}Configure the network[\s\S]*Choose \(1-7\) \[1\]:\s*$/, 600_000);
    say(`both boxes show the setup menu on ttyS0`);

    const network = async (x: Terminal, node: typeof n1) => {
      await x.answer(CHOOSE, '1');
      await x.answer(/Management interface \(eth0\/eth1\/eth2\/eth3\) \[eth1\]:\s*$/, '');
      await x.answer(/Management address \(a\.b\.c\.d\/prefix\):\s*$/, addr(node, 'eth1'));
      await x.answer(/Default gateway \(a\.b\.c\.d or none\) \[none\]:\s*$/, '');
      await x.answer(/Management IPv6 address \(address\/prefix or none\) \[none\]:\s*$/, '');
      await x.answer(/Cluster \(sync\) interface \(eth0\/eth2\/eth3\) \[eth3\]:\s*$/, '');
      await x.answer(/Cluster address \(a\.b\.c\.d\/prefix\):\s*$/, addr(node, 'eth3'));
      await x.answer(/Apply these settings\? \(yes or no\) \[no\]:\s*$/, 'yes');
      await x.answer(/The service runs with the new settings\.\s+Press Enter to go back:\s*$/, '', 300_000);
    };
    await network(a, n1);
    await network(b, n2);
    const ips = await lab.vm(n2!.name).sh('ip -br -4 addr');
    t.regex(ips.stdout, new RegExp(`eth1\\s+UP\\s+${addr(n2, 'eth1').replace(/\./g, '\\.')}`), 'the console set the management address');
    t.regex(ips.stdout, new RegExp(`eth3\\s+UP\\s+${addr(n2, 'eth3').replace(/\./g, '\\.')}`), 'the console set the cluster address');
    say(`both networks set`);

    // A new cluster on the first box, the second named as a member.
    const sync1 = addr(n1, 'eth3').split('/')[0]!;
    const sync2 = addr(n2, 'eth3').split('/')[0]!;
    await a.answer(CHOOSE, '2');
    await a.answer(/Cluster name \(1-32 letters, digits, - _ \.\):\s*$/, 'vmlab');
    await a.answer(/This member's name \(1-16 letters, digits, - _ \.\):\s*$/, 'fw-a');
    await a.answer(/Mode \(active-passive or active-active\) \[active-passive\]:\s*$/, '');
    await a.answer(/Cluster password \(at least 8 characters, not shown\):\s*$/, 'vm lab password');
    await a.answer(/The same again \(not shown\):\s*$/, 'vm lab password');
    await a.answer(/Create this cluster\? \(yes or no\) \[no\]:\s*$/, 'yes');
    await a.answer(/Cluster vmlab created; this node is member fw-a\.[\s\S]*Press Enter to go back:\s*$/, '', 300_000);
    await a.answer(/Member fw-a of cluster vmlab[\s\S]*2 {2}Add a member[\s\S]*Choose \(1-7\) \[1\]:\s*$/, '2');
    await a.answer(/New member's name \(1-16 letters, digits, - _ \.\):\s*$/, 'fw-b');
    await a.answer(/Its cluster address \(a\.b\.c\.d\):\s*$/, sync2);
    await a.answer(new RegExp(`Add fw-b at ${sync2.replace(/\./g, '\\.')}\\? \\(yes or no\\) \\[no\\]:\\s*$`), 'yes');
    await a.answer(
      new RegExp(`fw-b added \\(members: fw-a, fw-b\\)[\\s\\S]*member address ${sync1.replace(/\./g, '\\.')}[\\s\\S]*Press Enter to go back:\\s*$`),
      '',
      300_000,
    );
    say(`cluster vmlab created on ${n1!.name}, fw-b named`);

    // The second box joins, with the password typed where nothing echoes.
    await b.answer(CHOOSE, '3');
    await b.answer(/Cluster name \(1-32 letters, digits, - _ \.\):\s*$/, 'vmlab');
    await b.answer(/Address of an existing member \(its cluster address a\.b\.c\.d\):\s*$/, sync1);
    await b.answer(/Cluster password \(not shown\):\s*$/, 'vm lab password');
    const warning = await b.expect(/Join and overwrite this node's state\? \(yes or no\) \[no\]:\s*$/);
    t.false(warning.includes('vm lab password'), 'the password never appears on the serial line');
    await b.answer(/Join and overwrite this node's state\? \(yes or no\) \[no\]:\s*$/, 'yes');
    await b.answer(/Joined cluster vmlab as fw-b; the service runs as a member\.[\s\S]*Press Enter to go back:\s*$/, '', 300_000);
    await b.expect(/Member fw-b of cluster vmlab/);
    say(`${n2!.name} joined as fw-b`);

    interface S {
      role: string;
      cluster?: { members: { name: string; unreachable: string | null }[] };
      sync?: { status?: string };
    }
    let last: (S | null)[] = [];
    const settled = await until(
      async () => {
        last = (await Promise.all([lab.status(n1!.name), lab.status(n2!.name)])) as (S | null)[];
        const roles = last
          .map((s) => s?.role)
          .sort()
          .join(',');
        const members = last.every((s) => s?.cluster?.members.length === 2 && s.cluster.members.every((m) => m.unreachable === null));
        return roles === 'active,inactive' && members && last.some((s) => s?.role === 'inactive' && s.sync?.status === 'in-sync');
      },
      300_000,
      5000,
    );
    t.true(settled, `both members reachable, one active and one inactive, the standby in sync: ${JSON.stringify(last)}`);
    say(`${last.map((s, i) => `${lab.plan.nodes[i]!.name} ${s?.role}`).join(', ')}; the standby in sync`);
  });
