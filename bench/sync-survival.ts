/**
 * DOC: bench/sync's survival part: established TCP connections across a power-off
 *
 * The same lab (stateful gateways, SNAT to the WAN shared address,
 * nf_conntrack_tcp_loose=0) and the same probe (tcp-probe.ts: connections
 * writing 16 bytes every 10 ms, every echoed byte checked) for each setting:
 * tandem at its default and fastest timers, and keepalived at its fastest
 * (VRRPv3, advert 0.01 s, unicast) with conntrackd (FTFW, external cache)
 * committed by the notify script exactly as in
 * ../shared/reference/keepalived-conntrackd.md. The active node is powered
 * off (its processes frozen, all its cables cut at once); a connection
 * survives when it had no error, got back every byte it sent, and echoed
 * after the failure. The stall is the longest gap between echoes.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Board } from '../src/board/board-file.js';
import { LabCluster, TcpProbe } from '../src/lab/cluster.js';
import { flushKernel } from './sync-lab.js';
import type { Lab } from '../src/lab/lab.js';
import { sleep } from '../src/lab/lab.js';
import { run, tool } from '../src/lab/run.js';
import { Conntrackd, waitFor } from './sync-lab.js';
import { keepalivedArgv, keepalivedHead } from './keepalived-run.js';

export interface Survival {
  survived: number;
  of: number;
  stallMs: number;
}

async function trial(lab: Lab, connections: number, fail: () => Promise<void>, tookOver: () => Promise<void>): Promise<Survival> {
  const probe = await TcpProbe.start(lab, { connections, intervalMs: 10 });
  try {
    await waitFor('connections flowing', async () => probe.allFlowing(connections), performance.now(), 10_000, 50);
    await sleep(1500); // the standby learns every flow
    const failedAt = Date.now();
    await fail();
    await tookOver();
    await sleep(3000);
    const r = await probe.stop();
    const ok = r.conns.filter((c) => c.error === null && c.echoed === c.sent && c.lastEchoAt > failedAt + 500);
    return { survived: ok.length, of: connections, stallMs: ok.length ? Math.max(...ok.map((c) => c.maxGapMs)) : -1 };
  } finally {
    await probe.stop().catch(() => undefined);
  }
}

export async function tandemSurvival(lab: Lab, board: Board, connections: number, timers: Record<string, number>): Promise<Survival> {
  const cluster = await LabCluster.start(lab, board, { timers: { initialSilenceMs: 800, ...timers } });
  try {
    const { active, inactive } = await cluster.settled(15_000);
    await waitFor('standby in sync', async () => (await cluster.sync(inactive)).status === 'in-sync', performance.now(), 10_000, 50);
    return await trial(
      lab,
      connections,
      () => lab.powerOff(active).then(() => undefined),
      () => waitFor('takeover', async () => cluster.events(inactive, 'takeover').length > 0, performance.now(), 10_000, 10).then(() => undefined),
    );
  } finally {
    await cluster.stop();
    cluster.cleanup();
  }
}

function keepalivedConf(lab: Lab, index: number, notify: string): string {
  const me = lab.plan.nodes[index - 1]!;
  const other = lab.plan.nodes[2 - index]!;
  const data = me.ifaces.filter((i) => i.role !== 'sync');
  const addr = (n: typeof me, ifname: string) => n.ifaces.find((i) => i.ifname === ifname)!.address.split('/')[0]!;
  const instances = data.map((i, k) => {
    const seg = lab.plan.segments.find((s) => s.name === i.segment)!;
    return `vrrp_instance ${seg.name} {
  state BACKUP
  interface ${i.ifname}
  virtual_router_id ${51 + k}
  priority ${index === 1 ? 150 : 100}
  advert_int 0.01
  unicast_src_ip ${addr(me, i.ifname)}
  unicast_peer {
    ${addr(other, i.ifname)}
  }
  virtual_ipaddress {
    ${seg.sharedIp}/24 dev ${i.ifname}
  }
}`;
  });
  return `${keepalivedHead(
    me.name,
    data.map((i) => lab.plan.segments.find((s) => s.name === i.segment)!.name),
    notify,
  )}${instances.join('\n')}
`;
}

/** keepalived (advert 0.01 s) + conntrackd (FTFW) with the reference's notify script. */
export async function keepalivedSurvival(lab: Lab, dir: string, connections: number): Promise<Survival> {
  for (const n of lab.plan.nodes) await flushKernel(n.netns);
  const cd = await Conntrackd.start(lab, dir, { externalCache: true });
  const procs: ChildProcess[] = [];
  try {
    for (const node of lab.plan.nodes) {
      const notify = join(dir, `${node.name}-notify.sh`);
      const conf = cd.conf(node.name);
      const c = tool('conntrackd');
      writeFileSync(
        notify,
        `#!/bin/sh
case "$1" in
  primary) ${c} -C ${conf} -c; ${c} -C ${conf} -f; ${c} -C ${conf} -R; ${c} -C ${conf} -B ;;
  backup) ${c} -C ${conf} -t; ${c} -C ${conf} -n ;;
  fault) ${c} -C ${conf} -t ;;
esac
`,
      );
      chmodSync(notify, 0o755);
      const kconf = join(dir, `${node.name}-keepalived.conf`);
      writeFileSync(kconf, keepalivedConf(lab, node.index, notify));
      procs.push(spawn(tool('ip'), keepalivedArgv(node.netns, kconf, dir, node.name, `${node.name}-ka`), { stdio: 'ignore' }));
    }
    const wanIf = lab.plan.nodes[0]!.ifaces.find((i) => i.role === 'wan')!.ifname;
    const wanShared = lab.plan.segments.find((s) => s.role === 'wan')!.sharedIp;
    const holds = async (netns: string) => (await run(['ip', '-n', netns, '-o', 'addr', 'show', 'dev', wanIf])).stdout.includes(`${wanShared}/24`);
    const [n1, n2] = lab.plan.nodes as [(typeof lab.plan.nodes)[0], (typeof lab.plan.nodes)[0]];
    await waitFor('keepalived master', async () => (await holds(n1.netns)) && !(await holds(n2.netns)), performance.now(), 20_000, 50);
    await sleep(1000);
    return await trial(
      lab,
      connections,
      () => lab.powerOff(n1.name).then(() => undefined),
      () => waitFor('keepalived takeover', async () => holds(n2.netns), performance.now(), 10_000, 5).then(() => undefined),
    );
  } finally {
    await lab.thawAll();
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
    await sleep(500);
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await cd.stop();
  }
}
