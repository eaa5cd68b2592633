/**
 * DOC: what bench/sync needs around the lab: synthetic tables, kernel counts, conntrackd
 *
 * Synthetic entries are established, assured TCP flows without NAT (behind
 * one SNAT address, reply ports collide beyond ~64k: the reference's pitfall
 * 12), between client-side hosts and a server, none of them a node's own
 * address (those are not synchronised). conntrackd runs as in
 * ../shared/reference/keepalived-conntrackd.md: FTFW over UDP on the sync
 * interface, the nodes' own addresses ignored.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConntrackWriter } from '../src/io/conntrack.js';
import { recordFromEntry } from '../src/wire/conn-record.js';
import type { Lab } from '../src/lab/lab.js';
import { sleep } from '../src/lab/lab.js';
import { run, tool } from '../src/lab/run.js';

/** `family` 6: the same flows between the hosts' IPv6 twins (2001:2:0:2::20.. to 2001:2:0:1::100). */
export function syntheticEntries(n: number, first = 0, family: 4 | 6 = 4): Uint8Array[] {
  const out: Uint8Array[] = [];
  const server = family === 6 ? '2001:2:0:1::100' : '198.18.1.100';
  for (let k = first; k < first + n; k++) {
    const host = family === 6 ? `2001:2:0:2::${(20 + (k % 200)).toString(16)}` : `198.18.2.${20 + (k % 200)}`;
    const port = 1024 + Math.floor(k / 200);
    out.push(
      recordFromEntry({
        orig: { src: host, dst: server, proto: 6, sport: port, dport: 443 },
        reply: { src: server, dst: host, proto: 6, sport: 443, dport: port },
        status: 0x6,
        timeout: 3600,
        tcpState: 3,
      }),
    );
  }
  return out;
}

/** Writes entries into a namespace's kernel table; returns ms taken. */
export function loadEntries(netns: string, recs: Uint8Array[]): number {
  const w = new ConntrackWriter(netns);
  try {
    const t0 = performance.now();
    const r = w.write(recs.map((rec) => ({ kind: 'create', rec })));
    if (Object.keys(r.failed).length > 0) throw new Error(`loading entries into ${netns}: ${r.firstError}`);
    return performance.now() - t0;
  } finally {
    w.close();
  }
}

export async function kernelCount(netns: string): Promise<number> {
  const { stdout } = await run(['ip', 'netns', 'exec', netns, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count']);
  return Number(stdout.trim());
}

export async function flushKernel(netns: string): Promise<void> {
  await run(['ip', 'netns', 'exec', netns, tool('conntrack'), '-F']).catch(() => undefined);
}

/** Polls until check() holds; returns ms from `since` to the first time it held, or throws after timeoutMs. */
export async function waitFor(what: string, check: () => Promise<boolean>, since: number, timeoutMs: number, stepMs = 5): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return performance.now() - since;
    await sleep(stepMs);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

function conntrackdConf(lab: Lab, index: number, dir: string, externalCache: boolean): string {
  const me = lab.plan.nodes[index - 1]!;
  const other = lab.plan.nodes[2 - index]!;
  const sync = (n: typeof me) => n.ifaces.find((i) => i.role === 'sync')!.address.split('/')[0]!;
  const own = lab.plan.nodes.flatMap((n) => n.ifaces.map((i) => i.address.split('/')[0]!));
  return `Sync {
  Mode FTFW {
    DisableExternalCache ${externalCache ? 'Off' : 'On'}
  }
  UDP {
    IPv4_address ${sync(me)}
    IPv4_Destination_Address ${sync(other)}
    Port 3780
    Interface ${me.ifaces.find((i) => i.role === 'sync')!.ifname}
    SndSocketBuffer 1249280
    RcvSocketBuffer 1249280
    Checksum on
  }
}
General {
  HashSize 32768
  HashLimit 524288
  LogFile ${dir}/${me.name}-conntrackd.log
  Syslog off
  LockFile ${dir}/${me.name}-conntrackd.lock
  UNIX {
    Path ${dir}/${me.name}-conntrackd.ctl
  }
  NetlinkBufferSize 2097152
  NetlinkBufferSizeMaxGrowth 134217728
  NetlinkOverrunResync On
  Filter From Userspace {
    Protocol Accept {
      TCP
      UDP
    }
    Address Ignore {
      IPv4_address 127.0.0.1
      IPv6_address ::1
${own.map((a) => `      IPv4_address ${a}`).join('\n')}
${lab.plan.ipv6 ? lab.plan.nodes.flatMap((n) => n.ifaces.map((i) => `      IPv6_address ${i.address6.split('/')[0]}`)).join('\n') : ''}
    }
  }
}
`;
}

/** conntrackd on both nodes of a lab, as the reference runs it. */
export class Conntrackd {
  private readonly procs: ChildProcess[] = [];
  private constructor(
    private readonly lab: Lab,
    private readonly dir: string,
  ) {}

  static async start(lab: Lab, dir: string, opts: { externalCache: boolean }): Promise<Conntrackd> {
    const c = new Conntrackd(lab, dir);
    for (const node of lab.plan.nodes) {
      const conf = join(dir, `${node.name}-conntrackd.conf`);
      writeFileSync(conf, conntrackdConf(lab, node.index, dir, opts.externalCache));
      c.procs.push(spawn(tool('ip'), ['netns', 'exec', node.netns, tool('conntrackd'), '-C', conf], { stdio: 'ignore' }));
    }
    // Ready when its control socket answers.
    for (const node of lab.plan.nodes) {
      await waitFor(
        `conntrackd on ${node.name}`,
        async () =>
          await c.ctl(node.name, ['-s']).then(
            () => true,
            () => false,
          ),
        performance.now(),
        10_000,
        50,
      );
    }
    return c;
  }

  conf(node: string): string {
    return join(this.dir, `${node}-conntrackd.conf`);
  }

  async ctl(node: string, args: string[]): Promise<string> {
    const n = this.lab.plan.nodes.find((x) => x.name === node)!;
    return (await run(['ip', 'netns', 'exec', n.netns, tool('conntrackd'), '-C', this.conf(node), ...args])).stdout;
  }

  /** Entries in a node's external cache (what it holds of the peer's table). */
  async externalCount(node: string): Promise<number> {
    const out = await this.ctl(node, ['-s']);
    return Number(/cache external:\s*\ncurrent active connections:\s+(\d+)/.exec(out)?.[1] ?? -1);
  }

  /** Entries in a node's internal cache (its own kernel's table, as conntrackd mirrors it). */
  async internalCount(node: string): Promise<number> {
    const out = await this.ctl(node, ['-s']);
    return Number(/cache internal:\s*\ncurrent active connections:\s+(\d+)/.exec(out)?.[1] ?? -1);
  }

  async stop(): Promise<void> {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGTERM');
    const deadline = Date.now() + 3000;
    while (this.procs.some((p) => p.exitCode === null && p.signalCode === null) && Date.now() < deadline) await sleep(20);
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
}
