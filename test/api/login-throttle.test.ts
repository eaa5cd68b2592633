import test from 'ava';
import { BASE_MS, FORGET_MS, FREE_FAILURES, LoginThrottle, MAX_MS, type ThrottleTable } from '../../src/api/login-throttle.js';

function clock() {
  const c = { now: 0 };
  return { c, throttle: new LoginThrottle(() => c.now) };
}

test('a few wrong passwords are free; then each locks the address out twice as long as the last, up to a minute', (t) => {
  const { c, throttle } = clock();
  for (let i = 0; i < FREE_FAILURES; i++) t.is(throttle.failed('198.18.2.50'), null);
  t.is(throttle.waitMs('198.18.2.50'), 0);
  const locks: number[] = [];
  for (let i = 0; i < 10; i++) {
    const l = throttle.failed('198.18.2.50')!;
    locks.push(l.lockedForMs);
    t.is(throttle.waitMs('198.18.2.50'), l.lockedForMs);
    c.now += l.lockedForMs;
  }
  t.deepEqual(locks, [BASE_MS, 2000, 4000, 8000, 16_000, 32_000, MAX_MS, MAX_MS, MAX_MS, MAX_MS]);
});

test('another address is not slowed; a right password clears the address; a quiet one is forgotten', (t) => {
  const { c, throttle } = clock();
  for (let i = 0; i <= FREE_FAILURES; i++) throttle.failed('198.18.2.50');
  t.true(throttle.waitMs('198.18.2.50') > 0);
  t.is(throttle.waitMs('198.18.2.51'), 0, 'the administrator elsewhere logs in at once');
  throttle.succeeded('198.18.2.50');
  t.is(throttle.waitMs('198.18.2.50'), 0);
  for (let i = 0; i < FREE_FAILURES; i++) throttle.failed('198.18.2.52');
  c.now += FORGET_MS + 1;
  t.is(throttle.failed('198.18.2.52'), null, 'five wrong ones a quarter of an hour ago count no more');
});

test('the table is handed over on every change and a new throttle starts from it: a lock-out outlives a worker restart; old entries are forgotten', (t) => {
  const c = { now: 1_000_000 };
  const saved: ThrottleTable[] = [];
  const first = new LoginThrottle(
    () => c.now,
    (x) => saved.push(x),
  );
  for (let i = 0; i <= FREE_FAILURES; i++) first.failed('198.18.2.50');
  t.is(first.waitMs('198.18.2.50'), BASE_MS);
  const restarted = new LoginThrottle(
    () => c.now,
    () => undefined,
    saved.at(-1)!,
  );
  t.is(restarted.waitMs('198.18.2.50'), BASE_MS, 'still locked out after the restart');
  t.deepEqual(restarted.failed('198.18.2.50'), { failures: FREE_FAILURES + 2, lockedForMs: 2 * BASE_MS }, 'and the count goes on');
  first.succeeded('198.18.2.50');
  t.deepEqual(saved.at(-1), {}, 'a right password clears it in the saved table too');
  c.now += FORGET_MS + 1;
  const much = new LoginThrottle(
    () => c.now,
    () => undefined,
    { '198.18.2.9': { failures: 9, lockedUntil: c.now + 5000, lastAt: c.now - FORGET_MS - 1 } },
  );
  t.is(much.waitMs('198.18.2.9'), 0, 'an entry quiet for longer than the forget time is not restored');
});
