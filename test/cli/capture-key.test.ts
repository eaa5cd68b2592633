import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBoard } from '../../src/board/board-file.js';
import { captureKey, describe } from '../../src/cli/capture-command.js';
import { parseArgs, type Parsed } from '../../src/cli/args.js';
import { deriveClusterKey, newSalt } from '../../src/cluster/cluster-key.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { hmacAuth } from '../../src/io/heartbeat-auth.js';
import { labManagedConfig } from '../../src/lab/lab-config.js';
import { planLab } from '../../src/lab/topology.js';
import { encodeHeartbeat } from '../../src/wire/heartbeat-frame.js';
import { ReplayMemory } from '../../src/wire/heartbeat-verify.js';
import { CLUSTER, fields, link } from '../helpers/frames.js';

const PASSWORD = 'managed-cluster-password';
const OPTIONS = { config: 'string', 'cluster-id': 'int', 'password-file': 'string', salt: 'string' } as const;

function scratch(t: { teardown(f: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-capture-key-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'password'), PASSWORD + '\n');
  return dir;
}

function verdict(p: Parsed, frame: Uint8Array): string {
  return describe('eth1', frame, captureKey(p), new ReplayMemory(), undefined).verdict;
}

test("a managed cluster's frames verify with its password and salt, and not with the bare password", (t) => {
  const dir = scratch(t);
  const salt = newSalt();
  const frame = encodeHeartbeat(fields(), link, hmacAuth(deriveClusterKey(PASSWORD, salt), CLUSTER));
  const base = ['--cluster-id', String(CLUSTER), '--password-file', join(dir, 'password')];
  t.is(verdict(parseArgs([...base, '--salt', salt], OPTIONS), frame), 'ok');
  // A static cluster uses the password file's bytes as they are: right for it, bad_tag for a managed frame.
  t.is(verdict(parseArgs(base, OPTIONS), frame), 'bad_tag');
  t.is(verdict(parseArgs(base, OPTIONS), encodeHeartbeat(fields(), link, hmacAuth(PASSWORD, CLUSTER))), 'ok');
});

test("--config verifies with the node's own key, read from its cluster store", async (t) => {
  const dir = scratch(t);
  const salt = newSalt();
  const board = resolveBoard('sim');
  const plan = planLab(board, 2, 'tdm00000');
  const stateDir = join(dir, 'state');
  const file = join(dir, 'n1.json');
  writeFileSync(file, JSON.stringify(labManagedConfig(plan, board, 1, { stateDir, controlSocket: join(dir, 'sock'), shared: true })));
  const store = new ClusterStore(stateDir);
  store.write((s) => ({
    ...s,
    me: 'n1',
    key: deriveClusterKey(PASSWORD, salt).toString('hex'),
    cluster: {
      name: 'c',
      id: CLUSTER,
      salt,
      revision: 1,
      shared: {},
      members: [{ name: 'n1', id: 1, address: '198.18.4.11', type: 'master', enabled: true, draining: false, joined: true }],
      properties: { mode: 'active-passive', sync: true, logSync: true, healthCheckFailsWhileSyncing: true },
    },
  }));
  await store.durable();
  const frame = encodeHeartbeat(fields(), link, hmacAuth(deriveClusterKey(PASSWORD, salt), CLUSTER));
  t.is(verdict(parseArgs(['--config', file], OPTIONS), frame), 'ok');
  t.is(captureKey(parseArgs(['--config', file], OPTIONS))!.clusterId, CLUSTER);
});

test("capture's key options name what is wrong", (t) => {
  const dir = scratch(t);
  const pw = join(dir, 'password');
  t.throws(() => captureKey(parseArgs(['--cluster-id', '7', '--password-file', pw, '--salt', 'xyz'], OPTIONS)), {
    message: /--salt: "xyz" is not a cluster salt/,
  });
  t.throws(() => captureKey(parseArgs(['--salt', newSalt()], OPTIONS)), { message: /--salt needs --cluster-id and --password-file/ });
  t.throws(() => captureKey(parseArgs(['--config', 'x.json', '--cluster-id', '7'], OPTIONS)), { message: /--config gives the cluster ID and key/ });
  t.throws(() => captureKey(parseArgs(['--cluster-id', '7', '--password-file', join(dir, 'missing')], OPTIONS)), { message: /missing: no such file/ });
  t.is(captureKey(parseArgs([], OPTIONS)), undefined);
});
