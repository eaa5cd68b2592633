import test, { type ExecutionContext } from 'ava';
import { createServer } from 'node:net';
import type { Server } from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import { connectSync, listenSync, portOf, SYNC_MAX_CONNECTIONS, type Identity, type ListenFailure, type SyncChannel } from '../../src/sync/channel.js';

const me = (nodeId: number, over: Partial<Identity> = {}): Identity => ({ clusterId: 7, nodeId, nodeName: `n${nodeId}`, softwareVersion: '0.1.0', ...over });

async function serve(t: ExecutionContext, password: string, id: Identity, handshakeMs?: number) {
  const channels: SyncChannel[] = [];
  const failures: ListenFailure[] = [];
  const server: Server = await listenSync(
    password,
    id,
    { host: '127.0.0.1', port: 0 },
    (c) => channels.push(c),
    (r) => failures.push(r),
    handshakeMs,
  );
  t.teardown(() => {
    for (const c of channels) c.close();
    server.close();
  });
  return { port: portOf(server), channels, failures };
}

const until = async (f: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!f() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return f();
};

test('same password: TLS 1.2 ECDHE-PSK-CHACHA20-POLY1305, hellos verified, messages both ways', async (t) => {
  const s = await serve(t, 'secret', me(1));
  const c = await connectSync('secret', me(2), { host: '127.0.0.1', port: s.port });
  t.teardown(() => c.close());
  t.deepEqual(c.peer, me(1));
  t.true(await until(() => s.channels.length === 1));
  const got: unknown[] = [];
  s.channels[0]!.on('message', (m) => got.push(m));
  const big = 'x'.repeat(200_000); // crosses many TLS records
  c.send({ type: 'update', seq: 1, big });
  c.send({ type: 'update', seq: 2 });
  t.true(await until(() => got.length === 2));
  t.deepEqual(got, [
    { type: 'update', seq: 1, big },
    { type: 'update', seq: 2 },
  ]);
  const socket = (c as unknown as { socket: { getCipher(): { name: string; version: string } } }).socket;
  t.like(socket.getCipher(), { name: 'ECDHE-PSK-CHACHA20-POLY1305', version: 'TLSv1.2' });
});

test('a wrong password fails the handshake, named on both sides', async (t) => {
  const s = await serve(t, 'secret', me(1));
  const e = await t.throwsAsync(connectSync('not the secret', me(2), { host: '127.0.0.1', port: s.port }));
  t.is(e!.message, 'wrong_password');
  t.true(await until(() => s.failures.length === 1));
  t.deepEqual(s.failures, ['wrong_password']);
  t.is(s.channels.length, 0);
});

test('another software version or cluster is refused after the handshake, named on both sides', async (t) => {
  const s = await serve(t, 'secret', me(1));
  const e = await t.throwsAsync(connectSync('secret', me(2, { softwareVersion: '0.2.0' }), { host: '127.0.0.1', port: s.port }));
  t.is(e!.message, 'software_version_mismatch');
  t.true(await until(() => s.failures.includes('software_version_mismatch')));
  t.is(s.channels.length, 0);
});

test('another cluster definition or group mode is refused, named on both sides', async (t) => {
  const s = await serve(t, 'secret', me(1, { definition: 'aaaa', groupMode: 'active-passive' }));
  const e1 = await t.throwsAsync(connectSync('secret', me(2, { definition: 'bbbb', groupMode: 'active-passive' }), { host: '127.0.0.1', port: s.port }));
  t.is(e1!.message, 'cluster_definition_mismatch');
  const e2 = await t.throwsAsync(connectSync('secret', me(2, { definition: 'aaaa', groupMode: 'active-active' }), { host: '127.0.0.1', port: s.port }));
  t.is(e2!.message, 'group_mode_mismatch');
  t.true(await until(() => s.failures.includes('cluster_definition_mismatch') && s.failures.includes('group_mode_mismatch')));
  t.is(s.channels.length, 0);
});

test('nobody listening: unreachable', async (t) => {
  // A port that was just free: listen, note it, close.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const e = await t.throwsAsync(connectSync('secret', me(2), { host: '127.0.0.1', port }, 1000));
  t.is(e!.message, 'unreachable');
});

test('an idle connection to the sync port is closed at the handshake deadline and named; no more than the cap at once', async (t) => {
  const s = await serve(t, 'secret', me(1), 300);
  const { connect } = await import('node:net');
  const idle = connect(s.port, '127.0.0.1');
  t.teardown(() => idle.destroy());
  const closed = new Promise<number>((r) => {
    const t0 = Date.now();
    idle.on('close', () => r(Date.now() - t0));
    idle.on('error', () => undefined);
  });
  const ms = await closed;
  t.true(ms < 2000, `closed after ${ms} ms (Node's own limit: 120 s)`);
  t.true(await until(() => s.failures.includes('handshake_timeout')), s.failures.join(', '));
  const many = Array.from({ length: SYNC_MAX_CONNECTIONS + 4 }, () => connect(s.port, '127.0.0.1').on('error', () => undefined));
  t.teardown(() => many.forEach((c) => c.destroy()));
  t.true(await until(() => s.failures.filter((f) => f === 'too_many_connections').length === 4), s.failures.join(', '));
});

test('the server gives no PSK identity hint: a stranger learns nothing of the cluster by connecting', async (t) => {
  const s = await serve(t, 'secret', me(1));
  let hint: string | null | undefined;
  await new Promise<void>((resolve) => {
    const sock = tlsConnect({
      host: '127.0.0.1',
      port: s.port,
      ciphers: 'ECDHE-PSK-CHACHA20-POLY1305',
      maxVersion: 'TLSv1.2',
      pskCallback: (h) => {
        hint = h;
        return { psk: Buffer.alloc(32), identity: 'guess' };
      },
      checkServerIdentity: () => undefined,
    });
    sock.on('error', () => resolve());
    sock.on('close', () => resolve());
  });
  t.is(hint, null, 'no hint (it named the cluster ID: tandem-7)');
  t.true(await until(() => s.failures.includes('wrong_password')));
});
