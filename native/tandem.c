/*
 * DOC: tandem native addon
 *
 * The system calls that TypeScript cannot make, and nothing else: AF_PACKET
 * sockets (classic BPF filter, multicast membership), netlink sockets, both
 * with send and batched receive (through uv_poll, or read on demand) with a
 * timestamp per message, interface facts by ioctl, GPIO lines through the
 * character device (v2 uAPI), the hardware watchdog, and systemd's
 * notification datagram, and Corosync's process groups (libcpg).
 * Every failing system call becomes a JS Error with .code, .errno and
 * .syscall at one place (throw_errno / make_errno_error), a failing Node-API
 * call one naming it (throw_napi), and every JS callback made from libuv goes
 * through call_back, which hands an exception it throws to
 * 'uncaughtException' (test/arch checks both); the advice an
 * administrator reads is added in TypeScript (src/io/native.ts), which is
 * also the only module that loads this file.
 *
 * The files: util.c (errors, arguments, namespaces), sock.c (what every
 * socket shares), packet.c, netlink.c, iface.c, gpio.c (GPIO and watchdog),
 * notify.c (sd_notify), cpg.c (Corosync CPG), pacer.c and pacer_rx.c (the
 * heartbeat thread: what it sends, what it receives), and this table.
 *
 * Node-API is called only from the thread of the environment that loaded
 * the addon (the main thread, and the sync worker's thread for its own
 * sockets). The one thread of our own is the pacer's (pacer.c): it makes
 * system calls on memory it shares with JS under a mutex, never calls
 * Node-API, and wakes the main loop with libuv's uv_async_send (documented
 * as safe from any thread) only when what it received changed. A socket can be opened inside
 * another network namespace: the thread enters it around socket() and
 * returns at once, so the socket belongs to that namespace for its life.
 *
 * Lifetime of a socket handle: JS owns it (a wrapped object). The uv_poll is
 * initialised at open; close() stops it and uv_close()s it; the fd is closed
 * in the uv_close callback. The struct is freed only when both the uv_close
 * callback and the JS finalizer have run.
 */
#include "tandem.h"

static napi_value init(napi_env env, napi_value exports)
{
	napi_property_descriptor table[] = {
		{ "tandem_packet_open", NULL, tandem_packet_open, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_netlink_open", NULL, tandem_netlink_open, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_packet_membership", NULL, tandem_packet_membership, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_sock_send", NULL, tandem_sock_send, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_sock_read", NULL, tandem_sock_read, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_sock_start", NULL, tandem_sock_start, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_sock_close", NULL, tandem_sock_close, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_packet_stats", NULL, tandem_packet_stats, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_packet_ifflags", NULL, tandem_packet_ifflags, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_iface_info", NULL, tandem_iface_info, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_clock_monotonic_ns", NULL, tandem_clock_monotonic_ns, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_gpio_chip_info", NULL, tandem_gpio_chip_info, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_gpio_line_info", NULL, tandem_gpio_line_info, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_gpio_request", NULL, tandem_gpio_request, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_gpio_set", NULL, tandem_gpio_set, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_gpio_get", NULL, tandem_gpio_get, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_fd_close", NULL, tandem_fd_close, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_watchdog_open", NULL, tandem_watchdog_open, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_watchdog_keepalive", NULL, tandem_watchdog_keepalive, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_watchdog_stop", NULL, tandem_watchdog_stop, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_sd_notify", NULL, tandem_sd_notify, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_cpg_open", NULL, tandem_cpg_open, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_cpg_mcast", NULL, tandem_cpg_mcast, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_cpg_close", NULL, tandem_cpg_close, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_pacer_open", NULL, tandem_pacer_open, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_pacer_load", NULL, tandem_pacer_load, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_pacer_stats", NULL, tandem_pacer_stats, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_pacer_close", NULL, tandem_pacer_close, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_pacer_receive", NULL, tandem_pacer_receive, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_pacer_drain", NULL, tandem_pacer_drain, NULL, NULL, NULL, napi_enumerable, NULL },
	};
	napi_define_properties(env, exports, sizeof(table) / sizeof(table[0]), table);
	return exports;
}

NAPI_MODULE_INIT()
{
	return init(env, exports);
}
