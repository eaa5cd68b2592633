/**
 * DOC: `tandemd --config FILE`, the daemon (foreground)
 *
 * Parses, runs the pre-flight (refusing to start on any error, with the
 * field), then either supervises a worker (the default: the parent releases
 * the shared addresses if the worker dies) or, with --worker, is that worker:
 * builds the node (src/runtime/pair/daemon.ts), installs signal handlers behind a
 * shutdown guard and exits 128+signo after handing over.
 */
import { setPriority } from 'node:os';
import { boardOf } from '../board/board-file.js';
import { startDaemon } from '../runtime/pair/daemon.js';
import { JsonLogger, type Logger } from '../runtime/logging/log.js';
import { SyslogLogger } from '../runtime/logging/syslog-logger.js';
import { releaseSharedLinks, RESTART_EXIT, supervise } from '../runtime/supervisor.js';
import { loadNode, type Loaded } from '../cluster/config-file.js';
import { startStandalone } from '../runtime/cluster-service/standalone.js';
import { startGroupDaemon } from '../runtime/group/group-daemon.js';
import { SdNotify } from '../io/sd-notify.js';
import { dadFailures, ensureAddresses } from '../io/node-addresses.js';
import { ownAddress6 } from '../cluster/config-check.js';
import { flag, parseArgs, str, UsageError } from './args.js';
import { formatFindings, preflight } from './check-command.js';

export const TANDEMD_USAGE = `tandemd --config FILE [--no-supervisor]
  Runs this node of the cluster in the foreground and logs one JSON object a line.
tandemd --release-shared --config FILE
  Removes the shared MACs and addresses from this node (the unit's ExecStopPost; safe to run at any time tandemd is stopped).
  The configuration is documented in docs/configuration.md; check it with: tandem check --config FILE`;

const SIGNALS = { SIGTERM: 15, SIGINT: 2 } as const;
/** When this node's IPv6 addresses are checked for a failed duplicate address detection, after start. */
const DAD_CHECK_MS = 2500;

