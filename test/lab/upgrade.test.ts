import test from 'ava';
import { rmSync } from 'node:fs';
import { Traffic } from '../../src/lab/cluster.js';
import { sleep, until } from '../helpers/lab.js';
import { form, managedPair, type AnyStatus } from '../helpers/managed.js';
import { otherVersion } from '../helpers/other-version.js';

const member = (s: AnyStatus | null, name: string) => s?.cluster?.members.find((m) => m.name === name);

test.serial(
  "seed 000's upgrade, one member at a time (disable, upgrade, enable): the service stays up, and the members synchronise again once both run the new version",
  async (t) => {
    const p = await managedPair(t, true);
    await form(t, p, 'active-passive');
    // Either member may have come up active (whichever restarted first as a member): the standby is upgraded first.
    let active: 'n1' | 'n2' | undefined;
    t.true(
      await until(async () => {
        const [a, b] = [(await p.status('n1'))?.role, (await p.status('n2'))?.role];
        active = a === 'active' && b === 'inactive' ? 'n1' : b === 'active' && a === 'inactive' ? 'n2' : undefined;
        return active !== undefined;
      }, 10_000),
      'one member active, the other inactive',
    );
    const names = { n1: 'fw-a', n2: 'fw-b' } as const;
    const first = active === 'n1' ? 'n2' : 'n1';
    const second = first === 'n1' ? 'n2' : 'n1';
    const v2 = otherVersion('0.3.0');
    t.teardown(() => rmSync(v2.dir, { recursive: true, force: true }));
    const traffic = new Traffic(p.lab, '198.18.1.100', 20, 120);
    t.teardown(() => traffic.stop());
    t.true(await until(async () => traffic.count > 10, 5000), 'the client reaches the server through the cluster');
    const start = Date.now();

    /** Disable, stop, start the new version, enable: one member's upgrade. */
    const upgrade = async (node: 'n1' | 'n2', name: string) => {
      let r = await p.cli(node === 'n1' ? 'n2' : 'n1', 'cluster', 'disable', name, '--yes');
      t.is(r.code, 0, r.stderr);
      t.true(
        await until(async () => (await p.status(node))?.disabled === true && (await p.status(node))?.role === 'inactive', 10_000),
        `${name} disabled, serving nothing`,
      );
      const n = p.cluster.node(node);
      n.process.kill('SIGTERM');
      t.true(await until(async () => n.process.exitCode !== null || n.process.signalCode !== null, 10_000), `${name} stopped`);
      await sleep(200);
      p.cluster.restart(node, undefined, v2.bin);
      t.true(await until(async () => (await p.status(node))?.softwareVersion === '0.3.0', 15_000), `${name} runs 0.3.0`);
      t.true((await p.status(node))?.disabled === true, `${name} came back still disabled`);
      r = await p.cli(node, 'cluster', 'enable', name);
      t.is(r.code, 0, r.stderr);
      t.true(await until(async () => (await p.status(node))?.disabled === false, 10_000), `${name} enabled`);
    };

    await upgrade(first, names[first]);
    const mixed = await p.status(second);
    t.is(member(mixed, names[first])?.unreachable, 'software_version_mismatch', `mid-upgrade, ${names[second]} names the difference`);
    t.is(member(mixed, names[first])?.softwareVersion, '0.3.0');

    // The other one is active: disabling it hands the service to the upgraded one (heartbeats work across the versions).
    await upgrade(second, names[second]);
    t.true(
      await until(async () => {
        const [a, b] = [await p.status('n1'), await p.status('n2')];
        const good = (s: AnyStatus | null) => s?.cluster?.members.every((m) => m.unreachable === null) && 'role' in s.sync && s.sync.status === 'in-sync';
        return good(a) && good(b);
      }, 20_000),
      'both on 0.3.0: reachable and in sync again',
    );
    const roles = [(await p.status('n1'))!.role, (await p.status('n2'))!.role].sort();
    t.deepEqual(roles, ['active', 'inactive']);
    await sleep(500);
    const outage = traffic.outageMs(start);
    t.log(`the client's longest gap during the upgrade of both members: ${outage} ms (a ping every 20 ms)`);
    t.true(outage < 1000, `the service stayed up (longest gap ${outage} ms)`);
  },
);
