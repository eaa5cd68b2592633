import test from 'ava';
import { sleep, until } from '../helpers/lab.js';
import { form, managedPair } from '../helpers/managed.js';

test.serial(
  "seed 000's restart rule: restarting an enabled member restarts every enabled member (after asking); a disabled member restarts alone",
  async (t) => {
    const p = await managedPair(t, true);
    await form(t, p, 'active-passive');
    const restarts = (n: string) => p.cluster.events(n, 'worker_restarting').length;

    // Without a terminal to ask on and without --yes, nothing happens.
    let r = await p.cli('n1', 'restart');
    t.is(r.code, 2);
    t.regex(r.stderr, /restarts the cluster service on EVERY enabled member[\s\S]*--only-this[\s\S]*repeat with --yes/);

    const [a0, b0] = [restarts('n1'), restarts('n2')];
    r = await p.cli('n1', 'restart', '--yes');
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /restarting: cluster/);
    t.true(await until(async () => restarts('n1') > a0 && restarts('n2') > b0, 10_000), 'both members restarted their service');
    t.true(await until(async () => (await p.status('n1'))?.cluster?.members.every((m) => m.unreachable === null) === true, 20_000), 'the cluster is back');

    // Disabled first: only this member restarts.
    r = await p.cli('n1', 'cluster', 'disable', 'fw-b', '--yes');
    t.is(r.code, 0, r.stderr);
    t.true(await until(async () => (await p.status('n2'))?.disabled === true, 5000));
    const [a1, b1] = [restarts('n1'), restarts('n2')];
    r = await p.cli('n2', 'restart', '--yes');
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /restarting: this member/);
    t.true(await until(async () => restarts('n2') > b1, 10_000), 'the disabled member restarted');
    await sleep(1500);
    t.is(restarts('n1'), a1, 'the enabled member did not');
    t.true(await until(async () => (await p.status('n2'))?.disabled === true, 10_000), 'it comes back still disabled');
  },
);
