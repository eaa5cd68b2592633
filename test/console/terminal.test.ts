import test from 'ava';
import type { ReadStream } from 'node:tty';
import { PassThrough } from 'node:stream';
import { COLS, TtyConsole } from '../../src/console/terminal.js';

function console80() {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (d: Buffer) => (shown += d.toString()));
  const io = new TtyConsole(input as unknown as ReadStream, output);
  return { io, type: (s: string) => input.write(s), shown: () => shown };
}

test('a long answer after a long prompt moves to a line of its own: nothing typed is dropped', async (t) => {
  const c = console80();
  const prompt = 'Management IPv6 address (address/prefix or none) [none]: ';
  const answer = '2001:0002:0000:0002:0000:0000:0000:0012/64';
  const got = c.io.ask(prompt);
  c.type(answer + '\r');
  t.is(await got, answer, 'every character arrives');
  const lines = c.shown().split('\r\n');
  t.true(
    lines.every((l) => l.length <= COLS - 1),
    `no line wider than the screen: ${JSON.stringify(lines)}`,
  );
  t.true(
    lines.some((l) => l.endsWith(answer)),
    'the whole answer is shown on one line',
  );
});

test('a line full to the edge rings the bell for each further character instead of keeping it unseen', async (t) => {
  const c = console80();
  const got = c.io.ask('> ');
  c.type('x'.repeat(200) + '\r');
  const answer = (await got)!;
  t.is(answer.length, COLS - 2);
  t.true(c.shown().includes('\x07'));
});

test('backspace and Ctrl-C', async (t) => {
  const c = console80();
  const a = c.io.ask('Name: ');
  c.type('fw-ax\x7f\r');
  t.is(await a, 'fw-a');
  const b = c.io.ask('Name: ');
  c.type('half\x03');
  t.is(await b, null);
});
