import test from 'ava';
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { askControl, parseRequest, serveControl } from '../../src/api/control-socket.js';

function tempSocket(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-ctl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'ctl.sock');
}

test('a request is answered with the handler result, and a handler error comes back as its message', async (t) => {
  const path = tempSocket(t);
  const server = await serveControl(path, async (req) => {
    if (req.cmd === 'status') return { role: 'active' };
    throw new Error('no such thing here');
  });
  t.teardown(() => void server.close());
  t.deepEqual(await askControl(path, 'status'), { role: 'active' });
  await t.throwsAsync(askControl(path, 'why'), { message: 'tandemd: no such thing here' });
});

test('a daemon that closes the connection without answering (a restart) is reported at once, not after the timeout', async (t) => {
  const path = tempSocket(t);
  const server = createServer((conn) => conn.once('data', () => conn.destroy()));
  await new Promise<void>((r) => server.listen(path, r));
  t.teardown(() => void server.close());
  const t0 = Date.now();
  await t.throwsAsync(askControl(path, 'status', 10_000), { message: /closed .*ctl\.sock without answering/ });
  t.true(Date.now() - t0 < 5000, 'long before the 10 s timeout');
});

test('no daemon: the error says it is not running and names the socket', async (t) => {
  const path = tempSocket(t);
  await t.throwsAsync(askControl(path, 'status'), { message: `tandemd is not running (no control socket at ${path})` });
});

test('tandem status without the right to the socket says to run it as root, not only "connect EACCES"', async (t) => {
  const path = tempSocket(t);
  const server = await serveControl(path, async () => ({ role: 'active' }));
  t.teardown(() => void server.close());
  // The socket is root's alone (0600); this CLI runs as root without the capabilities that override file
  // permissions, and the socket handed to another owner: what a non-root administrator meets.
  chownSync(path, 65534, 65534);
  const tandem = join(__dirname, '..', '..', '..', 'bin', 'tandem');
  const e = (await t.throwsAsync(
    promisify(execFile)('setpriv', ['--bounding-set=-dac_override,-dac_read_search', process.execPath, tandem, 'status', '--socket', path]),
  )) as Error & { stderr: string };
  t.is(e.stderr.trim(), `tandem: ${path}: permission denied: the control socket is root's alone; run this command as root (sudo tandem ...)`);
});

test('a request is checked against its command: unknown commands and fields of the wrong type are named', (t) => {
  t.deepEqual(parseRequest({ cmd: 'status' }), { cmd: 'status' });
  t.deepEqual(parseRequest({ cmd: 'diag-stall', ms: 500 }), { cmd: 'diag-stall', ms: 500 });
  t.throws(() => parseRequest({ cmd: 'reboot' }), { message: /unknown command "reboot" \(known: status, why/ });
  t.throws(() => parseRequest({ cmd: 'diag-stall' }), { message: 'diag-stall: "ms" is required' });
  t.throws(() => parseRequest({ cmd: 'diag-stall', ms: '500' }), { message: 'diag-stall: "ms" must be a number, not "500"' });
  t.throws(() => parseRequest({ cmd: 'cluster', op: 'join', args: [1] }), { message: 'cluster: "args" must be an object, not [1]' });
  t.throws(() => parseRequest({ cmd: 'bypass', force: 'yes' }), { message: 'bypass: "force" must be a boolean, not "yes"' });
  t.throws(() => parseRequest([]), { message: /a JSON object with a "cmd"/ });
});
