/*
 * DOC: tandem native addon
 *
 * The system calls that TypeScript cannot make, and nothing else: AF_PACKET
 * sockets (classic BPF filter, multicast membership), netlink sockets, both
 * with send and batched receive (through uv_poll, or read on demand) with a
 * timestamp per message, and interface facts by ioctl.
 * Every failing system call becomes a JS Error with .code, .errno and
 * .syscall at one place (throw_errno / make_errno_error); the advice an
 * administrator reads is added in TypeScript (src/io/native.ts), which is
 * also the only module that loads this file.
 *
 * Everything runs on the Node main thread. A socket can be opened inside
 * another network namespace: the thread enters it around socket() and
 * returns at once, so the socket belongs to that namespace for its life.
 *
 * Lifetime of a socket handle: JS owns it (a wrapped object). The uv_poll is
 * initialised at open; close() stops it and uv_close()s it; the fd is closed
 * in the uv_close callback. The struct is freed only when both the uv_close
 * callback and the JS finalizer have run.
 */

#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

/* ---- errors: the one boundary where errno becomes a JS Error ---- */

static napi_value make_errno_error(napi_env env, const char *syscall, int err)
{
	napi_value msg, code, error, value;
	char text[160];
	const char *name = uv_err_name(-err);

	snprintf(text, sizeof(text), "%s %s", syscall, name);
	napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
	napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
	napi_create_error(env, code, msg, &error);
	napi_set_named_property(env, error, "code", code);
	napi_create_int32(env, err, &value);
	napi_set_named_property(env, error, "errno", value);
	napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
	napi_set_named_property(env, error, "syscall", value);
	return error;
}

static napi_value throw_errno(napi_env env, const char *syscall, int err)
{
	napi_throw(env, make_errno_error(env, syscall, err));
	return NULL;
}

static napi_value throw_type(napi_env env, const char *what)
{
	napi_throw_type_error(env, "EINVAL", what);
	return NULL;
}

/* ---- argument helpers ---- */

static int get_string(napi_env env, napi_value v, char *out, size_t size)
{
	size_t len;
	napi_valuetype t;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_string)
		return -1;
	if (napi_get_value_string_utf8(env, v, out, size, &len) != napi_ok || len + 1 >= size)
		return -1;
	return 0;
}

static int is_nullish(napi_env env, napi_value v)
{
	napi_valuetype t;
	napi_typeof(env, v, &t);
	return t == napi_null || t == napi_undefined;
}

/* Any Buffer or TypedArray: its bytes. */
static int get_bytes(napi_env env, napi_value v, void **data, size_t *len)
{
	bool is;
	napi_typedarray_type type;
	size_t count, offset;
	napi_value ab;

	if (napi_is_buffer(env, v, &is) == napi_ok && is)
		return napi_get_buffer_info(env, v, data, len) == napi_ok ? 0 : -1;
	if (napi_is_typedarray(env, v, &is) != napi_ok || !is)
		return -1;
	if (napi_get_typedarray_info(env, v, &type, &count, data, &ab, &offset) != napi_ok)
		return -1;
	switch (type) {
	case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: *len = count; break;
	case napi_int16_array: case napi_uint16_array: *len = count * 2; break;
	case napi_int32_array: case napi_uint32_array: case napi_float32_array: *len = count * 4; break;
	default: *len = count * 8; break;
	}
	return 0;
}

static struct sock *unwrap(napi_env env, napi_value v)
{
	struct sock *p = NULL;
	if (napi_unwrap(env, v, (void **)&p) != napi_ok)
		return NULL;
	return p;
}

/* ---- network namespaces: enter around one socket() call ---- */

/* Returns a socket created inside the namespace at `path` (or here if NULL),
 * or -errno with *syscall set. */
static int socket_in_netns(const char *path, int domain, int type, int proto, const char **syscall)
{
	int here = -1, there = -1, fd, err;

	if (!path) {
		fd = socket(domain, type, proto);
		*syscall = "socket";
		return fd < 0 ? -errno : fd;
	}
	here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (here < 0) { *syscall = "open"; return -errno; }
	there = open(path, O_RDONLY | O_CLOEXEC);
	if (there < 0) { err = -errno; *syscall = "open"; goto out_here; }
	if (setns(there, CLONE_NEWNET) < 0) { err = -errno; *syscall = "setns"; goto out_there; }
	fd = socket(domain, type, proto);
	err = fd < 0 ? -errno : fd;
	*syscall = "socket";
	if (setns(here, CLONE_NEWNET) < 0)
		napi_fatal_error("tandem", NAPI_AUTO_LENGTH,
				 "could not return to the original network namespace", NAPI_AUTO_LENGTH);
out_there:
	close(there);
out_here:
	close(here);
	return err;
}

