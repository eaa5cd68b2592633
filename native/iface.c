/*
 * DOC: iface.c: interface facts by ioctl (index, MAC, MTU, flags, IPv4) in any
 * namespace, and the monotonic clock the frame stamps are on.
 */
#include "tandem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* ---- interface facts ---- */

static void set_ipv4(napi_env env, napi_value obj, const char *key, const struct sockaddr *sa)
{
	char text[INET_ADDRSTRLEN];
	napi_value v;
	const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
	inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
	napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, obj, key, v);
}

/* tandem_iface_info(ifname, netnsPath | null) -> { index, mac, mtu, flags, ipv4?, broadcast?, netmask? } */
napi_value tandem_iface_info(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], result, v;
	char ifname[IF_NAMESIZE + 1], nspath[256];
	const char *syscall;
	struct ifreq ifr;
	void *mac_data;
	int fd;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 2 || get_string(env, argv[0], ifname, sizeof(ifname)) < 0)
		return throw_type(env, "interface name must be a string of at most 15 bytes");
	if (!is_nullish(env, argv[1]) && get_string(env, argv[1], nspath, sizeof(nspath)) < 0)
		return throw_type(env, "netns path must be a string");
	fd = socket_in_netns(is_nullish(env, argv[1]) ? NULL : nspath, AF_INET,
			     SOCK_DGRAM | SOCK_CLOEXEC, 0, &syscall);
	if (fd < 0)
		return throw_errno(env, syscall, -fd);

	napi_create_object(env, &result);
#define IFR_CALL(req, name)                                                                     \
	do {                                                                                    \
		memset(&ifr, 0, sizeof(ifr));                                                   \
		memcpy(ifr.ifr_name, ifname, strlen(ifname));                                   \
		if (ioctl(fd, req, &ifr) < 0) { syscall = "ioctl(" name ")"; goto fail; }        \
	} while (0)
	IFR_CALL(SIOCGIFINDEX, "SIOCGIFINDEX");
	napi_create_int32(env, ifr.ifr_ifindex, &v);
	napi_set_named_property(env, result, "index", v);
	IFR_CALL(SIOCGIFHWADDR, "SIOCGIFHWADDR");
	napi_create_buffer_copy(env, 6, ifr.ifr_hwaddr.sa_data, &mac_data, &v);
	napi_set_named_property(env, result, "mac", v);
	IFR_CALL(SIOCGIFMTU, "SIOCGIFMTU");
	napi_create_int32(env, ifr.ifr_mtu, &v);
	napi_set_named_property(env, result, "mtu", v);
	IFR_CALL(SIOCGIFFLAGS, "SIOCGIFFLAGS");
	napi_create_uint32(env, (uint16_t)ifr.ifr_flags, &v);
	napi_set_named_property(env, result, "flags", v);
#undef IFR_CALL
	/* An interface without IPv4 is normal: those keys are simply absent. */
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, SIOCGIFADDR, &ifr) == 0) {
		set_ipv4(env, result, "ipv4", &ifr.ifr_addr);
		if (ioctl(fd, SIOCGIFBRDADDR, &ifr) == 0)
			set_ipv4(env, result, "broadcast", &ifr.ifr_broadaddr);
		if (ioctl(fd, SIOCGIFNETMASK, &ifr) == 0)
			set_ipv4(env, result, "netmask", &ifr.ifr_netmask);
	}
	close(fd);
	return result;
fail: {
	int err = errno;
	close(fd);
	return throw_errno(env, syscall, err);
	}
}

/* tandem_clock_monotonic_ns() -> bigint, the clock frame stamps are on. */
napi_value tandem_clock_monotonic_ns(napi_env env, napi_callback_info info)
{
	struct timespec t;
	napi_value v;
	(void)info;
	clock_gettime(CLOCK_MONOTONIC, &t);
	napi_create_bigint_int64(env, ns_of(&t), &v);
	return v;
}
