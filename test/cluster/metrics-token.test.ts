import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsToken, newMetricsToken, revokeMetricsToken } from '../../src/cluster/metrics-token.js';

test('a new token works, is kept only as its hash (0600), replaces the previous one, and can be revoked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdm-token-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const check = () => new MetricsToken(dir); // a fresh reader: the daemon re-reads at most once a second
  t.false(check().set);
  t.false(check().check(''), 'no token: nothing is right');
  const first = await newMetricsToken(dir);
  t.regex(first, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
  const file = join(dir, 'metrics-token.json');
  t.false(readFileSync(file, 'utf8').includes(first));
  t.is(statSync(file).mode & 0o777, 0o600);
  t.true(check().check(first));
  t.false(check().check(first.slice(0, -1)));
  t.false(check().check(first + 'x'), 'a longer string is not the token');
  const second = await newMetricsToken(dir);
  t.false(check().check(first), 'the old one is revoked');
  t.true(check().check(second));
  t.true(revokeMetricsToken(dir));
  t.false(check().check(second));
  t.false(revokeMetricsToken(dir), 'nothing to revoke twice');
});
