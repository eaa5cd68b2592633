/*
 * DOC: pacer.c: the heartbeat pacer, one thread that sends frames on time
 *
 * TypeScript builds every heartbeat (sequence, tag, checksums) for the next
 * stretch of time and loads them here as a window of ticks: tick k is due at
 * start + k * tick on CLOCK_MONOTONIC, and holds up to `per_tick` frames, each
 * for one of the pacer's sockets. The thread sleeps to each absolute deadline
 * and sends that tick's frames. It decides nothing: when the window runs out
 * (the runtime stopped loading: a hung event loop) it sends nothing more, and
 * that silence is the lease the peer's failover time measures.
 *
 * The thread waits in one poll(): for the next tick's absolute deadline (a
 * timerfd) and for the main thread (an eventfd: a load that moves the due
 * tick, or stop). Once receive() was called it reads the heartbeat sockets
 * after each tick's send, and polls them while no tick is due (pacer_rx.c).
 * A top-up that leaves the due tick as it was does not wake it.
 *
 * Owner of each field: `lock` guards everything below it; the thread only
 * reads the window and writes next_tick, armed and the counters; the JS
 * thread (load, stats, close) replaces the window. Only the thread sends, with
 * the lock held, so a load never lets an older frame leave after a newer one
 * (the peer's replay window would count it); frames a load wants sent at once
 * go to the thread too. The JS thread holds the lock only to copy counters or
 * swap pointers, never across a system call or an allocation: on a busy CPU
 * the JS thread may be preempted for a long time, and the heartbeat thread
 * must never wait for it (it did: 200 ms late under stress-ng at nice -20).
 * The thread makes system calls only: no Node-API call, no JavaScript.
 *
 * Sockets are dup()s of the caller's packet sockets: closing those in JS does
 * not pull an fd from under the thread. The thread is joined by close(), the
 * JS finalizer or the environment's cleanup hook, whichever runs first.
 */
#include "pacer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

/* What a pacer wrapper is, so that no other wrapped object is taken for one. */
static const napi_type_tag PACER_TAG = { 0x74616e64656d7061ULL, 0x6365720000000001ULL };

int64_t pacer_mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return ns_of(&t);
}

/* Sends one slot; a failure is counted on its interface and never stops the others. */
static void send_slot(struct pacer *p, const uint8_t *frame, uint16_t len, uint8_t idx)
{
	struct pacer_iface *s;

	if (len == 0 || idx >= p->nsocks)
		return;
	s = &p->socks[idx];
	if (send(s->fd, frame, len, MSG_DONTWAIT) < 0) {
		s->errors++;
		s->last_errno = errno;
	} else {
		s->sent++;
	}
}

static void send_row(struct pacer *p, uint64_t tick)
{
	size_t row = (size_t)(tick - p->first) * p->per_tick;
	for (uint32_t i = 0; i < p->per_tick; i++)
		send_slot(p, p->frames + (row + i) * p->slot_size, p->lens[row + i], p->ifidx[row + i]);
	p->ticks_sent++;
}

/* The tick the thread waits for now, NO_TICK when the window holds none (lock held). */
uint64_t pacer_due_tick(const struct pacer *p)
{
	uint64_t t = p->next_tick > p->first ? p->next_tick : p->first;
	return t < p->first + p->nticks ? t : NO_TICK;
}

