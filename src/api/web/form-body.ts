/**
 * DOC: a form post's body: URL-encoded fields, or multipart with an uploaded file (a certificate), bounded
 *
 * Each field once (the first wins); a file field's value is the file's text. Anything else, or a body larger than
 * the limit, is refused with a message naming what was wrong.
 */
import type { IncomingMessage } from 'node:http';

export type Form = Record<string, string>;

/** Big enough for a certificate chain and its key in PEM. */
export const MAX_BODY = 256 * 1024;

export function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error(`the form is larger than ${limit / 1024} KiB`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function readForm(req: IncomingMessage): Promise<Form> {
  const type = String(req.headers['content-type'] ?? '');
  const body = await readBody(req);
  if (/^application\/x-www-form-urlencoded\b/i.test(type)) return parseUrlEncoded(body.toString('utf8'));
  const boundary = /^multipart\/form-data;.*\bboundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
  if (boundary) return parseMultipart(body, boundary[1] ?? boundary[2]!);
  throw new Error(`a form is sent as application/x-www-form-urlencoded or multipart/form-data, not "${type || 'nothing'}"`);
}

export function parseUrlEncoded(text: string): Form {
  const out: Form = {};
  for (const [k, v] of new URLSearchParams(text)) if (!(k in out)) out[k] = v;
  return out;
}

/** RFC 7578, as browsers send it: parts separated by --boundary, each with a Content-Disposition name. */
export function parseMultipart(body: Buffer, boundary: string): Form {
  const out: Form = {};
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  if (at < 0) throw new Error('a multipart form without its boundary');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') break;
    const headEnd = body.indexOf('\r\n\r\n', at);
    const next = body.indexOf(delimiter, at);
    if (headEnd < 0 || next < 0 || headEnd > next) throw new Error('a multipart form part is cut short');
    const head = body.subarray(at, headEnd).toString('utf8');
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(head)?.[1];
    // The part's content ends with the CRLF before the next delimiter.
    const value = body.subarray(headEnd + 4, next - 2).toString('utf8');
    if (name !== undefined && !(name in out)) out[name] = value;
    at = next;
  }
  return out;
}
