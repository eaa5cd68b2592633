/**
 * DOC: System > Clustering in the browser (seed 000): Create and Join on a standalone node, Status and Properties on a member
 *
 * The fields are the CLI's (`tandem cluster create|join|add-member|properties`); what the daemon answers to them,
 * accepted or refused, is the CLI's answer too, shown beside the field it names. The warnings are the texts all
 * three front ends show (src/api/cluster-warnings.ts). Pure.
 */
import type { StatusDoc } from '../status-page.js';
import { esc, form, button, page, tabs, type Frame } from './html.js';

export type Values = Record<string, string>;
export type Errors = Record<string, string>;

/** What the properties tab shows of the cluster definition (the daemon's `cluster properties`). */
export interface Definition {
  name: string;
  id: number;
  revision: number;
  properties: Record<string, unknown>;
  shared: Record<string, string>;
  shared6?: Record<string, string>;
}

const STANDALONE_TABS: [string, string][] = [
  ['/cluster', 'Create'],
  ['/cluster/join', 'Join'],
];
const MEMBER_TABS: [string, string][] = [
  ['/cluster', 'Status'],
  ['/cluster/properties', 'Properties'],
];

export function createPage(f: Frame, v: Values = {}, errors: Errors = {}): string {
  return page(
    f,
    'Clustering',
    `${tabs('/cluster', STANDALONE_TABS)}
<p>This node is in no cluster. Create one here, then add the other appliance as a member and join from its console.</p>
${form(
  '/cluster/create',
  f.csrf,
  [
    { name: 'name', label: 'Cluster name', value: v['name'] ?? '', hint: '1 to 32 letters, digits, - _ .', required: true },
    { name: 'password', label: 'Cluster password', type: 'password', hint: 'every member is given the same', required: true },
    { name: 'password2', label: 'Cluster password again', type: 'password', required: true },
    { name: 'node', label: "This node's name", value: v['node'] ?? '', hint: '1 to 16 letters, digits, - _ .', required: true },
    { name: 'mode', label: 'Mode', type: 'select', options: ['active-passive', 'active-active'], value: v['mode'] ?? 'active-passive' },
    {
      name: 'engine',
      label: 'Engine',
      type: 'select',
      options: ['heartbeat', 'corosync'],
      value: v['engine'] ?? 'heartbeat',
      hint: 'corosync: three members or more',
    },
  ],
  'Create cluster',
  { errors, id: 'create' },
)}`,
  );
}

export function joinPage(f: Frame, v: Values = {}, errors: Errors = {}): string {
  return page(
    f,
    'Clustering',
    `${tabs('/cluster/join', STANDALONE_TABS)}
<p>Join a cluster that already names this node (add-member on an existing member first).</p>
${form(
  '/cluster/join',
  f.csrf,
  [
    { name: 'member', label: 'Address of an existing member', value: v['member'] ?? '', hint: 'its cluster (sync) address a.b.c.d', required: true },
    { name: 'cluster', label: 'Cluster name', value: v['cluster'] ?? '', hint: 'optional: checked against the member' },
  ],
  'Next',
  { errors, id: 'join' },
)}`,
  );
}

/** Step two of a join: the warning (what this node loses), then the password and the button. */
export function joinConfirmPage(f: Frame, v: Values, warning: string, errors: Errors = {}): string {
  return page(
    f,
    'Clustering: join',
    `${tabs('/cluster/join', STANDALONE_TABS)}
<p class="warning" id="warning"><b>WARNING:</b> ${esc(warning)}</p>
${form('/cluster/join', f.csrf, [{ name: 'password', label: 'Cluster password', type: 'password', required: true }], "Join and overwrite this node's state", {
  errors,
  id: 'join-confirm',
  hidden: { member: v['member'] ?? '', cluster: v['cluster'] ?? '', confirm: 'yes' },
})}
<p><a href="/cluster/join">Back: nothing is changed</a></p>`,
  );
}

/** A change that asks first: the warning, the button that does it, and a way back. */
export function confirmPage(f: Frame, title: string, warning: string, action: string, hidden: Record<string, string>, submit: string): string {
  return page(
    f,
    title,
    `<p class="warning" id="warning"><b>WARNING:</b> ${esc(warning)}</p>
${form(action, f.csrf, [], submit, { hidden: { ...hidden, confirm: 'yes' }, id: 'confirm' })}
<p><a href="/cluster">Back: nothing is changed</a></p>`,
  );
}

