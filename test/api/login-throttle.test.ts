import test from 'ava';
import { BASE_MS, FORGET_MS, FREE_FAILURES, LoginThrottle, MAX_MS } from '../../src/api/login-throttle.js';

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