/* ---- sockets (packet and netlink share lifetime, send and receive) ---- */

static void on_uv_closed(uv_handle_t *h)
{
	struct sock *p = h->data;
	close(p->fd);
	p->fd = -1;
	p->uv_closed = 1;
	if (p->finalized)
		free(p);
}

static void release_refs(struct sock *p)
{
	napi_ref *refs[] = { &p->on_frames, &p->ring_ref, &p->lens_ref, &p->stamps_ref };
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		if (*refs[i]) {
			napi_delete_reference(p->env, *refs[i]);
			*refs[i] = NULL;
		}
	}
	if (p->async) {
		napi_async_destroy(p->env, p->async);
		p->async = NULL;
	}
}

static void begin_close(struct sock *p)
{
	if (p->closing)
		return;
	p->closing = 1;
	uv_poll_stop(&p->poll);
	uv_close((uv_handle_t *)&p->poll, on_uv_closed);
}

static void finalize_sock(napi_env env, void *data, void *hint)
{
	struct sock *p = data;
	(void)env; (void)hint;
	p->finalized = 1;
	release_refs(p);
	if (p->self) {
		napi_delete_reference(p->env, p->self);
		p->self = NULL;
	}
	begin_close(p);
	if (p->uv_closed)
		free(p);
}

/* Wraps an open fd into the JS wrapper object; on failure closes the fd. */
static napi_value wrap_sock(napi_env env, napi_value wrapper, int fd, int ifindex, const char *ifname)
{
	struct sock *p = calloc(1, sizeof(*p));
	uv_loop_t *loop;

	if (!p) {
		close(fd);
		return throw_errno(env, "calloc", ENOMEM);
	}
	p->env = env;
	p->fd = fd;
	p->ifindex = ifindex;
	if (ifname)
		memcpy(p->ifname, ifname, IF_NAMESIZE);
	napi_get_uv_event_loop(env, &loop);
	uv_poll_init(loop, &p->poll, fd);
	p->poll.data = p;
	if (napi_wrap(env, wrapper, p, finalize_sock, NULL, &p->self) != napi_ok) {
		p->finalized = 1; /* nothing in JS will ever finalize it */
		p->closing = 1;
		uv_close((uv_handle_t *)&p->poll, on_uv_closed);
		return throw_type(env, "wrapper must be a plain object not wrapped before");
	}
	return wrapper;
}

/* tandem_packet_open(ifname, filter: Buffer | null, netnsPath: string | null, wrapper: object)
 * -> ifindex. The socket starts with protocol 0 so no frame arrives before
 * the filter is attached; bind() to ETH_P_ALL then starts the flow. */
static napi_value tandem_packet_open(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4], result;
	char ifname[IF_NAMESIZE + 1], nspath[256];
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

/* tandem_netlink_open(protocol, groups, netnsPath | null, wrapper) -> port id.
 * NETLINK_ROUTE for links and addresses, NETLINK_NETFILTER for conntrack;
 * `groups` is the multicast group bitmask to listen to (0: requests only). */
static napi_value tandem_netlink_open(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4], result;
	char nspath[256];
	const char *syscall;
	int32_t protocol;
	uint32_t groups;
	int fd, one = 1;
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 4 || napi_get_value_int32(env, argv[0], &protocol) != napi_ok ||
	    napi_get_value_uint32(env, argv[1], &groups) != napi_ok)
		return throw_type(env, "protocol and groups must be numbers");
	if (!is_nullish(env, argv[2]) && get_string(env, argv[2], nspath, sizeof(nspath)) < 0)
		return throw_type(env, "netns path must be a string");
	fd = socket_in_netns(is_nullish(env, argv[2]) ? NULL : nspath, AF_NETLINK,
			     SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol, &syscall);
	if (fd < 0)
		return throw_errno(env, syscall, -fd);
	/* Extended acks carry the kernel's own reason for a refused request. */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
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

/* tandem_sock_rcvbuf(handle, bytes): a large receive buffer for event
 * sockets (SO_RCVBUFFORCE: root may exceed rmem_max). */
static napi_value tandem_sock_rcvbuf(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	struct sock *p;
	int32_t bytes;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 2 ? unwrap(env, argv[0]) : NULL;
	if (!p || p->closing)
		return throw_errno(env, "setsockopt(SO_RCVBUFFORCE)", EBADF);
	if (napi_get_value_int32(env, argv[1], &bytes) != napi_ok || bytes <= 0)
		return throw_type(env, "bytes must be a positive number");
	if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
		return throw_errno(env, "setsockopt(SO_RCVBUFFORCE)", errno);
	return NULL;
}

/* tandem_packet_membership(handle, mac: Buffer(6), add: boolean) */
static napi_value tandem_packet_membership(napi_env env, napi_callback_info info)
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
	napi_get_value_bool(env, argv[2], &add);
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

