/**
 * DOC: what each event means for the administrator: its severity and what to do (docs/log-events.md)
 *
 * The severity is the event's syslog severity (RFC 5424); the
 * action is the line docs/log-events.md prints beside it. A test keeps this,
 * the catalogue (events.ts) and the page in step.
 */
export type Severity = 'critical' | 'error' | 'warning' | 'notice' | 'info' | 'debug';

/** RFC 5424 severity numbers. */
export const SEVERITY_CODE: Record<Severity, number> = { critical: 2, error: 3, warning: 4, notice: 5, info: 6, debug: 7 };

export const GUIDE: Readonly<Record<string, { severity: Severity; action: string }>> = {
  daemon_started: { severity: 'info', action: 'none: informational' },
  worker_started: { severity: 'info', action: 'none: informational' },
  stopped: { severity: 'info', action: 'none after a planned stop; otherwise see the lines before it for why the worker stopped' },
  config_warning: { severity: 'warning', action: 'read the field and message; fix the configuration when the warning applies (tandem check shows it)' },
  stale_shared_links_removed: { severity: 'warning', action: 'none: a crashed run left shared links, now gone; look for the crash (worker_died) before it' },
  heartbeats_started: { severity: 'info', action: 'none: informational' },
  watchdog_armed: { severity: 'info', action: 'none: informational' },
  watchdog_stopped: { severity: 'info', action: 'none: informational' },
  bypass_failure_mode: { severity: 'info', action: 'none while the node starts or stops; if it stays, see bypass_unavailable or the role' },
  bypass_inline: { severity: 'info', action: 'none: informational' },
  bypass_set_by_admin: { severity: 'warning', action: 'make sure the segment is put back inline after the test (tandem bypass inline SEGMENT)' },
  standalone_started: { severity: 'info', action: 'configure the node on its console, then create or join a cluster' },
  worker_restarting: { severity: 'info', action: 'none: the membership changed (create, join, leave, members, mode)' },
  node_addresses_set: { severity: 'info', action: 'none: the addresses set on the console were put back after a restart' },
  peer_heartbeat_first_seen: { severity: 'info', action: 'none: informational' },
  peer_found: { severity: 'info', action: 'none: informational' },
  peer_restarted: { severity: 'info', action: "none; if it repeats, look at the peer's log for worker_died or startup_failed" },
  foreign_node_heartbeat: {
    severity: 'warning',
    action: 'another node with our cluster ID and password is on the segment: a cloned configuration or a third box; give each cluster its own ID and password',
  },
  truncated: { severity: 'warning', action: 'a device on the segment mangles frames; check cabling and switches' },
  not_heartbeat: { severity: 'warning', action: 'a frame to the heartbeat address that is not one: check for another product using the same MAC range' },
  bad_magic: { severity: 'warning', action: 'not a tandem heartbeat: another product on the heartbeat multicast address' },
  bad_version: { severity: 'warning', action: 'a member runs another heartbeat format: upgrade the members to one version' },
  malformed: { severity: 'warning', action: 'a corrupted frame or another implementation: check the sender' },
  ttl_too_low: { severity: 'warning', action: 'the frame crossed a router: heartbeat interfaces must share a segment; remove the routing between them' },
  wrong_cluster: { severity: 'warning', action: 'another cluster shares this segment: give each cluster its own ID (cluster.id / create --cluster-id)' },
  bad_tag: { severity: 'warning', action: 'the sender has another cluster password (or the frame was forged): set the same password on every member' },
  heartbeat_from_myself: {
    severity: 'warning',
    action:
      'a switch port mirrors our own frames back, or two nodes share an identity or addresses: check port mirroring and that Shared, Master_IP and Slave_IP differ',
  },
  nn_mismatch: { severity: 'warning', action: 'the two boards differ (bus/slot/port of this interface): give both members the same hardware settings' },
  disallowed_on_sync_iface: {
    severity: 'warning',
    action: 'a data interface is cabled to the sync segment, or the hardware settings differ: check the cabling',
  },
  sync_heartbeat_on_data_iface: { severity: 'warning', action: 'the sync cable is on a data segment: check the cabling' },
  replayed: { severity: 'warning', action: 'a replayed or duplicated frame; repeated bursts mean a loop or a replay attack on the segment' },
  role_change: { severity: 'notice', action: 'read the reason and evidence (tandem why); act if the reason is unexpected' },
  takeover: { severity: 'notice', action: 'check that the old active node is really gone or fenced; see peer_gone and the evidence' },
  shared_addresses_released: { severity: 'info', action: 'none: informational' },
  shared_ipv6_failed: {
    severity: 'error',
    action:
      'IPv6 hosts cannot reach the shared IPv6 addresses on this node: enable IPv6 on the shared interfaces (net.ipv6.conf.*.disable_ipv6=0) or remove sharedIp6; the next takeover tries again',
  },
  planned_failover_started: { severity: 'info', action: 'none: informational' },
  planned_failover_abandoned: { severity: 'warning', action: 'the peer went silent while taking over: check it; this node keeps serving' },
  failover_refused: { severity: 'warning', action: 'a planned failover needs an active node with a live peer: check the roles (tandem status)' },
  peer_fenced: { severity: 'notice', action: 'the dead peer was cut off: repair it and bring it back (it rejoins as standby)' },
  stall_detected: {
    severity: 'warning',
    action: 'this process was not scheduled for longer than the failover time: check CPU load, I/O stalls, or a paused VM; consider a longer failover time',
  },
  stall_yielding: {
    severity: 'warning',
    action:
      'this node was not scheduled for longer than the failover time while active; the peer took over and keeps serving: find the stall (CPU, I/O, a paused VM)',
  },
  term_raised: { severity: 'info', action: 'none: the serving node holds the highest takeover term again' },
  term_implausible: {
    severity: 'error',
    action: "a heartbeat that passed authentication carries an impossible term: report it with both nodes' logs (a bug, not a network fault)",
  },
  term_wrapped: { severity: 'notice', action: 'none: terms compare as serial numbers across the wrap' },
  term_file_unreadable: {
    severity: 'warning',
    action: 'check the state directory (disk, permissions); the file is written again at the next takeover',
  },
  term_persist_failed: {
    severity: 'error',
    action: 'the state directory is not writable (disk full, read-only): a restarted node could take an older term; fix the disk',
  },
  worker_died: { severity: 'error', action: 'look at the lines before it (crash, out of memory); the supervisor restarts it; report repeated ones' },
  worker_died_shared_released: { severity: 'warning', action: "none: the dead worker's shared addresses were removed so the peer could take over" },
  takeover_withheld: {
    severity: 'error',
    action: 'the peer could not be fenced: check the fence command or relay, then the peer; no node serves until one is heard or fenced',
  },
  peer_gone: { severity: 'warning', action: 'the peer stopped sending heartbeats on every interface: check its power, cables and log' },
  conflict_both_peers_active: {
    severity: 'error',
    action: 'both nodes were active (split brain, resolved): check the heartbeat paths between them (VLANs, switches, cables)',
  },
  peer_has_more_connections: { severity: 'warning', action: 'the sync link is down and the peer carries more connections, so it serves: repair the sync link' },
  peer_has_fewer_connections: {
    severity: 'warning',
    action: 'the sync link is down and this node carries more connections, so it serves: repair the sync link',
  },
  link_up: { severity: 'info', action: 'none: informational' },
  link_down: { severity: 'warning', action: 'check the cable and the switch port of the interface' },
  all_heartbeat_links_down: { severity: 'error', action: 'this node is cut off: check its cables; it will not take over while isolated' },
  monitor_targets_lost: { severity: 'warning', action: 'the gateway or targets beyond this interface do not answer: check them and the path' },
  monitor_targets_reachable: { severity: 'info', action: 'none: informational' },
  startup_failed: {
    severity: 'critical',
    action: 'read the error: configuration, permissions (run as root), missing interface; the service restarts and fails again until fixed',
  },
  effect_failed: { severity: 'error', action: 'an address claim, release or fence failed: read the error (netlink, interface); the node may not serve' },
  cleanup_failed: {
    severity: 'error',
    action: 'the shared addresses of a dead worker could not be removed: remove the tdm links by hand (ip link) and check netlink',
  },
  control_socket_failed: { severity: 'error', action: 'the CLI cannot reach the daemon: check the controlSocket path and its directory' },
  shared_released_after_stop: { severity: 'info', action: 'none: informational (the links listed were left by a stopped or killed tandemd)' },
  shared_lease_taken: { severity: 'info', action: 'none: informational' },
  cluster_store_write_failed: {
    severity: 'error',
    action: "free the disk or fix the state directory's permissions, then repeat the change: a restart now would lose it",
  },
  shared_lease_unavailable: {
    severity: 'error',
    action:
      'install nftables (nft) and check that the kernel has nf_tables with netdev ingress/egress hooks; until then a kill -9 of tandemd leaves the shared addresses up here',
  },
  diag_stall: { severity: 'warning', action: 'nothing, if you ran tandem diag stall on purpose; otherwise find who did (root on this box)' },
  diag_stall_ended: { severity: 'info', action: 'nothing: compare with role_change and heartbeat_lease_expired to see what the stall did' },
  heartbeat_deadlines_missed: {
    severity: 'warning',
    action: 'the heartbeat thread was starved of CPU: check the load; set timers.heartbeatRtPriority (SCHED_FIFO) or a longer heartbeat interval',
  },
  heartbeat_lease_expired: {
    severity: 'error',
    action: 'the main loop hung for longer than timers.heartbeatLeaseMs: read event_loop_stalled and the CPU load; if it recurs, lengthen the lease',
  },
  event_loop_stalled: {
    severity: 'warning',
    action:
      "the node's main loop stalled (CPU starvation, a paused VM, swapping); heartbeats went on from their thread, but a stall longer than the lease stops them",
  },
  heartbeat_send_failed: {
    severity: 'warning',
    action: 'check the interface (down, no address); persistent failures on every interface look like a dead node to the peer',
  },
  heartbeat_receive_error: { severity: 'warning', action: 'check the interface; persistent errors make the peer look dead' },
  watchdog_unavailable: { severity: 'warning', action: "a hung daemon will not be caught by the hardware: check the board's watchdog device" },
  watchdog_keepalive_failed: { severity: 'error', action: 'the hardware watchdog may reset the box: check the watchdog driver' },
  bypass_unavailable: {
    severity: 'error',
    action: "the relays cannot be driven: check the board's GPIO chip and lines (gpio.chip) and that nothing else holds them",
  },
  fence_failed: { severity: 'error', action: 'read the error (command exit, timeout, relay); fix the fence before the next failover' },
  cluster_service_failed: { severity: 'error', action: 'joins and changes from other members cannot reach this node: check the sync address and port + 1' },
  management_http_failed: { severity: 'error', action: 'the health check and status page are not served: check management.interface, its address and port' },
  admin_login_throttled: {
    severity: 'warning',
    action: 'someone at that address is guessing the status page password; if it is not you, find the source and block it',
  },
  management_http_request_failed: {
    severity: 'error',
    action: 'that request was answered 500 and the node goes on; a defect of tandem: report it with the error and the lines before it',
  },
  priority_not_set: { severity: 'warning', action: 'run tandemd as root (CAP_SYS_NICE) so heartbeats keep their priority under load' },
  node_ipv6_dad_failed: {
    severity: 'error',
    action:
      'the kernel will not use that address (dadfailed): find the host that has it (ip -6 neigh on a neighbour), give one of the two another address, then remove and add it again (or restart tandemd); IPv4 and the shared addresses are not affected',
  },
  node_addresses_failed: {
    severity: 'error',
    action: 'the addresses set on the console could not be applied: read the iproute2 error; fix them on the console',
  },
  sync_channel_up: { severity: 'info', action: 'none: informational' },
  sync_channel_down: { severity: 'warning', action: 'the channel is retried; if it stays down, see sync_peer_unreachable for why' },
  hasync_connection_failed_timeout: {
    severity: 'warning',
    action: 'the sync link is silent: check the sync cable and the peer; no failover follows, resync is automatic',
  },
  sync_connection_refused: {
    severity: 'warning',
    action:
      'something other than the peer talks to the sync port (reason: wrong_password, handshake_timeout, too_many_connections ...): find the address on the sync segment',
  },
  sync_peer_unreachable: {
    severity: 'warning',
    action:
      'act on the reason: wrong_password (same password everywhere), software_version_mismatch (upgrade), cluster_definition_mismatch (same members and shared addresses), unreachable (cable, peer down)',
  },
  sync_role: { severity: 'info', action: 'none: informational' },
  sync_transfer_started: { severity: 'info', action: 'none: informational' },
  sync_transfer_applied: { severity: 'info', action: 'none: informational' },
  sync_transfer_sent: { severity: 'info', action: 'none: informational' },
  sync_transfer_abandoned: { severity: 'warning', action: 'a transfer was cut: the previous copy stays; it is asked again when the channel is back' },
  sync_out_of_sync: { severity: 'warning', action: "the standby's copy is not followed: repair the sync link; it resumes by itself" },
  sync_resumed: { severity: 'info', action: 'none: informational' },
  sync_gap: { severity: 'warning', action: 'an update was lost: a full transfer follows by itself; repeated gaps mean a faulty sync path' },
  sync_leftovers_checked: { severity: 'info', action: "none: the standby's kernel now holds the peer's table and nothing of its own" },
  sync_apply_failed: { severity: 'error', action: "entries could not be written here: read the kernel's reason (conntrack table full? nf_conntrack_max)" },
  sync_table_drift: { severity: 'warning', action: 'the copies differ: tandem resync on the standby; report if it persists' },
  sync_message_refused: { severity: 'error', action: 'a sync message could not be handled: check that both members run one version' },
  state_committed: { severity: 'notice', action: 'read how stale the copy was (behindBy): a non-zero value means the last changes were lost in this takeover' },
  conntrack_events_overrun: {
    severity: 'warning',
    action: 'the kernel dropped connection events under load: the table was dumped again; consider a faster box or fewer short connections',
  },
  conntrack_redump_failed: {
    severity: 'error',
    action:
      'the kernel refused the conntrack dump (the error says why); it is retried every second while this node is active; if it persists, restart the service',
  },
  sync_worker_failed: {
    severity: 'critical',
    action:
      'state synchronisation is down on this node until the worker is back (sync_worker_restarted): connections would not survive a failover meanwhile; report the error',
  },
  sync_worker_restarted: { severity: 'notice', action: 'nothing: state synchronisation resumed; if sync_worker_failed repeats, report it' },
  sync_packet_on_nonsync_iface: {
    severity: 'warning',
    action: "state sync must stay on the sync network: check the peer's sync address and that no route carries the sync port between the data networks",
  },
  cluster_store_written: { severity: 'info', action: 'none: informational' },
  cluster_store_recovered: { severity: 'warning', action: 'the cluster store was repaired at start: check the disk; the previous generation is in use' },
  member_joined: { severity: 'notice', action: 'none: informational' },
  member_left: { severity: 'notice', action: 'none: informational' },
  cluster_joined: { severity: 'notice', action: "none: this node's state was replaced by the cluster's" },
  member_enabled: { severity: 'notice', action: 'none: informational' },
  member_disabled: { severity: 'notice', action: 'the member serves nothing until enabled (tandem cluster enable)' },
  member_draining: { severity: 'notice', action: 'wait until its sessions end, then disable or restart it' },
  member_drain_ended: { severity: 'notice', action: 'none: informational' },
  leader_role_taken: { severity: 'info', action: 'none: informational' },
  leader_role_released: { severity: 'info', action: 'none: informational' },
  cluster_peer_not_told: { severity: 'warning', action: 'the other member gets the change when it is reachable again; check it if it stays unreachable' },
  cluster_request_refused: { severity: 'warning', action: 'a node with another password or unknown to the cluster tried to talk to it: check who' },
  cluster_restart_requested: { severity: 'notice', action: "none: another member restarted the cluster (seed 000's rule)" },
  management_http_started: { severity: 'info', action: 'none: informational' },
  admin_note: { severity: 'notice', action: "none: an administrator's note (a change window, a ticket number)" },
  maintenance_step: { severity: 'notice', action: 'none: a confirmation of a step of the maintenance sequence' },
  maintenance_apply_failed: {
    severity: 'error',
    action: "read the command's error; fix the file or the command, then run tandem update/upgrade again from the active node",
  },
  maintenance_done: { severity: 'notice', action: 'none: both members run the new file or software' },
  maintenance_stopped: {
    severity: 'error',
    action: 'read step and error: the named node serves; fix the cause and run the sequence again from the active node',
  },
  log_forward_failed: {
    severity: 'warning',
    action: "none if it passes (a leader change); if it repeats, check the leader's cluster service and the sync network",
  },
  log_sync_no_server: {
    severity: 'error',
    action: 'give every member the same syslog server in its node file (syslog.server): any member may become the log-server leader',
  },
  flight_record_failed: {
    severity: 'warning',
    action: "check the state directory's disk (space, permissions); tandem why lacks this role change, the log still has it",
  },
  syslog_messages_dropped: { severity: 'error', action: 'check the syslog server and the path to it; the count says how many messages it will never see' },
  cluster_operation: { severity: 'notice', action: 'none: informational (who changed the cluster, and from where)' },
  web_login: { severity: 'notice', action: 'none if it was you; otherwise change the admin password (tandem admin-password): that ends every session' },
  web_login_failed: { severity: 'warning', action: 'a typo, or someone guessing: repeated ones lock the address out (admin_login_throttled)' },
  web_logout: { severity: 'info', action: 'none: informational' },
  web_session_expired: { severity: 'info', action: 'none: log in again' },
  web_request_refused: {
    severity: 'warning',
    action: 'a page of another site tried to make a change with your session (cross-site request forgery), or a stale form: nothing was changed',
  },
  web_sessions_ended: { severity: 'notice', action: 'none: log in again with the new password' },
  web_sessions_unreadable: { severity: 'warning', action: 'none: log in again; the file is rewritten at the next login' },
  web_sessions_write_failed: { severity: 'warning', action: 'check the state directory (disk full, read-only): tandem status names it' },
  firmware_install_refused: {
    severity: 'warning',
    action: 'use a bundle made for this board and signed with its update key (tandem firmware status names both)',
  },
  firmware_installed: { severity: 'notice', action: 'none: reboot to try it (tandem firmware install reboots unless told not to)' },
  firmware_install_failed: { severity: 'error', action: 'read the output attached (space, a damaged slot); install again: the running version is untouched' },
  firmware_rebooting: { severity: 'notice', action: 'none: the box is back in about a minute; in a cluster its peer serves meanwhile' },
  firmware_confirmed: { severity: 'notice', action: 'none: the new version is the one the box boots from now on' },
  firmware_confirm_failed: {
    severity: 'error',
    action: 'read the reason; the box returns to the version before by itself: fix the cause (the peer, the sync link) or report the bundle',
  },
  firmware_fallback: {
    severity: 'error',
    action: 'the new version did not come up healthy: read the reason (tandem firmware status), keep the version running, report the bundle',
  },
  firmware_record_failed: {
    severity: 'warning',
    action: 'check the data partition (space, errors in the kernel log): a trial boot without its record is judged again, a fallback logged again',
  },
  web_change: { severity: 'notice', action: 'none: informational (who changed what, and from where)' },
  admin_password_set: { severity: 'notice', action: 'none: informational' },
  metrics_token_created: {
    severity: 'notice',
    action: 'give the new token to the metrics scraper (Prometheus bearer_token); the old one is refused from now on',
  },
  metrics_token_revoked: { severity: 'notice', action: 'none: informational' },
  https_certificate_generated: {
    severity: 'notice',
    action:
      'browsers and scrapers that pinned the old certificate must take the new fingerprint (tandem https); install a CA-signed one with tandem https install',
  },
  https_certificate_replaced: { severity: 'notice', action: 'none if you replaced it; clients that pinned the old fingerprint must take the new one' },
  corosync_started: { severity: 'info', action: 'none: informational' },
  corosync_reload_failed: {
    severity: 'error',
    action: 'run corosync-cfgtool -R on this member by hand and read corosync.log; until then the new member cannot join here',
  },
  group_joined: { severity: 'info', action: 'none: informational' },
  group_join_failed: { severity: 'warning', action: 'read the error: Corosync refusing the connection (permissions) or the group name' },
  group_connection_lost: { severity: 'error', action: 'see corosync_exited: the member rejoins by itself when its Corosync is back' },
  group_message_invalid: { severity: 'warning', action: "another program uses tandem's group name on this Corosync: rename one of them" },
  group_quorum_lost: {
    severity: 'error',
    action: 'bring back the sync network or the missing members (tandem status lists them); the members with quorum serve meanwhile',
  },
  group_quorum_regained: { severity: 'notice', action: 'none: the member takes the cluster state and serves again' },
  group_state_elected: { severity: 'notice', action: 'none: after a cold start, check that the member named had the newest configuration' },
  group_state_requested: { severity: 'info', action: 'none: the health check answers 500 until the state is installed' },
  group_state_sent: { severity: 'info', action: 'none: informational' },
  group_state_installed: { severity: 'notice', action: 'none: the member serves' },
  group_serving_changed: {
    severity: 'notice',
    action:
      "read the health text: no quorum (see the partition), syncing (wait), disabled or draining (an administrator's choice); tandem why --list shows the last 20",
  },
  corosync_exited: {
    severity: 'error',
    action:
      "read stderr and corosync.log in the state directory's corosync folder (a wrong sync address, a port in use, the corosync package missing); the member does not serve until its Corosync is back",
  },
};

