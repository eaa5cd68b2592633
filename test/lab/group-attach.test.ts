/**
 * Attaching to the Corosync the appliance image already runs (corosync.manage false): tandemd writes
 * no configuration and starts no Corosync; it joins the group on the one it finds, and the cluster
 * forms and serves as with its own.
 */
import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { askControl } from '../../src/api/control-socket.js';
import { until } from '../helpers/lab.js';
import { managedGroup, syncAddr } from '../helpers/group.js';

const PEER = join(__dirname, '../helpers/cpg-peer.js');

test.serial("three members attached to the image's Corosync: no configuration written, the cluster forms, writes reach all", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-attach-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pids: number[] = [];
  const g = await managedGroup(t, 3, {
    configFor: () => ({ corosync: { manage: false } }),
    // The "image's" Corosync on each node, started before tandemd forms anything (its own key, member IDs as node IDs).
    before: async (lab) => {
      const members = [1, 2, 3].map((i) => ({ id: i, name: `n${i}`, address: syncAddr(i) }));
      for (const n of lab.plan.nodes) {
        const p = lab.spawn(n.netns, [process.execPath, PEER, join(dir, n.name), 'image', JSON.stringify(members), 'image-helper']);
        t.teardown(() => void p.kill('SIGTERM'));
        await new Promise<void>((r) =>
          createInterface({ input: p.stdout! }).on('line', (l) => {
            const ev = JSON.parse(l) as { ev: string; pid?: number };
            if (ev.ev === 'corosync' && ev.pid) pids.push(ev.pid);
            if (ev.ev === 'joined') r();
          }),
        );
      }
    },
  });
  for (const i of [1, 2, 3]) {
    t.true(await g.serving(i), `n${i} serves`);
    t.false(existsSync(join(g.cluster.dir, `n${i}-state`, 'corosync', 'corosync.conf')), `n${i}: no corosync.conf written`);
    const s = (await g.status(i))!;
    t.true(s.group.corosync.quorate === true && s.group.corosync.members.length === 3, "the image's Corosync, quorate with three");
  }
  await askControl(g.sock(3), { cmd: 'store-set', store: 'sessions', key: 'k', value: 'v' });
  t.true(
    await until(
      async () =>
        (await Promise.all([1, 2, 3].map(async (i) => (await askControl(g.sock(i), { cmd: 'store-get', store: 'sessions', key: 'k' })) === 'v'))).every(
          Boolean,
        ),
      3000,
    ),
  );
  t.is(pids.length, 3);
});
