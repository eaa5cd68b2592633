/**
 * DOC: keepalived with conntrackd as the chaos run's peer: the same lab, the same draws (issue 30)
 *
 * Set up as the reference runs it (../shared/reference/keepalived-conntrackd.md), at the detection time tandem
 * runs at: VRRPv3, advert_int 0.1 s (master down after 3 adverts plus the skew: 361 ms for the backup at priority
 * 100, 300 ms for tandem), one instance per data segment and family in one sync group, preemption on (keepalived's
 * default), conntrackd FTFW with an external cache committed by the notify script. Multicast adverts (keepalived's
 * default), so a foreign host on the segment hears them as it hears tandem's heartbeats.
 *
 * How each fault maps: a stall freezes keepalived (both processes) and conntrackd; a crash SIGKILLs the VRRP child,
 * which keepalived's parent restarts (tandem's worker under its supervisor); dropped heartbeats are VRRP adverts
 * (IP protocol 112) dropped in the switch; a planned failover does not exist in keepalived (recorded, nothing
 * done); a replay re-sends the captured adverts byte for byte (VRRPv3 carries no authentication or sequence).
 *
 * Who is active is who holds the WAN shared IPv4 address, from the kernel's address events in each node's
 * namespace (read by this process, so a frozen node does not delay them); in sync is the standby's external
 * cache holding at least as many entries as the active node's internal cache (its kernel's table). Role changes are keepalived's own "Entering ... STATE" lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { NetlinkSocket } from '../src/io/netlink-socket.js';
import type { ChaosPair } from '../src/lab/chaos.js';
import type { Lab } from '../src/lab/lab.js';
import { netnsPids, signal, sleep } from '../src/lab/netns.js';
import { run, tool } from '../src/lab/run.js';
import type { LabPlan } from '../src/lab/topology.js';
import { NETLINK_ROUTE, parseAddress, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR } from '../src/wire/rtnetlink.js';
import { keepalivedArgv, keepalivedHead } from './keepalived-run.js';
import { Conntrackd, flushKernel } from './sync-lab.js';

const ADVERT_S = 0.1;
/** RFC 5798: 3 x advert + skew, skew = (256 - priority) x advert / 256, for the backup's priority 100. */
const MASTER_DOWN_MS = Math.round((3 * ADVERT_S + ((256 - 100) * ADVERT_S) / 256) * 1000);

function conf(plan: LabPlan, index: number, notify: string): string {
  const me = plan.nodes[index - 1]!;
  const data = me.ifaces.filter((i) => i.role !== 'sync');
  const instances = data.flatMap((i, k) => {
    const seg = plan.segments.find((s) => s.name === i.segment)!;
    const one = (name: string, vrid: number, vip: string) => `vrrp_instance ${name} {
  state BACKUP
  interface ${i.ifname}
  virtual_router_id ${vrid}
  priority ${index === 1 ? 150 : 100}
  advert_int ${ADVERT_S}
  virtual_ipaddress {
    ${vip}
  }
}`;
    return [one(seg.name, 51 + k, `${seg.sharedIp}/24`), ...(plan.ipv6 ? [one(`${seg.name}6`, 61 + k, `${seg.sharedIp6}/64`)] : [])];
  });
  const names = data.flatMap((i) => (plan.ipv6 ? [i.segment, `${i.segment}6`] : [i.segment]));
  return `${keepalivedHead(me.name, names, notify)}${instances.join('\n')}
`;
}

/** The notify script of the reference: commit the external cache on becoming primary, resync on becoming backup. */
function notifyScript(conntrackdConf: string): string {
  const c = `${tool('conntrackd')} -C ${conntrackdConf}`;
  return `#!/bin/sh
case "$1" in
  primary) ${c} -c; ${c} -f; ${c} -R; ${c} -B ;;
  backup) ${c} -t; ${c} -n ;;
  fault) ${c} -t ;;
esac
`;
}

/** A VRRP advertisement's sender (its source MAC), or undefined. */
function vrrpSender(frame: Uint8Array): string | undefined {
  const type = (frame[12]! << 8) | frame[13]!;
  const vrrp = (type === 0x0800 && frame[23] === 112) || (type === 0x86dd && frame[20] === 112);
  return vrrp ? Buffer.from(frame.subarray(6, 12)).toString('hex') : undefined;
}