/* Wakes the thread's poll (a load it must look at, or stop). */
void pacer_wake(struct pacer *p)
{
	uint64_t one = 1;
	if (write(p->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the thread will wake anyway */
	}
}

/* Arms timer_fd at the due tick's absolute deadline, or disarms it (lock held). */
static void arm(struct pacer *p, uint64_t tick)
{
	struct itimerspec its;

	if (tick == p->armed)
		return;
	memset(&its, 0, sizeof(its));
	if (tick != NO_TICK) {
		int64_t deadline = p->start_ns + (int64_t)tick * p->tick_ns;
		its.it_value.tv_sec = deadline / 1000000000LL;
		its.it_value.tv_nsec = deadline % 1000000000LL;
		/* A zero it_value disarms: tick 0 at start 0 cannot happen (start_ns is the monotonic now). */
	}
	timerfd_settime(p->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
	p->armed = tick;
}

/* The frames a load asked to send at once, before any row of its window (lock held). */
static void send_urgent(struct pacer *p)
{
	for (uint32_t i = 0; i < p->urgent_count; i++)
		send_slot(p, p->urgent + (size_t)i * p->urgent_slot, p->urgent_lens[i], p->urgent_idx[i]);
	p->urgent_count = 0;
}

/* The tick is due (the timer fired): send it, or the newest due one after a late wakeup (lock held). */
static void on_deadline(struct pacer *p)
{
	uint64_t tick = pacer_due_tick(p);
	int64_t deadline, now, behind;

	if (tick == NO_TICK)
		return;
	deadline = p->start_ns + (int64_t)tick * p->tick_ns;
	now = pacer_mono_ns();
	if (now < deadline)
		return; /* the window moved since the timer was armed: re-arm */
	p->next_tick = tick;
	if (now - deadline > p->max_late_ns)
		p->max_late_ns = now - deadline;
	/* Woken a whole tick or more late (a starved CPU): send the newest due
	 * tick, not a burst of stale ones, and count the ticks skipped. */
	behind = (now - deadline) / p->tick_ns;
	if (behind > 0) {
		uint64_t last = p->first + p->nticks - 1;
		uint64_t skip = (uint64_t)behind;
		if (p->next_tick + skip > last)
			skip = last - p->next_tick;
		p->next_tick += skip;
		p->ticks_missed += skip;
	}
	send_row(p, p->next_tick);
	p->next_tick++;
}

/*
 * One poll for everything the thread waits on: the deadline of the next tick
 * (timer_fd, absolute), a load or stop from the main thread (wake_fd), and,
 * when receiving, the heartbeat sockets. The lock is held except in poll().
 */
static void *pacer_main(void *arg)
{
	struct pacer *p = arg;
	struct pollfd pfd[2 + PACER_MAX_SOCKS];

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		uint64_t tick;
		nfds_t n = 2;

		send_urgent(p);
		tick = pacer_due_tick(p);

		if (tick == NO_TICK && p->nticks > 0 && !p->expired) {
			/* The lease ran out: silent until the runtime loads frames again. */
			p->expired = 1;
			p->lease_expiries++;
		}
		arm(p, tick);
		pfd[0] = (struct pollfd){ .fd = p->wake_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = p->timer_fd, .events = POLLIN };
		/* While ticks run, the sockets are read at each tick (one wakeup for both; news waits at most a
		 * tick, its kernel stamp unchanged). With no tick due (the lease ran out: a hung main loop) the
		 * sockets are polled, so that the ring keeps the newest frames for the loop's return. */
		if (p->rx && p->rx->on && tick == NO_TICK)
			for (uint32_t i = 0; i < p->nsocks; i++)
				pfd[n++] = (struct pollfd){ .fd = p->socks[i].fd, .events = POLLIN };
		pthread_mutex_unlock(&p->lock);
		if (poll(pfd, n, -1) < 0 && errno != EINTR) {
			pthread_mutex_lock(&p->lock);
			break; /* cannot happen with valid fds; the peer sees silence, as after a crash */
		}
		if (pfd[0].revents & POLLIN) {
			uint64_t v;
			if (read(p->wake_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: another read took it */
			}
		}
		for (nfds_t i = 2; i < n; i++)
			if (pfd[i].revents)
				pacer_rx_read(p, (uint32_t)(i - 2), pfd[i].revents);
		pthread_mutex_lock(&p->lock);
		if (pfd[1].revents & POLLIN) {
			uint64_t expirations;
			int rx_on;
			if (read(p->timer_fd, &expirations, sizeof(expirations)) < 0) {
				/* EAGAIN: re-armed since it fired */
			}
			p->armed = NO_TICK;
			if (!p->stop) {
				send_urgent(p);
				on_deadline(p);
			}
			rx_on = !p->stop && p->rx && p->rx->on;
			pthread_mutex_unlock(&p->lock);
			if (rx_on)
				for (uint32_t i = 0; i < p->nsocks; i++)
					pacer_rx_read(p, i, POLLIN);
			pthread_mutex_lock(&p->lock);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Stops and joins the thread if it runs, then closes its fds; idempotent. */
static void pacer_stop(struct pacer *p)
{
	if (p->running) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pacer_wake(p);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		p->running = 0;
	}
	for (uint32_t i = 0; i < p->nsocks; i++) {
		if (p->socks[i].fd >= 0)
			close(p->socks[i].fd);
		p->socks[i].fd = -1;
	}
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	if (p->timer_fd >= 0)
		close(p->timer_fd);
	p->wake_fd = p->timer_fd = -1;
}

static void pacer_free(struct pacer *p)
{
	pacer_stop(p);
	pthread_mutex_destroy(&p->lock);
	free(p->frames);
	free(p->lens);
	free(p->ifidx);
	free(p->urgent);
	free(p->urgent_lens);
	free(p->urgent_idx);
	/* Frees p itself once the doorbell handle is closed (or at once without one). */
	pacer_rx_free(p);
}

static void pacer_cleanup_hook(void *data)
{
	pacer_stop(data);
}

static void pacer_finalize(napi_env env, void *data, void *hint)
{
	(void)hint;
	napi_remove_env_cleanup_hook(env, pacer_cleanup_hook, data);
	pacer_free(data);
}

struct pacer *unwrap_pacer(napi_env env, napi_value v)
{
	struct pacer *p = NULL;
	bool tagged = false;

	if (napi_check_object_type_tag(env, v, &PACER_TAG, &tagged) != napi_ok || !tagged)
		return NULL;
	if (napi_unwrap(env, v, (void **)&p) != napi_ok)
		return NULL;
	return p;
}

/* tandem_pacer_open(wrapper, socks: handle[], startNs: bigint, tickNs: bigint,
 * perTick, rtPriority) -> wrapper. rtPriority 0: the default scheduler;
 * 1..99: SCHED_FIFO at that priority, or an error if the kernel refuses. */
napi_value tandem_pacer_open(napi_env env, napi_callback_info info)
{
	size_t argc = 6;
	napi_value argv[6];
	uint32_t nsocks, per_tick, prio;
	int64_t start_ns, tick_ns;
	struct pacer *p;
	bool is_array;
	int err;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6)
		return throw_type(env, "pacer_open(wrapper, socks, startNs, tickNs, perTick, rtPriority)");
	if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
	    napi_get_array_length(env, argv[1], &nsocks) != napi_ok || nsocks == 0 || nsocks > PACER_MAX_SOCKS)
		return throw_type(env, "socks must be an array of 1..32 packet socket handles");
	if (get_i64(env, argv[2], &start_ns) < 0 || get_i64(env, argv[3], &tick_ns) < 0 || tick_ns < 100000)
		return throw_type(env, "startNs and tickNs must be bigints, tickNs at least 100000 (0.1 ms)");
	if (napi_get_value_uint32(env, argv[4], &per_tick) != napi_ok || per_tick == 0 || per_tick > PACER_MAX_SOCKS)
		return throw_type(env, "perTick must be 1..32");
	if (napi_get_value_uint32(env, argv[5], &prio) != napi_ok || prio > 99)
		return throw_type(env, "rtPriority must be 0 (off) or 1..99");

	p = calloc(1, sizeof(*p));
	if (!p)
		return throw_errno(env, "calloc", ENOMEM);
	p->env = env;
	p->start_ns = start_ns;
	p->tick_ns = tick_ns;
	p->per_tick = per_tick;
	p->armed = NO_TICK;
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->wake_fd < 0 || p->timer_fd < 0) {
		err = errno;
		if (p->wake_fd >= 0)
			close(p->wake_fd);
		if (p->timer_fd >= 0)
			close(p->timer_fd);
		free(p);
		return throw_errno(env, "eventfd/timerfd_create", err);
	}
	for (uint32_t i = 0; i < nsocks; i++) {
		napi_value h;
		struct sock *s;
		if (napi_get_element(env, argv[1], i, &h) != napi_ok || !(s = unwrap(env, h)) || s->closing) {
			p->nsocks = i;
			err = EBADF;
			goto fail_socks;
		}
		p->socks[i].fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
		if (p->socks[i].fd < 0) {
			p->nsocks = i;
			err = errno;
			goto fail_socks;
		}
	}
	p->nsocks = nsocks;
	pthread_mutex_init(&p->lock, NULL);

	err = pthread_create(&p->thread, NULL, pacer_main, p);
	if (err) {
		pacer_free(p);
		return throw_errno(env, "pthread_create", err);
	}
	p->running = 1;
	pthread_setname_np(p->thread, "tandem-hb"); /* what top -H and /proc show */
	if (prio > 0) {
		struct sched_param sp = { .sched_priority = (int)prio };
		err = pthread_setschedparam(p->thread, SCHED_FIFO, &sp);
		if (err) {
			pacer_free(p);
			return throw_errno(env, "pthread_setschedparam(SCHED_FIFO)", err);
		}
	}
	if (napi_wrap(env, argv[0], p, pacer_finalize, NULL, NULL) != napi_ok) {
		pacer_free(p);
		return throw_type(env, "wrapper must be a plain object not wrapped before");
	}
	if (napi_type_tag_object(env, argv[0], &PACER_TAG) != napi_ok ||
	    napi_add_env_cleanup_hook(env, pacer_cleanup_hook, p) != napi_ok) {
		pacer_stop(p); /* the finalizer frees it */
		return throw_type(env, "could not tag the pacer wrapper");
	}
	return argv[0];
fail_socks:
	for (uint32_t i = 0; i < p->nsocks; i++)
		close(p->socks[i].fd);
	close(p->wake_fd);
	close(p->timer_fd);
	free(p);
	return throw_errno(env, "fcntl(F_DUPFD_CLOEXEC)", err);
}

/* tandem_pacer_close(wrapper): stops and joins the thread, closes its fds. Idempotent. */
napi_value tandem_pacer_close(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct pacer *p;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || !(p = unwrap_pacer(env, argv[0])))
		return throw_errno(env, "pacer_close", EBADF);
	pacer_stop(p);
	return NULL;
}