export function statusPage(f: Frame, d: StatusDoc, v: Values = {}, errors: Errors = {}): string {
  const c = d.cluster;
  if (!c) return createPage(f, v, errors);
  const rows = c.members
    .map((m) => {
      const act = (op: string, label: string) => button(`/cluster/${op}`, f.csrf, label, op === 'remove-member' ? { name: m.name } : { node: m.name });
      const actions = [
        m.enabled ? act('disable', 'Disable') : act('enable', 'Enable'),
        m.enabled ? (m.draining ? act('undrain', 'Undrain') : act('drain', 'Drain')) : '',
        m.self ? '' : act('remove-member', 'Remove'),
      ].join('');
      return (
        `<tr data-member="${esc(m.name)}"><td>${esc(m.name)}${m.self ? ' (this node)' : ''}</td><td>${esc(m.address)}</td><td class="role">${esc(m.role)}</td>` +
        `<td class="state">${m.enabled ? (m.draining ? 'draining' : 'enabled') : 'disabled'}${m.leader ? ', leader' : ''}</td>` +
        `<td class="bits">${esc(m.hex)}</td><td class="words">${esc(m.words.join(', '))}</td><td class="unreachable">${esc(m.unreachable ?? '')}</td>` +
        `<td class="actions">${actions}</td></tr>`
      );
    })
    .join('\n');
  return page(
    f,
    'Clustering',
    `${tabs('/cluster', MEMBER_TABS)}
<p id="summary">cluster ${esc(c.name)} (${esc(c.mode)}), revision ${c.revision}, leader <b id="leader">${esc(c.leader ?? 'none')}</b>; health check: <span id="health" class="${
      d.health.ok ? 'ok' : 'bad'
    }">${esc(d.health.text)}</span></p>
<table id="members"><tr><th>member</th><th>address</th><th>role</th><th>state</th><th>status</th><th>meaning</th><th>unreachable because</th><th>actions</th></tr>
${rows}
</table>
<h2>Add a member</h2>
${form(
  '/cluster/add-member',
  f.csrf,
  [
    { name: 'name', label: "New member's name", value: v['name'] ?? '', hint: '1 to 16 letters, digits, - _ .', required: true },
    { name: 'address', label: 'Its cluster address', value: v['address'] ?? '', hint: 'a.b.c.d (the one its console set)', required: true },
  ],
  'Add member',
  { errors, id: 'add-member' },
)}
<h2>This member</h2>
${button('/cluster/restart', f.csrf, 'Restart', {})} ${button('/cluster/leave', f.csrf, 'Leave the cluster', {})}`,
    { script: true },
  );
}

/** The properties `tandem cluster properties KEY=VALUE` sets, as one form (only what changed is sent). */
export function propertiesPage(f: Frame, def: Definition, v: Values = {}, errors: Errors = {}): string {
  const shown = (x: unknown) => (x === true ? 'on' : x === false ? 'off' : String(x));
  const onOff = (key: string, label: string) => ({
    name: key,
    label,
    type: 'select' as const,
    options: ['on', 'off'],
    value: v[key] ?? shown(def.properties[key]),
  });
  const fields = [
    { name: 'name', label: 'Cluster name', value: v['name'] ?? def.name, required: true },
    { name: 'mode', label: 'Mode', type: 'select' as const, options: ['active-passive', 'active-active'], value: v['mode'] ?? shown(def.properties['mode']) },
    onOff('sync', 'State synchronisation'),
    onOff('logSync', 'Log synchronisation'),
    onOff('healthCheckFailsWhileSyncing', 'Health check fails while syncing'),
    ...Object.entries(def.shared).map(([iface, ip]) => ({
      name: `shared.${iface}`,
      label: `Shared address on ${iface}`,
      value: v[`shared.${iface}`] ?? ip,
      hint: 'a.b.c.d/prefix, or none',
    })),
    ...Object.entries(def.shared6 ?? {}).map(([iface, ip]) => ({
      name: `shared6.${iface}`,
      label: `Shared IPv6 address on ${iface}`,
      value: v[`shared6.${iface}`] ?? ip,
      hint: 'address/prefix, or none',
    })),
  ];
  return page(
    f,
    'Clustering: properties',
    `${tabs('/cluster/properties', MEMBER_TABS)}
<p>cluster ${esc(def.name)} (ID ${def.id}), revision <span id="revision">${def.revision}</span>. A change is sent to every member.</p>
${form('/cluster/properties', f.csrf, fields, 'Save properties', { errors, id: 'properties' })}`,
  );
}
