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
import type { Server } from 'node:net';
import { serveControl, type Request } from '../../api/control-socket.js';
import { replaceIdentity, serveHttp, type ManagementServer } from '../../api/http-server.js';
import { generateIdentity, installIdentity, loadIdentity, type LoadedIdentity } from '../../cluster/https-identity.js';
import { MetricsToken, newMetricsToken, revokeMetricsToken } from '../../cluster/metrics-token.js';
import { renderMetrics, renderPage, type StatusDoc } from '../../api/status-page.js';
import { AdminPassword, setAdminPassword } from '../../cluster/admin-password.js';
import type { LocalConfig } from '../../cluster/config-file.js';
import type { ClusterControl } from './cluster-control.js';
import type { Logger } from '../logging/log.js';

export interface ServicesContext {
  local: LocalConfig;
  /** This node's address on the management interface (null: no HTTP server). */
  managementHost: string | null;
  /** The member's name, for the certificate a node makes itself (absent: the host name). */
  nodeName?: string;
  log: Logger;
  control: ClusterControl;
  statusDoc(): StatusDoc;
  /** The node's own commands (status, why, failover, stores ...). */
  commands(req: Request): Promise<unknown> | unknown;
}

export interface Services {
  stop(): void;
}

export async function startServices(ctx: ServicesContext): Promise<Services> {
  const stateDir = ctx.local.stateDir;
  const admin = new AdminPassword(stateDir);
  const token = new MetricsToken(stateDir);
  const m = ctx.local.management;
  const want = m && ctx.managementHost ? { commonName: ctx.nodeName ?? hostname(), address: ctx.managementHost } : null;
  let http: ManagementServer | undefined;
  let identity: LoadedIdentity | undefined;
  let control: Server | undefined;
  try {
    control = await serveControl(ctx.local.controlSocket, async (req) => {
      if (req.cmd === 'cluster') return ctx.control.handle(String(req.op ?? ''), req.args ?? {});
      if (req.cmd === 'admin-password') {
        await setAdminPassword(stateDir, String(req.args?.['password'] ?? ''));
        ctx.log.log('info', 'admin_password_set', {});
        return { set: true };
      }
      if (req.cmd === 'metrics-token') {
        if (req.op === 'revoke') {
          const had = revokeMetricsToken(stateDir);
          token.forget();
          if (had) ctx.log.log('info', 'metrics_token_revoked', {});
          return { revoked: had };
        }
        if (req.op === 'show') return { set: token.set };
        const t = await newMetricsToken(stateDir);
        token.forget();
        ctx.log.log('info', 'metrics_token_created', {});
        return { token: t };
      }
      if (req.cmd === 'https') return httpsCommand(req);
      return ctx.commands(req);
    });
  } catch (e) {
    ctx.log.log('error', 'control_socket_failed', { path: ctx.local.controlSocket, error: (e as Error).message });
  }
  /** `tandem https [show | generate | install]`: the certificate the management server presents. */
  function httpsCommand(req: { op?: string; args?: Record<string, unknown> }): unknown {
    if (!m || !want) throw new Error('this node has no management interface with an address (management.interface): no HTTPS server to give a certificate');
    if (m.protocol !== 'https')
      throw new Error(`the management server runs plain HTTP (management.protocol "http" in ${ctx.local.file}): set it to "https" first`);
    if (req.op === 'show' || req.op === undefined)
      return identity ? { ...identity.info, port: m.port, address: want.address } : { error: 'no certificate loaded' };
    const args = req.args ?? {};
    const replaced =
      req.op === 'generate'
        ? generateIdentity(stateDir, want)
        : req.op === 'install'
          ? installIdentity(stateDir, String(args['certPem'] ?? ''), String(args['keyPem'] ?? ''), {
              cert: String(args['certPath'] ?? 'the certificate'),
              key: String(args['keyPath'] ?? 'the key'),
            })
          : null;
    if (!replaced) throw new Error(`https: unknown operation "${String(req.op)}" (show, generate, install)`);
    identity = replaced;
    if (http) replaceIdentity(http, identity);
    const info = identity.info;
    ctx.log.log('info', 'https_certificate_replaced', { origin: info.origin, fingerprint: info.fingerprint, validTo: info.validTo });
    return { ...info, port: m.port, address: want.address };
  }
  if (m && want) {
    try {
      if (m.protocol === 'https') {
        identity = loadIdentity(stateDir, want);
        if (identity.renewed)
          ctx.log.log('info', 'https_certificate_generated', { reason: identity.renewed, fingerprint: identity.info.fingerprint, names: identity.info.names });
      }
      http = await serveHttp(
        want.address,
        m.port,
        {
          health: () => ctx.statusDoc().health,
          statusJson: () => ctx.statusDoc(),
          metrics: () => renderMetrics(ctx.statusDoc()),
          page: () => renderPage(ctx.statusDoc()),
          authorised: (_u, p) => admin.check(p),
          metricsToken: (t) => token.check(t),
          hasAdminPassword: () => admin.set,
          failed: (e) => ctx.log.log('error', 'management_http_request_failed', { error: e.message }),
          throttled: (source, l) => ctx.log.log('warn', 'admin_login_throttled', { source, failures: l.failures, lockedForMs: l.lockedForMs }),
        },
        identity,
      );
      ctx.log.log('info', 'management_http_started', {
        address: want.address,
        port: m.port,
        iface: m.interface,
        protocol: m.protocol,
        ...(identity ? { fingerprint: identity.info.fingerprint } : {}),
      });
    } catch (e) {
      ctx.log.log('error', 'management_http_failed', { address: want.address, port: m.port, protocol: m.protocol, error: (e as Error).message });
    }
  }
  return {
    stop() {
      control?.close();
      http?.close();
      http?.closeAllConnections();
    },
  };
}
