/**
 * DOC: Active/Active in the lab: both members forward a web service, a real HAProxy in front
 *
 * Each member forwards TCP port 80 arriving on its LAN address to the
 * server (DNAT) and hides the client behind its own WAN address (SNAT), so
 * the reply comes back through the member that forwarded it and the server
 * sees which member that was. HAProxy (Debian's) runs in the client's
 * namespace as the external load balancer of seed 000: round robin over the
 * members' LAN addresses, with `option httpchk` on tandem's health check
 * (on the management port, over TLS with `check-ssl` and the members'
 * certificates as its CA file) expecting "Cluster Enabled". Its runtime API
 * (`show servers state`) says which members are in rotation.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { HEALTH_PATH } from '../api/http-server.js';
import type { Lab } from './lab.js';
import { sleep } from './lab.js';
import { run, tool } from './run.js';
import { findSegment } from './topology.js';

/** DNAT of LAN:80 to the server, SNAT to the member's own WAN address, on every member. */
export async function forwardWebService(lab: Lab, port = 80): Promise<void> {
  const client = lab.plan.hosts.find((h) => h.name === 'client');
  const server = lab.plan.hosts.find((h) => h.name === 'server');
  if (!client || !server) throw new Error('the lab needs a client and a server');
  const lan = findSegment(lab.plan, client.iface.segment);
  const wan = findSegment(lab.plan, server.iface.segment);
  const serverIp = server.iface.address.split('/')[0]!;
  for (const node of lab.plan.nodes) {
    const own = (seg: string) => node.ifaces.find((i) => i.segment === seg)!;
    const rules = [
      'table ip tandem_lb {',
      '  chain prerouting {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      `    iifname "${own(lan.name).ifname}" ip daddr ${own(lan.name).address.split('/')[0]} tcp dport ${port} dnat ip to ${serverIp}:${port}`,
      '  }',
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      `    oifname "${own(wan.name).ifname}" ip daddr ${serverIp} snat ip to ${own(wan.name).address.split('/')[0]}`,
      '  }',
      '}',
    ].join('\n');
    await run(['ip', 'netns', 'exec', node.netns, tool('nft'), '-f', '-'], { input: rules + '\n' });
  }
}

export interface HaproxyServer {
  name: string;
  address: string;
  /** Where the health check is asked (tandem's management address and port). */
  checkAddress: string;
  checkPort: number;
}

export interface HaproxyOptions {
  listen: { address: string; port: number };
  servicePort: number;
  intervalMs: number;
  /** Checks failed before a server leaves the rotation, and passed before it returns. */
  fall: number;
  rise: number;
  /**
   * The health check over TLS (tandem's default): `caFile` names the certificates HAProxy trusts (the members'
   * own, concatenated), so a check reaches only the member whose certificate it knows.
   */
  checkSsl?: { caFile: string };
}

export class Haproxy {
  private readonly exited: Promise<void>;
  readonly log: string[] = [];

  private constructor(
    private readonly proc: ChildProcess,
    readonly socket: string,
    readonly opts: HaproxyOptions,
  ) {
    this.exited = new Promise((r) => proc.once('exit', () => r()));
    proc.stderr?.on('data', (d: Buffer) => this.log.push(d.toString()));
    proc.stdout?.on('data', (d: Buffer) => this.log.push(d.toString()));
  }

  static config(servers: readonly HaproxyServer[], socket: string, o: HaproxyOptions): string {
    return [
      'global',
      `  stats socket ${socket} mode 600 level admin`,
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 10s',
      '  timeout server 2s',
      '  timeout check 1s',
      // A request whose connection a member refuses, or that a member leaves unanswered (it died), goes to
      // another one at once (seed 000: the LB adjusts); the lab's requests are GETs, safe to send again.
      '  retries 3',
      '  option redispatch 1',
      '  retry-on conn-failure empty-response response-timeout',
      'frontend service',
      `  bind ${o.listen.address}:${o.listen.port}`,
      '  default_backend members',
      'backend members',
      '  balance roundrobin',
      `  option httpchk GET ${HEALTH_PATH}`,
      '  http-check expect string "Cluster Enabled"',
      ...servers.map(
        (s) =>
          `  server ${s.name} ${s.address}:${o.servicePort} check addr ${s.checkAddress} port ${s.checkPort} inter ${o.intervalMs} fall ${o.fall} rise ${o.rise}` +
          (o.checkSsl ? ` check-ssl verify required ca-file ${o.checkSsl.caFile}` : ''),
      ),
      '',
    ].join('\n');
  }

  /** The members' own certificates as one CA file for check-ssl (`stateDirs`: each member's state directory). */
  static trust(dir: string, stateDirs: readonly string[]): { caFile: string } {
    const caFile = join(dir, 'members-ca.pem');
    writeFileSync(caFile, stateDirs.map((d) => readFileSync(join(d, 'https', 'cert.pem'), 'utf8')).join(''));
    return { caFile };
  }

  /** Starts HAProxy in the client's namespace; resolves once its runtime API answers. */
  static async start(lab: Lab, dir: string, servers: readonly HaproxyServer[], o: HaproxyOptions): Promise<Haproxy> {
    const client = lab.plan.hosts.find((h) => h.name === 'client');
    if (!client) throw new Error('the lab has no client');
    const socket = join(dir, 'haproxy.sock');
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, Haproxy.config(servers, socket, o));
    await run([tool('haproxy'), '-c', '-f', cfg]);
    const h = new Haproxy(lab.spawn(client.netns, ['haproxy', '-db', '-f', cfg]), socket, o);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (
        await h.servers().then(
          () => true,
          () => false,
        )
      )
        return h;
      await sleep(50);
    }
    await h.stop();
    throw new Error(`HAProxy did not answer on ${socket} within 5 s: ${h.log.join('').slice(-500)}`);
  }

  /** A runtime API command's answer. */
  command(cmd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const c = createConnection(this.socket);
      let out = '';
      const timer = setTimeout(() => (c.destroy(), reject(new Error(`haproxy: no answer to "${cmd}"`))), 2000);
      c.on('data', (d) => (out += d.toString()));
      c.on('end', () => (clearTimeout(timer), resolve(out)));
      c.on('error', (e) => (clearTimeout(timer), reject(e)));
      c.end(cmd + '\n');
    });
  }

  /** Per server: in rotation (operational state 2 = UP) or not. */
  async servers(): Promise<Record<string, boolean>> {
    const text = await this.command('show servers state members');
    const out: Record<string, boolean> = {};
    const lines = text.split('\n').filter((l) => /^\d/.test(l));
    // Columns: be_id be_name srv_id srv_name srv_addr srv_op_state ...
    for (const l of lines) {
      const f = l.split(/\s+/);
      out[f[3]!] = f[5] === '2';
    }
    if (lines.length === 0) throw new Error(`haproxy: no servers in "${text.trim()}"`);
    return out;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
    await this.exited;
  }
}