/* tandem_sock_send(handle, frame) -> bytes sent */
static napi_value tandem_sock_send(napi_env env, napi_callback_info info)
{
	size_t argc = 2, len;
	napi_value argv[2], result;
	struct sock *p;
	void *data;
	ssize_t n;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 2 ? unwrap(env, argv[0]) : NULL;
	if (!p || p->closing)
		return throw_errno(env, "send", EBADF);
	if (get_bytes(env, argv[1], &data, &len) < 0)
		return throw_type(env, "frame must be a Buffer");
	n = send(p->fd, data, len, MSG_DONTWAIT);
	if (n < 0)
		return throw_errno(env, "send", errno);
	napi_create_int64(env, n, &result);
	return result;
}

static int64_t ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* One recvmmsg into the caller's ring. Kernel stamps are CLOCK_REALTIME;
 * they are shifted onto CLOCK_MONOTONIC (the clock of process.hrtime) with
 * the offset measured now, because nothing above this file sees wall time. */
static int read_batch(struct sock *p, const struct ring *r)
{
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	char ctl[MAX_BATCH][CMSG_SPACE(sizeof(struct timespec))];
	struct timespec real, mono;
	uint32_t n = r->batch, i;
	int got;

	memset(msgs, 0, sizeof(msgs[0]) * n);
	for (i = 0; i < n; i++) {
		iov[i].iov_base = r->data + i * r->slot_size;
		iov[i].iov_len = r->slot_size;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_control = ctl[i];
		msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
	}
	got = recvmmsg(p->fd, msgs, n, MSG_DONTWAIT | MSG_TRUNC, NULL);
	if (got < 0)
		return -errno;
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	for (i = 0; i < (uint32_t)got; i++) {
		int64_t stamp = ns_of(&mono);
		struct cmsghdr *c;
		for (c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec k;
				memcpy(&k, CMSG_DATA(c), sizeof(k));
				stamp = ns_of(&mono) - (ns_of(&real) - ns_of(&k));
			}
		}
		/* MSG_TRUNC makes msg_len the frame's real length; JS sees truncation. */
		r->lens[i] = msgs[i].msg_len;
		r->stamps[i] = stamp;
	}
	return got;
}

static void call_js(struct sock *p, napi_value err, int count)
{
	napi_env env = p->env;
	napi_handle_scope scope;
	napi_value cb, self, argv[2];

	napi_open_handle_scope(env, &scope);
	napi_get_reference_value(env, p->on_frames, &cb);
	napi_get_reference_value(env, p->self, &self);
	if (cb && self) {
		napi_get_null(env, &argv[0]);
		if (err)
			argv[0] = err;
		napi_create_int32(env, count, &argv[1]);
		/* An exception thrown by the callback surfaces as uncaughtException,
		 * like any other event-loop callback; TS catches its own. */
		napi_make_callback(env, p->async, self, cb, 2, argv, NULL);
	}
	napi_close_handle_scope(env, scope);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct sock *p = h->data;
	int rounds, got;
	(void)events;

	if (p->closing)
		return;
	if (status < 0) {
		/* libuv stopped the poll (POLLERR, e.g. the link went down): read
		 * the pending socket error to clear it, report it, keep polling. */
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		napi_handle_scope scope;
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		napi_open_handle_scope(p->env, &scope);
		call_js(p, make_errno_error(p->env, "poll", soerr ? soerr : -status), 0);
		napi_close_handle_scope(p->env, scope);
		if (!p->closing)
			uv_poll_start(&p->poll, UV_READABLE, on_poll);
		return;
	}
	/* Bounded: a flood must not starve the rest of the event loop. */
	for (rounds = 0; rounds < 8 && !p->closing; rounds++) {
		got = read_batch(p, &p->ring);
		if (got == -EAGAIN || got == -EWOULDBLOCK || got == 0)
			return;
		if (got < 0) {
			napi_handle_scope scope;
			napi_open_handle_scope(p->env, &scope);
			call_js(p, make_errno_error(p->env, "recvmmsg", -got), 0);
			napi_close_handle_scope(p->env, scope);
			return;
		}
		call_js(p, NULL, got);
		if ((uint32_t)got < p->ring.batch)
			return;
	}
}

static int get_ring(napi_env env, napi_value *argv, struct ring *r)
{
	size_t ring_len, lens_len, stamps_len;
	void *data, *lens, *stamps;

	if (get_bytes(env, argv[0], &data, &ring_len) < 0 || get_bytes(env, argv[1], &lens, &lens_len) < 0 ||
	    get_bytes(env, argv[2], &stamps, &stamps_len) < 0)
		return -1;
	r->batch = lens_len / 4;
	if (r->batch == 0 || r->batch > MAX_BATCH || stamps_len < r->batch * 8 || ring_len < r->batch * 64)
		return -1;
	r->data = data;
	r->slot_size = ring_len / r->batch;
	r->lens = lens;
	r->stamps = stamps;
	return 0;
}

