/**
 * DOC: the web console's HTML: the frame every page shares, forms with their errors, and the two static files
 *
 * Server-rendered, working without JavaScript: every action is a form that posts with the session's CSRF token,
 * every error stands beside the field it is about. The style sheet and the one script (it refreshes the status
 * table) are files of their own, so the Content-Security-Policy needs no inline script or style. Pure.
 */

export const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** What every page of a logged-in administrator shows around its content. */
export interface Frame {
  node: string;
  role: string;
  /** The cluster's name, or null (standalone). */
  cluster: string | null;
  csrf: string;
  /** The section of the navigation shown as current. */
  section: Section;
  /** A message of the last change (shown once), and whether it is an error. */
  flash?: { text: string; error?: boolean } | undefined;
  /** Seconds after which the page reloads (a restart in progress), via <meta refresh>: no script needed. */
  reloadAfterS?: number;
}

export type Section = 'cluster' | 'changes' | 'events' | 'heartbeats' | 'certificate' | 'metrics-token';

const NAV: [Section, string, string][] = [
  ['cluster', '/cluster', 'Clustering'],
  ['changes', '/changes', 'Role changes'],
  ['events', '/events', 'Events'],
  ['heartbeats', '/heartbeats', 'Heartbeats'],
  ['certificate', '/certificate', 'Certificate'],
  ['metrics-token', '/metrics-token', 'Metrics token'],
];

export function page(f: Frame, title: string, body: string, opts: { script?: boolean } = {}): string {
  const nav = NAV.map(([s, href, label]) => `<a href="${href}"${s === f.section ? ' class="current" aria-current="page"' : ''}>${label}</a>`).join('\n');
  const flash = f.flash ? `<p id="flash" class="${f.flash.error ? 'error' : 'done'}" role="status">${esc(f.flash.text)}</p>` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">${f.reloadAfterS ? `<meta http-equiv="refresh" content="${f.reloadAfterS}">` : ''}
<title>${esc(title)}: ${esc(f.node)}</title><link rel="stylesheet" href="/static/console.css">${opts.script ? '<script src="/static/refresh.js" defer></script>' : ''}</head>
<body><header><span class="node">${
    f.cluster
      ? `${esc(f.node)}: <b id="role">${esc(f.role)}</b> in cluster <b id="cluster-name">${esc(f.cluster)}</b>`
      : 'this node: <b id="role">standalone</b>, in no cluster'
  }</span>
<form method="post" action="/logout" class="logout">${csrfField(f.csrf)}<button type="submit">Log out</button></form>
<nav>${nav}</nav></header>
<main><h1>${esc(title)}</h1>${flash}
${body}
</main></body></html>
`;
}

export const csrfField = (token: string) => `<input type="hidden" name="csrf" value="${esc(token)}">`;

/** Tabs inside a section (Create | Join, Status | Properties). */
export function tabs(current: string, list: [string, string][]): string {
  return `<p class="tabs">${list.map(([href, label]) => `<a href="${href}"${href === current ? ' class="current" aria-current="page"' : ''}>${label}</a>`).join(' ')}</p>`;
}

export interface Field {
  name: string;
  label: string;
  type?: 'text' | 'password' | 'select' | 'checkbox' | 'textarea' | 'file';
  value?: string;
  options?: readonly string[];
  hint?: string;
  required?: boolean;
}

/** One field, its label, its hint, and its error beside it (id error-NAME). */
export function field(f: Field, errors: Record<string, string>): string {
  const id = `f-${f.name}`;
  const err = errors[f.name];
  const attrs = `id="${id}" name="${esc(f.name)}"${f.required ? ' required' : ''}${err ? ` aria-invalid="true" aria-describedby="error-${esc(f.name)}"` : ''}`;
  const input =
    f.type === 'select'
      ? `<select ${attrs}>${(f.options ?? []).map((o) => `<option${o === f.value ? ' selected' : ''}>${esc(o)}</option>`).join('')}</select>`
      : f.type === 'textarea'
        ? `<textarea ${attrs} rows="8" cols="66">${esc(f.value ?? '')}</textarea>`
        : f.type === 'checkbox'
          ? `<input type="checkbox" ${attrs} value="yes"${f.value === 'yes' ? ' checked' : ''}>`
          : `<input type="${f.type ?? 'text'}" ${attrs}${f.type === 'password' || f.type === 'file' ? '' : ` value="${esc(f.value ?? '')}"`}${f.type === 'password' ? ' autocomplete="off"' : ''}>`;
  return `<p class="field"><label for="${id}">${esc(f.label)}</label> ${input}${f.hint ? ` <span class="hint">${esc(f.hint)}</span>` : ''}${
    err ? ` <span class="error" id="error-${esc(f.name)}">${esc(err)}</span>` : ''
  }</p>`;
}

/** A form posting to `action` with the CSRF token; `error`: one not about any field, shown above. */
export function form(
  action: string,
  csrf: string,
  fields: Field[],
  submit: string,
  o: { errors?: Record<string, string>; hidden?: Record<string, string>; id?: string; multipart?: boolean } = {},
): string {
  const errors = o.errors ?? {};
  const hidden = Object.entries(o.hidden ?? {})
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('');
  const general = errors[''] ? `<p class="error" id="error-form">${esc(errors[''])}</p>` : '';
  return `<form method="post" action="${esc(action)}"${o.id ? ` id="${esc(o.id)}"` : ''}${o.multipart ? ' enctype="multipart/form-data"' : ''}>${general}${csrfField(csrf)}${hidden}
${fields.map((f) => field(f, errors)).join('\n')}
<p><button type="submit">${esc(submit)}</button></p></form>`;
}

/** A one-button form (enable, drain ...), inline in a table. */
export function button(action: string, csrf: string, label: string, hidden: Record<string, string>): string {
  return `<form method="post" action="${esc(action)}" class="inline">${csrfField(csrf)}${Object.entries(hidden)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('')}<button type="submit">${esc(label)}</button></form>`;
}

export function loginPage(o: { error?: string; notice?: string; noPassword?: boolean; plainHttp?: boolean }): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tandem: log in</title><link rel="stylesheet" href="/static/console.css"></head>
<body><main class="login"><h1>tandem web console</h1>
${o.notice ? `<p id="notice" class="done">${esc(o.notice)}</p>` : ''}${
    o.noPassword
      ? '<p class="error" id="error-form">No administrator password is set: run "tandem admin-password" on the node (or set it on its serial console).</p>'
      : `${o.plainHttp ? '<p class="error">This server runs plain HTTP (management.protocol "http"): the password crosses the network in clear.</p>' : ''}
<form method="post" action="/login">${o.error ? `<p class="error" id="error-form">${esc(o.error)}</p>` : ''}
<p class="field"><label for="f-user">User</label> <input id="f-user" name="user" value="admin" autocomplete="username"></p>
<p class="field"><label for="f-password">Password</label> <input id="f-password" type="password" name="password" autocomplete="current-password" required autofocus></p>
<p><button type="submit">Log in</button></p></form>`
  }</main></body></html>
`;
}

