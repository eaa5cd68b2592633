/*
 * DOC: sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET
 *
 * (mlockall was tried here to keep tandemd's pages resident under disk load:
 * V8 then aborts, its mprotect and madvise on locked pages fail. Not used.)
 * systemd's notification protocol is a text datagram ("READY=1",
 * "WATCHDOG=1", "STATUS=...") on an AF_UNIX socket whose path comes from the
 * environment; a leading '@' is the abstract namespace. Node has no Unix
 * datagram sockets, so this is the addon's job; what to send and when is
 * decided in src/io/sd-notify.ts.
 */
#include "tandem.h"
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* tandem_sd_notify(path, text) */
napi_value tandem_sd_notify(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char text[1024];
	struct sockaddr_un sa;
	socklen_t len;
	int fd, err;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 2 || get_string(env, argv[0], path, sizeof(path)) < 0 || path[0] == '\0')
		return throw_type(env, "the NOTIFY_SOCKET path");
	if (get_string(env, argv[1], text, sizeof(text)) < 0)
		return throw_type(env, "a notification of at most 1023 bytes");
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return throw_errno(env, "socket(AF_UNIX)", errno);
	if (sendto(fd, text, strlen(text), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0) {
		err = errno;
		close(fd);
		return throw_errno(env, "sendto(NOTIFY_SOCKET)", err);
	}
	close(fd);
	return NULL;
}

