import test from 'ava';
import { ABSOLUTE_MS, IDLE_MS, MAX_SESSIONS, WebSessions, type SessionRecord } from '../../src/api/web/sessions.js';

function clocked() {
  const c = { now: 1_000_000 };
  const saved: SessionRecord[][] = [];
  const s = new WebSessions(
    () => c.now,
    (r) => saved.push(r),
  );
  return { c, s, saved };
}

test('a login makes a session its secret opens; the secret is kept only as its hash; the CSRF token is the session’s own', (t) => {
  const { s, saved } = clocked();
  const a = s.create('198.18.2.50');
  const b = s.create('198.18.2.51');
  t.regex(a.secret, /^[A-Za-z0-9_-]{43}$/, '256 bits');
  const used = s.use(a.secret);
  if (!('session' in used)) return t.fail('the session was not found');
  t.is(used.session.handle, a.session.handle);
  t.is(used.session.csrf, a.session.csrf, 'the token is derived, the same on every request');
  t.true(s.csrfMatches(used.session, a.session.csrf));
  t.false(s.csrfMatches(used.session, b.session.csrf), "another session's token is refused");
  t.false(s.csrfMatches(used.session, ''), 'an empty token is refused');
  t.false(JSON.stringify(saved).includes(a.secret), 'the secret is never persisted');
  t.false(JSON.stringify(saved).includes(a.session.csrf), 'nor the CSRF token');
  t.deepEqual(s.use('not a session'), { ended: 'unknown' });
});

test('a session ends after 15 minutes idle, after 8 hours whatever its use, at logout, and all at once when the password changes', (t) => {
  const { c, s } = clocked();
  const idle = s.create('a');
  c.now += IDLE_MS - 1;
  t.true('session' in s.use(idle.secret), 'used just before the idle limit');
  c.now += IDLE_MS - 1;
  t.true('session' in s.use(idle.secret), 'each use restarts the idle clock');
  c.now += IDLE_MS;
  t.deepEqual(s.use(idle.secret), { ended: 'idle' });
  t.deepEqual(s.use(idle.secret), { ended: 'unknown' }, 'and it is gone');

  const busy = s.create('a');
  const start = c.now;
  while (c.now - start + 10 * 60_000 < ABSOLUTE_MS) {
    c.now += 10 * 60_000;
    t.true('session' in s.use(busy.secret));
  }
  c.now = start + ABSOLUTE_MS;
  t.deepEqual(s.use(busy.secret), { ended: 'absolute' }, 'in use all along, it ends at 8 hours');

  const out = s.create('a');
  const o = s.use(out.secret);
  if (!('session' in o)) return t.fail();
  s.end(o.session);
  t.deepEqual(s.use(out.secret), { ended: 'unknown' });

  const x = s.create('a');
  const y = s.create('b');
  t.is(s.endAll(), 2);
  t.deepEqual(s.use(x.secret), { ended: 'unknown' });
  t.deepEqual(s.use(y.secret), { ended: 'unknown' });
});

test('at most 16 sessions: the oldest goes first; saved sessions come back after a restart, expired ones do not', (t) => {
  const { c, s, saved } = clocked();
  const all = Array.from({ length: MAX_SESSIONS + 1 }, (_, i) => s.create(`198.18.2.${i}`));
  t.is(s.count, MAX_SESSIONS);
  t.deepEqual(s.use(all[0]!.secret), { ended: 'unknown' }, 'the oldest was ended');
  t.true('session' in s.use(all[1]!.secret));
  const restarted = new WebSessions(
    () => c.now,
    () => undefined,
    saved.at(-1)!,
  );
  t.true('session' in restarted.use(all[5]!.secret), 'a worker restart keeps the administrator logged in');
  c.now += IDLE_MS;
  const later = new WebSessions(
    () => c.now,
    () => undefined,
    saved.at(-1)!,
  );
  t.is(later.count, 0, 'sessions expired while the worker was down are not restored');
});
