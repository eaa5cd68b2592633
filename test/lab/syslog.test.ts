import test from 'ava';
import { Rsyslog } from '../../src/lab/rsyslog.js';
import { sleep, until } from '../helpers/lab.js';
import { form, managedPair } from '../helpers/managed.js';

test.serial('log sync off: each member sends its own events to a real rsyslog (UDP from one, TCP from the other), each exactly once, with its name, ID and severity', async (t) => {
  const syslog = { n1: { server: '198.18.1.100:514', transport: 'udp' }, n2: { server: '198.18.1.100:514', transport: 'tcp' } } as const;
  const p = await managedPair(t, true, { timers: { initialSilenceMs: 800 }, configFor: (n) => ({ syslog: syslog[n as 'n1' | 'n2'] }) });
  const rsyslog = await Rsyslog.start(p.lab, p.cluster.dir);
  t.teardown(() => rsyslog.stop());
  await form(t, p, 'active-passive');
  await sleep(1500);

  const members = [{ node: 'n1', name: 'fw-a', from: '198.18.1.11' }, { node: 'n2', name: 'fw-b', from: '198.18.1.12' }];
  for (const m of members) {
    // What the member logged (its JSON lines), event by event, against what the server got from its address.
    const logged = new Map<string, number>();
    for (const e of p.cluster.node(m.node).events) logged.set(e.event, (logged.get(e.event) ?? 0) + 1);
    let got = new Map<string, number>();
    t.true(await until(async () => {
      got = new Map();
      for (const r of rsyslog.received().filter((x) => x.from === m.from)) got.set(r.msgId, (got.get(r.msgId) ?? 0) + 1);
      return [...logged].every(([k, n]) => got.get(k) === n);
    }, 10_000), `${m.name}: every event arrived, once (logged ${JSON.stringify([...logged])}, received ${JSON.stringify([...got])})`);
    const theirs = rsyslog.received().filter((x) => x.from === m.from);
    t.true(theirs.length > 10, `${m.name} sent ${theirs.length} messages`);
    t.true(theirs.every((x) => x.sd.includes(`tandem@32473 id="`)), 'each carries the event ID in its structured data');
    // The member's name appears once it is a member (standalone lines say so).
    t.true(theirs.some((x) => x.sd.includes(`node="${m.name}"`) && x.sd.includes('cluster="labc"')), `${m.name}'s messages name it and its cluster`);
    t.false(rsyslog.received().some((x) => x.from !== m.from && x.sd.includes(`node="${m.name}"`)), `${m.name}'s messages come from ${m.name} only`);
  }
  const roleChange = rsyslog.received().find((x) => x.msgId === 'role_change');
  t.is(roleChange?.severity, 'notice', 'the catalogue\'s severity');
  t.regex(roleChange?.msg ?? '', /this node changed role; reason and evidence attached \{"from":/);
});
