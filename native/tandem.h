/*
 * DOC: declarations the addon's files share (tandem.c has the map)
 */
#ifndef TANDEM_H
#define TANDEM_H

#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <net/if.h>
#include <stdint.h>
#include <time.h>
#include "stamp.h"

#define MAX_BATCH 64

/* The caller's receive buffers: `batch` slots of `slot_size` bytes, a length
 * and a monotonic timestamp per slot. */
struct ring {
	uint8_t *data;
	size_t slot_size;
	uint32_t *lens;
	int64_t *stamps;
	uint32_t batch;
};

struct sock {
	napi_env env;
	int fd;
	int ifindex;
	char ifname[IF_NAMESIZE];
	uv_poll_t poll;
	int closing;       /* close() called: no more I/O */
	int uv_closed;     /* uv_close callback ran */
	int finalized;     /* JS object collected */
	napi_ref self;     /* weak ref to the wrapper; strong while polling */
	napi_ref on_frames;
	napi_ref ring_ref, lens_ref, stamps_ref;
	struct ring ring;
	napi_async_context async;
};

/* util.c: the one boundary where errno becomes a JS Error; argument helpers; namespaces */
napi_value make_errno_error(napi_env env, const char *syscall, int err);
napi_value throw_errno(napi_env env, const char *syscall, int err);
napi_value throw_type(napi_env env, const char *what);
int get_string(napi_env env, napi_value v, char *out, size_t size);
int is_nullish(napi_env env, napi_value v);
int get_bytes(napi_env env, napi_value v, void **data, size_t *len);
int get_i64(napi_env env, napi_value v, int64_t *out);
int get_bool(napi_env env, napi_value v, bool *out);
napi_value throw_napi(napi_env env, const char *what);
int hold_ref(napi_env env, napi_value v, napi_ref *out);
void call_back(napi_env env, napi_async_context ctx, napi_value recv, napi_value cb, size_t argc, const napi_value *argv);
struct sock *unwrap(napi_env env, napi_value v);
int socket_in_netns(const char *path, int domain, int type, int proto, const char **syscall);

/* sock.c: lifetime, send and receive of every socket */
napi_value wrap_sock(napi_env env, napi_value wrapper, int fd, int ifindex, const char *ifname);
napi_value tandem_sock_send(napi_env env, napi_callback_info info);
napi_value tandem_sock_read(napi_env env, napi_callback_info info);
napi_value tandem_sock_start(napi_env env, napi_callback_info info);
napi_value tandem_sock_close(napi_env env, napi_callback_info info);

/* packet.c: AF_PACKET */
napi_value tandem_packet_open(napi_env env, napi_callback_info info);
napi_value tandem_packet_membership(napi_env env, napi_callback_info info);
napi_value tandem_packet_stats(napi_env env, napi_callback_info info);
napi_value tandem_packet_ifflags(napi_env env, napi_callback_info info);

/* netlink.c: AF_NETLINK */
napi_value tandem_netlink_open(napi_env env, napi_callback_info info);

/* iface.c: interface facts and the clock */
napi_value tandem_iface_info(napi_env env, napi_callback_info info);
napi_value tandem_clock_monotonic_ns(napi_env env, napi_callback_info info);

/* gpio.c */
napi_value tandem_gpio_chip_info(napi_env env, napi_callback_info info);
napi_value tandem_gpio_line_info(napi_env env, napi_callback_info info);
napi_value tandem_gpio_request(napi_env env, napi_callback_info info);
napi_value tandem_gpio_set(napi_env env, napi_callback_info info);
napi_value tandem_gpio_get(napi_env env, napi_callback_info info);
napi_value tandem_fd_close(napi_env env, napi_callback_info info);
napi_value tandem_watchdog_open(napi_env env, napi_callback_info info);
napi_value tandem_watchdog_keepalive(napi_env env, napi_callback_info info);
napi_value tandem_watchdog_stop(napi_env env, napi_callback_info info);

/* cpg.c: Corosync's closed process groups */
napi_value tandem_cpg_open(napi_env env, napi_callback_info info);
napi_value tandem_cpg_mcast(napi_env env, napi_callback_info info);
napi_value tandem_cpg_close(napi_env env, napi_callback_info info);

/* pacer.c: the heartbeat pacer thread */
napi_value tandem_pacer_open(napi_env env, napi_callback_info info);
napi_value tandem_pacer_load(napi_env env, napi_callback_info info);
napi_value tandem_pacer_stats(napi_env env, napi_callback_info info);
napi_value tandem_pacer_close(napi_env env, napi_callback_info info);
/* pacer_rx.c: what the pacer's thread receives */
napi_value tandem_pacer_receive(napi_env env, napi_callback_info info);
napi_value tandem_pacer_drain(napi_env env, napi_callback_info info);

/* notify.c: systemd's notification socket */
napi_value tandem_sd_notify(napi_env env, napi_callback_info info);

#endif
