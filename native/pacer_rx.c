/*
 * DOC: pacer_rx.c: the heartbeat thread reads the heartbeat sockets, and wakes
 * the main loop only when a frame says something new
 *
 * Every wakeup of the Node main loop costs far more than the frame it reads,
 * and almost every heartbeat repeats the last one with the next sequence. So
 * the pacer's thread (pacer.c) also reads the heartbeat sockets, after each
 * tick's send (one wakeup for both), or as frames arrive while no tick is due:
 * it reads each frame with its kernel stamp into a ring the main loop drains
 * when a deadline comes within reach, and rings the main loop's doorbell
 * (uv_async_send) when a frame differs from the last one on its socket
 * outside the byte ranges TypeScript names (sequence, tag, checksums), when a
 * socket was silent longer than the gap TypeScript gives, or when the ring is
 * half full. A drain also reads what the kernel still holds, so a thread starved
 * of CPU never hides a frame from a deadline. The thread decides nothing: it
 * neither parses nor authenticates; every frame reaches the main loop, which
 * examines each sender's newest first (src/io/newest-first.ts). A forged frame
 * can only cause an early wakeup.
 */
#include "pacer.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RX_BATCH 16

/* Whether a frame differs from the last one outside the masked ranges (sorted, disjoint). */
static int differs(const struct pacer_rx *rx, const uint8_t *a, const uint8_t *b, uint32_t len)
{
	uint32_t at = 0;

	for (uint32_t m = 0; m < rx->nmask && at < len; m++) {
		uint32_t off = rx->mask_off[m];
		if (off > len)
			off = len;
		if (off > at && memcmp(a + at, b + at, off - at) != 0)
			return 1;
		if (off + rx->mask_len[m] > at)
			at = off + rx->mask_len[m];
	}
	return at < len && memcmp(a + at, b + at, len - at) != 0;
}

static void ring_doorbell(struct pacer *p, struct pacer_iface *s)
{
	if (p->rx->rung)
		return;
	p->rx->rung = 1;
	s->doorbells++;
	uv_async_send(&p->rx->doorbell);
}

/* One frame read on socket idx: into the ring; the doorbell if it is news (lock held). */
static void take(struct pacer *p, uint32_t idx, const uint8_t *frame, uint32_t len, int64_t stamp)
{
	struct pacer_rx *rx = p->rx;
	struct pacer_iface *s = &p->socks[idx];
	uint32_t kept = len < RX_SLOT ? len : RX_SLOT;
	int news = len != s->last_len || differs(rx, frame, s->last, kept) || stamp - s->last_stamp > rx->gap_ns;

	s->received++;
	if (rx->count == RX_SLOTS) {
		/* Full (the main loop stalled): the oldest frame goes. After a stall the newest frames are the
		 * evidence that the peer is alive; an old one only proves what a newer one proves better. */
		p->socks[rx->sock[rx->head]].ring_drops++;
		rx->head = (rx->head + 1) % RX_SLOTS;
		rx->count--;
		rx->dropped++;
		news = 1;
	}
	{
		uint32_t at = (rx->head + rx->count) % RX_SLOTS;
		memcpy(rx->data[at], frame, kept);
		rx->len[at] = len;
		rx->stamp[at] = stamp;
		rx->sock[at] = (uint8_t)idx;
		rx->count++;
	}
	memcpy(s->last, frame, kept);
	s->last_len = len;
	s->last_stamp = stamp;
	if (news || rx->count >= RX_SLOTS / 2)
		ring_doorbell(p, s);
}

