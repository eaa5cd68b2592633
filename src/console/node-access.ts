/**
 * DOC: what the console does to the node: through tandemd's control socket, and the node's own file
 *
 * Status, cluster operations, bypass and restarts go to the local tandemd
 * exactly as the CLI sends them. The network settings are the node's own:
 * written into its configuration file atomically (the file keeps every
 * other field as it was), put on the interfaces at once with iproute2, and
 * picked up by tandemd when it restarts its service.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { askControl, type Request } from '../api/control-socket.js';
import type { Board } from '../board/board-file.js';
import { writeFileAtomic } from '../cluster/atomic-file.js';
import type { LocalConfig } from '../cluster/config-file.js';

export interface NetworkSettings {
  management: {
    iface: string;
    address: string;
    prefix: number;
    gateway: string | null;
    /** An IPv6 address of this node on the management interface (address6), and its default gateway. */
    address6?: string;
    prefix6?: number;
    gateway6?: string | null;
  };
  sync: { iface: string; address: string; prefix: number };
}

export interface NodeAccess {
  board: Board;
  local(): LocalConfig;
  status(): Promise<Record<string, unknown>>;
  cluster(op: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>;
  bypass(segment?: string, mode?: string): Promise<Record<string, { mode: string; failureMode: string; ports: [string, string] }>>;
  applyNetwork(n: NetworkSettings): Promise<void>;
  /** The management server's certificate: show, generate, install {certPem, keyPem, certPath, keyPath}. */
  https(op: 'show' | 'generate' | 'install', args?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Runs a change after which tandemd restarts, and waits (30 s at most) until the new one answers. */
  restarting<T>(change: () => Promise<T>, onWait: () => void): Promise<T>;
  /** `systemctl reboot` / `systemctl poweroff` on the appliance (configurable: the lab has no init). */
  power(what: 'reboot' | 'poweroff'): Promise<void>;
}

function run(cmd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 10_000 }, (err, _o, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(),
    ),
  );
}

export function nodeAccess(o: { configFile: string; board: Board; loadLocal: () => LocalConfig; reboot: string; poweroff: string }): NodeAccess {
  const socket = () => o.loadLocal().controlSocket;
  const ask = async (req: Request, timeoutMs = 15_000) => (await askControl(socket(), req, timeoutMs)) as Record<string, unknown>;
  return {
    board: o.board,
    local: o.loadLocal,
    status: () => ask({ cmd: 'status' }),
    cluster: (op, args = {}) => ask({ cmd: 'cluster', op, args, via: 'console' }, 60_000),
    https: (op, args) => ask({ cmd: 'https', op, ...(args ? { args } : {}) }),
    bypass: async (segment, mode) =>
      (await ask(segment ? { cmd: 'bypass', segment, ...(mode ? { mode } : {}), force: true } : { cmd: 'bypass' })) as Awaited<
        ReturnType<NodeAccess['bypass']>
      >,
    async applyNetwork(n) {
      const raw = JSON.parse(readFileSync(o.configFile, 'utf8')) as Record<string, unknown>;
      const ifaces = (Array.isArray(raw['interfaces']) ? raw['interfaces'] : []) as Record<string, unknown>[];
      const upsert = (name: string, fields: Record<string, unknown>) => {
        const i = ifaces.find((x) => x['name'] === name);
        if (i) Object.assign(i, fields);
        else ifaces.push({ name, ...fields });
      };
      const m = n.management;
      upsert(m.iface, { address: `${m.address}/${m.prefix}` });
      const i = ifaces.find((x) => x['name'] === m.iface)!;
      if (m.address6 !== undefined) i['address6'] = `${m.address6}/${m.prefix6}`;
      else delete i['address6'];
      upsert(n.sync.iface, { address: `${n.sync.address}/${n.sync.prefix}`, sync: true });
      raw['interfaces'] = ifaces;
      raw['management'] = {
        ...((raw['management'] as object | undefined) ?? {}),
        interface: n.management.iface,
        ...(n.management.gateway ? { gateway: n.management.gateway } : {}),
        ...(m.gateway6 ? { gateway6: m.gateway6 } : {}),
      };
      writeFileAtomic(o.configFile, JSON.stringify(raw, null, 2) + '\n');
      for (const [iface, addr] of [
        [n.management.iface, `${n.management.address}/${n.management.prefix}`],
        [n.sync.iface, `${n.sync.address}/${n.sync.prefix}`],
      ] as const) {
        await run('ip', ['addr', 'flush', 'dev', iface, 'scope', 'global']);
        await run('ip', ['addr', 'add', addr, 'dev', iface]);
        await run('ip', ['link', 'set', iface, 'up']);
      }
      if (m.address6 !== undefined) await run('ip', ['-6', 'addr', 'add', `${m.address6}/${m.prefix6}`, 'dev', m.iface, 'nodad']);
      if (n.management.gateway) await run('ip', ['route', 'replace', 'default', 'via', n.management.gateway, 'dev', n.management.iface]);
      if (m.gateway6) await run('ip', ['-6', 'route', 'replace', 'default', 'via', m.gateway6, 'dev', m.iface]);
    },
    async restarting(change, onWait) {
      const pidOf = () =>
        ask({ cmd: 'status' }, 2000).then(
          (s) => Number(s['pid']),
          () => null,
        );
      const before = await pidOf();
      const result = await change();
      onWait();
      // A small appliance's CPU (or a VM without hardware acceleration) takes far longer than a desktop to start Node.
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const now = await pidOf();
        if (now !== null && now !== before) return result;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('the tandem service did not come back within 120 s: see its log (journalctl -u tandemd)');
    },
    async power(what) {
      const [cmd, ...args] = (what === 'reboot' ? o.reboot : o.poweroff).split(' ');
      await run(cmd!, args);
    },
  };
}