export async function keepalivedPair(lab: Lab): Promise<ChaosPair> {
  const dir = mkdtempSync(join(tmpdir(), `${lab.name}-chaos-ka-`));
  const plan = lab.plan;
  const shared = plan.segments.filter((s) => s.role !== 'sync').flatMap((s) => (plan.ipv6 ? [s.sharedIp, s.sharedIp6] : [s.sharedIp]));
  const wanShared = plan.segments.find((s) => s.role === 'wan')!.sharedIp;
  const held = new Map(plan.nodes.map((n) => [n.name, new Set<string>()]));
  const timelines = new Map<string, [number, boolean][]>(plan.nodes.map((n) => [n.name, []]));
  const watches = plan.nodes.map((n) => {
    const nl = NetlinkSocket.open(NETLINK_ROUTE, { netns: n.netns, groups: RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR });
    nl.events((m) => {
      const a = parseAddress(m);
      if (!a || !shared.includes(a.address)) return;
      const set = held.get(n.name)!;
      const before = set.has(a.address);
      if (a.deleted) set.delete(a.address);
      else set.add(a.address);
      if (a.address === wanShared && before === a.deleted) timelines.get(n.name)!.push([Date.now(), !a.deleted]);
    });
    return nl;
  });
  const changes: Record<string, number> = {};
  const procs: ChildProcess[] = [];
  for (const n of plan.nodes) await flushKernel(n.netns);
  const cd = await Conntrackd.start(lab, dir, { externalCache: true });
  try {
    const firstInstance = plan.nodes[0]!.ifaces.find((i) => i.role !== 'sync')!.segment;
    for (const node of plan.nodes) {
      const notify = join(dir, `${node.name}-notify.sh`);
      writeFileSync(notify, notifyScript(cd.conf(node.name)));
      chmodSync(notify, 0o755);
      const kconf = join(dir, `${node.name}-keepalived.conf`);
      writeFileSync(kconf, conf(plan, node.index, notify));
      const p = spawn(tool('ip'), keepalivedArgv(node.netns, kconf, dir, node.name), { stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(p);
      // The sync group moves its instances together: the first instance's state lines are the node's role changes.
      const state = new RegExp(`\\(${firstInstance}\\) Entering (\\w+) STATE`);
      for (const stream of [p.stdout!, p.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => {
          const m = state.exec(line);
          if (m) changes[`entering ${m[1]}`] = (changes[`entering ${m[1]}`] ?? 0) + 1;
        });
      }
    }
  } catch (e) {
    for (const nl of watches) nl.close();
    await cd.stop();
    throw e;
  }
  const lanIf = (name: string) => plan.nodes.find((n) => n.name === name)!.ifaces.find((i) => i.segment === 'lan')!;
  return {
    peer: 'keepalived',
    failoverTimeMs: MASTER_DOWN_MS,
    heartbeats: 'vrrp',
    async settled(timeoutMs) {
      for (const deadline = Date.now() + timeoutMs; ; await sleep(20)) {
        const full = plan.nodes.filter((n) => held.get(n.name)!.size === shared.length);
        const empty = plan.nodes.filter((n) => held.get(n.name)!.size === 0);
        if (full.length === 1 && empty.length === 1) return { active: full[0]!.name, inactive: empty[0]!.name };
        if (Date.now() > deadline)
          throw new Error(
            `keepalived: no single owner of the shared addresses within ${timeoutMs} ms (${plan.nodes.map((n) => `${n.name} holds ${held.get(n.name)!.size}`).join(', ')})`,
          );
      }
    },
    async inSync(inactive) {
      const active = plan.nodes.find((n) => n.name !== inactive)!.name;
      const [theirs, ours] = [await cd.internalCount(active), await cd.externalCount(inactive)];
      return theirs > 0 && ours >= theirs;
    },
    stalled: async (node) => netnsPids(plan.nodes.find((n) => n.name === node)!.netns),
    async killWorker(node) {
      signal(Number(readFileSync(join(dir, `${node}-vrrp.pid`), 'utf8').trim()), 'SIGKILL');
    },
    failover: async () => 'keepalived has no planned failover: nothing done',
    heartbeatSender: vrrpSender,
    async senderOf(node) {
      const n = plan.nodes.find((x) => x.name === node)!;
      const [link] = JSON.parse((await run(['ip', '-n', n.netns, '-j', 'link', 'show', 'dev', lanIf(node).ifname])).stdout) as { address: string }[];
      return link!.address.replace(/:/g, '');
    },
    timeline: (node) => timelines.get(node)!,
    roleChanges: () => ({ ...changes }),
    async stop() {
      for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
      for (const deadline = Date.now() + 3000; procs.some((p) => p.exitCode === null && p.signalCode === null) && Date.now() < deadline;) await sleep(20);
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      await cd.stop();
      for (const nl of watches) nl.close();
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
