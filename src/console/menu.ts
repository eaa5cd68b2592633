/**
 * DOC: the serial-console setup menu (docs/console.md)
 *
 * What an administrator sees on the appliance's serial line. A node in
 * factory state (standalone) offers: network setup, create a cluster, join a
 * cluster, status, bypass test, restart/reboot/shut down. A member offers:
 * status, leave, disable/enable, bypass test, restart/reboot/shut down.
 * Every change is shown as a summary and applied only after "yes"; Ctrl-C
 * at any prompt backs out to the menu with nothing changed; a failed action
 * shows why and changes nothing more.
 */
import { CLUSTER_NAME, MEMBER_NAME } from '../cluster/membership.js';
import { disableWarning, joinWarning, LEAVE_WARNING, RESTART_CLUSTER_WARNING, wrap } from '../api/cluster-warnings.js';
import type { NodeAccess } from './node-access.js';
import { certificateScreen } from './certificate-screen.js';
import { networkScreen } from './network-screen.js';
import { ask, checks, confirm, pause } from './prompts.js';
import { statusScreen } from './status-screen.js';
import type { ConsoleIo } from './terminal.js';

const RULE = '='.repeat(80);

interface Entry {
  label: string;
  run: () => Promise<void>;
}

export class ConsoleMenu {
  constructor(
    private readonly io: ConsoleIo,
    private readonly node: NodeAccess,
    private readonly version: string,
  ) {}

  private header(title: string, node: string): string[] {
    const left = `tandem ${this.version} serial console: ${title}`;
    return [left + `node ${node}`.padStart(80 - left.length), RULE];
  }

  /** The menu, for ever (the serial console is always there); returns only when `once` says so (tests). */
  async run(once = false): Promise<void> {
    do {
      try {
        await this.main();
      } catch (e) {
        // Shown until the administrator has read it: the next screen would clear it.
        this.io.say(`FAILED: ${(e as Error).message.replace(/^tandemd: /, '')}`);
        this.io.say('Nothing more was changed.');
        await pause(this.io);
      }
    } while (!once);
  }

  private async main(): Promise<void> {
    let s: Record<string, unknown>;
    try {
      s = await this.node.status();
    } catch (e) {
      this.io.screen([
        ...this.header('main menu', '?'),
        '',
        `tandemd does not answer: ${(e as Error).message}`,
        '',
        'It is started by the system at boot; wait for it, then press Enter.',
      ]);
      await this.io.ask('Press Enter to try again: ');
      return;
    }
    const standalone = s['standalone'] === true;
    const me = standalone ? '(factory state)' : String((s['node'] as { name: string }).name);
    const entries: Entry[] = standalone
      ? [
          {
            label: 'Configure the network (management and cluster interfaces)',
            run: () => networkScreen(this.io, this.node, this.header('network', '(factory state)'), this.header('network: summary', '(factory state)')),
          },
          { label: 'Create a new cluster', run: () => this.create() },
          { label: 'Join an existing cluster', run: () => this.join() },
          { label: 'Show status', run: () => this.status() },
          { label: 'Bypass segment test', run: () => this.bypass() },
          { label: 'HTTPS certificate of the status page', run: () => certificateScreen(this.io, this.node, this.header('HTTPS certificate', me)) },
          { label: 'Restart, reboot or shut down this node', run: () => this.power(false) },
        ]
      : [
          { label: 'Show status', run: () => this.status() },
          { label: 'Add a member (name it here, then join from its console)', run: () => this.addMember(me) },
          { label: 'Leave the cluster', run: () => this.leave() },
          { label: s['disabled'] === true ? 'Enable this member' : 'Disable this member', run: () => this.enable(s['disabled'] === true, me) },
          { label: 'Bypass segment test', run: () => this.bypass() },
          { label: 'HTTPS certificate of the status page', run: () => certificateScreen(this.io, this.node, this.header('HTTPS certificate', me)) },
          { label: 'Restart, reboot or shut down this node', run: () => this.power(s['disabled'] !== true) },
        ];
    const intro = standalone
      ? ['This node is in factory state: it is not a member of a cluster.', 'Configure the network first, then create a cluster or join one.']
      : [
          `Member ${me} of cluster ${String((s['cluster'] as { name: string } | undefined)?.name ?? '?')}, ${String(s['role'])}${s['disabled'] === true ? ', disabled' : ''}.`,
        ];
    this.io.screen([
      ...this.header('main menu', me),
      '',
      ...intro,
      '',
      ...entries.map((e, i) => `  ${i + 1}  ${e.label}`),
      '',
      'Ctrl-C at any question goes back here without changing anything.',
    ]);
    const pick = await ask(this.io, { label: 'Choose', hint: `1-${entries.length}`, fallback: standalone ? '1' : '1', check: checks.choice(entries.length) });
    if (pick === null) return;
    await entries[pick - 1]!.run();
  }

