import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectSync } from '../../src/sync/channel.js';
import { SyncEngine } from '../../src/sync/engine.js';
import { KvProvider } from '../../src/sync/kv-provider.js';
import { SyncLink, type SyncLog } from '../../src/sync/link.js';
import type { SyncMessage } from '../../src/wire/sync-frame.js';
import { freePort } from '../helpers/ports.js';

class Log implements SyncLog {
  readonly lines: { event: string; fields: Record<string, unknown> }[] = [];
  log(_level: string, event: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ event, fields });
  }
  count(event: string): number {
    return this.lines.filter((l) => l.event === event).length;
  }
}

const until = async (f: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!f() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return f();
};

/** Two nodes on loopback (127.0.0.1 dials 127.0.0.2), each with a persistent config store. */
async function pair(t: ExecutionContext) {
  const port = await freePort(['127.0.0.1', '127.0.0.2']);
  const dir = mkdtempSync(join(tmpdir(), 'tdm-sync-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const node = (id: number, local: string, peer: string) => {
    const log = new Log();
    const link = new SyncLink({
      secret: 'pw',
      me: { clusterId: 7, nodeId: id, nodeName: `n${id}`, softwareVersion: '0.1.0' },
      local,
      peer,
      port,
      dial: id === 1,
      timeoutMs: 1000,
      log,
    });
    const store = new KvProvider('config', join(dir, `n${id}.json`));
    const engine = new SyncEngine(link, [store], log);
    t.teardown(async () => {
      await engine.stop();
      await link.stop();
    });
    return { log, link, store, engine };
  };
  const a = node(1, '127.0.0.1', '127.0.0.2');
  const b = node(2, '127.0.0.2', '127.0.0.1');
  await b.link.start();
  await a.link.start();
  return { a, b, dir };
}

/** A pair in sync on one key, then its sync cable cut (the channel down on both sides). */
async function inSyncThenCut(t: ExecutionContext) {
  const { a, b } = await pair(t);
  a.store.set('x', 1);
  await b.engine.setRole(false);
  await a.engine.setRole(true);
  t.true(await until(() => b.engine.status().status === 'in-sync' && b.store.get('x') === 1));
  b.link.current!.destroy();
  t.true(await until(() => !a.link.up && !b.link.up));
  return { a, b };
}

test.serial("a transfer cut in the middle leaves the standby's previous copy untouched; the next one completes", async (t) => {
  const { a, b, dir } = await pair(t);
  b.store.set('previous', 'copy'); // what the standby held before (written before it follows anyone)
  // A bulk load in one write (one set() per key would rewrite the file 20k times).
  await a.store.replace([{ count: 20_000, data: Array.from({ length: 20_000 }, (_, i) => [`k${i}`, { v: i }]) }]);
  let cut = false;
  b.link.on('message', (m: SyncMessage) => {
    if (m.type === 'snapshot-chunk' && !cut) {
      cut = true;
      b.link.current!.destroy(); // the cable goes, after the first chunk of ~40
    }
  });
  await b.engine.setRole(false);
  await a.engine.setRole(true);
  t.true(await until(() => cut && b.log.count('sync_transfer_abandoned') === 1), 'the transfer was cut and abandoned');
  t.deepEqual(b.store.entries(), { previous: 'copy' }, 'nothing of the cut transfer is applied');
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'n2.json'), 'utf8')), { previous: 'copy' }, 'nor written to disk');
  t.true(await until(() => b.log.count('sync_transfer_applied') === 1, 8000), 'the link came back and a full transfer completed');
  t.is(b.store.count(), 20_000);
  t.is(b.store.digest(), a.store.digest());
  t.is(b.engine.status().status, 'in-sync');
});

test.serial('after a link outage the standby gets only the updates it missed (delta), and they are applied in order', async (t) => {
  const { a, b } = await inSyncThenCut(t);
  for (let i = 0; i < 50; i++) a.store.set('x', i + 2); // while the link is down
  a.store.set('y', 'late');
  t.true(await until(() => b.store.get('y') === 'late', 8000), 'the missed updates arrived');
  t.is(b.store.get('x'), 51, 'in order: the last write wins');
  t.is(b.log.count('sync_transfer_applied'), 1, 'no second full transfer');
  t.true(a.log.lines.some((l) => l.event === 'sync_resumed' && Number(l.fields['updates']) === 51));
  t.true(await until(() => a.engine.status().lag === 0));
});

test.serial('after a link outage on an idle pair the standby is in sync again once the channel is back (nothing to resume)', async (t) => {
  const { a, b } = await inSyncThenCut(t);
  t.is(b.engine.status().status, 'out-of-sync', 'out of sync while the channel is down');
  t.true(await until(() => a.link.up && b.link.up, 8000), 'the channel is back');
  // Nothing changed meanwhile: no update to apply and acknowledge, and yet the copy is complete.
  t.true(await until(() => b.engine.status().status === 'in-sync', 3000), `the standby says in-sync (${b.engine.status().status})`);
  t.is(b.engine.heartbeatFields().syncStatus, 'in-sync', 'and its heartbeats say so');
  t.is(b.log.count('sync_transfer_applied'), 1, 'no second full transfer');
});

