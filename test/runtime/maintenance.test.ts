import test from 'ava';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLocal } from '../../src/cluster/config-file.js';
import type { Role } from '../../src/core/failover-types.js';
import { FIRMWARE_COMMAND, Maintenance, type FirmwareInstaller } from '../../src/runtime/cluster-service/maintenance.js';
import type { SyncMessage } from '../../src/wire/sync-frame.js';

const BOARD_FILE = { board: 'generic-x86', interfaces: [{ name: 'eth0', heartbeats: true, sync: true, address: '198.19.255.11/24' }] };

/** Two members in one process: each one's askPeer is the other's serve (the cluster service's framing aside). */
function pair(t: { teardown(f: () => void): void }, commands: { a?: string; b?: string }, firmware?: (node: string) => FirmwareInstaller) {
  const dir = mkdtempSync(join(tmpdir(), 'tdmmt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const events: { node: string; event: string; fields: Record<string, unknown> }[] = [];
  const roles: Record<string, Role> = { a: 'active', b: 'inactive' };
  const restarts: string[] = [];
  const nodes: Record<string, Maintenance> = {};
  for (const name of ['a', 'b'] as const) {
    const local = parseLocal(
      {
        ...BOARD_FILE,
        stateDir: join(dir, name),
        maintenance: { ...(commands[name] ? { updateCommand: commands[name], upgradeCommand: commands[name] } : {}), timeoutMs: 2000 },
      },
      `${name}.json`,
    );
    nodes[name] = new Maintenance({
      local,
      node: name,
      role: () => roles[name]!,
      log: { log: (_l, event, fields = {}) => void events.push({ node: name, event, fields }) },
      failover: () => undefined,
      askPeer: async (m: SyncMessage) => {
        const other = name === 'a' ? 'b' : 'a';
        // As over the wire: a copy of the body, and a refusal as a thrown error.
        return { name: other, answer: await nodes[other]!.serve({ ...m, ...(m.body ? { body: new Uint8Array(m.body) } : {}) }) };
      },
      restart: (why) => void restarts.push(`${name}: ${why}`),
      ...(firmware ? { firmware: firmware(name) } : {}),
    });
  }
  return { dir, nodes, events, roles, restarts };
}

function script(dir: string, body: string): string {
  const f = join(dir, `cmd-${randomBytes(3).toString('hex')}`);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
  return f;
}

test('a file of several chunks arrives whole on the peer, checked, and each side keeps only its newest copy', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tdmmt-cmd-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const cmd = script(base, `cat "$1" | sha256sum | cut -c1-64 > ${base}/$TANDEM_NODE.applied`);
  const p = pair(t, { a: cmd, b: cmd });
  for (const size of [0, 9 * 1024 * 1024 + 7]) {
    const data = randomBytes(size);
    const file = join(p.dir, `db-${size}`);
    writeFileSync(file, data);
    const sent = (await p.nodes['a']!.control('send', { kind: 'update', path: file, id: 'x' })) as { sha256: string; bytes: number };
    t.is(sent.bytes, size);
    t.is(sent.sha256, createHash('sha256').update(data).digest('hex'));
    await p.nodes['a']!.control('apply-peer', { kind: 'update', sha256: sent.sha256, id: 'x' });
    await p.nodes['a']!.control('apply-local', { kind: 'update', sha256: sent.sha256, id: 'x' });
    for (const n of ['a', 'b']) t.is(readFileSync(join(base, `${n}.applied`), 'utf8').trim(), sent.sha256, `${n} applied the same bytes`);
  }
  for (const n of ['a', 'b']) t.is(readdirSync(join(p.dir, n, 'maintenance')).length, 1, `${n} keeps its newest file only`);
  t.deepEqual(p.restarts, [], 'an update restarts nothing');
});

test('a damaged chunk, a chunk out of order, a missing command, a failing and a hanging command are refused by name', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tdmmt-cmd-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const p = pair(t, { a: script(base, 'exit 0'), b: script(base, 'echo "pattern file truncated" >&2; exit 4') });
  const b = p.nodes['b']!;
  const sha = 'ab'.repeat(32);
  await t.throwsAsync(b.serve({ type: 'maintenance-chunk', kind: 'update', sha256: sha, offset: 0, total: 3, body: new Uint8Array([1, 2, 3]) }), {
    message: /update file damaged in transfer: SHA-256 [0-9a-f]{64}, expected abab/,
  });
  await t.throwsAsync(b.serve({ type: 'maintenance-chunk', kind: 'update', sha256: sha, offset: 10, total: 30, body: new Uint8Array(10) }), {
    message: /chunk at 10 of update ababababab.*: no transfer in progress; send the file again/,
  });
  await t.throwsAsync(b.serve({ type: 'maintenance-apply', kind: 'update', sha256: sha }), { message: /b has no update file with SHA-256 abababababab/ });
  const file = join(p.dir, 'db');
  writeFileSync(file, 'new patterns');
  const { sha256 } = (await p.nodes['a']!.control('send', { kind: 'update', path: file })) as { sha256: string };
  await t.throwsAsync(p.nodes['a']!.control('apply-peer', { kind: 'update', sha256 }), { message: /cmd-[0-9a-f]+ failed \(exit 4\): pattern file truncated/ });
  t.true(p.events.some((e) => e.node === 'b' && e.event === 'maintenance_apply_failed'));
  // Hanging: killed at the time limit (2 s here).
  const q = pair(t, { a: script(base, 'exit 0'), b: script(base, 'sleep 30') });
  writeFileSync(file, 'more patterns');
  const sent = (await q.nodes['a']!.control('send', { kind: 'update', path: file })) as { sha256: string };
  await t.throwsAsync(q.nodes['a']!.control('apply-peer', { kind: 'update', sha256: sent.sha256 }), {
    message: /did not finish within 2000 ms and was killed/,
  });
  // No command configured on a member.
  const r = pair(t, { a: script(base, 'exit 0') });
  writeFileSync(file, 'patterns again');
  const s2 = (await r.nodes['a']!.control('send', { kind: 'update', path: file })) as { sha256: string };
  await t.throwsAsync(r.nodes['a']!.control('apply-peer', { kind: 'update', sha256: s2.sha256 }), {
    message: /b\.json: maintenance\.updateCommand is not set on b/,
  });
  // Only the active member sends.
  r.roles['a'] = 'inactive';
  await t.throwsAsync(r.nodes['a']!.control('send', { kind: 'update', path: file }), {
    message: /this node is inactive: run tandem update on the active node/,
  });
});

