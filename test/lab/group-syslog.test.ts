/**
 * Log sync in a cluster of three on Corosync, with Debian's rsyslogd: off, each member's notes come
 * from that member; on, every note of the three arrives once, from the log-server leader (the group's
 * leader), also when the leader's worker is killed mid-stream.
 */
import test from 'ava';
import { askControl } from '../../src/api/control-socket.js';
import { Rsyslog } from '../../src/lab/rsyslog.js';
import { run } from '../../src/lab/run.js';
import { sleep, until } from '../helpers/lab.js';
import { managedGroup, memberName, wanAddr } from '../helpers/group.js';

const textOf = (msg: string) => /"text":"([^"]+)"/.exec(msg)?.[1] ?? '';

test.serial(
  'three members on Corosync: log sync off, each sends its own; on, every note arrives once from the leader, the leader killed mid-stream',
  async (t) => {
    const g = await managedGroup(t, 3, { configFor: () => ({ syslog: { server: '198.18.1.100:514', transport: 'udp' } }) });
    const rsyslog = await Rsyslog.start(g.lab, g.cluster.dir);
    t.teardown(() => rsyslog.stop());
    const three = [1, 2, 3];
    const notes = () => rsyslog.received().filter((r) => r.msgId === 'admin_note');

    // Off: each member's notes from its own address, once.
    t.is((await g.cli(2, 'cluster', 'properties', 'logSync=off')).code, 0);
    t.true(
      await until(
        async () => (await Promise.all(three.map(async (i) => /^\s+logSync\s+off$/m.test((await g.cli(i, 'cluster', 'properties')).stdout)))).every(Boolean),
        5000,
      ),
      'applied on every member',
    );
    for (let k = 0; k < 50; k++) for (const i of three) await askControl(g.sock(i), { cmd: 'note', text: `off-${i}-${k}` });
    t.true(await until(async () => notes().filter((r) => textOf(r.msg).startsWith('off-')).length >= 150, 10_000), 'the 150 notes arrived');
    for (const i of three) {
      const mine = notes().filter((r) => textOf(r.msg).startsWith(`off-${i}-`));
      t.is(new Set(mine.map((r) => textOf(r.msg))).size, 50);
      t.is(mine.length, 50, `${memberName(i)}'s notes once each`);
      t.true(
        mine.every((r) => r.from === wanAddr(i)),
        `${memberName(i)}'s notes from its own address`,
      );
    }

    // On: notes every 5 ms on all three; the leader's worker killed after 2 s.
    t.is((await g.cli(3, 'cluster', 'properties', 'logSync=on')).code, 0);
    t.true(
      await until(
        async () => (await Promise.all(three.map(async (i) => /^\s+logSync\s+on$/m.test((await g.cli(i, 'cluster', 'properties')).stdout)))).every(Boolean),
        5000,
      ),
    );
    t.is((await g.status(2))!.cluster.leader, 'fw-a');
    const accepted: { node: number; text: string; at: number }[] = [];
    let streaming = true;
    const stream = async (i: number) => {
      for (let k = 0; streaming; k++) {
        const text = `on-${i}-${k}`;
        if (
          await askControl(g.sock(i), { cmd: 'note', text }, 1000).then(
            () => true,
            () => false,
          )
        )
          accepted.push({ node: i, text, at: Date.now() });
        await sleep(5);
      }
    };
    const running = Promise.all(three.map(stream));
    await sleep(2000);
    const pid = g.cluster.node('n1').process.pid!;
    const worker = Number((await run(['cat', `/proc/${pid}/task/${pid}/children`])).stdout.trim());
    const killedAt = Date.now();
    process.kill(worker, 'SIGKILL');
    t.true(await until(async () => (await g.status(2))?.cluster.leader === 'fw-b', 10_000), 'fw-b leads (and sends) once fw-a is gone');
    await sleep(2500);
    streaming = false;
    await running;

    // fw-a's new worker queued its notes for the leader until it rejoined: let it hand them over first.
    t.true(await until(() => g.serving(1), 20_000), 'fw-a back (its supervisor started a new worker): it serves again');
    t.is((await g.status(1))!.cluster.leader, 'fw-b', 'and fw-b keeps the leader role (the role moves once)');
    let seen = -1;
    await until(
      async () => {
        const n = notes().length;
        const settled = n === seen;
        seen = n;
        return settled;
      },
      10_000,
      500,
    );
    const got = new Map<string, string[]>();
    for (const r of notes()) if (textOf(r.msg).startsWith('on-')) got.set(textOf(r.msg), [...(got.get(textOf(r.msg)) ?? []), r.from]);
    const lost = (list: typeof accepted) => list.filter((a) => !got.has(a.text)).map((a) => a.text);
    const survivors = accepted.filter((a) => a.node !== 1);
    const dup = [...got].filter(([, v]) => v.length > 1).map(([k]) => k);
    t.deepEqual(lost(survivors), [], `the notes of fw-b and fw-c (${survivors.length}) all arrived, across the leader's death`);
    t.deepEqual(lost(accepted.filter((a) => a.at < killedAt - 200)), [], 'every note accepted well before the kill arrived');
    t.true(dup.length <= 500, `duplicates at most one batch: ${dup.length}`);
    const senders = new Set([...got.values()].flat());
    t.false(senders.has(wanAddr(3)), 'fw-c, never the leader, sent nothing itself');
    t.true(
      [...senders].every((a) => a === wanAddr(1) || a === wanAddr(2)),
      `only the leaders sent (${[...senders].join(', ')})`,
    );
    const early = accepted.filter((a) => a.at < killedAt - 200);
    t.true(
      early.every((a) => got.get(a.text)!.every((f) => f === wanAddr(1))),
      'before the kill every note came from fw-a, the leader',
    );
    const lostOfA = accepted.filter((a) => a.node === 1 && !got.has(a.text));
    t.true(
      lostOfA.every((a) => a.at >= killedAt - 200 && a.at <= killedAt + 50),
      `fw-a lost only what its killed worker had not sent yet (${lostOfA.map((a) => a.at - killedAt).join(', ')} ms from the kill)`,
    );
    const afterRestart = accepted.filter((a) => a.node === 1 && a.at > killedAt + 50);
    t.log(
      `${accepted.length} notes accepted (${survivors.length} on fw-b and fw-c, ${afterRestart.length} on fw-a's new worker, forwarded to fw-b); ` +
        `duplicates ${dup.length}; lost ${lostOfA.length}, all accepted by fw-a's killed worker in the 200 ms before the kill`,
    );
  },
);
