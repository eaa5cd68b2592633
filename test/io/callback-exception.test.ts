import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { labFor } from '../helpers/lab.js';

const LINK = join(__dirname, '..', '..', 'src', 'io', 'packet-link.js');

/**
 * An exception thrown in a callback the addon calls from the event loop reaches process
 * 'uncaughtException' at once (as a throw in any event-loop callback does), rather than staying pending in
 * Node-API and surfacing in whatever JS next calls the addon. In a child process: the exception is meant to
 * be fatal there.
 */
test.serial('an exception thrown in a receive callback surfaces as uncaughtException at once', async (t) => {
  const lab = await labFor(t);
  const [n1, n2] = lab.plan.nodes;
  const script = `
    const { PacketLink } = require(${JSON.stringify(LINK)});
    const tx = PacketLink.open({ ifname: 'eth1', netns: ${JSON.stringify(n1!.netns)} });
    const rx = PacketLink.open({ ifname: 'eth1', netns: ${JSON.stringify(n2!.netns)} });
    process.on('uncaughtException', (e) => { console.log('uncaught: ' + e.message); process.exit(0); });
    rx.receive(() => { throw new Error('boom in onFrame'); }, (e) => { throw new Error('boom in onError after ' + e.message); });
    const f = new Uint8Array(64); f.set([0x11, 0, 0, 0, 9, 7, 2, 0, 0, 0, 0, 1]);
    tx.send(f);
    setTimeout(() => { console.log('not surfaced'); process.exit(1); }, 3000);
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  t.is(code, 0, out);
  t.regex(out, /uncaught: boom in onError after boom in onFrame/);
});