test.serial('a wrong password: no channel, nothing crosses, both sides name the reason', async (t) => {
  const port = await freePort(['127.0.0.1', '127.0.0.2']);
  const logs = [new Log(), new Log()];
  const links = [
    new SyncLink({
      secret: 'right',
      me: { clusterId: 7, nodeId: 1, nodeName: 'n1', softwareVersion: '0.1.0' },
      local: '127.0.0.1',
      peer: '127.0.0.2',
      port,
      dial: true,
      timeoutMs: 1000,
      log: logs[0]!,
    }),
    new SyncLink({
      secret: 'wrong',
      me: { clusterId: 7, nodeId: 2, nodeName: 'n2', softwareVersion: '0.1.0' },
      local: '127.0.0.2',
      peer: '127.0.0.1',
      port,
      dial: false,
      timeoutMs: 1000,
      log: logs[1]!,
    }),
  ];
  t.teardown(async () => {
    for (const l of links) await l.stop();
  });
  const stores = [new KvProvider('sessions'), new KvProvider('sessions')];
  const engines = [new SyncEngine(links[0]!, [stores[0]!], logs[0]!), new SyncEngine(links[1]!, [stores[1]!], logs[1]!)];
  await links[1]!.start();
  await links[0]!.start();
  stores[0]!.set('secret', 'session');
  await engines[0]!.setRole(true);
  await engines[1]!.setRole(false);
  t.true(await until(() => links[0]!.unreachable === 'wrong_password' && links[1]!.unreachable === 'wrong_password'));
  t.is(stores[1]!.count(), 0);
  t.is(engines[1]!.status().peerUnreachable, 'wrong_password');
});

test.serial("a sync channel from an address that is not the peer's sync address is refused and named (sync_packet_on_nonsync_iface)", async (t) => {
  const port = await freePort(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  const logs = [new Log(), new Log()];
  const listener = new SyncLink({
    secret: 'pw',
    me: { clusterId: 7, nodeId: 2, nodeName: 'n2', softwareVersion: '0.1.0' },
    local: '127.0.0.2',
    peer: '127.0.0.1',
    port,
    dial: false,
    timeoutMs: 1000,
    log: logs[1]!,
  });
  // The peer dials from another of its addresses (not its sync address 127.0.0.1).
  const dialer = new SyncLink({
    secret: 'pw',
    me: { clusterId: 7, nodeId: 1, nodeName: 'n1', softwareVersion: '0.1.0' },
    local: '127.0.0.3',
    peer: '127.0.0.2',
    port,
    dial: true,
    timeoutMs: 1000,
    log: logs[0]!,
  });
  t.teardown(async () => {
    await dialer.stop();
    await listener.stop();
  });
  await listener.start();
  await dialer.start();
  t.true(
    await until(() =>
      logs[1]!.lines.some((l) => l.event === 'sync_packet_on_nonsync_iface' && l.fields['from'] === '127.0.0.3' && l.fields['expected'] === '127.0.0.1'),
    ),
  );
  t.false(listener.up, 'no channel');
});

test.serial("a stranger on the sync segment is logged by address, once a minute, and never becomes the peer's reason", async (t) => {
  const port = await freePort(['127.0.0.1', '127.0.0.2', '127.0.0.8', '127.0.0.9']);
  const logs = [new Log(), new Log()];
  const identity = (n: number) => ({ clusterId: 7, nodeId: n, nodeName: `n${n}`, softwareVersion: '0.1.0' });
  const opts = (n: 1 | 2) => ({ secret: 'pw', me: identity(n), local: `127.0.0.${n}`, peer: `127.0.0.${3 - n}`, port, timeoutMs: 1000, log: logs[n - 1]! });
  const listener = new SyncLink({ ...opts(2), dial: false });
  const dialer = new SyncLink({ ...opts(1), dial: true });
  t.teardown(async () => {
    await dialer.stop();
    await listener.stop();
  });
  // Before the peer is there: a stranger's wrong password is the stranger's, not the peer's unreachable reason.
  await listener.start();
  const stranger = (from = '127.0.0.9') => connectSync('guess', identity(9), { host: '127.0.0.2', port, localAddress: from }, 1000).catch(() => undefined);
  for (let i = 0; i < 5; i++) await stranger();
  const refused = () => logs[1]!.lines.filter((l) => l.event === 'sync_connection_refused');
  t.true(await until(() => refused().length === 1));
  t.like(refused()[0]!.fields, { from: '127.0.0.9', reason: 'wrong_password' });
  t.is(listener.unreachable, 'not_started', "the peer was never heard: its reason is not the stranger's");
  t.is(logs[1]!.count('sync_peer_unreachable'), 0);
  // With the channel up, strangers are still logged (they were not), and the pair's status names the real peer.
  await dialer.start();
  t.true(await until(() => listener.up && dialer.up));
  await stranger();
  await new Promise((r) => setTimeout(r, 200));
  t.is(refused().length, 1, 'the same address again within the minute: counted, not logged again');
  await stranger('127.0.0.8');
  t.true(await until(() => refused().length === 2), 'another stranger while the channel is up is logged (it left no trace)');
  t.like(refused()[1]!.fields, { from: '127.0.0.8', reason: 'wrong_password' });
  t.is(listener.unreachable, null);
  t.true(listener.up, 'the channel stays up');
});
