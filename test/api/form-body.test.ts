import test from 'ava';
import { parseMultipart, parseUrlEncoded } from '../../src/api/web/form-body.js';

test('URL-encoded fields: decoded, the first of a repeated name wins', (t) => {
  t.deepEqual(parseUrlEncoded('name=lab+c&node=fw-a&name=other&password=a%26b%3Dc'), { name: 'lab c', node: 'fw-a', password: 'a&b=c' });
});

test('multipart as a browser sends it: text fields and uploaded files by name; cut or unbounded forms are refused', (t) => {
  const b = '----WebKitFormBoundaryX3';
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const body = Buffer.from(
    `--${b}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\ntok\r\n` +
      `--${b}\r\nContent-Disposition: form-data; name="cert"; filename="c.pem"\r\nContent-Type: application/x-x509-ca-cert\r\n\r\n${pem}\r\n` +
      `--${b}\r\nContent-Disposition: form-data; name="key"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n` +
      `--${b}--\r\n`,
  );
  t.deepEqual(parseMultipart(body, b), { csrf: 'tok', cert: pem, key: '' });
  t.throws(() => parseMultipart(Buffer.from('no boundary here'), b), { message: /without its boundary/ });
  t.throws(() => parseMultipart(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="x"\r\n`), b), { message: /cut short/ });
});
