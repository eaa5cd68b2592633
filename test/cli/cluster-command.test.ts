import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serveControl } from '../../src/api/control-socket.js';
import type { StatusDoc } from '../../src/api/status-page.js';
import type { ClusterDefinition } from '../../src/cluster/store.js';
import { statusMember } from '../helpers/status-doc.js';

const exec = promisify(execFile);
const TANDEM = join(__dirname, '..', '..', '..', 'bin', 'tandem');

const definition: ClusterDefinition = {
  name: 'labc',
  id: 7,
  salt: '00',
  properties: { mode: 'active-active', engine: 'heartbeat', sync: true, logSync: false, healthCheckFailsWhileSyncing: true },
  shared: { eth1: '198.18.2.1/24' },
  members: [],
  revision: 4,
};
const view: NonNullable<StatusDoc['cluster']> = {
  name: 'labc',
  mode: 'active-active',
  revision: 4,
  leader: null,
  quorate: false,
  members: [statusMember({ role: 'inactive', hex: '0x00004', bits: 4, words: ['enabled'] })],
};

/** A control socket that answers like a member (or a standalone node: no cluster). */
async function daemon(t: { teardown(fn: () => void): void }, member: boolean): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
  const path = join(dir, 'ctl.sock');
  const server = await serveControl(path, async (req) => {
    if (req.cmd === 'status') return member ? { cluster: view, healthCheck: { ok: false, text: 'No quorum: 1 of 3 members' } } : { standalone: true };
    if (req.cmd === 'cluster' && req.op === 'properties') return member ? definition : null;
    throw new Error(`unexpected ${JSON.stringify(req)}`);
  });
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return path;
}

test('tandem cluster (and cluster status) prints the cluster as this member sees it, not every usage', async (t) => {
  const socket = await daemon(t, true);
  const bare = (await exec(TANDEM, ['cluster', '--socket', socket])).stdout;
  t.is(
    bare,
    [
      'cluster labc (active-active), revision 4, leader none (no quorum); health check: 500 No quorum: 1 of 3 members',
      'member            address          role       status   meaning',
      'fw-a *            198.19.255.11    inactive   0x00004  enabled',
      '',
    ].join('\n'),
  );
  t.is((await exec(TANDEM, ['cluster', 'status', '--socket', socket])).stdout, bare);
  const standalone = await daemon(t, false);
  t.is((await exec(TANDEM, ['cluster', '--socket', standalone])).stdout, 'standalone: this node is in no cluster (tandem cluster create or join)\n');
});

test('tandem cluster properties reads as settings, on/off as they are set; --json gives the definition', async (t) => {
  const socket = await daemon(t, true);
  t.is(
    (await exec(TANDEM, ['cluster', 'properties', '--socket', socket])).stdout,
    [
      'cluster labc (ID 7), revision 4',
      '  name                          labc',
      '  mode                          active-active',
      '  engine                        heartbeat',
      '  sync                          on',
      '  logSync                       off',
      '  healthCheckFailsWhileSyncing  on',
      '  shared.eth1                   198.18.2.1/24',
      '',
    ].join('\n'),
  );
  t.deepEqual(JSON.parse((await exec(TANDEM, ['cluster', 'properties', '--json', '--socket', socket])).stdout), definition);
});