test('an upgrade restarts the service of the member that applied it, after answering', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tdmmt-cmd-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const p = pair(t, { a: script(base, 'exit 0'), b: script(base, 'exit 0') });
  const file = join(p.dir, 'image');
  writeFileSync(file, randomBytes(1000));
  const { sha256 } = (await p.nodes['a']!.control('send', { kind: 'upgrade', path: file })) as { sha256: string };
  const answer = (await p.nodes['a']!.control('apply-peer', { kind: 'upgrade', sha256 })) as { restarting: boolean };
  t.true(answer.restarting);
  t.deepEqual(p.restarts, []);
  await new Promise((r) => setTimeout(r, 400));
  t.deepEqual(p.restarts, ['b: upgrade applied']);
});

test("on tandem's image an upgrade without upgradeCommand is a firmware bundle: installed by the firmware controller, the box rebooting instead of the service restarting", async (t) => {
  const installed: string[] = [];
  const p = pair(t, {}, (node) => ({
    appliance: () => true,
    confirmMs: 60_000,
    install: async (file, o) => {
      installed.push(`${node} ${readFileSync(file, 'utf8')} reboot=${o.reboot} via=${o.via}`);
      return { version: '0.2.1', slot: 'B', from: '0.2.0', reboot: o.reboot };
    },
  }));
  const check = (await p.nodes['a']!.control('check', { kind: 'upgrade' })) as { me: { command: string }; peer: { command: string } };
  t.is(check.me.command, FIRMWARE_COMMAND);
  t.is(check.peer.command, FIRMWARE_COMMAND);
  t.is(
    ((await p.nodes['a']!.control('check', { kind: 'update' })) as { me: { command: string | null } }).me.command,
    null,
    'an update still needs its command',
  );
  const file = join(p.dir, 'x.bundle');
  writeFileSync(file, 'bundle bytes');
  const { sha256 } = (await p.nodes['a']!.control('send', { kind: 'upgrade', path: file })) as { sha256: string };
  const answer = (await p.nodes['a']!.control('apply-peer', { kind: 'upgrade', sha256 })) as Record<string, unknown>;
  t.like(answer, { restarting: true, rebooting: true, backWithinMs: 180_000, output: 'firmware 0.2.1 written to slot B (running 0.2.0); rebooting into it' });
  t.deepEqual(installed, ['b bundle bytes reboot=true via=maintenance']);
  await new Promise((r) => setTimeout(r, 400));
  t.deepEqual(p.restarts, [], "no service restart: the reboot is the firmware controller's");
  // Not tandem's image: the node file's command is needed, as before.
  const q = pair(t, {}, () => ({ appliance: () => false, confirmMs: 60_000, install: async () => t.fail('never') as never }));
  await t.throwsAsync(q.nodes['a']!.control('apply-local', { kind: 'upgrade', sha256 }), { message: /maintenance\.upgradeCommand is not set on a/ });
});

test('maintenance commands in the node file: an absolute path, named when wrong', (t) => {
  t.throws(() => parseLocal({ ...BOARD_FILE, maintenance: { updateCommand: 'apply.sh' } }, 'node.json'), {
    message: /node\.json: maintenance\.updateCommand: expected an absolute path/,
  });
  t.throws(() => parseLocal({ ...BOARD_FILE, maintenance: { timeoutMs: 5 } }, 'node.json'), { message: /maintenance\.timeoutMs/ });
  t.deepEqual(parseLocal(BOARD_FILE, 'node.json').maintenance, { updateCommand: null, upgradeCommand: null, timeoutMs: 600_000, confirmMs: 600_000 });
});
