/**
 * DOC: what the Clustering pages do: each form to the daemon's `cluster` operation the CLI sends, and its answer
 *
 * A change that overwrites or stops something (join, disable, leave, restart) first shows its warning with a
 * button that confirms. A refused change comes back as the form with the daemon's message beside the field it
 * names (or above the form). A change after which the service restarts (create, join, add-member, leave,
 * restart) answers a page that reloads itself once the node is back; the others redirect with a message.
 */
import { disableWarning, joinWarning, LEAVE_WARNING, RESTART_CLUSTER_WARNING, RESTART_MEMBER_WARNING, type JoinPreview } from '../cluster-warnings.js';
import { confirmPage, createPage, joinConfirmPage, joinPage, propertiesPage, statusPage, type Definition, type Errors } from './cluster-pages.js';
import { page } from './html.js';
import type { Answer, Ctx, Handler } from './web-console.js';

/** Which field a daemon message is about (the rest goes above the form). */
type FieldRules = [RegExp, string][];

export function errorsFor(message: string, rules: FieldRules): Errors {
  const text = message.replace(/^tandemd: /, '');
  const missing = /^(?:[a-z-]+: )?missing (\w+)/.exec(text);
  if (missing) return { [missing[1]!]: text };
  for (const [re, name] of rules) if (re.test(text)) return { [name]: text };
  return { '': text };
}

const CREATE_FIELDS: FieldRules = [
  [/^cluster name/, 'name'],
  [/^node name/, 'node'],
  [/^mode|--mode|active\/active/, 'mode'],
  [/^engine/, 'engine'],
];
const JOIN_FIELDS: FieldRules = [
  [/wrong_password/, 'password'],
  [/--member|^member|expected an IPv4 address/, 'member'],
  [/cluster_mismatch/, 'cluster'],
];
const ADD_FIELDS: FieldRules = [
  [/^member name|already has a member named/, 'name'],
  [/address/, 'address'],
];

const cluster = (c: Ctx, op: string, args: Record<string, unknown> = {}) => c.backend.request({ cmd: 'cluster', op, args }, c.asker);

/** The node restarts its service: the page says so and reloads itself (no script: <meta refresh>). */
function restarting(c: Ctx, text: string, to = '/cluster'): Answer {
  return {
    html: page(
      c.frame('cluster', { reloadAfterS: 5, flash: { text } }),
      'Clustering',
      `<p>The service restarts; this page reloads in 5 s. <a href="${to}">Go on now</a></p>`,
    ),
  };
}

function enabledMember(c: Ctx): boolean {
  const d = c.backend.statusDoc();
  const me = d.cluster?.members.find((m) => m.self);
  return !!d.cluster && d.cluster.members.length > 1 && !!me?.enabled;
}

async function create(c: Ctx): Promise<Answer> {
  const v = c.form;
  if (v['password'] !== v['password2'])
    return { status: 400, html: createPage(c.frame('cluster'), v, { password2: 'the two cluster passwords differ: nothing was changed' }) };
  const args = { name: v['name'] ?? '', node: v['node'] ?? '', password: v['password'] ?? '', mode: v['mode'] || undefined, engine: v['engine'] || undefined };
  try {
    const r = (await cluster(c, 'create', args)) as Record<string, unknown>;
    return restarting(
      c,
      `cluster ${String(r['created'])} created (ID ${String(r['clusterId'])}), this node is member ${String(r['member'])}; the service restarts as a member. Next: add each other member on the Status tab, then join from it.`,
    );
  } catch (e) {
    return { status: 400, html: createPage(c.frame('cluster'), v, errorsFor((e as Error).message, CREATE_FIELDS)) };
  }
}

