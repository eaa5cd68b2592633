/**
 * DOC: what every node serves, standalone or clustered: the control socket and the management HTTP server
 *
 * The control socket carries the CLI's commands: `cluster` operations go to
 * the cluster control (cluster-control.ts), `admin-password` sets the status
 * page's password, the rest to the node's own handler. The HTTP server
 * (src/api/http-server.ts) answers the health check, the status page,
 * /status.json and /metrics from one status document.
 */
import { hostname } from 'node:os';
import type { AddressInfo, Server } from 'node:net';
import { serveControl, type Asker, type Request } from '../../api/control-socket.js';
import { replaceIdentity, serveHttp, type HttpViews, type ManagementServer } from '../../api/http-server.js';
import {
  certificatePath,
  generateIdentity,
  installIdentity,
  loadIdentity,
  unnamedAddresses,
  type LoadedIdentity,
  type Want,
} from '../../cluster/https-identity.js';
import { MetricsToken, newMetricsToken, revokeMetricsToken } from '../../cluster/metrics-token.js';
import { renderMetrics, renderPage, type StatusDoc } from '../../api/status-page.js';
import { AdminPassword, setAdminPassword } from '../../cluster/admin-password.js';
import type { LocalConfig } from '../../cluster/config-file.js';
import type { ClusterControl } from './cluster-control.js';
import type { Logger, RecentEvent } from '../logging/log.js';
import { eventId } from '../logging/events.js';
import { GUIDE } from '../logging/event-guide.js';
import type { EventLog, EventRow } from '../../api/web/events-page.js';
import { WebConsole } from '../../api/web/web-console.js';
import { WebSessions } from '../../api/web/sessions.js';
import { jsonWriter, loadSessions, loadThrottle, sessionsFile, throttleFile } from './management-state.js';
import { LoginThrottle, type ThrottleTable } from '../../api/login-throttle.js';
import type { SessionRecord } from '../../api/web/sessions.js';
import { explainRecords } from '../explain/why.js';
import { Firmware, healthOf, type FirmwarePaths } from '../firmware/firmware.js';

export interface ServicesContext {
  local: LocalConfig;
  /** This node's addresses on the management interface, IPv4 first (none: no HTTP server); one listener each. */
  managementHosts: readonly string[];
  /** The member's name, for the certificate a node makes itself (absent: the host name). */
  nodeName?: string;
  log: Logger;
  control: ClusterControl;
  statusDoc(): StatusDoc;
  /** The node's own commands (status, why, failover, stores ...). */
  commands(req: Request): Promise<unknown> | unknown;
  /** Where the firmware's facts are read (a test's tree; the system's by default). */
  firmwarePaths?: FirmwarePaths;
  /** The firmware controller, where the node made it (a cluster member's maintenance installs bundles with it). */
  firmware?: Firmware;
}

/** The node's firmware controller (src/runtime/firmware/firmware.ts): its health read from the status document. */
export function firmwareFor(ctx: Pick<ServicesContext, 'local' | 'log' | 'statusDoc' | 'firmwarePaths'>): Firmware {
  return new Firmware({
    stateDir: ctx.local.stateDir,
    log: ctx.log,
    confirmMs: ctx.local.maintenance.confirmMs,
    health: () => healthOf(ctx.statusDoc()),
    ...(ctx.firmwarePaths ? { paths: ctx.firmwarePaths } : {}),
  });
}

export interface Services {
  stop(): void;
}

/** This member's events, or another's over the cluster service, each with its syslog severity (the event guide's). */
async function eventLog(ctx: ServicesContext, member: string | null): Promise<EventLog> {
  const doc = ctx.statusDoc();
  const me = doc.cluster?.members.find((m) => m.self)?.name ?? doc.node.name;
  const members = [me, ...(doc.cluster?.members.filter((m) => !m.self).map((m) => m.name) ?? [])];
  const chosen = member && members.includes(member) ? member : me;
  const rows = (list: readonly unknown[]): EventRow[] =>
    list.flatMap((x) => {
      const e = x as RecentEvent;
      if (typeof e?.event !== 'string' || typeof e.ts !== 'string') return [];
      return [
        {
          ts: e.ts,
          event: e.event,
          id: eventId(e.event) ?? null,
          severity: GUIDE[e.event]?.severity ?? (e.level === 'warn' ? 'warning' : e.level === 'error' ? 'error' : 'info'),
          fields: e.fields ?? {},
        },
      ];
    });
  if (chosen === me) return { members, member: me, rows: rows(ctx.log.recent?.() ?? []) };
  try {
    const { answer } = await ctx.control.askPeer({ type: 'events' }, 5000, chosen);
    if (answer.type !== 'events' || !Array.isArray(answer['entries'])) throw new Error(String(answer['message'] ?? 'no events in its answer'));
    return { members, member: chosen, rows: rows(answer['entries'] as unknown[]) };
  } catch (e) {
    return { members, member: chosen, rows: [], error: `${chosen}'s events could not be asked for: ${(e as Error).message}` };
  }
}

