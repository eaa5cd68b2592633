/**
 * DOC: what the appliance image installs besides the runtime: systemd units, first boot, default configuration
 *
 * Pure text from the board (its console device and speed) and the install
 * prefix. docs/appliance-image.md explains each file to an image builder.
 */
import type { Board } from '../board/board-file.js';

export interface Layout {
  /** Where the runtime lives in the image. */
  lib: string;
  bin: string;
  sbin: string;
  units: string;
  etc: string;
  state: string;
}

export const LAYOUT: Layout = {
  lib: '/usr/lib/tandem',
  bin: '/usr/bin',
  sbin: '/usr/sbin',
  units: '/usr/lib/systemd/system',
  etc: '/etc/tandem',
  state: '/var/lib/tandem',
};

/** The serial device's unit-name form: /dev/ttyS0 -> ttyS0. */
export function ttyName(board: Board): string | null {
  return board.console ? board.console.device.replace(/^\/dev\//, '') : null;
}

export function tandemdUnit(l: Layout): string {
  return `[Unit]
Description=tandem high-availability runtime (heartbeats, failover, state sync, bypass)
Documentation=file:${l.lib}/docs/cluster.md
# It protects the network services: up before them, and before the network is configured.
DefaultDependencies=no
Requires=local-fs.target
After=local-fs.target tandem-firstboot.service
Before=network-pre.target shutdown.target
Wants=network-pre.target
Conflicts=shutdown.target

[Service]
Type=notify
# The worker (a child of the supervisor) knows when the node runs: it sends READY and WATCHDOG.
NotifyAccess=all
ExecStart=${l.bin}/tandemd --config ${l.etc}/node.json
# However the service ended (even kill -9 of every process): no shared MAC or address stays on this node.
ExecStopPost=${l.bin}/tandemd --release-shared --config ${l.etc}/node.json
Restart=always
RestartSec=1
# A runtime that stops sending WATCHDOG=1 (hung, or every process stopped) is sent SIGABRT after 10 s and SIGKILL 5 s
# later, then started again: well within the board's hardware watchdog (30 s on the boards here), which the worker
# feeds and which resets the box when the restart is not fast enough or the kernel itself hangs.
WatchdogSec=10
TimeoutAbortSec=5
# SIGTERM to the supervisor only: it hands over (make before break), then everything else is killed.
KillMode=mixed
TimeoutStopSec=20
StateDirectory=tandem
StateDirectoryMode=0700
RuntimeDirectory=tandem
RuntimeDirectoryMode=0700

[Install]
WantedBy=multi-user.target
`;
}

export function consoleUnit(l: Layout, board: Board): string | null {
  const tty = ttyName(board);
  if (!tty) return null;
  return `[Unit]
Description=tandem setup menu on the serial console /dev/${tty}
Documentation=file:${l.lib}/docs/console.md
After=tandemd.service
Wants=tandemd.service
# The menu replaces the login prompt on this line (the image masks serial-getty@${tty}.service too).
Conflicts=serial-getty@${tty}.service

[Service]
ExecStart=${l.bin}/tandem console --config ${l.etc}/node.json --serial
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
`;
}

export function firstbootUnit(l: Layout): string {
  return `[Unit]
Description=tandem first boot: the node starts in factory state
Documentation=file:${l.lib}/docs/appliance-image.md
DefaultDependencies=no
After=local-fs.target
Before=tandemd.service
ConditionPathExists=!${l.state}/.factory-state-set

[Service]
Type=oneshot
ExecStart=${l.sbin}/tandem-firstboot
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
`;
}

/** Factory state: no cluster, no system state, no sessions, no admin password; the node file as shipped. */
export function firstbootScript(l: Layout): string {
  return `#!/bin/sh
# tandem-firstboot: puts this node in factory state (run once, by tandem-firstboot.service).
# TANDEM_ROOT: an image root to act on instead of / (an image builder, a test).
set -eu
root="\${TANDEM_ROOT:-}"
state="$root${l.state}"
mkdir -p "$state"
chmod 0700 "$state"
rm -f "$state/cluster.json" "$state/cluster.json.prev" "$state/cluster.json.damaged" \\
      "$state/system-state.json" "$state/admin.json" "$state/boot-id"
# An image with a read-only root links ${l.etc} to its data partition: the directory there may not exist yet.
if [ -L "$root${l.etc}" ]; then mkdir -p "$(readlink -f "$root${l.etc}")"; fi
if [ ! -e "$root${l.etc}/node.json" ]; then
  install -D -m 0644 "$root${l.lib}/factory/node.json" "$root${l.etc}/node.json"
fi
touch "$state/.factory-state-set"
echo "tandem: factory state set; configure this node on its serial console"
`;
}

/**
 * The node file an appliance ships with: the board's NICs, heartbeats everywhere, no address yet, and no
 * `monitor`: which ports will carry a cable and a shared address is not known here (monitored then, by the
 * cluster's shared addresses: src/cluster/config-file.ts managedConfig).
 */
export function factoryConfig(board: Board, l: Layout, boardRef: string): Record<string, unknown> {
  return {
    board: boardRef,
    interfaces: board.nics.map((n) => ({ name: n.name, heartbeats: true, sync: n.role === 'sync' })),
    stateDir: l.state,
    controlSocket: '/run/tandem/tandemd.sock',
  };
}

/** `tandem` and `tandemd` on the PATH. */
export function launcher(l: Layout, name: 'tandem' | 'tandemd'): string {
  return `#!/bin/sh\nexec node ${l.lib}/bin/${name} "$@"\n`;
}
