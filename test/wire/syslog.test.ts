import test from 'ava';
import { escapeParam, formatRfc5424, octetCounted, type SyslogMessage } from '../../src/wire/syslog.js';

const base: SyslogMessage = {
  facility: 16,
  severity: 4,
  timestamp: '2026-11-22T07:30:00.123Z',
  hostname: 'fw-a',
  appName: 'tandemd',
  procId: '1234',
  msgId: 'peer_gone',
  data: { 'tandem@32473': { id: '411', cluster: 'labc' } },
  msg: 'the peer was declared dead',
};

test('RFC 5424: PRI, version, header fields, structured data, message', (t) => {
  t.is(formatRfc5424(base), '<132>1 2026-11-22T07:30:00.123Z fw-a tandemd 1234 peer_gone [tandem@32473 id="411" cluster="labc"] the peer was declared dead');
  t.is(formatRfc5424({ ...base, data: {}, msg: '' }), '<132>1 2026-11-22T07:30:00.123Z fw-a tandemd 1234 peer_gone -');
  t.is(
    formatRfc5424({ ...base, hostname: '', procId: 'a b' })
      .split(' ')
      .slice(2, 5)
      .join(' '),
    '- tandemd a_b',
    'nil and no spaces in header fields',
  );
  t.throws(() => formatRfc5424({ ...base, severity: 8 }), { message: /severity 8: 0\.\.7/ });
});

test('SD-PARAM values escape quote, backslash and bracket', (t) => {
  t.is(escapeParam('a"b\\c]d'), 'a\\"b\\\\c\\]d');
  t.regex(formatRfc5424({ ...base, data: { 'tandem@32473': { why: 'x"]' } } }), /\[tandem@32473 why="x\\"\\\]"\]/);
});

test('RFC 6587 octet counting: the length in bytes of the UTF-8 message', (t) => {
  t.is(Buffer.from(octetCounted('héllo')).toString(), '6 héllo');
  t.is(Buffer.from(octetCounted('')).toString(), '0 ');
});
