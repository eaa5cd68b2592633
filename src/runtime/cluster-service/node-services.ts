/**
 * DOC: what every node serves, standalone or clustered: the control socket and the management HTTP server
 *
 * The control socket carries the CLI's commands: `cluster` operations go to
 * the cluster control (cluster-control.ts), `admin-password` sets the status
 * page's password, the rest to the node's own handler. The HTTP server
 * (src/api/http-server.ts) answers the health check, the status page,
 * /status.json and /metrics from one status document.
 */
import type { Server as HttpServer } from 'node:http';
import type { Server } from 'node:net';
import { serveControl, type Request } from '../../api/control-socket.js';
import { serveHttp } from '../../api/http-server.js';
import { renderMetrics, renderPage, type StatusDoc } from '../../api/status-page.js';
import { AdminPassword, setAdminPassword } from '../../cluster/admin-password.js';
import type { LocalConfig } from '../../cluster/config-file.js';
import type { ClusterControl } from './cluster-control.js';
import type { Logger } from '../logging/log.js';

export interface ServicesContext {
  local: LocalConfig;
  /** This node's address on the management interface (null: no HTTP server). */
  managementHost: string | null;
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
  const admin = new AdminPassword(ctx.local.stateDir);
  let control: Server | undefined;
  try {
    control = await serveControl(ctx.local.controlSocket, async (req) => {
      if (req.cmd === 'cluster') return ctx.control.handle(String(req.op ?? ''), req.args ?? {});
      if (req.cmd === 'admin-password') {
        await setAdminPassword(ctx.local.stateDir, String(req.args?.['password'] ?? ''));
        ctx.log.log('info', 'admin_password_set', {});
        return { set: true };
      }
      return ctx.commands(req);
    });
  } catch (e) {
    ctx.log.log('error', 'control_socket_failed', { path: ctx.local.controlSocket, error: (e as Error).message });
  }
  let http: HttpServer | undefined;
  const m = ctx.local.management;
  if (m && ctx.managementHost) {
    try {
      http = await serveHttp(ctx.managementHost, m.port, {
        health: () => ctx.statusDoc().health,
        statusJson: () => ctx.statusDoc(),
        metrics: () => renderMetrics(ctx.statusDoc()),
        page: () => renderPage(ctx.statusDoc()),
        authorised: (_u, p) => admin.check(p),
        hasAdminPassword: () => admin.set,
        failed: (e) => ctx.log.log('error', 'management_http_request_failed', { error: e.message }),
        throttled: (source, l) => ctx.log.log('warn', 'admin_login_throttled', { source, failures: l.failures, lockedForMs: l.lockedForMs }),
      });
      ctx.log.log('info', 'management_http_started', { address: ctx.managementHost, port: m.port, iface: m.interface });
    } catch (e) {
      ctx.log.log('error', 'management_http_failed', { address: ctx.managementHost, port: m.port, error: (e as Error).message });
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
