import test from 'ava';
import { createHmac, randomBytes } from 'node:crypto';
import { heartbeatKey, hmacAuth, hmacSha256 } from '../../src/io/heartbeat-auth.js';

test('the one-shot HMAC equals createHmac for every length up to its maximum, and beyond', (t) => {
  const key = randomBytes(32);
  const sign = hmacSha256(key, 128);
  for (let len = 0; len <= 200; len += 7) {
    const data = randomBytes(len);
    t.deepEqual(sign(data), createHmac('sha256', key).update(data).digest(), `length ${len}`);
  }
});

test('RFC 4231 test case 2 (short key "Jefe")', (t) => {
  const sign = hmacSha256(Buffer.from('Jefe'), 64);
  t.is(sign(Buffer.from('what do ya want for nothing?')).toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});

test('the heartbeat key is HKDF of the password per cluster ID, and the tag a 32-byte HMAC', (t) => {
  t.is(heartbeatKey('pw', 1).length, 32);
  t.notDeepEqual(heartbeatKey('pw', 1), heartbeatKey('pw', 2));
  t.is(hmacAuth('pw', 1).sign(new Uint8Array(72)).length, 32);
});