  private async status(): Promise<void> {
    const s = await this.node.status();
    this.io.screen([...this.header('status', s['standalone'] === true ? '(factory state)' : String((s['node'] as { name: string }).name)), ...statusScreen(s)]);
    await pause(this.io);
  }

  private async create(): Promise<void> {
    this.io.screen([
      ...this.header('create a cluster', '(factory state)'),
      '',
      'This node becomes the first member. Name the others afterwards with "Add a',
      'member" in this menu (or tandem cluster add-member); each then joins from its',
      'own console.',
      '',
    ]);
    const name = await ask(this.io, { label: 'Cluster name', hint: '1-32 letters, digits, - _ .', check: checks.name('cluster name', CLUSTER_NAME, 32) });
    if (name === null) return;
    const node = await ask(this.io, { label: "This member's name", hint: '1-16 letters, digits, - _ .', check: checks.name('member name', MEMBER_NAME, 16) });
    if (node === null) return;
    const mode = await ask(this.io, {
      label: 'Mode',
      hint: 'active-passive or active-active',
      fallback: 'active-passive',
      check: checks.oneOf(['active-passive', 'active-active'] as const),
    });
    if (mode === null) return;
    // Three and more members run on Corosync, active/active only.
    const engine =
      mode === 'active-active'
        ? await ask(this.io, {
            label: 'Members',
            hint: 'pair (heartbeats) or more (three and more, on Corosync)',
            fallback: 'pair',
            check: checks.oneOf(['pair', 'more'] as const),
          })
        : 'pair';
    if (engine === null) return;
    const password = await this.newPassword();
    if (password === null) return;
    const kind = engine === 'more' ? `${mode}, three and more members on Corosync` : mode;
    this.io.screen([
      ...this.header('create a cluster: summary', '(factory state)'),
      '',
      `  cluster  ${name} (${kind})`,
      `  member   ${node}`,
      '  password (set, not shown)',
      '',
    ]);
    if (!(await confirm(this.io, 'Create this cluster?'))) return this.backed();
    const args = { name, node, mode, password, ...(engine === 'more' ? { engine: 'corosync' } : {}) };
    const r = await this.node.restarting(
      () => this.node.cluster('create', args),
      () => this.io.say('Created; waiting for the service to restart as a member...'),
    );
    await this.done(`Cluster ${String(r['created'])} created; this node is member ${String(r['member'])}.`);
  }

  private async newPassword(): Promise<string | null> {
    for (;;) {
      const a = await ask(this.io, { label: 'Cluster password', hint: 'at least 8 characters, not shown', check: checks.password, secret: true });
      if (a === null) return null;
      const b = await ask(this.io, { label: 'The same again', hint: 'not shown', check: checks.password, secret: true });
      if (b === null) return null;
      if (a === b) return a;
      this.io.say('  the two passwords differ: type them again');
    }
  }

  private async join(): Promise<void> {
    const here = (await this.node.cluster('join-preview')) as { systemKeys: number; sessions: number };
    this.io.screen([
      ...this.header('join a cluster', '(factory state)'),
      '',
      'An existing member must have named this node first (add-member with this',
      "node's cluster address).",
      '',
    ]);
    const cluster = await ask(this.io, { label: 'Cluster name', hint: '1-32 letters, digits, - _ .', check: checks.name('cluster name', CLUSTER_NAME, 32) });
    if (cluster === null) return;
    const member = await ask(this.io, { label: 'Address of an existing member', hint: 'its cluster address a.b.c.d', check: checks.ipv4 });
    if (member === null) return;
    const password = await ask(this.io, { label: 'Cluster password', hint: 'not shown', check: checks.password, secret: true });
    if (password === null) return;
    this.io.screen([
      ...this.header('join a cluster: summary', '(factory state)'),
      '',
      `  cluster  ${cluster}`,
      `  member   ${member}`,
      '',
      ...wrap(`WARNING: ${joinWarning(member, here)}`),
      '',
    ]);
    if (!(await confirm(this.io, "Join and overwrite this node's state?"))) return this.backed();
    const r = await this.node.restarting(
      () => this.node.cluster('join', { member, password, cluster }),
      () => this.io.say('Joined; waiting for the service to restart as a member...'),
    );
    await this.done(`Joined cluster ${String(r['joined'])} as ${String(r['as'])}; the service runs as a member.`);
  }

