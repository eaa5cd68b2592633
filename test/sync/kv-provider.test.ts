import test from 'ava';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvProvider } from '../../src/sync/kv-provider.js';

test('the configuration store persists atomically; sessions are transient', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdm-kv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'system-state.json');
  const config = new KvProvider('config', file);
  t.true(config.persistent);
  config.set('hostname', 'gw1');
  config.set('dns', ['198.18.0.53']);
  config.set('dns', null); // deletes
  t.deepEqual(new KvProvider('config', file).entries(), { hostname: 'gw1' }, 'a restarted node reads it back');
  t.deepEqual(readdirSync(dir), ['system-state.json'], 'no temporary file left behind');
  await config.replace([{ count: 1, data: [['only', 1]] }]);
  t.deepEqual(new KvProvider('config', file).entries(), { only: 1 }, 'a snapshot replaces everything');
  const sessions = new KvProvider('sessions');
  t.false(sessions.persistent);
});

test('a damaged store is refused with the file, the reason and what to do', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdm-kv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'system-state.json');
  writeFileSync(file, '{"half": ');
  const e = t.throws(() => new KvProvider('config', file));
  t.regex(e!.message, /system-state\.json: the config store is damaged .*tandem resync/);
});

test('a digest depends on keys and values, not on order', (t) => {
  const a = new KvProvider('sessions');
  const b = new KvProvider('sessions');
  a.set('x', 1);
  a.set('y', 2);
  b.set('y', 2);
  b.set('x', 1);
  t.is(a.digest(), b.digest());
  b.set('x', 3);
  t.not(a.digest(), b.digest());
});
