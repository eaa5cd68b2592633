import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterStore } from '../../src/cluster/store.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'tandem-store-'));

test('a write is a new generation at once in memory, on disk once durable() resolves, readable by root alone, in a 0700 directory', async (t) => {
  const dir = join(fresh(), 'state');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = new ClusterStore(dir);
  t.is(s.generation, 0);
  t.is(s.write((c) => ({ ...c, me: 'fw-a' })).generation, 1);
  s.write((c) => ({ ...c, key: 'ab'.repeat(32) }));
  t.is(s.generation, 2, 'in memory at once');
  await s.durable();
  const again = new ClusterStore(dir);
  t.is(again.generation, 2);
  t.is(again.value.me, 'fw-a');
  t.is(statSync(join(dir, 'cluster.json')).mode & 0o777, 0o600);
  t.is(statSync(dir).mode & 0o777, 0o700);
  t.is(new ClusterStore(dir).value.key, 'ab'.repeat(32));
});

test('a damaged file (checksum) is set aside and the previous generation is used, with a note', async (t) => {
  const dir = fresh();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = new ClusterStore(dir);
  s.write((c) => ({ ...c, me: 'one' }));
  await s.durable();
  s.write((c) => ({ ...c, me: 'two' }));
  await s.durable();
  const file = join(dir, 'cluster.json');
  writeFileSync(file, readFileSync(file, 'utf8').replace('"two"', '"tw0"'));
  const r = new ClusterStore(dir);
  t.is(r.value.me, 'one');
  t.is(r.generation, 1);
  t.regex(r.recovered.join(' '), /checksum mismatch.*generation 1/);
  t.true(readdirSync(dir).includes('cluster.json.damaged'));
});

test('a disk that refuses the write: durable() rejects with what to do, the next write that succeeds clears it', async (t) => {
  const dir = fresh();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = new ClusterStore(dir);
  rmSync(dir, { recursive: true, force: true }); // the directory is gone: the temporary file cannot be made
  s.write((c) => ({ ...c, me: 'lost' }));
  await t.throwsAsync(() => s.durable(), { message: /cluster\.json: could not be written \(ENOENT.*the change is in memory only/ });
  t.is(s.value.me, 'lost', 'memory keeps it');
  mkdirSync(dir, { recursive: true });
  s.write((c) => ({ ...c, me: 'kept' }));
  await s.durable();
  t.is(new ClusterStore(dir).value.me, 'kept');
});

test('a damaged file with no previous generation is an error that says what to do', (t) => {
  const dir = fresh();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cluster.json'), '{"body": {"generation": 1}, "sha256": "00"}');
  t.throws(() => new ClusterStore(dir), { message: /checksum mismatch.*restore the file from a backup, or remove it/ });
});

test.serial(
  'kill -9 in the middle of writes, 100 times at random moments: the store always reads as the last written generation or the next, never as anything else',
  async (t) => {
    const dir = fresh();
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const writer = join(__dirname, 'store-writer.js');
    let torn = 0;
    for (let i = 0; i < 100; i++) {
      const before = new ClusterStore(dir).generation;
      const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let acked = before;
      child.stdout.on('data', (d: Buffer) => {
        const last = d.toString().trim().split('\n').at(-1);
        if (last) acked = Number(last);
      });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      // Wait for the first write, then a random moment within the next ~20 ms.
      const deadline = Date.now() + 5000;
      while (acked === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      await new Promise((r) => setTimeout(r, Math.random() * 20));
      child.kill('SIGKILL');
      await exited;
      if (readdirSync(dir).some((f) => f.includes('.tmp-'))) torn++;
      const s = new ClusterStore(dir); // what a node restarted now reads
      t.true(s.generation === acked || s.generation === acked + 1, `after kill ${i}: generation ${s.generation}, last acknowledged ${acked}`);
      t.is(s.value.me, `g${s.generation}`, "the content is the generation's own, whole");
      t.is(s.value.cluster?.name, `g${s.generation}`);
      t.false(
        readdirSync(dir).some((f) => f.includes('.tmp-')),
        'a cut write leaves nothing behind once read',
      );
    }
    t.log(`kills that cut a write in the middle (a temporary file left): ${torn} of 100`);
  },
);