  private async addMember(me: string): Promise<void> {
    this.io.screen([
      ...this.header('add a member', me),
      '',
      'Name the new member and give its cluster address (the one its console set);',
      'then choose "Join an existing cluster" on its console, with this address.',
      '',
    ]);
    const name = await ask(this.io, { label: "New member's name", hint: '1-16 letters, digits, - _ .', check: checks.name('member name', MEMBER_NAME, 16) });
    if (name === null) return;
    const address = await ask(this.io, { label: 'Its cluster address', hint: 'a.b.c.d', check: checks.ipv4 });
    if (address === null) return;
    if (!(await confirm(this.io, `Add ${name} at ${address}?`))) return this.backed();
    // This node's own cluster address, for the new member's console (asked first: adding restarts the cluster service).
    const mine = ((await this.node.status())['cluster'] as { members?: { self: boolean; address: string }[] } | undefined)?.members?.find((m) => m.self);
    const r = await this.node.cluster('add-member', { name, address });
    this.io.say(`${name} added (members: ${(r['members'] as string[]).join(', ')}).`);
    await this.done(`On its console: "Join an existing cluster", member address ${mine?.address ?? "this node's cluster address"}.`);
  }

  private async leave(): Promise<void> {
    this.io.screen([...this.header('leave the cluster', ''), '', ...wrap(LEAVE_WARNING), '']);
    if (!(await confirm(this.io, 'Leave the cluster?'))) return this.backed();
    await this.node.restarting(
      () => this.node.cluster('leave'),
      () => this.io.say('Left; waiting for the service to restart standalone...'),
    );
    await this.done('This node is standalone.');
  }

  private async enable(disabled: boolean, me: string): Promise<void> {
    const verb = disabled ? 'enable' : 'disable';
    this.io.screen([...this.header(`${verb} this member`, me), '', ...(disabled ? ['The member serves again.'] : wrap(disableWarning(me))), '']);
    if (!(await confirm(this.io, `${disabled ? 'Enable' : 'Disable'} ${me}?`))) return this.backed();
    await this.node.cluster(verb, { node: me });
    await this.done(`${me} ${verb}d.`);
  }

  private async bypass(): Promise<void> {
    let segs: Awaited<ReturnType<NodeAccess['bypass']>>;
    try {
      segs = await this.node.bypass();
    } catch (e) {
      return this.done(`No bypass test here: ${(e as Error).message}`);
    }
    const names = Object.keys(segs);
    this.io.screen([
      ...this.header('bypass segment test', ''),
      '',
      ...names.map((n) => `  ${n.padEnd(12)} ports ${segs[n]!.ports.join('-')}  now ${segs[n]!.mode.toUpperCase()}  (failure mode ${segs[n]!.failureMode})`),
      '',
    ]);
    const seg = await ask(this.io, { label: 'Segment', hint: names.join('/'), fallback: names[0]!, check: checks.oneOf(names) });
    if (seg === null) return;
    const mode = await ask(this.io, {
      label: 'Put it in',
      hint: 'inline, bypass or disconnect',
      check: checks.oneOf(['inline', 'bypass', 'disconnect'] as const),
    });
    if (mode === null) return;
    this.io.say(`  ${seg}: ${segs[seg]!.mode} -> ${mode}. This changes the path of live traffic.`);
    if (!(await confirm(this.io, 'Set the relays?'))) return this.backed();
    const after = await this.node.bypass(seg, mode);
    await this.done(`${seg} is now ${after[seg]!.mode.toUpperCase()}.`);
  }

  private async power(enabledMember: boolean): Promise<void> {
    this.io.screen([
      ...this.header('restart, reboot or shut down', ''),
      '',
      '  restart   the tandem service',
      '  reboot    the appliance',
      '  shutdown  the appliance (power off)',
      '',
      ...(enabledMember ? [...wrap(`NOTE: ${RESTART_CLUSTER_WARNING} (Main menu; then come back here.) A reboot does the same.`), ''] : []),
    ]);
    const what = await ask(this.io, { label: 'Action', hint: 'restart, reboot or shutdown', check: checks.oneOf(['restart', 'reboot', 'shutdown'] as const) });
    if (what === null) return;
    if (
      !(await confirm(
        this.io,
        `${what === 'restart' ? 'Restart the service' : what === 'reboot' ? 'Reboot' : 'Shut down'}${enabledMember ? ' (the whole cluster restarts)' : ''}?`,
      ))
    )
      return this.backed();
    if (what === 'restart' || enabledMember) await this.node.cluster('restart', { only: !enabledMember });
    if (what !== 'restart') await this.node.power(what === 'reboot' ? 'reboot' : 'poweroff');
    await this.done(what === 'restart' ? 'The service restarts.' : `The appliance ${what === 'reboot' ? 'reboots' : 'shuts down'}.`);
  }

  private async backed(): Promise<void> {
    await this.done('Nothing was changed.');
  }

  private async done(message: string): Promise<void> {
    this.io.say(message);
    await pause(this.io);
  }
}
