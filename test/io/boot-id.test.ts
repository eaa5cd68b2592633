import test from 'ava';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nextBootId } from '../../src/io/boot-id.js';

test("a static node's state directory is created for root alone (0700), and boot IDs only grow", (t) => {
  const stateDir = join(mkdtempSync(join(tmpdir(), 'tandem-bootid-')), 'var', 'lib', 'tandem');
  const first = nextBootId(stateDir, 1_000_000);
  t.is(statSync(stateDir).mode & 0o777, 0o700);
  t.is(nextBootId(stateDir, 500_000), first + 1n, 'a clock set back still gives a newer ID');
  t.true(nextBootId(stateDir, 9_000_000) > first + 1n);
});