async function join(c: Ctx): Promise<Answer> {
  const v = c.form;
  const member = (v['member'] ?? '').trim();
  if (!member) return { status: 400, html: joinPage(c.frame('cluster'), v, { member: "cluster join needs an existing member's sync address" }) };
  let preview: JoinPreview;
  try {
    preview = (await cluster(c, 'join-preview')) as JoinPreview;
  } catch (e) {
    return { status: 400, html: joinPage(c.frame('cluster'), v, errorsFor((e as Error).message, JOIN_FIELDS)) };
  }
  const warning = joinWarning(member, preview);
  if (v['confirm'] !== 'yes') return { html: joinConfirmPage(c.frame('cluster'), v, warning) };
  try {
    const r = (await cluster(c, 'join', { member, password: v['password'] ?? '', ...(v['cluster'] ? { cluster: v['cluster'] } : {}) })) as Record<
      string,
      unknown
    >;
    return restarting(
      c,
      `joined cluster ${String(r['joined'])} as ${String(r['as'])} (members: ${(r['members'] as string[]).join(', ')}); the service restarts as a member`,
    );
  } catch (e) {
    const errors = errorsFor((e as Error).message, JOIN_FIELDS);
    if (errors['member'] || errors['cluster']) return { status: 400, html: joinPage(c.frame('cluster'), v, errors) };
    return { status: 400, html: joinConfirmPage(c.frame('cluster'), v, warning, errors) };
  }
}

async function addMember(c: Ctx): Promise<Answer> {
  const v = c.form;
  try {
    const r = (await cluster(c, 'add-member', { name: v['name'] ?? '', address: v['address'] ?? '' })) as Record<string, unknown>;
    const text = `${String(r['added'])} added (members: ${(r['members'] as string[]).join(', ')}); it stays unreachable until it joins. Next, ${String(r['next'])}`;
    if (r['restarting'] === true) return restarting(c, `${text}. This node's cluster service restarts to reach the new member.`);
    c.flash(text);
    return { redirect: '/cluster' };
  } catch (e) {
    return { status: 400, html: statusPage(c.frame('cluster'), c.backend.statusDoc(), v, errorsFor((e as Error).message, ADD_FIELDS)) };
  }
}

/** enable, disable, drain, undrain, remove-member: a button on a member's row; disable asks first. */
function memberOp(op: 'enable' | 'disable' | 'drain' | 'undrain' | 'remove-member'): Handler {
  return async (c) => {
    const key = op === 'remove-member' ? 'name' : 'node';
    const name = c.form[key] ?? '';
    if (op === 'disable' && c.form['confirm'] !== 'yes')
      return { html: confirmPage(c.frame('cluster'), `Disable ${name}`, disableWarning(name), '/cluster/disable', { node: name }, `Disable ${name}`) };
    try {
      const r = (await cluster(c, op, { [key]: name })) as Record<string, unknown>;
      await shown(c, name, op);
      const notTold = (r['notTold'] as string[] | undefined) ?? [];
      c.flash(
        `${name}: ${op === 'undrain' ? 'drain ended' : op === 'remove-member' ? 'removed from the cluster' : `${op}d`}${notTold.length ? ` (not told yet: ${notTold.join('; ')})` : ''}`,
      );
    } catch (e) {
      c.flash((e as Error).message.replace(/^tandemd: /, ''), true);
    }
    return { redirect: '/cluster' };
  };
}

/**
 * The member's own heartbeats say when it applied a change (its status bits): the page after the change waits for
 * that, a few seconds at most, so that it shows the new state and the buttons that go with it.
 */