const RANGES: [number, string][] = [
  [100, 'Lifecycle'],
  [200, 'Peers and heartbeats'],
  [300, "Dropped heartbeats (the receiver's drop ladder)"],
  [400, 'Roles and takeovers'],
  [500, 'Links and monitoring'],
  [600, 'Failures'],
  [700, 'State synchronisation'],
  [800, 'Cluster management'],
  [900, 'Clusters on Corosync'],
];

/** docs/log-events.md, from the catalogue and this guide (`tandem events --markdown` prints it). */
export function renderEventCatalogue(events: Readonly<Record<string, { id: number; summary: string }>>): string {
  const out = [
    '# Log events',
    '',
    'Every line tandemd logs is one JSON object with `ts`, `level`, `id` and `event`, and the evidence as further',
    'fields. The severity below is the syslog (RFC 5424) severity of the event (syslog forwarding itself comes',
    'with the logging issue). IDs and names are stable: new events get new IDs, an ID is never reused. Where the',
    'commercial firewalls have a name for the same thing (Clavister/NetDefendOS: `peer_gone`,',
    '`conflict_both_peers_active`, `peer_has_more_connections`, `ttl_too_low`, `heartbeat_from_myself`,',
    '`disallowed_on_sync_iface`, `hasync_connection_failed_timeout`) tandem uses it. Dropped heartbeats are',
    'rate-limited: the first at once, then one line per 10 s per interface and reason with the number',
    'suppressed. Generated from `src/runtime/logging/events.ts` and `src/runtime/logging/event-guide.ts` by',
    '`tandem events --markdown`; a test keeps them in step.',
  ];
  const entries = Object.entries(events).sort((a, b) => a[1].id - b[1].id);
  for (const [start, title] of RANGES) {
    const rows = entries.filter(([, e]) => e.id >= start && e.id < start + 100);
    if (rows.length === 0) continue;
    out.push('', `## ${start / 100}xx ${title}`, '', '| id | event | severity | meaning | what to do |', '|---|---|---|---|---|');
    for (const [name, e] of rows) {
      const g = GUIDE[name];
      out.push(`| ${e.id} | \`${name}\` | ${g?.severity ?? '?'} | ${e.summary} | ${g?.action ?? '?'} |`);
    }
  }
  return out.join('\n') + '\n';
}