export function main(argv: readonly string[]): void {
  let log: Logger = new JsonLogger();
  let p;
  try {
    p = parseArgs(argv, { config: 'string', worker: 'boolean', 'no-supervisor': 'boolean', 'release-shared': 'boolean', help: 'boolean', version: 'boolean' });
  } catch (e) {
    process.stderr.write(`tandemd: ${(e as Error).message}\n${TANDEMD_USAGE}\n`);
    process.exit(2);
  }
  if (flag(p, 'help')) return void process.stdout.write(TANDEMD_USAGE + '\n');
  if (flag(p, 'version')) return void process.stdout.write(`tandemd ${require('../../../package.json').version}\n`);
  const path = str(p, 'config');
  if (!path) {
    process.stderr.write(`tandemd: ${new UsageError('--config FILE is required').message}\n${TANDEMD_USAGE}\n`);
    process.exit(2);
  }
  if (flag(p, 'release-shared')) {
    void releaseShared(path, log).then((code) => process.exit(code));
    return;
  }
  let checked;
  try {
    checked = preflight(path);
  } catch (e) {
    process.stderr.write(`tandemd: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const { loaded, result } = checked;
  if (result.errors.length > 0) {
    process.stderr.write(`tandemd: refusing to start:\n${formatFindings(path, result)}\n`);
    process.exit(1);
  }
  const syslog = loaded.config.syslog;
  // A managed member without a server of its own may still hand its messages to the log-server leader (log sync).
  if (syslog || (loaded.kind === 'cluster' && loaded.store)) {
    log = new SyslogLogger(log, syslog, logName(loaded));
  }
  for (const w of result.warnings) log.log('warn', 'config_warning', { field: w.field, message: w.message });
  for (const r of loaded.store?.recovered ?? []) log.log('warn', 'cluster_store_recovered', { what: r });
  const board = boardOf(loaded.config);
  // Before any thread starts (threads inherit it): heartbeats outrank the appliance's own bulk work.
  try {
    setPriority(loaded.config.nice);
  } catch (e) {
    log.log('warn', 'priority_not_set', { nice: loaded.config.nice, error: (e as Error).message });
  }
  if (!flag(p, 'worker') && !flag(p, 'no-supervisor')) {
    const relabel = () => void (log instanceof SyslogLogger && log.rename(logName(loadNode(path))));
    supervise(process.argv[1]!, ['--config', path], path, board, log, relabel);
    return;
  }
  // The last lines (stopped) must reach the syslog server before the process ends.
  const exit = (code: number) => void (log instanceof SyslogLogger ? log.flush() : Promise.resolve()).finally(() => process.exit(code));
  let shutdown: (why: string, code: number) => void = (why, code) => {
    log.log('info', 'stopped', { why });
    exit(code);
  };
  // A new membership (create, join, leave ...): end with RESTART_EXIT, the supervisor starts us again at once.
  const restart = (why: string) => shutdown(why, RESTART_EXIT);
  // The supervisor is gone (killed): hand over rather than run unsupervised; while starting, end at once. A worker
  // that outlived its supervisor held the shared-address lease against every worker of the next service instance
  // (seen on the booted appliance: systemd's watchdog killed the supervisor while a worker started, issue 31).
  if (process.send) process.on('disconnect', () => shutdown('supervisor gone', 1));
  // The node's own addresses first (after a reboot only the file remembers what the console set).
  const started = ensureAddresses(loaded.config)
    .then(
      (added) => added.length > 0 && log.log('info', 'node_addresses_set', { added }),
      (e: Error) => log.log('error', 'node_addresses_failed', { error: e.message }),
    )
    .then(() => {
      // Duplicate address detection takes about a second (one probe, RetransTimer): look once it is over.
      const own = loaded.config.interfaces.flatMap((i) => {
        const a = loaded.kind === 'cluster' ? ownAddress6(loaded.config, i) : i.address6;
        return a ? [{ iface: i.name, address: a.address }] : [];
      });
      if (own.length > 0)
        setTimeout(
          () =>
            void dadFailures(own).then(
              (failed) => failed.forEach((f) => log.log('error', 'node_ipv6_dad_failed', f)),
              () => undefined, // an interface that is gone: the heartbeats and monitors say so already
            ),
          DAD_CHECK_MS,
        ).unref();
    })
    .then(() => {
      if (loaded.kind === 'standalone') return startStandalone(loaded.config, loaded.store, board, log, restart);
      const opts = { store: loaded.store, restart, ...(log instanceof SyslogLogger ? { syslog: log } : {}) };
      // Three and more members: Corosync keeps them together, every member serves (no heartbeats, no failover).
      if (loaded.config.cluster.engine === 'corosync' && loaded.store) return startGroupDaemon(loaded.config, loaded.store, log, opts);
      return startDaemon(loaded.config, board, log, opts);
    });
  const systemd = new SdNotify();
  void started.then(
    (daemon) => {
      systemd.ready(
        loaded.kind === 'standalone' ? 'standalone (factory state)' : `member ${loaded.config.node.name} of cluster ${loaded.config.cluster.name}`,
        loaded.config.timers.heartbeatLeaseMs,
      );
      let stopping = false;
      shutdown = (why: string, code: number) => {
        if (stopping) return;
        stopping = true;
        systemd.ending(why, code === RESTART_EXIT);
        void daemon.stop().finally(() => {
          log.log('info', 'stopped', { why });
          exit(code);
        });
      };
      for (const [sig, no] of Object.entries(SIGNALS)) process.on(sig, () => shutdown(sig, 128 + no));
    },
    (e: Error) => {
      log.log('error', 'startup_failed', { error: e.message });
      process.exit(1);
    },
  );
}

/** Who a node's log messages say they come from: the member and its cluster, or standalone. */
function logName(loaded: Loaded): { node: string; cluster: string | null } {
  return loaded.kind === 'cluster' ? { node: loaded.config.node.name, cluster: loaded.config.cluster.name } : { node: '(standalone)', cluster: null };
}

/** `--release-shared`: what the supervisor does when its worker dies, for the unit's ExecStopPost. */
async function releaseShared(path: string, log: Logger): Promise<number> {
  try {
    const loaded = loadNode(path);
    if (loaded.kind === 'standalone') return 0;
    const board = boardOf(loaded.config);
    const removed = await releaseSharedLinks(loaded.config, board);
    log.log('info', 'shared_released_after_stop', { links: removed });
    return 0;
  } catch (e) {
    process.stderr.write(`tandemd: ${(e as Error).message}\n`);
    return 1;
  }
}
