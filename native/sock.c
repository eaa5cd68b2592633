/*
 * DOC: sock.c: what packet and netlink sockets share: the wrapper object and its
 * lifetime, send, batched receive into the caller's ring (uv_poll, or read on
 * demand) with a monotonic timestamp per message, close.
 */
#include "tandem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

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
napi_value wrap_sock(napi_env env, napi_value wrapper, int fd, int ifindex, const char *ifname)
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

/* tandem_sock_send(handle, frame) -> bytes sent */
napi_value tandem_sock_send(napi_env env, napi_callback_info info)
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


/* One recvmmsg into the caller's ring, each message with its monotonic stamp. */
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
		/* MSG_TRUNC makes msg_len the frame's real length; JS sees truncation. */
		r->lens[i] = msgs[i].msg_len;
		r->stamps[i] = mono_stamp(&msgs[i].msg_hdr, &real, &mono);
	}
	return got;
}

static void call_js(struct sock *p, napi_value err, int count)
{
	napi_env env = p->env;
	napi_handle_scope scope;
	napi_value cb, self, argv[2];

	if (napi_open_handle_scope(env, &scope) != napi_ok)
		return;
	cb = self = NULL;
	napi_get_reference_value(env, p->on_frames, &cb);
	napi_get_reference_value(env, p->self, &self);
	if (cb && self && napi_get_null(env, &argv[0]) == napi_ok && napi_create_int32(env, count, &argv[1]) == napi_ok) {
		if (err)
			argv[0] = err;
		call_back(env, p->async, self, cb, 2, argv);
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
napi_value tandem_sock_read(napi_env env, napi_callback_info info)
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
napi_value tandem_sock_start(napi_env env, napi_callback_info info)
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
	if (hold_ref(env, argv[1], &p->ring_ref) < 0 || hold_ref(env, argv[2], &p->lens_ref) < 0 ||
	    hold_ref(env, argv[3], &p->stamps_ref) < 0 ||
	    napi_create_string_utf8(env, "tandem:sock", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, NULL, name, &p->async) != napi_ok || hold_ref(env, argv[4], &p->on_frames) < 0) {
		release_refs(p);
		return throw_napi(env, "tandem_sock_start");
	}
	/* Strong while polling: a live socket must not be collected. */
	napi_reference_ref(env, p->self, NULL);
	err = uv_poll_start(&p->poll, UV_READABLE, on_poll);
	if (err < 0) {
		uint32_t count;
		napi_reference_unref(env, p->self, &count);
		release_refs(p);
		return throw_errno(env, "uv_poll_start", -err);
	}
	return NULL;
}

/* tandem_sock_close(handle): idempotent. */
napi_value tandem_sock_close(napi_env env, napi_callback_info info)
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