async function shown(c: Ctx, name: string, op: string): Promise<void> {
  const done = () => {
    const m = c.backend.statusDoc().cluster?.members.find((x) => x.name === name);
    if (op === 'remove-member') return !m;
    if (!m) return true;
    return op === 'enable' ? m.enabled : op === 'disable' ? !m.enabled : op === 'drain' ? m.draining : !m.draining;
  };
  for (const deadline = Date.now() + SHOWN_WITHIN_MS; !done() && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
}

const SHOWN_WITHIN_MS = 3000;

async function leave(c: Ctx): Promise<Answer> {
  if (c.form['confirm'] !== 'yes')
    return { html: confirmPage(c.frame('cluster'), 'Leave the cluster', LEAVE_WARNING, '/cluster/leave', {}, 'Leave the cluster') };
  try {
    const r = (await cluster(c, 'leave')) as Record<string, unknown>;
    const notTold = (r['notTold'] as string[] | undefined) ?? [];
    return restarting(
      c,
      `left cluster ${String(r['left'])}; this node is standalone${notTold.length ? `. Not told (remove this node there): ${notTold.join('; ')}` : ''}`,
    );
  } catch (e) {
    c.flash((e as Error).message.replace(/^tandemd: /, ''), true);
    return { redirect: '/cluster' };
  }
}

async function restart(c: Ctx): Promise<Answer> {
  const whole = enabledMember(c);
  if (c.form['confirm'] !== 'yes')
    return {
      html: confirmPage(
        c.frame('cluster'),
        'Restart',
        whole ? RESTART_CLUSTER_WARNING : RESTART_MEMBER_WARNING,
        '/cluster/restart',
        {},
        whole ? 'Restart the cluster' : 'Restart this member',
      ),
    };
  try {
    const r = (await cluster(c, 'restart', { only: !whole })) as Record<string, unknown>;
    const missed = (r['notReached'] as string[] | undefined) ?? [];
    return restarting(c, `restarting: ${String(r['restarting'])}${missed.length ? `; not reached: ${missed.join('; ')}` : ''}`);
  } catch (e) {
    c.flash((e as Error).message.replace(/^tandemd: /, ''), true);
    return { redirect: '/cluster' };
  }
}

async function definition(c: Ctx): Promise<Definition | null> {
  return (await cluster(c, 'properties', { set: [] })) as Definition | null;
}

async function properties(c: Ctx): Promise<Answer> {
  const def = await definition(c);
  if (!def) return { redirect: '/cluster' };
  const shown = (x: unknown) => (x === true ? 'on' : x === false ? 'off' : String(x));
  const current: Record<string, string> = {
    name: def.name,
    ...Object.fromEntries(Object.entries(def.properties).map(([k, x]) => [k, shown(x)])),
    ...Object.fromEntries(Object.entries(def.shared).map(([i, ip]) => [`shared.${i}`, ip])),
    ...Object.fromEntries(Object.entries(def.shared6 ?? {}).map(([i, ip]) => [`shared6.${i}`, ip])),
  };
  const set = Object.entries(c.form)
    .filter(([k, x]) => k in current && current[k] !== x.trim())
    .map(([k, x]) => [k, x.trim()]);
  if (set.length === 0) {
    c.flash('nothing changed');
    return { redirect: '/cluster/properties' };
  }
  try {
    await cluster(c, 'properties', { set });
    c.flash(`saved: ${set.map(([k, x]) => `${k}=${x}`).join(', ')}`);
    return { redirect: '/cluster/properties' };
  } catch (e) {
    const msg = (e as Error).message;
    const key = /^(?:tandemd: )?([\w.]+):/.exec(msg)?.[1];
    const errors = errorsFor(msg, [[/^cluster name/, 'name'], ...(key && key in current ? ([[/./, key]] as FieldRules) : [])]);
    return { status: 400, html: propertiesPage(c.frame('cluster'), def, c.form, errors) };
  }
}

export function clusterRoutes(): { get: Record<string, Handler>; post: Record<string, Handler> } {
  return {
    get: {
      '/cluster': (c) => ({ html: statusPage(c.frame('cluster'), c.backend.statusDoc()) }),
      '/cluster/join': (c) => (c.backend.statusDoc().cluster ? { redirect: '/cluster' } : { html: joinPage(c.frame('cluster')) }),
      '/cluster/properties': async (c) => {
        const def = await definition(c);
        return def ? { html: propertiesPage(c.frame('cluster'), def) } : { redirect: '/cluster' };
      },
    },
    post: {
      '/cluster/create': create,
      '/cluster/join': join,
      '/cluster/add-member': addMember,
      '/cluster/enable': memberOp('enable'),
      '/cluster/disable': memberOp('disable'),
      '/cluster/drain': memberOp('drain'),
      '/cluster/undrain': memberOp('undrain'),
      '/cluster/remove-member': memberOp('remove-member'),
      '/cluster/leave': leave,
      '/cluster/restart': restart,
      '/cluster/properties': properties,
    },
  };
}
