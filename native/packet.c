/*
 * DOC: packet.c: AF_PACKET sockets bound to one interface: classic BPF attached
 * before bind, multicast membership, kernel counters, interface flags.
 */
#include "tandem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* tandem_packet_open(ifname, filter: Buffer | null, netnsPath: string | null, wrapper: object
 * [, rcvbuf]) -> ifindex. The socket starts with protocol 0 so no frame arrives
 * before the filter is attached; bind() to ETH_P_ALL then starts the flow.
 * rcvbuf (bytes, root may exceed rmem_max) sizes the queue that holds frames
 * while the reader is stalled. */
napi_value tandem_packet_open(napi_env env, napi_callback_info info)
{
	size_t argc = 5;
	napi_value argv[5], result;
	char ifname[IF_NAMESIZE + 1], nspath[256];
	uint32_t rcvbuf = 0;
	void *filter = NULL;
	size_t filter_len = 0;
	const char *syscall;
	struct ifreq ifr;
	struct sockaddr_ll sll;
	int fd, one = 1;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 4 || get_string(env, argv[0], ifname, sizeof(ifname)) < 0)
		return throw_type(env, "interface name must be a string of at most 15 bytes");
	if (!is_nullish(env, argv[1]) && (get_bytes(env, argv[1], &filter, &filter_len) < 0 ||
					 filter_len % sizeof(struct sock_filter) != 0))
		return throw_type(env, "filter must be a Buffer of struct sock_filter");
	if (!is_nullish(env, argv[2]) && get_string(env, argv[2], nspath, sizeof(nspath)) < 0)
		return throw_type(env, "netns path must be a string");
	if (argc > 4 && !is_nullish(env, argv[4]) && napi_get_value_uint32(env, argv[4], &rcvbuf) != napi_ok)
		return throw_type(env, "rcvbuf must be a number of bytes");

	fd = socket_in_netns(is_nullish(env, argv[2]) ? NULL : nspath, AF_PACKET,
			     SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, &syscall);
	if (fd < 0)
		return throw_errno(env, syscall, -fd);

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) { syscall = "ioctl(SIOCGIFINDEX)"; goto fail; }
	if (filter) {
		struct sock_fprog prog = { .len = filter_len / sizeof(struct sock_filter), .filter = filter };
		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0) {
			syscall = "setsockopt(SO_ATTACH_FILTER)";
			goto fail;
		}
	}
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) {
		syscall = "setsockopt(SO_RCVBUF)";
		goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) {
		syscall = "setsockopt(SO_TIMESTAMPNS)";
		goto fail;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0) {
		syscall = "setsockopt(PACKET_IGNORE_OUTGOING)";
		goto fail;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifr.ifr_ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) { syscall = "bind"; goto fail; }

	if (!wrap_sock(env, argv[3], fd, ifr.ifr_ifindex, ifr.ifr_name))
		return NULL;
	napi_create_int32(env, ifr.ifr_ifindex, &result);
	return result;
fail: {
	int err = errno;
	close(fd);
	return throw_errno(env, syscall, err);
	}
}

/* tandem_packet_membership(handle, mac: Buffer(6), add: boolean) */
napi_value tandem_packet_membership(napi_env env, napi_callback_info info)
{
	size_t argc = 3, len;
	napi_value argv[3];
	struct sock *p;
	void *mac;
	bool add;
	struct packet_mreq mr;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 3 ? unwrap(env, argv[0]) : NULL;
	if (!p || p->closing)
		return throw_errno(env, "setsockopt(PACKET_ADD_MEMBERSHIP)", EBADF);
	if (get_bytes(env, argv[1], &mac, &len) < 0 || len != 6)
		return throw_type(env, "mac must be 6 bytes");
	if (get_bool(env, argv[2], &add) < 0)
		return throw_type(env, "add must be a boolean");
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = p->ifindex;
	mr.mr_type = PACKET_MR_MULTICAST;
	mr.mr_alen = 6;
	memcpy(mr.mr_address, mac, 6);
	if (setsockopt(p->fd, SOL_PACKET, add ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP,
		       &mr, sizeof(mr)) < 0)
		return throw_errno(env, add ? "setsockopt(PACKET_ADD_MEMBERSHIP)"
					    : "setsockopt(PACKET_DROP_MEMBERSHIP)", errno);
	return NULL;
}

/* tandem_packet_stats(handle) -> { packets, drops } since the last call */
napi_value tandem_packet_stats(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], result, v;
	struct sock *p;
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 1 ? unwrap(env, argv[0]) : NULL;
	if (!p || p->closing)
		return throw_errno(env, "getsockopt(PACKET_STATISTICS)", EBADF);
	if (getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
		return throw_errno(env, "getsockopt(PACKET_STATISTICS)", errno);
	napi_create_object(env, &result);
	napi_create_uint32(env, st.tp_packets, &v);
	napi_set_named_property(env, result, "packets", v);
	napi_create_uint32(env, st.tp_drops, &v);
	napi_set_named_property(env, result, "drops", v);
	return result;
}

/* tandem_packet_ifflags(handle) -> IFF_* flags of the socket's interface,
 * read through the socket itself (so in its namespace, for one ioctl). */
napi_value tandem_packet_ifflags(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], result;
	struct sock *p;
	struct ifreq ifr;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 1 ? unwrap(env, argv[0]) : NULL;
	if (!p || p->closing)
		return throw_errno(env, "ioctl(SIOCGIFFLAGS)", EBADF);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, p->ifname, IF_NAMESIZE);
	if (ioctl(p->fd, SIOCGIFFLAGS, &ifr) < 0)
		return throw_errno(env, "ioctl(SIOCGIFFLAGS)", errno);
	napi_create_uint32(env, (uint16_t)ifr.ifr_flags, &result);
	return result;
}
