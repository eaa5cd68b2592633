import test from 'ava';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminPassword, setAdminPassword } from '../../src/cluster/admin-password.js';

test('the administrator password: checked against its scrypt; no password, right or wrong, kept in clear after the check', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-admin-'));
  await setAdminPassword(dir, 'correct horse');
  t.is(statSync(join(dir, 'admin.json')).mode & 0o777, 0o600);
  const admin = new AdminPassword(dir);
  t.true(await admin.check('correct horse'));
  t.true(await admin.check('correct horse'), 'again, from the cache');
  t.false(await admin.check('wrong horse'));
  t.false(await admin.check('wrong horse'));
  // What the checker keeps between requests: nothing that reads as either password.
  const kept = JSON.stringify(Object.entries(admin).map(([k, v]) => [k, v instanceof Set ? [...v] : v]));
  t.false(kept.includes('correct horse'), kept);
  t.false(kept.includes('wrong horse'), kept);
});