export const CONSOLE_CSS = `body{font-family:sans-serif;margin:0;color:#222}
header{background:#234;color:#fff;padding:.5em 1em}header a{color:#cde;margin-right:1em}header a.current{color:#fff;font-weight:bold}
header .logout{float:right;margin:0}main{margin:1em 1.5em}main.login{max-width:30em}
table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #999;padding:.2em .6em;text-align:left;vertical-align:top}
.tabs a{margin-right:1em;padding:.2em .6em;border:1px solid #999;text-decoration:none}.tabs a.current{background:#234;color:#fff}
.field label{display:inline-block;min-width:14em}.hint{color:#666;font-size:90%}.error{color:#a00}.done{color:#060}
.warning{border:2px solid #a60;padding:.5em 1em;background:#fff6e6;max-width:50em}form.inline{display:inline;margin-right:.3em}
.ok{color:#060}.bad{color:#a00}
`;

/** The one script: the members table and the role refresh every 2 s from /status.json (the page works without it). */
export const REFRESH_JS = `'use strict';
setInterval(async () => {
  try {
    const r = await fetch('/status.json', { credentials: 'same-origin', cache: 'no-store' });
    if (!r.ok) return;
    const d = await r.json();
    const role = document.getElementById('role');
    if (role) role.textContent = d.node.role;
    for (const m of (d.cluster && d.cluster.members) || []) {
      const row = document.querySelector('tr[data-member="' + CSS.escape(m.name) + '"]');
      if (!row) continue;
      const set = (cls, text) => { const c = row.querySelector('td.' + cls); if (c) c.textContent = text; };
      set('role', m.role);
      set('state', (m.enabled ? (m.draining ? 'draining' : 'enabled') : 'disabled') + (m.leader ? ', leader' : ''));
      set('bits', m.hex);
      set('words', m.words.join(', '));
      set('unreachable', m.unreachable || '');
    }
  } catch (e) {
    // the node restarts its service: the next round finds it again
  }
}, 2000);
`;