void pacer_rx_read(struct pacer *p, uint32_t idx, short revents)
{
	struct pacer_iface *s = &p->socks[idx];
	static __thread uint8_t buf[RX_BATCH][RX_SLOT];
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	char ctl[RX_BATCH][CMSG_SPACE(sizeof(struct timespec))];
	struct timespec real, mono;

	if (revents & (POLLERR | POLLNVAL)) {
		/* The link went down, for instance: clear the pending error, count it, keep polling. */
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		pthread_mutex_lock(&p->lock);
		s->rx_errors++;
		s->rx_errno = soerr ? soerr : EIO;
		pthread_mutex_unlock(&p->lock);
	}
	if (!(revents & POLLIN))
		return;
	/* Bounded: a flood must not delay the next tick's send (poll comes back for the rest). */
	for (int round = 0; round < 4; round++) {
		int got;
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < RX_BATCH; i++) {
			iov[i] = (struct iovec){ .iov_base = buf[i], .iov_len = RX_SLOT };
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_control = ctl[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		/* Without the lock: the main thread reads here too (a drain), and neither may wait for the other
		 * while it sits in a system call, where a busy CPU is likeliest to preempt it. */
		got = recvmmsg(s->fd, msgs, RX_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
		if (got < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				int e = errno;
				pthread_mutex_lock(&p->lock);
				s->rx_errors++;
				s->rx_errno = e;
				pthread_mutex_unlock(&p->lock);
			}
			return;
		}
		clock_gettime(CLOCK_REALTIME, &real);
		clock_gettime(CLOCK_MONOTONIC, &mono);
		pthread_mutex_lock(&p->lock);
		for (int i = 0; i < got; i++)
			take(p, idx, buf[i], msgs[i].msg_len, mono_stamp(&msgs[i].msg_hdr, &real, &mono));
		pthread_mutex_unlock(&p->lock);
		if (got < RX_BATCH)
			return;
	}
}

/* On the main loop: the thread rang. */
static void on_doorbell(uv_async_t *h)
{
	struct pacer *p = h->data;
	napi_env env = p->env;
	napi_handle_scope scope;
	napi_value cb, recv;

	if (!p->running || !p->rx->on_doorbell)
		return;
	if (napi_open_handle_scope(env, &scope) != napi_ok)
		return;
	cb = NULL;
	if (napi_get_reference_value(env, p->rx->on_doorbell, &cb) == napi_ok && cb && napi_get_global(env, &recv) == napi_ok)
		call_back(env, p->rx->async, recv, cb, 0, NULL);
	napi_close_handle_scope(env, scope);
}

static void on_doorbell_closed(uv_handle_t *h)
{
	struct pacer *p = h->data;
	free(p->rx);
	free(p);
}

void pacer_rx_free(struct pacer *p)
{
	struct pacer_rx *rx = p->rx;

	if (!rx || !rx->doorbell_init) {
		free(rx);
		free(p);
		return;
	}
	if (rx->on_doorbell)
		napi_delete_reference(p->env, rx->on_doorbell);
	if (rx->async)
		napi_async_destroy(p->env, rx->async);
	rx->on_doorbell = NULL;
	rx->async = NULL;
	uv_close((uv_handle_t *)&rx->doorbell, on_doorbell_closed);
}

/* tandem_pacer_receive(wrapper, onDoorbell: () => void, mask: Uint16Array [offset, length]...,
 * gapNs: bigint): from now on the thread reads the heartbeat sockets (nothing
 * else may read them) and calls onDoorbell on the main loop when a frame is news. */
napi_value tandem_pacer_receive(napi_env env, napi_callback_info info)
{
	size_t argc = 4, mask_bytes;
	napi_value argv[4], name;
	struct pacer *p;
	struct pacer_rx *rx;
	uv_loop_t *loop;
	void *mask_v;
	uint16_t *mask;
	uint32_t nmask;
	int64_t gap_ns;
	napi_valuetype t;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 || !(p = unwrap_pacer(env, argv[0])) || !p->running)
		return throw_errno(env, "pacer_receive", EBADF);
	if (p->rx)
		return throw_errno(env, "pacer_receive", EBUSY);
	if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function || get_bytes(env, argv[2], &mask_v, &mask_bytes) < 0 ||
	    mask_bytes % 4 != 0 || mask_bytes / 4 > RX_MAX_MASK ||
	    get_i64(env, argv[3], &gap_ns) < 0 || gap_ns <= 0)
		return throw_type(env, "pacer_receive(wrapper, onDoorbell, mask: Uint16Array of at most 8 [offset, length] pairs, gapNs > 0n)");
	mask = mask_v;
	nmask = (uint32_t)(mask_bytes / 4);
	for (uint32_t m = 0; m < nmask; m++)
		if (mask[2 * m] + mask[2 * m + 1] > RX_SLOT || (m > 0 && mask[2 * m] < mask[2 * m - 2] + mask[2 * m - 1]))
			return throw_type(env, "mask ranges must be sorted, disjoint and within 256 bytes");
	rx = calloc(1, sizeof(*rx));
	if (!rx)
		return throw_errno(env, "calloc", ENOMEM);
	napi_get_uv_event_loop(env, &loop);
	if (uv_async_init(loop, &rx->doorbell, on_doorbell) != 0) {
		free(rx);
		return throw_errno(env, "uv_async_init", EINVAL);
	}
	rx->doorbell.data = p;
	rx->doorbell_init = 1;
	/* The doorbell alone does not keep the process alive. */
	uv_unref((uv_handle_t *)&rx->doorbell);
	napi_create_reference(env, argv[1], 1, &rx->on_doorbell);
	napi_create_string_utf8(env, "tandem:pacer", NAPI_AUTO_LENGTH, &name);
	napi_async_init(env, NULL, name, &rx->async);
	rx->gap_ns = gap_ns;
	rx->nmask = nmask;
	for (uint32_t m = 0; m < nmask; m++) {
		rx->mask_off[m] = mask[2 * m];
		rx->mask_len[m] = mask[2 * m + 1];
	}
	rx->on = 1;
	pthread_mutex_lock(&p->lock);
	p->rx = rx;
	pacer_wake(p); /* it polls the sockets from its next round */
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* tandem_pacer_drain(wrapper, ring: Buffer, lens: Uint32Array, stamps: BigInt64Array,
 * socks: Uint8Array) -> count: moves up to lens.length received frames, oldest
 * first, into the caller's slots (ring.length / lens.length bytes each; a
 * length above that is a truncated frame). */
