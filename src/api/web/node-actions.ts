/**
 * DOC: the web console's pages about this node: role changes with `tandem why`'s explanation, the heartbeat matrix,
 * the HTTPS certificate (show, install from an upload, generate) and the metrics token (new, revoke)
 *
 * Each reads and changes through the daemon's dispatcher as `tandem why|https|metrics-token` do.
 */
import { button, esc, form, page } from './html.js';
import type { Answer, Ctx, Handler } from './web-console.js';

function matrix(c: Ctx): Answer {
  const rows = c.backend
    .statusDoc()
    .matrix.map(
      (r) =>
        `<tr data-iface="${esc(r.iface)}"><td>${esc(r.iface)}${r.sync ? ' (sync)' : ''}</td><td class="sent">${r.sent}</td><td class="accepted">${r.accepted}</td><td>${r.superseded}</td><td>${
          r.kernelDrops + (r.ringDrops ?? 0)
        }</td><td class="rejected">${esc(
          Object.entries(r.rejected)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || '0',
        )}</td><td class="last">${r.lastSeenAgoMs === null ? 'never' : `${Math.round(r.lastSeenAgoMs)} ms ago`}</td></tr>`,
    )
    .join('\n');
  return {
    html: page(
      c.frame('heartbeats'),
      'Heartbeats',
      `<p>Per interface, since tandemd started: heartbeats this node sent, and the peer's it accepted, skipped (a newer one came in the same read), lost before they were read, and refused by reason.</p>
<table id="matrix"><tr><th>interface</th><th>sent</th><th>accepted</th><th>superseded</th><th>dropped</th><th>rejected</th><th>peer last heard</th></tr>
${rows || '<tr><td colspan="7">no heartbeat interface (standalone)</td></tr>'}
</table>`,
    ),
  };
}

async function changes(c: Ctx): Promise<Answer> {
  const told = await c.backend.explanations();
  const items = told
    .map(
      (x) =>
        `<li><p class="headline"><b>${esc(x.headline)}</b></p><p class="explanation">${esc(x.text)}</p>${x.after.length ? `<p>Then: ${esc(x.after.join('; '))}.</p>` : ''}</li>`,
    )
    .join('\n');
  return {
    html: page(
      c.frame('changes'),
      'Role changes',
      `<p>The last role changes of this node, newest first, each with what it saw (<code>tandem why --list</code>).</p>
<ol id="changes">${items || '<li>no role change recorded yet</li>'}</ol>`,
    ),
  };
}

async function certificate(c: Ctx, errors: Record<string, string> = {}): Promise<Answer> {
  let info: Record<string, unknown>;
  try {
    info = (await c.backend.request({ cmd: 'https', op: 'show' }, c.asker)) as Record<string, unknown>;
  } catch (e) {
    return { html: page(c.frame('certificate'), 'Certificate', `<p class="error" id="error-form">${esc((e as Error).message.replace(/^tandemd: /, ''))}</p>`) };
  }
  const rows = ['origin', 'subject', 'issuer', 'names', 'validFrom', 'validTo', 'fingerprint', 'spkiPin']
    .filter((k) => info[k] !== undefined)
    .map((k) => `<tr><th>${k}</th><td id="cert-${k}">${esc(info[k])}</td></tr>`)
    .join('\n');
  return {
    status: Object.keys(errors).length ? 400 : 200,
    html: page(
      c.frame('certificate'),
      'Certificate',
      `<p>What the management server presents (<code>tandem https</code>). A browser that pinned it must take the new fingerprint after a change.</p>
<table id="certificate">${rows}</table>
<h2>Install a certificate</h2>
${form(
  '/certificate/install',
  c.session.csrf,
  [
    { name: 'cert', label: 'Certificate (PEM, chain after it)', type: 'file', required: true },
    { name: 'key', label: 'Its private key (PEM, unencrypted)', type: 'file', required: true },
    { name: 'force', label: "Even if it does not name this node's addresses", type: 'checkbox', hint: 'for a name tandem cannot know' },
  ],
  'Install',
  { errors, multipart: true, id: 'install' },
)}
<h2>Generate a new self-signed certificate</h2>
${button('/certificate/generate', c.session.csrf, 'Generate', {})}`,
    ),
  };
}

async function httpsChange(c: Ctx, op: 'generate' | 'install'): Promise<Answer> {
  const args =
    op === 'install'
      ? {
          certPem: c.form['cert'] ?? '',
          keyPem: c.form['key'] ?? '',
          certPath: 'the uploaded certificate',
          keyPath: 'the uploaded key',
          force: c.form['force'] === 'yes',
        }
      : undefined;
  try {
    const r = (await c.backend.request({ cmd: 'https', op, ...(args ? { args } : {}) }, c.asker)) as Record<string, unknown>;
    c.flash(`certificate ${op === 'install' ? 'installed' : 'generated'}: fingerprint ${String(r['fingerprint'])}; new connections get it`);
    return { redirect: '/certificate' };
  } catch (e) {
    const msg = (e as Error).message.replace(/^tandemd: /, '');
    return certificate(c, msg.startsWith('the uploaded key') ? { key: msg } : msg.startsWith('the uploaded certificate') ? { cert: msg } : { '': msg });
  }
}

async function token(c: Ctx): Promise<Answer> {
  const r = (await c.backend.request({ cmd: 'metrics-token', op: 'show' }, c.asker)) as { set: boolean };
  return {
    html: page(
      c.frame('metrics-token'),
      'Metrics token',
      `<p id="token-state">${r.set ? 'A metrics token is set (its value is not kept).' : 'No metrics token: /metrics takes the admin password only.'}</p>
<p>A Prometheus scraper presents the token as <code>Authorization: Bearer TOKEN</code>; it opens /metrics and nothing else.</p>
${button('/metrics-token/new', c.session.csrf, r.set ? 'New token (the current one stops working)' : 'New token', {})}
${r.set ? button('/metrics-token/revoke', c.session.csrf, 'Revoke', {}) : ''}`,
    ),
  };
}

async function tokenChange(c: Ctx, op: 'new' | 'revoke'): Promise<Answer> {
  const r = (await c.backend.request({ cmd: 'metrics-token', op }, c.asker)) as { token?: string; revoked?: boolean };
  if (op === 'revoke') {
    c.flash(r.revoked ? 'metrics token revoked: /metrics takes the admin password only' : 'no metrics token was set');
    return { redirect: '/metrics-token' };
  }
  // Shown once, on this answer only (not kept, not in a redirect's flash that a reload would lose).
  return {
    html: page(
      c.frame('metrics-token'),
      'Metrics token',
      `<p>The new token; it is shown this once (only its hash is kept). The previous one no longer works.</p>
<p><code id="token">${esc(r.token)}</code></p><p><a href="/metrics-token">Done</a></p>`,
    ),
  };
}

export function nodeRoutes(): { get: Record<string, Handler>; post: Record<string, Handler> } {
  return {
    get: { '/heartbeats': matrix, '/changes': changes, '/certificate': (c) => certificate(c), '/metrics-token': token },
    post: {
      '/certificate/generate': (c) => httpsChange(c, 'generate'),
      '/certificate/install': (c) => httpsChange(c, 'install'),
      '/metrics-token/new': (c) => tokenChange(c, 'new'),
      '/metrics-token/revoke': (c) => tokenChange(c, 'revoke'),
    },
  };
}
