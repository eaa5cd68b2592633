/**
 * DOC: network namespaces and the processes in them, for the lab
 *
 * Listing, quieting (no IPv6 chatter), and removal that first kills what
 * runs inside: only processes the lab started live in its namespaces.
 */
import { run, tool } from './run.js';

/** No IPv6 chatter (router solicitations, DAD) in a lab namespace: frames on the wire are ours. */
export async function quietNamespace(ns: string): Promise<void> {
  await run(['ip', 'netns', 'exec', ns, tool('sysctl'), '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
}

/**
 * IPv6 on, for a dual-stack lab, and only what the lab configures: no router advertisements taken, no
 * autoconfiguration, no router solicitations, no duplicate address detection delay (the lab's addresses are
 * unique by plan). Set before the links exist, so every new link inherits it (`default`). `router`: forward.
 */
export async function dualStackNamespace(ns: string, router: boolean): Promise<void> {
  const conf = (key: string, v: number) => ['all', 'default'].map((scope) => `net.ipv6.conf.${scope}.${key}=${v}`);
  await run([
    'ip',
    'netns',
    'exec',
    ns,
    tool('sysctl'),
    '-qw',
    ...conf('disable_ipv6', 0),
    ...conf('accept_ra', 0),
    ...conf('autoconf', 0),
    ...conf('router_solicitations', 0),
    ...conf('dad_transmits', 0),
    ...conf('forwarding', router ? 1 : 0),
  ]);
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export async function listNetns(): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.length > 0);
}

export async function netnsPids(ns: string): Promise<number[]> {
  const { stdout } = await run(['ip', 'netns', 'pids', ns]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean).map(Number);
}

/** Kills what runs in each namespace (only processes the lab started live there), then deletes it. */
export async function removeNetns(names: string[]): Promise<void> {
  const existing = new Set(await listNetns());
  for (const ns of names) {
    if (!existing.has(ns)) continue;
    const deadline = Date.now() + 3_000;
    for (let pids = await netnsPids(ns); pids.length > 0 && Date.now() < deadline; pids = await netnsPids(ns)) {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await sleep(50);
    }
    await run(['ip', 'netns', 'delete', ns]);
  }
}

/** Polls `check` every `step` ms until it holds (true) or `ms` have passed (false); a throwing check counts as not yet. */
export async function pollUntil(check: () => Promise<boolean>, ms: number, step = 100): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() >= end) return false;
    await sleep(step);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
