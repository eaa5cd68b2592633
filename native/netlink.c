/*
 * DOC: netlink.c: AF_NETLINK sockets (routing, netfilter) with extended acks.
 */
#include "tandem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <sys/socket.h>

/* tandem_netlink_open(protocol, groups, netnsPath | null, wrapper, rcvbuf) -> port id.
 * NETLINK_ROUTE for links and addresses, NETLINK_NETFILTER for conntrack;
 * `groups` is the multicast group bitmask to listen to (0: requests only).
 * `rcvbuf` (bytes, 0: the default) is forced past net.core.rmem_max: a
 * conntrack event socket must absorb bursts of thousands of events, and an
 * overrun is reported as ENOBUFS so the caller resynchronises. */
napi_value tandem_netlink_open(napi_env env, napi_callback_info info)
{
	size_t argc = 5;
	napi_value argv[5], result;
	char nspath[256];
	const char *syscall;
	int32_t protocol;
	uint32_t groups, rcvbuf = 0;
	int fd, one = 1;
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 4 || napi_get_value_int32(env, argv[0], &protocol) != napi_ok ||
	    napi_get_value_uint32(env, argv[1], &groups) != napi_ok)
		return throw_type(env, "protocol and groups must be numbers");
	if (argc >= 5 && !is_nullish(env, argv[4]) && napi_get_value_uint32(env, argv[4], &rcvbuf) != napi_ok)
		return throw_type(env, "rcvbuf must be a number of bytes");
	if (!is_nullish(env, argv[2]) && get_string(env, argv[2], nspath, sizeof(nspath)) < 0)
		return throw_type(env, "netns path must be a string");
	fd = socket_in_netns(is_nullish(env, argv[2]) ? NULL : nspath, AF_NETLINK,
			     SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol, &syscall);
	if (fd < 0)
		return throw_errno(env, syscall, -fd);
	/* Extended acks carry the kernel's own reason for a refused request. */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	/* A refusal need not echo the whole request back: bulk writes get one
	 * small error per refused entry. */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0) {
		syscall = "setsockopt(SO_RCVBUFFORCE)";
		goto fail;
	}
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = groups;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) { syscall = "bind"; goto fail; }
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) { syscall = "getsockname"; goto fail; }
	if (!wrap_sock(env, argv[3], fd, 0, NULL))
		return NULL;
	napi_create_uint32(env, sa.nl_pid, &result);
	return result;
fail: {
	int err = errno;
	close(fd);
	return throw_errno(env, syscall, err);
	}
}
