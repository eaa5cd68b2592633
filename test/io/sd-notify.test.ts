import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SdNotify } from '../../src/io/sd-notify.js';

/** What systemd would receive: a Unix datagram socket (python3, since Node has none), one line per datagram. */
function listener(path: string) {
  const py = `import socket,sys
s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)
p=sys.argv[1]
s.bind(('\\0'+p[1:]) if p.startswith('@') else p)
print('ready',flush=True)
while True:
  print(s.recv(4096).decode().replace('\\n','|'),flush=True)`;
  const proc = spawn('python3', ['-c', py, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const ready = new Promise<void>((resolve) => createInterface({ input: proc.stdout }).on('line', (l) => (l === 'ready' ? resolve() : lines.push(l))));
  return { proc, lines, ready };
}

for (const abstract of [false, true]) {
  test.serial(`READY, STATUS and WATCHDOG reach the notify socket (${abstract ? 'abstract' : 'path'} address); nothing without NOTIFY_SOCKET`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-notify-'));
    const path = abstract ? `@tandem-test-${process.pid}-${Date.now()}` : join(dir, 'notify');
    const l = listener(path);
    t.teardown(() => {
      l.proc.kill();
      rmSync(dir, { recursive: true, force: true });
    });
    await l.ready;
    const n = new SdNotify({ NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000' });
    n.ready('member fw-a of cluster labc');
    await new Promise((r) => setTimeout(r, 350));
    n.stopping();
    await new Promise((r) => setTimeout(r, 100));
    t.is(
      l.lines[0],
      'READY=1|STATUS=member fw-a of cluster labc|WATCHDOG_USEC=200000|WATCHDOG=1',
      'the interval systemd asked for, and a first ping with READY',
    );
    const pings = l.lines.filter((x) => x === 'WATCHDOG=1').length;
    t.true(pings >= 2 && pings <= 5, `WATCHDOG=1 every half of the 200 ms systemd asked for (${pings} in 350 ms)`);
    t.is(l.lines.at(-1), 'STOPPING=1');
    const off = new SdNotify({});
    t.false(off.enabled);
    off.ready('x'); // outside systemd: nothing, no error
  });
}

test.serial('a worker started again gets a longer watchdog interval until it is ready; one that ends for a restart never says STOPPING=1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-notify-'));
  const path = join(dir, 'notify');
  const l = listener(path);
  t.teardown(() => {
    l.proc.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await l.ready;
  const env = { NOTIFY_SOCKET: path, WATCHDOG_USEC: '10000000' };
  const worker = new SdNotify(env);
  worker.ready('standalone (factory state)');
  worker.ending('restart of this member', true);
  const supervisor = new SdNotify(env);
  supervisor.workerStarting(90_000);
  const next = new SdNotify(env);
  next.ready('member fw-a of cluster labc', 5000); // a lease of 5 s: 20 s, above the unit's 10
  next.ending('SIGTERM', false);
  new SdNotify({ NOTIFY_SOCKET: path }).workerStarting(90_000); // systemd watches nothing: nothing to extend
  await new Promise((r) => setTimeout(r, 200));
  t.deepEqual(l.lines, [
    'READY=1|STATUS=standalone (factory state)|WATCHDOG_USEC=10000000|WATCHDOG=1',
    'STATUS=restarting: restart of this member',
    'STATUS=starting the worker|WATCHDOG_USEC=90000000|WATCHDOG=1',
    'READY=1|STATUS=member fw-a of cluster labc|WATCHDOG_USEC=20000000|WATCHDOG=1',
    'STOPPING=1',
  ]);
});
