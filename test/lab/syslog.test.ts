import test from 'ava';
import { askControl } from '../../src/api/control-socket.js';
import { Rsyslog } from '../../src/lab/rsyslog.js';
import { run } from '../../src/lab/run.js';
import { sleep, until } from '../helpers/lab.js';
import { form, managedPair } from '../helpers/managed.js';

test.serial(
  'log sync off: each member sends its own events to a real rsyslog (UDP from one, TCP from the other), each exactly once, with its name, ID and severity',
  async (t) => {
    const syslog = { n1: { server: '198.18.1.100:514', transport: 'udp' }, n2: { server: '198.18.1.100:514', transport: 'tcp' } } as const;
    const p = await managedPair(t, true, { timers: { initialSilenceMs: 800 }, configFor: (n) => ({ syslog: syslog[n as 'n1' | 'n2'] }) });
    const rsyslog = await Rsyslog.start(p.lab, p.cluster.dir);
    t.teardown(() => rsyslog.stop());
    await form(t, p, 'active-passive');
    // Log sync is on by default (seed 000); off, each member sends its own.
    const set = await p.cli('n1', 'cluster', 'properties', 'logSync=off');
    t.is(set.code, 0, set.stderr);
    t.true(await until(async () => /^\s+logSync\s+off$/m.test((await p.cli('n2', 'cluster', 'properties')).stdout), 10_000), 'fw-b has the change');
    const members = [
      { node: 'n1', name: 'fw-a', from: '198.18.1.11' },
      { node: 'n2', name: 'fw-b', from: '198.18.1.12' },
    ];
    const marks = new Map(members.map((m) => [m.node, p.cluster.node(m.node).events.length]));
    for (let i = 0; i < 100; i++) for (const m of members) await askControl(p.sock(m.node), { cmd: 'note', text: `off-${m.node}-${i}` });
    await sleep(1000);

    for (const m of members) {
      // What the member logged (its JSON lines) since log sync went off, event by event, against what the server got from its address.
      const logged = new Map<string, number>();
      for (const e of p.cluster.node(m.node).events.slice(marks.get(m.node))) logged.set(e.event, (logged.get(e.event) ?? 0) + 1);
      t.is(logged.get('admin_note'), 100);
      const notes = new Map<string, number>();
      t.true(
        await until(async () => {
          notes.clear();
          for (const r of rsyslog.received().filter((x) => x.msgId === 'admin_note' && x.msg.includes(`off-${m.node}-`)))
            notes.set(`${r.from} ${/"text":"([^"]+)"/.exec(r.msg)?.[1]}`, (notes.get(`${r.from} ${/"text":"([^"]+)"/.exec(r.msg)?.[1]}`) ?? 0) + 1);
          return notes.size === 100;
        }, 10_000),
        `${m.name}: its 100 notes arrived (${notes.size})`,
      );
      t.true(
        [...notes].every(([k, n]) => k.startsWith(`${m.from} `) && n === 1),
        `${m.name}'s notes came from ${m.from}, each once`,
      );
      const theirs = rsyslog.received().filter((x) => x.from === m.from);
      t.true(
        theirs.every((x) => x.sd.includes('tandem@32473 id="')),
        'each carries the event ID in its structured data',
      );
      t.true(
        theirs.some((x) => x.sd.includes(`node="${m.name}"`) && x.sd.includes('cluster="labc"') && / run="[0-9a-f]{8}" seq="\d+"/.test(x.sd)),
        `${m.name}'s messages name it, its cluster, its run and sequence`,
      );
      // Forwarded messages (log sync was on until just now) keep their origin's name: HOSTNAME is the member named in them.
      const named = theirs.filter((x) => x.sd.includes('cluster="labc"'));
      t.deepEqual(
        named.filter((x) => !x.sd.includes(`node="${x.hostname}"`)).map((x) => `${x.hostname}: ${x.sd}`),
        [],
        "the HOSTNAME of a member's messages is the member, not the Linux host",
      );
      t.true(named.some((x) => x.hostname === m.name));
      // The supervisor outlives the worker that created the cluster: its own events name the member from then on.
      const started = theirs.filter((x) => x.msgId === 'worker_started').at(-1);
      t.true(
        started?.sd.includes(`node="${m.name}"`) && started.sd.includes('cluster="labc"'),
        `the supervisor's worker_started after the cluster formed: ${started?.sd}`,
      );
    }
    const roleChange = rsyslog.received().find((x) => x.msgId === 'role_change');
    t.is(roleChange?.severity, 'notice', "the catalogue's severity");
    t.regex(roleChange?.msg ?? '', /this node changed role; reason and evidence attached \{"from":/);
  },
);

/**
 * Log sync on (seed 000): only the log-server leader sends to the server, the other member hands its messages to
 * the leader. Each member writes a stream of notes (tandem note, over its control socket); every note a member
 * accepted must reach rsyslog exactly once, from the leader's address, naming its origin. Then the leader's worker
 * is killed with SIGKILL mid-stream: the other member takes the leader role and sends what it queued meanwhile.
 */
test.serial(
  'log sync on: every message of both members arrives once, from the log-server leader; the leader killed mid-stream loses nothing of the other member',
  async (t) => {
    const p = await managedPair(t, true, {
      timers: { initialSilenceMs: 800 },
      configFor: () => ({ syslog: { server: '198.18.1.100:514', transport: 'udp' } }),
    });
    const rsyslog = await Rsyslog.start(p.lab, p.cluster.dir);
    t.teardown(() => rsyslog.stop());
    await form(t, p, 'active-passive');
    const set = await p.cli('n1', 'cluster', 'properties', 'logSync=on');
    t.is(set.code, 0, set.stderr);
    const leaderName = async () => (await p.status('n1'))?.cluster?.leader ?? null;
    t.true(
      await until(async () => (await leaderName()) !== null && (await p.status('n2'))?.cluster?.leader === (await leaderName()), 10_000),
      'both members name the same leader',
    );
    const address = { n1: '198.18.1.11', n2: '198.18.1.12' } as Record<string, string>;
    const names = { n1: 'fw-a', n2: 'fw-b' } as Record<string, string>;
    const leader = (await leaderName()) === 'fw-a' ? 'n1' : 'n2';
    const other = leader === 'n1' ? 'n2' : 'n1';

    // Notes every 5 ms on both members; only those the member acknowledged count.
    const accepted: { node: string; text: string; at: number }[] = [];
    let streaming = true;
    const stream = async (node: string) => {
      for (let i = 0; streaming; i++) {
        const text = `ls-${node}-${i}`;
        const ok = await askControl(p.sock(node), { cmd: 'note', text }, 1000).then(
          () => true,
          () => false,
        );
        if (ok) accepted.push({ node, text, at: Date.now() });
        await sleep(5);
      }
    };
    const running = Promise.all([stream('n1'), stream('n2')]);
    await sleep(2000);
    const pid = p.cluster.node(leader).process.pid!;
    const worker = Number((await run(['cat', `/proc/${pid}/task/${pid}/children`])).stdout.trim());
    const killedAt = Date.now();
    process.kill(worker, 'SIGKILL');
    // The other member takes the leader role; the killed one restarts (its supervisor) and forwards to it.
    t.true(await until(async () => (await p.status(other))?.cluster?.leader === names[other], 10_000), `${names[other]} becomes the log-server leader`);
    await sleep(2500);
    streaming = false;
    await running;

    const notes = () => rsyslog.received().filter((r) => r.msgId === 'admin_note');
    const textOf = (msg: string) => /"text":"([^"]+)"/.exec(msg)?.[1] ?? '';
    const want = accepted.length;
    // Settled: what the server got stops changing (all in, or nothing more coming).
    let seen = -1;
    await until(
      async () => {
        const n = notes().length;
        const settled = n === seen && n >= want;
        seen = n;
        return settled;
      },
      10_000,
      500,
    );
    const got = new Map<string, { from: string; sd: string }[]>();
    for (const r of notes()) got.set(textOf(r.msg), [...(got.get(textOf(r.msg)) ?? []), { from: r.from, sd: r.sd }]);
    const before = accepted.filter((a) => a.at < killedAt - 200);
    const fromOther = accepted.filter((a) => a.node === other);
    const lost = (list: typeof accepted) => list.filter((a) => !got.has(a.text)).map((a) => a.text);
    const dup = [...got].filter(([, v]) => v.length > 1).map(([k]) => k);
    t.deepEqual(lost(fromOther), [], `${names[other]}'s notes (${fromOther.length}) all arrived, across the leader's death`);
    t.deepEqual(lost(before), [], 'every note accepted well before the kill arrived');
    t.true(dup.length <= 500, `duplicates at most one batch: ${dup.length}`);
    // From the leader only: the first leader before its death, then the new one.
    for (const a of accepted) {
      const copies = got.get(a.text) ?? [];
      for (const c of copies) {
        t.true(c.sd.includes(`node="${names[a.node]}"`), `${a.text} names its origin`);
        if (a.at < killedAt - 200) t.is(c.from, address[leader], `${a.text}, accepted before the kill, came from the leader ${names[leader]}`);
        if (a.at > killedAt + 3000) t.is(c.from, address[other], `${a.text}, accepted after the change, came from the new leader ${names[other]}`);
      }
    }
    const lostOfKilled = lost(accepted.filter((a) => a.node === leader && a.at >= killedAt - 200));
    t.log(
      `${accepted.length} notes accepted (${fromOther.length} on ${names[other]}); duplicates ${dup.length}; lost ${lostOfKilled.length} (accepted by ${names[leader]} in the 200 ms before its kill: ${lostOfKilled.join(', ') || 'none'})`,
    );
  },
);