napi_value tandem_pacer_drain(napi_env env, napi_callback_info info)
{
	size_t argc = 5, ring_len, lens_bytes, stamps_bytes, socks_len;
	napi_value argv[5], result;
	struct pacer *p;
	struct pacer_rx *rx;
	void *ring_v, *lens_v, *stamps_v, *socks_v;
	uint32_t cap, n = 0;
	size_t slot;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 || !(p = unwrap_pacer(env, argv[0])))
		return throw_errno(env, "pacer_drain", EBADF);
	if (get_bytes(env, argv[1], &ring_v, &ring_len) < 0 || get_bytes(env, argv[2], &lens_v, &lens_bytes) < 0 ||
	    get_bytes(env, argv[3], &stamps_v, &stamps_bytes) < 0 || get_bytes(env, argv[4], &socks_v, &socks_len) < 0)
		return throw_type(env, "pacer_drain(wrapper, ring: Buffer, lens: Uint32Array, stamps: BigInt64Array, socks: Uint8Array)");
	cap = (uint32_t)(lens_bytes / 4);
	if (cap == 0 || stamps_bytes < (size_t)cap * 8 || socks_len < cap || ring_len / cap < RX_SLOT)
		return throw_type(env, "drain buffers: lens.length slots, each of at least 256 bytes, a stamp and a socket index per slot");
	slot = ring_len / cap;
	rx = p->rx;
	if (rx) {
		/* What the kernel holds that the thread has not read yet (a thread starved of CPU) is read now: the
		 * caller is about to judge a deadline on what it drains. No doorbell for it: the caller is here. The
		 * thread may read the same sockets meanwhile; the drain orders each sender's frames by their stamps. */
		pthread_mutex_lock(&p->lock);
		rx->rung = 1;
		pthread_mutex_unlock(&p->lock);
		for (uint32_t i = 0; i < p->nsocks && p->running; i++)
			pacer_rx_read(p, i, POLLIN);
		pthread_mutex_lock(&p->lock);
		/* Drained from here on: the next news rings again. */
		rx->rung = 0;
		for (; n < cap && rx->count > 0; n++) {
			uint32_t at = rx->head;
			uint32_t len = rx->len[at];
			memcpy((uint8_t *)ring_v + n * slot, rx->data[at], len < RX_SLOT ? len : RX_SLOT);
			((uint32_t *)lens_v)[n] = len > RX_SLOT ? (uint32_t)slot + 1 : len;
			((int64_t *)stamps_v)[n] = rx->stamp[at];
			((uint8_t *)socks_v)[n] = rx->sock[at];
			rx->head = (rx->head + 1) % RX_SLOTS;
			rx->count--;
		}
		pthread_mutex_unlock(&p->lock);
	}
	napi_create_uint32(env, n, &result);
	return result;
}
