import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tool } from '../../src/lab/run.js';
import { Pane } from '../helpers/tmux.js';
import { until } from '../helpers/lab.js';
import { managedPair, SYNC_ADDR } from '../helpers/managed.js';

const TANDEM = join(__dirname, '..', '..', '..', 'bin', 'tandem');

test.serial(
  'a factory-state node is set up and joined to a running cluster through the serial-console menu, keystroke by keystroke, in a real pty',
  async (t) => {
    const p = await managedPair(t, true, { timers: { initialSilenceMs: 800 }, managed: { shared: true, factory: ['n2'] } }, true);
    const n2 = p.lab.plan.nodes[1]!;
    // n2 really is unconfigured: its management and cluster interfaces have no address until the console sets one.
    for (const i of ['eth1', 'eth3']) await run(['ip', 'netns', 'exec', n2.netns, tool('ip'), 'addr', 'flush', 'dev', i, 'scope', 'global']);
    t.true(await until(async () => (await p.status('n1'))?.standalone === true && (await p.status('n2'))?.standalone === true, 10_000));
    let r = await p.cli('n1', 'cluster', 'create', '--name', 'labc', '--node', 'fw-a', '--password-file', p.pw);
    t.is(r.code, 0, r.stderr);
    t.true(await until(async () => (await p.status('n1'))?.cluster?.members.length === 1, 10_000));
    // fw-a names fw-b on its own console ("Add a member"): a pair can be finished from the serial consoles alone.
    const first = await Pane.start(
      `${p.lab.name}a`,
      `${tool('ip')} netns exec ${p.lab.plan.nodes[0]!.netns} ${process.execPath} ${TANDEM} console --config ${p.cluster.node('n1').config} --reboot-command true --poweroff-command true`,
    );
    t.teardown(() => first.kill());
    await first.waitFor(/Member fw-a of cluster labc[\s\S]*2  Add a member[\s\S]*Choose \(1-7\) \[1\]:\s*$/m);
    await first.type('2');
    await first.waitFor(/New member's name \(1-16 letters, digits, - _ \.\):\s*$/m);
    await first.type('fw-b');
    await first.waitFor(/Its cluster address \(a\.b\.c\.d\):\s*$/m);
    await first.type(SYNC_ADDR.n2);
    await first.waitFor(/Add fw-b at 198\.19\.255\.12\? \(yes or no\) \[no\]:\s*$/m);
    await first.type('yes');
    await first.waitFor(/fw-b added \(members: fw-a, fw-b\)\.\s+On its console: "Join an existing cluster", member address 198\.19\.255\.11\./, 15_000);
    // The certificate screen shows the fingerprint of what the management server presents (to compare with a browser's);
    // once fw-a's service is back from the restart that adding a member makes.
    t.true(await until(async () => (await p.status('n1'))?.role === 'active', 10_000));
    await first.type('');
    await first.waitFor(/6  HTTPS certificate of the status page[\s\S]*Choose \(1-7\) \[1\]:\s*$/m);
    await first.type('6');
    const served = new X509Certificate(readFileSync(join(p.cluster.dir, 'n1-state', 'https', 'cert.pem')));
    const screen = await first.waitFor(/Install a certificate and its key[\s\S]*Choose \(1-3\) \[1\]:\s*$/m);
    const fp = served.fingerprint256;
    t.regex(screen, new RegExp(`SHA-256 {6}${fp.slice(0, 47)}\\s+${fp.slice(48)}`), "the console shows the served certificate's fingerprint");
    t.regex(screen, /served on {4}https:\/\/198\.18\.2\.11:443\/ {2}\(generated\)/);
    await first.type('1');
    await first.waitFor(/Choose \(1-7\) \[1\]:\s*$/m);
    await first.kill();
    t.true(await until(async () => (await p.status('n1'))?.cluster?.members.some((m) => m.name === 'fw-b') === true, 10_000), 'fw-a has fw-b as a member');

    const pane = await Pane.start(
      p.lab.name,
      `${tool('ip')} netns exec ${n2.netns} ${process.execPath} ${TANDEM} console --config ${p.cluster.node('n2').config} --reboot-command true --poweroff-command true`,
    );
    t.teardown(() => pane.kill());

    // The factory menu; a wrong choice is asked again with the reason.
    await pane.waitFor(/This node is in factory state[\s\S]*Choose \(1-7\) \[1\]:\s*$/m);
    await pane.type('9');
    await pane.waitFor(/"9" is not valid: type a number from 1 to 7/);

    // Ctrl-C in the middle of "create": back to the menu, nothing created.
    await pane.type('2');
    await pane.waitFor(/Cluster name \(1-32 letters, digits, - _ \.\):\s*$/m);
    await pane.type('half-typed', false);
    await pane.ctrlC();
    await pane.waitFor(/Choose \(1-7\) \[1\]:\s*$/m);
    t.true((await p.status('n2'))?.standalone === true, 'Ctrl-C changed nothing');

    // Network: defaults shown, a bad address re-asked, a summary, then yes.
    await pane.type('1');
    await pane.waitFor(/Management interface \(eth0\/eth1\/eth2\/eth3\) \[eth1\]:\s*$/m);
    await pane.type('');
    await pane.waitFor(/Management address \(a\.b\.c\.d\/prefix\):\s*$/m);
    await pane.type('198.18.2.300/24');
    await pane.waitFor(/"198\.18\.2\.300\/24" is not valid: an address with its prefix length/);
    await pane.type('198.18.2.12/24');
    await pane.waitFor(/Default gateway \(a\.b\.c\.d or none\) \[none\]:\s*$/m);
    await pane.type('');
    // IPv6 on the management interface (optional): a bad one re-asked, then an address; no IPv6 gateway.
    await pane.waitFor(/Management IPv6 address \(address\/prefix or none\) \[none\]:\s*$/m);
    await pane.type('2001:2::g/64');
    await pane.waitFor(/"2001:2::g\/64" is not valid: an IPv6 address with its prefix length/);
    await pane.type('2001:2:0:2:0:0:0:12/64');
    await pane.waitFor(/IPv6 default gateway \(an IPv6 address or none\) \[none\]:\s*$/m);
    await pane.type('');
    await pane.waitFor(/Cluster \(sync\) interface \(eth0\/eth2\/eth3\) \[eth3\]:\s*$/m);
    await pane.type('');
    await pane.waitFor(/Cluster address/);
    await pane.type('198.19.255.12/24');
    await pane.waitFor(
      /management {2}eth1 {2}198\.18\.2\.12\/24 {2}gateway none\s+2001:2:0:2::12\/64 {2}gateway none[\s\S]*cluster {5}eth3 {2}198\.19\.255\.12\/24[\s\S]*Apply these settings\? \(yes or no\) \[no\]:\s*$/m,
    );
    await pane.type('yes');
    await pane.waitFor(
      /Network settings applied; waiting for the service to restart\.\.\.\s+The service runs with the new settings\.\s+Press Enter to go back:\s*$/m,
      30_000,
    );
    const addrs = (await run(['ip', 'netns', 'exec', n2.netns, tool('ip'), '-br', 'addr'])).stdout;
    t.regex(addrs, /eth1\S*\s+UP\s+198\.18\.2\.12\/24 2001:2:0:2::12\/64/);
    t.regex(addrs, /eth3\S*\s+UP\s+198\.19\.255\.12\/24/);
    await pane.type('');

    // Join: the cluster name, a member's address, the password without echo, a warning, then yes.
    await pane.waitFor(/Choose \(1-7\) \[1\]:\s*$/m);
    await pane.type('3');
    await pane.waitFor(/Cluster name/);
    await pane.type('labc');
    await pane.waitFor(/Address of an existing member \(its cluster address a\.b\.c\.d\):\s*$/m);
    await pane.type(SYNC_ADDR.n1);
    await pane.waitFor(/Cluster password \(not shown\):\s*$/m);
    await pane.type('lab cluster password');
    const warning = await pane.waitFor(/WARNING: Joining overwrites this node's state[\s\S]*Join and overwrite this node's state\? \(yes or no\) \[no\]:\s*$/m);
    t.false(warning.includes('lab cluster password'), 'the password never appears on the screen');
    await pane.type('yes');
    await pane.waitFor(/Joined cluster labc as fw-b; the service runs as a member\./, 30_000);
    t.true(
      p.cluster.node('n2').events.some((e) => e.event === 'cluster_operation' && e['op'] === 'join' && e['via'] === 'console'),
      "the console's join reached the daemon's one cluster dispatcher, as the CLI's and the web console's do",
    );

    const member = (s: Awaited<ReturnType<typeof p.status>>) => s?.cluster?.members.find((m) => m.name === 'fw-b');
    t.true(
      await until(async () => {
        const b = member(await p.status('n1'));
        return b?.unreachable === null && (b.bits & 0x4) !== 0;
      }, 30_000),
      'fw-a shows fw-b as an enabled, reachable member',
    );
    const text = (await run([process.execPath, TANDEM, 'status', '--socket', p.sock('n1')])).stdout;
    t.regex(text, /fw-b +198\.19\.255\.12 +\w+ +0x1[08]004/);

    await pane.type('');
    await pane.waitFor(/Member fw-b of cluster labc/);

    // A "reboot" of fw-b (its addresses gone with the box's state): tandemd puts back what the console set.
    await pane.kill();
    const node = p.cluster.node('n2');
    node.process.kill('SIGTERM');
    t.true(await until(async () => node.process.exitCode !== null || node.process.signalCode !== null, 10_000));
    for (const i of ['eth1', 'eth3']) await run(['ip', 'netns', 'exec', n2.netns, tool('ip'), 'addr', 'flush', 'dev', i, 'scope', 'global']);
    p.cluster.restart('n2');
    t.true(await until(async () => member(await p.status('n1'))?.unreachable === null, 30_000), 'fw-b is back in the cluster after the restart');
    const back = (await run(['ip', 'netns', 'exec', n2.netns, tool('ip'), '-br', 'addr'])).stdout;
    t.regex(back, /eth3\S*\s+UP\s+198\.19\.255\.12\/24/);
    t.regex(back, /eth1\S*\s+UP\s+198\.18\.2\.12\/24 2001:2:0:2::12\/64/, 'the IPv6 address the console set is back too');
    t.true(p.cluster.events('n2', 'node_addresses_set').length > 0, 'it logged what it put back');

    // Every screen the test saw fits 80x24: 24 rows, none wider than 80, the header still on top.
    for (const s of pane.screens) {
      const rows = s.replace(/\n$/, '').split('\n');
      t.true(rows.length <= 24 && rows.every((l) => l.length <= 80), 'fits 80x24');
      if (/serial console/.test(s)) t.regex(rows[0]!, /^tandem \S+ serial console: /, 'the header has not scrolled off');
    }
    t.log(`${pane.screens.length} screens captured`);
  },
);