export async function startServices(ctx: ServicesContext): Promise<Services> {
  const stateDir = ctx.local.stateDir;
  const admin = new AdminPassword(stateDir);
  const token = new MetricsToken(stateDir);
  const m = ctx.local.management;
  const saved = loadSessions(stateDir);
  if (saved.damaged) ctx.log.log('warn', 'web_sessions_unreadable', { error: saved.damaged });
  const stateFailed = (e: Error) => ctx.log.log('warn', 'web_sessions_write_failed', { error: e.message });
  const sessions = new WebSessions(Date.now, jsonWriter<SessionRecord[]>(sessionsFile(stateDir), stateFailed), saved.records);
  // One wrong-password table for the node: every listener, the login form and HTTP Basic; kept across a restart.
  const savedThrottle = loadThrottle(stateDir);
  if (savedThrottle.damaged) ctx.log.log('warn', 'web_sessions_unreadable', { error: savedThrottle.damaged });
  const throttle = new LoginThrottle(Date.now, jsonWriter<ThrottleTable>(throttleFile(stateDir), stateFailed), savedThrottle.table);
  const firmware = ctx.firmware ?? firmwareFor(ctx);
  firmware.start();
  const want: Want | null = m && ctx.managementHosts.length ? { commonName: ctx.nodeName ?? hostname(), addresses: ctx.managementHosts } : null;
  const http: ManagementServer[] = [];
  let identity: LoadedIdentity | undefined;
  let control: Server | undefined;
  try {
    control = await serveControl(ctx.local.controlSocket, (req) => dispatch(req, { via: req.via ?? 'cli' }));
  } catch (e) {
    ctx.log.log('error', 'control_socket_failed', { path: ctx.local.controlSocket, error: (e as Error).message });
  }
  /**
   * Every request of every front end: the control socket's (the CLI, the serial console) and the web console's,
   * which calls this in-process with the address and session it came from.
   */
  async function dispatch(req: Request, asker: Asker): Promise<unknown> {
    if (req.cmd === 'cluster') return ctx.control.handle(String(req.op ?? ''), req.args ?? {}, asker);
    if (req.cmd === 'admin-password') {
      await setAdminPassword(stateDir, String(req.args?.['password'] ?? ''));
      ctx.log.log('info', 'admin_password_set', { via: asker.via });
      const ended = sessions.endAll();
      if (ended > 0) ctx.log.log('info', 'web_sessions_ended', { sessions: ended });
      return { set: true };
    }
    if (req.cmd === 'metrics-token') {
      if (asker.via === 'web' && req.op !== 'show')
        ctx.log.log('info', 'web_change', { what: `metrics-token ${String(req.op ?? 'new')}`, source: asker.source, session: asker.session });
      if (req.op === 'revoke') {
        const had = revokeMetricsToken(stateDir);
        token.forget();
        if (had) ctx.log.log('info', 'metrics_token_revoked', { ...asker });
        return { revoked: had };
      }
      if (req.op === 'show') return { set: token.set };
      const t = await newMetricsToken(stateDir);
      token.forget();
      ctx.log.log('info', 'metrics_token_created', { ...asker });
      return { token: t };
    }
    if (req.cmd === 'status') {
      // tandem status and the console's status screen: the node's own answer, with the firmware on tandem's image.
      const r = await ctx.commands(req);
      const f = firmware.summary();
      return f && typeof r === 'object' && r !== null ? { ...r, firmware: f } : r;
    }
    if (req.cmd === 'firmware') {
      if (req.op === 'install') {
        if (asker.via === 'web') ctx.log.log('info', 'web_change', { what: 'firmware install', source: asker.source, session: asker.session });
        return firmware.install(String(req.args?.['path'] ?? ''), { reboot: req.args?.['reboot'] !== false, via: asker.via });
      }
      if (req.op === 'status' || req.op === undefined) return firmware.status();
      throw new Error(`firmware: unknown operation "${String(req.op)}" (status, install)`);
    }
    if (req.cmd === 'https') {
      if (asker.via === 'web' && req.op !== 'show')
        ctx.log.log('info', 'web_change', { what: `https ${String(req.op)}`, source: asker.source, session: asker.session });
      return httpsCommand(req);
    }
    return ctx.commands(req);
  }
  /** `tandem https [show | generate | install]`: the certificate the management server presents. */
  function httpsCommand(req: { op?: string; args?: Record<string, unknown> }): unknown {
    if (!m || !want) throw new Error('this node has no management interface with an address (management.interface): no HTTPS server to give a certificate');
    if (m.protocol !== 'https')
      throw new Error(`the management server runs plain HTTP (management.protocol "http" in ${ctx.local.file}): set it to "https" first`);
    if (req.op === 'show' || req.op === undefined)
      return identity ? { ...identity.info, port: m.port, addresses: served(), ...certificateFile() } : { error: 'no certificate loaded' };
    const args = req.args ?? {};
    const replaced =
      req.op === 'generate'
        ? generateIdentity(stateDir, want)
        : req.op === 'install'
          ? installIdentity(
              stateDir,
              String(args['certPem'] ?? ''),
              String(args['keyPem'] ?? ''),
              { cert: String(args['certPath'] ?? 'the certificate'), key: String(args['keyPath'] ?? 'the key') },
              { addresses: want.addresses, force: args['force'] === true },
            )
          : null;
    if (!replaced) throw new Error(`https: unknown operation "${String(req.op)}" (show, generate, install)`);
    identity = replaced;
    for (const server of http) replaceIdentity(server, identity);
    const info = identity.info;
    ctx.log.log('info', 'https_certificate_replaced', { origin: info.origin, fingerprint: info.fingerprint, validTo: info.validTo });
    return { ...info, port: m.port, addresses: served(), ...certificateFile() };
  }
  /** Where the served certificate is, and its PEM: what a client's --cacert or ca_file takes. */
  function certificateFile(): { certFile: string; certPem: string; unnamed: string[] } {
    return { certFile: certificatePath(stateDir), certPem: identity!.certPem, unnamed: unnamedAddresses(identity!.certPem, want!.addresses) };
  }
  /** What the status page warns of: a served certificate that does not name a management address. */
  function warnings(): string[] {
    const unnamed = identity && want ? unnamedAddresses(identity.certPem, want.addresses) : [];
    return unnamed.length
      ? [
          `the HTTPS certificate (installed with --force) does not name ${unnamed.join(', ')}: clients that check the name refuse this server there (tandem https)`,
        ]
      : [];
  }
  /** The addresses a listener is up on (a failed one is not served). */
  function served(): string[] {
    return http.map((s) => (s.address() as AddressInfo | null)?.address).filter((a): a is string => a !== undefined);
  }
  if (m && want) {
    try {
      if (m.protocol === 'https') {
        identity = loadIdentity(stateDir, want);
        if (identity.renewed)
          ctx.log.log('info', 'https_certificate_generated', { reason: identity.renewed, fingerprint: identity.info.fingerprint, names: identity.info.names });
      }
      const views: HttpViews = {
        health: () => ctx.statusDoc().health,
        statusJson: () => ({ ...ctx.statusDoc(), firmware: firmware.summary() }),
        metrics: () => renderMetrics(ctx.statusDoc()),
        page: () => renderPage({ ...ctx.statusDoc(), warnings: warnings(), firmware: firmware.summary() }),
        authorised: (_u, p) => admin.check(p),
        metricsToken: (t) => token.check(t),
        hasAdminPassword: () => admin.set,
        failed: (e) => ctx.log.log('error', 'management_http_request_failed', { error: e.message }),
        throttled: (source, l) => ctx.log.log('warn', 'admin_login_throttled', { source, failures: l.failures, lockedForMs: l.lockedForMs }),
        console: new WebConsole(
          {
            statusDoc: () => ctx.statusDoc(),
            request: dispatch,
            checkPassword: (p) => admin.check(p),
            hasAdminPassword: () => admin.set,
            explanations: async () => explainRecords(await ctx.commands({ cmd: 'why' })),
            events: (member) => eventLog(ctx, member),
            note: (level, event, fields) => ctx.log.log(level, event, fields),
            secure: m.protocol === 'https',
          },
          sessions,
        ),
      };
      // One listener per address: an IPv6 one that cannot listen (the address is gone, IPv6 is off) costs only itself.
      for (const address of want.addresses) {
        try {
          http.push(await serveHttp(address, m.port, views, identity, throttle));
          ctx.log.log('info', 'management_http_started', {
            address,
            port: m.port,
            iface: m.interface,
            protocol: m.protocol,
            ...(m.protocolImplied ? { protocolFrom: 'the default (the node file names none)' } : {}),
            ...(identity ? { fingerprint: identity.info.fingerprint } : {}),
          });
        } catch (e) {
          ctx.log.log('error', 'management_http_failed', { address, port: m.port, protocol: m.protocol, error: (e as Error).message });
        }
      }
    } catch (e) {
      ctx.log.log('error', 'management_http_failed', { address: want.addresses.join(', '), port: m.port, protocol: m.protocol, error: (e as Error).message });
    }
  }
  return {
    stop() {
      firmware.stop();
      control?.close();
      for (const server of http) {
        server.close();
        server.closeAllConnections();
      }
    },
  };
}
