import test from 'ava';
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { SyslogSender } from '../../src/io/syslog-sender.js';

const until = async (check: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return check();
};

test('UDP: one message a datagram', async (t) => {
  const got: string[] = [];
  const server = createSocket('udp4');
  server.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const s = new SyslogSender({ host: '127.0.0.1', port: server.address().port, transport: 'udp', queueMax: 10 });
  t.teardown(() => s.close());
  s.send('<134>1 - - - - - - one');
  s.send('<134>1 - - - - - - two\nlines');
  t.true(await until(() => got.length === 2));
  t.deepEqual(got, ['<134>1 - - - - - - one', '<134>1 - - - - - - two\nlines']);
});

test('UDP: a burst (a forwarded batch) leaves paced, 32 datagrams at a time, all of them in order', async (t) => {
  const got: string[] = [];
  const server = createSocket('udp4');
  server.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const s = new SyslogSender({ host: '127.0.0.1', port: server.address().port, transport: 'udp', queueMax: 1000 });
  t.teardown(() => s.close());
  for (let i = 0; i < 500; i++) s.send(`m${i}`);
  t.is(s.stats.queued, 468, 'only the first 32 went out at once');
  t.true(await until(() => got.length === 500));
  t.deepEqual(
    got,
    Array.from({ length: 500 }, (_, i) => `m${i}`),
  );
});

test('TCP: octet-counted frames; queued while the server is down, the oldest dropped past the bound and the drop reported', async (t) => {
  // A port nobody listens on yet.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));

  const s = new SyslogSender({ host: '127.0.0.1', port, transport: 'tcp', queueMax: 3 });
  t.teardown(() => s.close());
  const drops: number[] = [];
  s.onDropped = (n) => drops.push(n);
  for (const m of ['m1', 'm2', 'm3', 'm4', 'm5']) s.send(m);
  t.like(s.stats, { queued: 3, dropped: 2, connected: false });

  let raw = '';
  const server = createServer((c) => c.on('data', (d) => (raw += d.toString())));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  t.teardown(() => server.close());
  t.true(await until(() => raw === '2 m32 m42 m5', 8000), `received ${JSON.stringify(raw)}`);
  t.deepEqual(drops, [2], 'the two dropped messages are reported once the server takes messages');
  s.send('héllo wörld');
  t.true(await until(() => raw.endsWith('13 héllo wörld')));
});
