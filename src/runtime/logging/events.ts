/**
 * DOC: the event catalogue: every event tandem logs, with a stable ID
 *
 * An administrator (or a log server's filter) can rely on the ID and the
 * name of an event across versions: new events get new IDs, IDs are never
 * reused. Ranges: 1xx lifecycle, 2xx peers and heartbeats, 3xx dropped
 * heartbeats (the drop ladder's reasons, seed 001's names), 4xx roles and
 * takeovers, 5xx links and monitoring, 6xx failures, 7xx state synchronisation, 8xx cluster management, 9xx clusters on Corosync (three and more members). docs/log-events.md is the
 * administrator's copy; a test keeps the two and the code in step.
 */

import type { CoreEvent } from '../../core/failover-types.js';
import type { SyncEvent } from '../../sync/link.js';

export interface EventInfo {
  id: number;
  summary: string;
}

export const EVENTS = {
  daemon_started: { id: 100, summary: 'the worker is up: heartbeats, monitors and control socket running' },
  worker_started: { id: 101, summary: 'the supervisor started a worker' },
  stopped: { id: 102, summary: 'the worker stopped (signal, or its supervisor went away)' },
  config_warning: { id: 103, summary: 'the configuration has a warning from the pre-flight' },
  stale_shared_links_removed: { id: 104, summary: 'shared links left by a crashed run were removed at start' },
  heartbeats_started: { id: 105, summary: 'heartbeats are sent on the listed interfaces' },
  watchdog_armed: { id: 106, summary: "the board's hardware watchdog is open and fed from the main loop" },
  bypass_failure_mode: { id: 108, summary: 'the bypass segments are in their failure modes (starting, or a clean stop)' },
  bypass_set_by_admin: { id: 110, summary: 'an administrator put a bypass segment in a mode (tandem bypass)' },
  bypass_inline: { id: 109, summary: 'the node is ready: every bypass segment is inline' },
  shared_released_after_stop: {
    id: 116,
    summary: "tandemd --release-shared (the unit's ExecStopPost) removed the shared links a stopped or killed tandemd left",
  },
  shared_lease_taken: {
    id: 117,
    summary: 'the shared addresses are on a lease the kernel revokes when this tandemd dies (nft tables tandem_guard and tandem_lease)',
  },
  diag_stall: { id: 114, summary: 'an administrator blocks the main thread for a while (tandem diag stall): a diagnostic of the heartbeat lease' },
  diag_stall_ended: { id: 115, summary: 'the diagnostic stall is over (how long it lasted attached)' },
  watchdog_stopped: { id: 107, summary: 'clean stop: the watchdog was closed with the magic character and will not act' },

  peer_heartbeat_first_seen: { id: 200, summary: 'the first valid heartbeat of a node' },
  peer_found: { id: 201, summary: 'the failover core adopted a node as its peer' },
  peer_restarted: { id: 202, summary: 'the peer came back with a new boot ID' },
  heartbeat_deadlines_missed: {
    id: 204,
    summary: 'the heartbeat thread woke a whole tick or more late and skipped ticks (the count and the latest wakeup attached)',
  },
  heartbeat_lease_expired: {
    id: 205,
    summary: 'the runtime did not hand the heartbeat thread frames in time: heartbeats stopped until it did (the peer may have taken over)',
  },
  event_loop_stalled: { id: 206, summary: 'the main loop ran more than half the heartbeat lease late (the delay attached)' },
  foreign_node_heartbeat: { id: 203, summary: 'a valid heartbeat from a third node while the peer is alive (a cloned configuration?)' },

  truncated: { id: 300, summary: 'dropped: shorter than a heartbeat' },
  not_heartbeat: { id: 301, summary: 'dropped: not to 11-00-00-00-xx-xx, not IPv4/UDP, or not to port 999' },
  bad_magic: { id: 302, summary: 'dropped: payload magic is not TNDM' },
  bad_version: { id: 303, summary: 'dropped: unknown payload version' },
  malformed: { id: 304, summary: 'dropped: a field out of range' },
  ttl_too_low: { id: 305, summary: 'dropped: TTL not 255 (the frame crossed a router)' },
  wrong_cluster: { id: 306, summary: 'dropped: another cluster ID (another cluster on the segment)' },
  bad_tag: { id: 307, summary: 'dropped: authentication failed (another password, a forged or corrupted frame)' },
  heartbeat_from_myself: { id: 308, summary: 'dropped: our own heartbeat (a mirrored port, or our identity configured twice)' },
  nn_mismatch: { id: 309, summary: 'dropped: sent for another bus/slot/port (the boards differ)' },
  disallowed_on_sync_iface: { id: 310, summary: 'dropped: a data-interface heartbeat on the sync interface (cabling)' },
  sync_heartbeat_on_data_iface: { id: 311, summary: 'dropped: a sync-interface heartbeat on a data interface (cabling)' },
  replayed: { id: 312, summary: 'dropped: seen before, or from an older boot' },

  role_change: { id: 400, summary: 'this node changed role; reason and evidence attached' },
  takeover: { id: 401, summary: 'the shared addresses are up here; when the peer was last heard, addresses up, first gratuitous ARP' },
  shared_addresses_released: { id: 402, summary: 'this node no longer holds the shared addresses' },
  shared_ipv6_failed: { id: 415, summary: 'the shared IPv4 addresses are up, but the kernel refused the shared IPv6 ones (errors attached)' },
  planned_failover_started: { id: 403, summary: 'a planned failover began: heartbeats carry the yielding flag' },
  planned_failover_abandoned: { id: 404, summary: 'the peer went silent during a planned failover: this node stays active' },
  failover_refused: { id: 405, summary: 'a planned failover was refused (not active, or no live peer)' },
  peer_fenced: { id: 406, summary: 'the dead peer was fenced before the takeover' },
  stall_detected: { id: 407, summary: 'this process did not run for longer than the failover time' },
  stall_yielding: { id: 416, summary: 'this node stalled while active and the peer took over meanwhile: it hands over to the peer' },
  term_raised: { id: 417, summary: 'this node serves and the peer held a newer takeover term: this node takes the next term' },
  term_implausible: { id: 418, summary: 'the peer advertises a takeover term far above any seen: counted, never adopted' },
  term_wrapped: { id: 419, summary: 'the takeover term went past 2^32 - 1 and goes on at 1 (compared as a serial number)' },
  term_file_unreadable: { id: 420, summary: 'the persisted takeover term could not be read; the node starts from the terms it hears' },
  term_persist_failed: { id: 421, summary: 'the takeover term could not be written to the state directory' },
  worker_died: { id: 408, summary: 'the worker died; the supervisor restarts it' },
  takeover_withheld: { id: 410, summary: 'a dead peer could not be fenced and the policy is to stay inactive: no takeover until it is heard again' },
  peer_gone: { id: 411, summary: 'the peer was declared dead (no heartbeat on any interface for the failover time): this node goes active' },
  conflict_both_peers_active: { id: 412, summary: 'both nodes were active: the rank decided which one stays (this one steps down)' },
  peer_has_more_connections: { id: 413, summary: 'the sync link is down and the peer carries more connections: this node steps down' },
  peer_has_fewer_connections: { id: 414, summary: 'the sync link is down and the peer carries fewer connections: this node takes over' },
  worker_died_shared_released: { id: 409, summary: "the supervisor removed the dead worker's shared links" },

  link_up: { id: 500, summary: 'carrier back on a heartbeat interface' },
  link_down: { id: 501, summary: 'carrier lost on a heartbeat interface' },
  all_heartbeat_links_down: { id: 502, summary: 'no heartbeat interface has carrier: this node will not take over' },
  monitor_targets_lost: { id: 503, summary: 'no monitor target of an interface answers' },
  monitor_targets_reachable: { id: 504, summary: 'a monitor target of an interface answers again' },

  startup_failed: { id: 600, summary: 'the worker could not start' },
  effect_failed: { id: 601, summary: 'an effect (claim, release, fence) failed' },
  cleanup_failed: { id: 602, summary: "the supervisor could not remove a dead worker's shared links" },
  control_socket_failed: { id: 603, summary: 'the control socket could not be served' },
  cluster_store_write_failed: { id: 620, summary: 'the cluster store could not be written to disk; the change is in memory only (the error attached)' },
  shared_lease_unavailable: {
    id: 619,
    summary: 'the kernel-held lease on the shared addresses could not be set up: a killed tandemd would leave them up (the reason attached)',
  },
  heartbeat_send_failed: { id: 604, summary: 'a heartbeat could not be sent on an interface' },
  heartbeat_receive_error: { id: 605, summary: 'a heartbeat socket reported an error' },
  watchdog_unavailable: { id: 606, summary: 'the board names a watchdog that cannot be opened: a hung daemon will not be caught' },
  fence_failed: { id: 609, summary: 'fencing the dead peer failed (the command failed or timed out, the relay could not be set); the policy decides' },
  bypass_unavailable: { id: 608, summary: 'the bypass relays cannot be driven (GPIO chip missing, line busy): the segments are left to the hardware' },
  watchdog_keepalive_failed: { id: 607, summary: 'feeding (or stopping) the watchdog failed' },

  sync_connection_refused: {
    id: 721,
    summary: 'a connection to the sync port was refused (not the peer, or not now); its address and reason, once a minute per address',
  },
  sync_channel_up: { id: 700, summary: 'the sync channel to the peer is up (TLS-PSK handshake and hellos verified)' },
  sync_channel_down: { id: 701, summary: 'the sync channel closed; the reason is attached; the dialling node retries' },
  hasync_connection_failed_timeout: { id: 702, summary: 'nothing arrived on the sync channel for sync.timeoutMs: the channel is dropped, no failover follows' },
  sync_peer_unreachable: {
    id: 703,
    summary: 'the peer cannot be reached for sync: wrong password, other software version, other cluster definition or group mode, nothing listening',
  },
  sync_role: { id: 704, summary: 'this node became the source of state (active) or the sink (standby)' },
  sync_transfer_started: { id: 705, summary: 'a full state transfer began arriving' },
  sync_transfer_applied: { id: 706, summary: 'a full state transfer was applied here, with its duration and entry counts' },
  sync_transfer_sent: { id: 707, summary: 'a full state transfer was sent to the peer' },
  sync_transfer_abandoned: { id: 708, summary: 'a full transfer was cut or incomplete: the previous copy stays as it was' },
  sync_out_of_sync: { id: 709, summary: 'the copy on the standby is no longer followed (link lost)' },
  sync_resumed: { id: 710, summary: 'the standby follows the source again (delta after an outage)' },
  sync_gap: { id: 711, summary: 'an update arrived out of sequence: a full transfer is requested' },
  sync_apply_failed: { id: 712, summary: 'entries from the peer could not be written here (the reason from the kernel attached)' },
  sync_table_drift: { id: 713, summary: 'the periodic digest comparison found the tables differ' },
  sync_message_refused: { id: 714, summary: 'a sync message could not be handled' },
  conntrack_events_overrun: {
    id: 716,
    summary: 'the kernel dropped conntrack events (the reader fell behind): the table was dumped again and the difference sent',
  },
  conntrack_redump_failed: {
    id: 719,
    summary: 'after a conntrack event overrun the table could not be dumped again: the standby may miss changes until a retry succeeds',
  },
  sync_worker_failed: {
    id: 717,
    summary: 'the sync worker thread failed or ended: it is started again after a delay (failover goes on; heartbeats say sync status unknown meanwhile)',
  },
  sync_worker_restarted: {
    id: 720,
    summary: "the sync worker runs again and was told this node's role: synchronisation resumes (a full transfer when needed)",
  },
  sync_leftovers_checked: {
    id: 722,
    summary: "the first full transfer after this node stopped serving: its own entries the peer's table no longer has were deleted (held and kept attached)",
  },
  state_committed: { id: 715, summary: 'before the takeover claim: the synchronised state is live here, with how stale it was' },

  standalone_started: { id: 111, summary: 'the node runs standalone (factory state, or after leaving): no heartbeats, waiting for cluster create or join' },
  worker_restarting: { id: 112, summary: 'the worker ended to run a new membership (create, join, leave, members or mode changed) and starts again at once' },
  cluster_service_failed: { id: 610, summary: 'the cluster service (join, definition updates, restarts; sync port + 1) could not listen' },
  management_http_failed: { id: 611, summary: 'the management HTTP server (health check, status page) could not listen on the management address' },
  admin_login_throttled: {
    id: 817,
    summary: 'wrong administrator passwords from one address: its requests are refused (429) for a while, doubling each time',
  },
  management_http_request_failed: {
    id: 614,
    summary: 'a request to the management HTTP server failed inside tandem: answered 500, the daemon goes on (a defect: report it)',
  },
  cluster_store_written: { id: 800, summary: 'the cluster store was written (atomically), with its new generation and why' },
  cluster_store_recovered: {
    id: 801,
    summary: 'at start the cluster store needed repair: a cut write removed, or a damaged file set aside for the previous generation',
  },
  member_joined: { id: 802, summary: 'a member named by add-member joined from its own console; it receives the system state' },
  member_left: { id: 803, summary: 'a member left the cluster (or was removed)' },
  cluster_joined: { id: 804, summary: "this node joined a cluster: its system state was replaced by the member's" },
  member_enabled: { id: 805, summary: 'this member was enabled: it serves again' },
  member_disabled: { id: 806, summary: 'this member was disabled: it hands over and serves nothing until enabled' },
  member_draining: { id: 807, summary: 'this member drains: the health check answers 500, existing sessions go on' },
  member_drain_ended: { id: 808, summary: 'this member takes new sessions again' },
  leader_role_taken: { id: 809, summary: 'this member holds the leader role (status bit 0x8000; the log-server leader)' },
  leader_role_released: { id: 810, summary: 'this member let the leader role go (a better placed member, or it stops)' },
  cluster_peer_not_told: { id: 811, summary: 'a cluster change could not be sent to a member; it gets it when it is reachable again' },
  cluster_request_refused: { id: 812, summary: 'a request to the cluster service was refused (wrong password or unknown node)' },
  cluster_restart_requested: { id: 813, summary: 'another member restarts the cluster: this enabled member restarts its service too (seed 000)' },
  management_http_started: { id: 814, summary: 'the health check, status page, status.json and metrics are served on the management address' },
  admin_password_set: { id: 815, summary: 'the administrator password of the status page was set' },
  metrics_token_created: { id: 824, summary: 'a new read-only metrics token was made (tandem metrics-token): the previous one no longer works' },
  metrics_token_revoked: { id: 825, summary: 'the metrics token was removed: /metrics takes only the admin password' },
  https_certificate_generated: {
    id: 826,
    summary: 'the node made itself a new self-signed HTTPS certificate (first start, or the old one no longer fit; why attached)',
  },
  https_certificate_replaced: { id: 827, summary: 'the HTTPS certificate was replaced (tandem https install/generate): new connections get the new one' },
  cluster_operation: {
    id: 828,
    summary:
      'a cluster operation was asked for (create, join, enable ...): the front end it came from (cli, console, web), and from the web the address and session',
  },
  web_login: { id: 829, summary: 'the administrator logged in to the web console (source address and session attached)' },
  web_login_failed: { id: 830, summary: 'a wrong administrator password on the web console login form (source address attached)' },
  web_logout: { id: 831, summary: 'the administrator logged out of the web console' },
  web_session_expired: {
    id: 832,
    summary: 'a web console session ended unused for 15 minutes, or 8 hours after its login: the browser was sent to the login page',
  },
  web_request_refused: {
    id: 833,
    summary: 'a change on the web console was refused (403): no CSRF token, a token of another session, or a request from another origin',
  },
  web_sessions_ended: { id: 834, summary: 'the administrator password changed: every web console session ended' },
  web_sessions_unreadable: {
    id: 836,
    summary:
      'the saved web console sessions or wrong-password counts could not be read (file and error attached): everyone logs in again, the counts start over',
  },
  web_sessions_write_failed: {
    id: 837,
    summary:
      'the web console sessions or wrong-password counts could not be saved: a restart of the service will log the administrator out and forget lock-outs',
  },
  firmware_install_refused: {
    id: 840,
    summary: 'an update bundle was refused before anything was written (the file and the reason attached: signature, board, version, damage, space)',
  },
  firmware_installed: {
    id: 841,
    summary: 'an update bundle was written to the root slot not running (version and slot attached): the next boot tries it once',
  },
  firmware_install_failed: {
    id: 842,
    summary: 'systemd-sysupdate could not write the bundle (its output attached): the running slot is untouched, the next install writes the other slot again',
  },
  firmware_rebooting: { id: 843, summary: 'the box reboots into the firmware version just installed' },
  firmware_confirmed: {
    id: 844,
    summary: 'the trial boot of a new firmware version was confirmed healthy (tandemd up; in a cluster, the peer heard and the state in sync): it is kept',
  },
  firmware_confirm_failed: {
    id: 845,
    summary: 'the trial boot of a new firmware version was not confirmed within its deadline (the reason attached): the box reboots into the version before',
  },
  firmware_fallback: {
    id: 846,
    summary: 'the box came back on its previous firmware version: a new version failed its trial boot (both versions and the reason attached)',
  },
  firmware_record_failed: {
    id: 847,
    summary: "a firmware record (a trial boot's verdict, the last fallback) could not be written on the data partition (the error attached)",
  },
  web_change: { id: 835, summary: 'a change made on the web console (certificate, metrics token, cluster): what, from which address and session' },
  priority_not_set: { id: 612, summary: 'tandemd could not raise its scheduling priority (config nice): under load its heartbeats may be late' },
  node_addresses_set: { id: 113, summary: 'at start, the addresses the node file names (set on the console) were put back on the interfaces' },
  node_addresses_failed: { id: 613, summary: "the node file's own addresses could not be put on the interfaces (the error from iproute2 attached)" },
  node_ipv6_dad_failed: { id: 621, summary: "duplicate address detection failed for one of this node's own IPv6 addresses: another host on the link has it" },
  admin_note: { id: 816, summary: 'an administrator wrote a note into the cluster log (tandem note)' },
  maintenance_step: { id: 820, summary: 'a step of tandem update/upgrade ran here: file sent, file received, applied, fail back requested' },
  maintenance_apply_failed: { id: 821, summary: 'the maintenance command failed on this node (exit code or time limit); the sequence stopped' },
  maintenance_done: { id: 822, summary: 'tandem update/upgrade finished: both members applied it, this node serves again' },
  maintenance_stopped: { id: 823, summary: 'tandem update/upgrade stopped at a step; the cluster is serving (who, and where it stopped, attached)' },
  log_forward_failed: {
    id: 617,
    summary: 'log sync: messages could not be handed to the log-server leader; they stay queued and are retried (the count queued attached)',
  },
  log_sync_no_server: {
    id: 618,
    summary: 'log sync: this member is the log-server leader but has no syslog server in its node file; the messages counted were not sent',
  },
  flight_record_failed: { id: 616, summary: 'a flight record (what the node saw before a role change) could not be written to disk' },
  syslog_messages_dropped: {
    id: 615,
    summary: 'the syslog server could not be reached for so long that the oldest queued messages were dropped (the count attached)',
  },
  sync_packet_on_nonsync_iface: {
    id: 718,
    summary: "a sync channel arrived from an address that is not the peer's sync address (another interface or a route): refused",
  },

  corosync_started: { id: 900, summary: 'tandemd started its Corosync (clusters of three and more members)' },
  corosync_reload_failed: { id: 902, summary: 'Corosync could not reload its node list after a member was added or removed (corosync-cfgtool -R)' },
  group_joined: { id: 903, summary: "this member joined the cluster's Corosync process group (its node id attached)" },
  group_join_failed: {
    id: 904,
    summary: 'joining the Corosync process group failed for another reason than Corosync still starting; retried every half second',
  },
  group_connection_lost: { id: 905, summary: 'the connection to Corosync broke (Corosync ended): this member serves nothing until it rejoins' },
  group_message_invalid: { id: 906, summary: "a group message that is not tandem's was delivered and ignored" },
  group_quorum_lost: {
    id: 907,
    summary: "fewer than half of the configured members remain in this member's group: it stops serving new sessions and takes no writes",
  },
  group_quorum_regained: { id: 908, summary: "more than half of the configured members are in this member's group again" },
  group_state_elected: {
    id: 909,
    summary: 'nobody in the group held the cluster state (a cold start): this member, with the most changes applied, holds it and the others take it',
  },
  group_state_requested: { id: 910, summary: 'this member waits for the cluster state from the member named' },
  group_state_sent: { id: 911, summary: 'this member sent the cluster state to joining members (parts, entries and the change count attached)' },
  group_state_installed: { id: 912, summary: 'this member installed the cluster state and the changes ordered after it: it serves' },
  group_serving_changed: {
    id: 913,
    summary: 'this member of a cluster on Corosync started or stopped serving (its health check, its group and the leader attached)',
  },
  corosync_exited: {
    id: 901,
    summary: 'the Corosync tandemd runs ended unexpectedly; it is restarted after a second (exit code and the end of its output attached)',
  },
} as const satisfies Readonly<Record<string, EventInfo>>;

/** Every event's name: a log call with a name not in the catalogue does not compile. */
export type EventName = keyof typeof EVENTS;

export function eventId(name: string): number | undefined {
  return isEventName(name) ? EVENTS[name].id : undefined;
}

export function isEventName(name: string): name is EventName {
  return Object.hasOwn(EVENTS, name);
}

// The core and the sync layer cannot import this catalogue (they sit below it); their own unions of the events
// they log must each be a part of it, or this does not compile.
type Within<T extends EventName> = T;
export type CatalogueHolds = [Within<CoreEvent>, Within<SyncEvent>];
