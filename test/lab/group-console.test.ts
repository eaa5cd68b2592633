/**
 * A cluster on Corosync created from the serial console of a factory-state node (keystroke by
 * keystroke in a real pty), then grown to three with the CLI; the console shows the member's group.
 */
import test from 'ava';
import { join } from 'node:path';
import { tool } from '../../src/lab/run.js';
import { Pane } from '../helpers/tmux.js';
import { until } from '../helpers/lab.js';
import { addAndJoin, managedGroup } from '../helpers/group.js';

const TANDEM = join(__dirname, '..', '..', '..', 'bin', 'tandem');

test.serial('the console creates a cluster of three and more on Corosync; its status screen shows the group', async (t) => {
  const g = await managedGroup(t, 3, { lateJoiners: 3 });
  const pane = await Pane.start(
    g.lab.name,
    `${tool('ip')} netns exec ${g.lab.plan.nodes[0]!.netns} ${process.execPath} ${TANDEM} console --config ${g.cluster.node('n1').config} --reboot-command true --poweroff-command true`,
  );
  t.teardown(() => pane.kill());
  await pane.waitFor(/This node is in factory state[\s\S]*Choose \(1-7\) \[1\]:\s*$/m);
  await pane.type('2');
  await pane.waitFor(/Cluster name \(1-32 letters, digits, - _ \.\):\s*$/m);
  await pane.type('labc');
  await pane.waitFor(/This member's name/);
  await pane.type('fw-a');
  await pane.waitFor(/Mode \(active-passive or active-active\) \[active-passive\]:\s*$/m);
  await pane.type('active-active');
  await pane.waitFor(/Members \(pair \(heartbeats\) or more \(three and more, on Corosync\)\) \[pair\]:\s*$/m);
  await pane.type('more');
  await pane.waitFor(/Cluster password/);
  await pane.type('lab cluster password');
  await pane.waitFor(/The same again/);
  await pane.type('lab cluster password');
  await pane.waitFor(/cluster +labc \(active-active, three and more members on Corosync\)[\s\S]*Create this cluster\?/);
  await pane.type('yes');
  await pane.waitFor(/Cluster labc created; this node is member fw-a\./, 30_000);
  t.true(await until(() => g.serving(1), 20_000), 'fw-a serves alone on its Corosync');
  for (const i of [2, 3]) await addAndJoin(g, t, i);

  await pane.type('');
  await pane.waitFor(/Member fw-a of cluster labc, active\.[\s\S]*Choose \(1-7\) \[1\]:\s*$/m);
  await pane.type('1');
  const screen = await pane.waitFor(/Group: 3 of 3 members, quorum 2: quorate; holds the state/);
  t.regex(screen, /Cluster labc \(active-active on Corosync\), leader fw-a/);
  t.regex(screen, /Corosync: quorate, votes 3 of 3/);
  for (const s of pane.screens) {
    const rows = s.replace(/\n$/, '').split('\n');
    t.true(rows.length <= 24 && rows.every((l) => l.length <= 80), 'fits 80x24');
  }
});
