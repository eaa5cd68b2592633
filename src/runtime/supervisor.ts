/**
 * DOC: the supervisor: tandemd's parent process
 *
 * keepalived's lesson: a killed HA daemon that leaves its shared addresses up
 * is a split brain, not a failover. The parent does nothing but run the
 * worker; when the worker dies (kill -9, a crash), the parent removes the
 * shared links at once, so the node stops answering for the shared
 * addresses and the peer takes over within the failover time, then starts a
 * new worker after a back-off. A worker that ends with RESTART_EXIT asked
 * for it (a new cluster membership): it starts again at once. SIGTERM/SIGINT
 * are forwarded to the worker (which hands over cleanly), and the parent
 * exits 128+signo after it. The configuration is read again before each
 * clean-up: the shared addresses belong to the membership of the moment.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { loadNode, type NodeConfig } from '../cluster/config-file.js';
import type { Board } from '../board/board-file.js';
import { SdNotify } from '../io/sd-notify.js';
import { SharedAddresses } from '../io/shared-address.js';
import type { Logger } from './logging/log.js';
import { sharedIfacesOf } from './shared-ifaces.js';

const SIGNALS = { SIGTERM: 15, SIGINT: 2 } as const;
const BACKOFF_MS = [500, 1000, 2000, 5000];
/** EX_TEMPFAIL: the worker asks to be started again (its membership changed). */
/**
 * The worker's heap is small and its garbage young: V8's helper threads, woken for every collection and every
 * background compile, cost more than the work itself. `--single-threaded` does both on the thread that needs
 * them (bench/hb-threads: the four helpers cost 0.8 % of a core at the default heartbeat rate with their defaults,
 * 0.2 % with `--single-threaded-gc`, none with `--single-threaded`, the main loop unchanged: 1.24-1.36 % a
 * worker in all, from 1.62-2.1 %). The heartbeats wait for neither: the heartbeat thread sends them.
 */
const WORKER_V8_FLAGS = ['--single-threaded'];

export const RESTART_EXIT = 75;

/** How long systemd's watchdog waits for a worker started again to be ready (SdNotify.workerStarting). */
export const WORKER_START_MS = 90_000;

/** Removes this node's shared links (their MACs and addresses), whoever left them. */
export async function releaseSharedLinks(config: NodeConfig, board: Board): Promise<string[]> {
  const shared = new SharedAddresses(config.cluster.id, sharedIfacesOf(config, board), config.garp);
  try {
    return await shared.removeStale();
  } finally {
    shared.close();
  }
}

/** `relabel`: runs before each worker starts (the membership may have changed: the log's member name with it). */
export function supervise(script: string, argv: readonly string[], configPath: string, board: Board, log: Logger, relabel?: () => void): void {
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let startedAt = 0;
  const systemd = new SdNotify();

  const cleanup = async () => {
    const loaded = loadNode(configPath);
    if (loaded.kind === 'standalone') return;
    const removed = await releaseSharedLinks(loaded.config, board);
    log.log('warn', 'worker_died_shared_released', { links: removed });
  };

  const start = () => {
    if (startedAt > 0) systemd.workerStarting(WORKER_START_MS);
    startedAt = Date.now();
    try {
      relabel?.();
    } catch {
      // the worker reads the same file and says what is wrong with it
    }
    child = fork(script, ['--worker', ...argv], { stdio: 'inherit', execArgv: [...process.execArgv, ...WORKER_V8_FLAGS] });
    log.log('info', 'worker_started', { pid: child.pid, restarts });
    child.once('exit', (code, signal) => {
      if (stopping) {
        process.exit(code ?? 1);
        return;
      }
      if (code === RESTART_EXIT) {
        log.log('info', 'worker_restarting', { why: 'membership changed' });
        restarts = 0;
        void cleanup()
          .catch((e: Error) => log.log('error', 'cleanup_failed', { error: e.message }))
          .then(() => start());
        return;
      }
      log.log('error', 'worker_died', { code, signal });
      // A worker that ran for a while earns a fresh back-off.
      if (Date.now() - startedAt > 30_000) restarts = 0;
      const delay = BACKOFF_MS[Math.min(restarts, BACKOFF_MS.length - 1)]!;
      restarts++;
      void cleanup()
        .catch((e: Error) => log.log('error', 'cleanup_failed', { error: e.message }))
        .then(() => setTimeout(start, delay));
    });
  };

  for (const [sig, no] of Object.entries(SIGNALS)) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      if (!child || child.exitCode !== null) process.exit(128 + no);
      child.kill(sig as NodeJS.Signals);
      setTimeout(() => {
        child?.kill('SIGKILL');
        void cleanup().finally(() => process.exit(128 + no));
      }, 5000).unref();
      child.once('exit', () => process.exit(128 + no));
    });
  }
  start();
}