#define RING_TYPE_ERROR "ring, lens and stamps must be a Buffer, a Uint32Array and a BigInt64Array of 1..64 slots of at least 64 bytes"

/* tandem_sock_read(handle, ring, lens, stamps) -> count: one batch read now,
 * without polling (0 when nothing is queued). For callers that drain their
 * sockets on their own tick instead of waking for every frame. */
static napi_value tandem_sock_read(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4], result;
	struct sock *p;
	struct ring r;
	int got;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 4 ? unwrap(env, argv[0]) : NULL;
	if (!p || p->closing)
		return throw_errno(env, "recvmmsg", EBADF);
	if (get_ring(env, argv + 1, &r) < 0)
		return throw_type(env, RING_TYPE_ERROR);
	got = read_batch(p, &r);
	if (got == -EAGAIN || got == -EWOULDBLOCK)
		got = 0;
	if (got < 0)
		return throw_errno(env, "recvmmsg", -got);
	napi_create_int32(env, got, &result);
	return result;
}

/* tandem_sock_start(handle, ring: Buffer, lens: Uint32Array, stamps: BigInt64Array, onFrames)
 * The ring holds lens.length slots; onFrames(err, count) must copy what it
 * keeps before it returns, since the next batch overwrites the ring. */
static napi_value tandem_sock_start(napi_env env, napi_callback_info info)
{
	size_t argc = 5;
	napi_value argv[5], name;
	struct sock *p;
	int err;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 5 ? unwrap(env, argv[0]) : NULL;
	if (!p || p->closing)
		return throw_errno(env, "poll", EBADF);
	if (p->on_frames)
		return throw_errno(env, "poll", EBUSY);
	if (get_ring(env, argv + 1, &p->ring) < 0)
		return throw_type(env, RING_TYPE_ERROR);
	napi_create_reference(env, argv[1], 1, &p->ring_ref);
	napi_create_reference(env, argv[2], 1, &p->lens_ref);
	napi_create_reference(env, argv[3], 1, &p->stamps_ref);
	napi_create_reference(env, argv[4], 1, &p->on_frames);
	napi_create_string_utf8(env, "tandem:packet", NAPI_AUTO_LENGTH, &name);
	napi_async_init(env, NULL, name, &p->async);
	/* Strong while polling: a live socket must not be collected. */
	napi_reference_ref(env, p->self, NULL);
	err = uv_poll_start(&p->poll, UV_READABLE, on_poll);
	if (err < 0)
		return throw_errno(env, "uv_poll_start", -err);
	return NULL;
}

/* tandem_sock_close(handle): idempotent. */
static napi_value tandem_sock_close(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct sock *p;
	uint32_t count;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 1 ? unwrap(env, argv[0]) : NULL;
	if (!p || p->closing)
		return NULL;
	if (p->on_frames)
		napi_reference_unref(env, p->self, &count);
	release_refs(p);
	begin_close(p);
	return NULL;
}

/* tandem_packet_stats(handle) -> { packets, drops } since the last call */
static napi_value tandem_packet_stats(napi_env env, napi_callback_info info)
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
static napi_value tandem_packet_ifflags(napi_env env, napi_callback_info info)
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
static napi_value tandem_iface_info(napi_env env, napi_callback_info info)
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
static napi_value tandem_clock_monotonic_ns(napi_env env, napi_callback_info info)
{
	struct timespec t;
	napi_value v;
	(void)info;
	clock_gettime(CLOCK_MONOTONIC, &t);
	napi_create_bigint_int64(env, ns_of(&t), &v);
	return v;
}

static napi_value init(napi_env env, napi_value exports)
{
	napi_property_descriptor table[] = {
		{ "tandem_packet_open", NULL, tandem_packet_open, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_netlink_open", NULL, tandem_netlink_open, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_sock_rcvbuf", NULL, tandem_sock_rcvbuf, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_packet_membership", NULL, tandem_packet_membership, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_sock_send", NULL, tandem_sock_send, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_sock_read", NULL, tandem_sock_read, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_sock_start", NULL, tandem_sock_start, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_sock_close", NULL, tandem_sock_close, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_packet_stats", NULL, tandem_packet_stats, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_packet_ifflags", NULL, tandem_packet_ifflags, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_iface_info", NULL, tandem_iface_info, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tandem_clock_monotonic_ns", NULL, tandem_clock_monotonic_ns, NULL, NULL, NULL, napi_enumerable, NULL },
	};
	napi_define_properties(env, exports, sizeof(table) / sizeof(table[0]), table);
	return exports;
}

NAPI_MODULE_INIT()
{
	return init(env, exports);
}
