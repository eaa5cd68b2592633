/*
 * DOC: pacer.h: the heartbeat thread's state, shared by pacer.c (its loop,
 * the send window) and pacer_rx.c (what it receives)
 */
#ifndef PACER_H
#define PACER_H

#include "tandem.h"

#include <pthread.h>

#define PACER_MAX_SOCKS 32
#define PACER_MAX_FRAME 1514
/* Received frames held for the main loop: 512 is five seconds of 100 frames/s. */
#define RX_SLOTS 512
#define RX_SLOT 256
/* Byte ranges of a frame that differ from one heartbeat to the next (sequence, tag, checksums). */
#define RX_MAX_MASK 8
#define NO_TICK UINT64_MAX

struct pacer_iface {
	int fd;
	uint64_t sent, errors;
	int last_errno;
	/* receiving */
	uint64_t received, rx_errors, doorbells;
	uint64_t ring_drops;     /* frames read here that the full ring let go unseen (the main loop stalled) */
	int rx_errno;
	uint8_t last[RX_SLOT]; /* the last frame read here, to tell a change from a repeat */
	uint32_t last_len;
	int64_t last_stamp;
};

struct pacer_rx {
	int on;                  /* receive(): the thread reads the sockets */
	uv_async_t doorbell;     /* rung by the thread; runs on_doorbell on the main loop */
	int doorbell_init;
	int rung;                /* rung and not yet drained: ring at most once */
	napi_ref on_doorbell;
	napi_async_context async;
	int64_t gap_ns;          /* a frame after this much silence on its socket rings too */
	uint32_t nmask;
	uint16_t mask_off[RX_MAX_MASK], mask_len[RX_MAX_MASK];
	uint32_t head, count;    /* ring of RX_SLOTS: oldest at head */
	uint64_t dropped;        /* ring full: the oldest frames, which the main loop never saw */
	uint8_t data[RX_SLOTS][RX_SLOT];
	uint32_t len[RX_SLOTS];
	int64_t stamp[RX_SLOTS];
	uint8_t sock[RX_SLOTS];
};

struct pacer {
	napi_env env;
	pthread_t thread;
	int running;               /* thread created and not yet joined */
	int wake_fd;               /* eventfd: the main thread wakes the pacer's poll */
	int timer_fd;              /* timerfd on CLOCK_MONOTONIC, armed at the next tick's deadline */
	pthread_mutex_t lock;
	/* --- guarded by lock --- */
	int stop;
	int64_t start_ns, tick_ns;
	uint32_t per_tick, slot_size;
	uint64_t first;            /* tick of the window's row 0 */
	uint32_t nticks;           /* rows in the window */
	uint8_t *frames;           /* nticks * per_tick slots of slot_size bytes */
	uint16_t *lens;            /* 0: an empty slot */
	uint8_t *ifidx;
	uint8_t *urgent;           /* frames to send at once, before any row (a load's nowCount) */
	uint16_t *urgent_lens;
	uint8_t *urgent_idx;
	uint32_t urgent_count, urgent_slot;
	uint64_t next_tick;        /* the next tick the thread sends */
	uint64_t armed;            /* the tick timer_fd is armed for, NO_TICK if none */
	int expired;               /* the window ran out and nothing was loaded since */
	uint64_t ticks_sent, ticks_missed, lease_expiries;
	int64_t max_late_ns;
	uint32_t nsocks;
	struct pacer_iface socks[PACER_MAX_SOCKS];
	struct pacer_rx *rx;       /* allocated by receive() */
};

int64_t pacer_mono_ns(void);
struct pacer *unwrap_pacer(napi_env env, napi_value v);
void pacer_wake(struct pacer *p);
/* The tick the thread waits for now, NO_TICK when the window holds none (lock held). */
uint64_t pacer_due_tick(const struct pacer *p);

/* pacer_rx.c, on either thread, without the lock (it takes it to file what it read) */
void pacer_rx_read(struct pacer *p, uint32_t idx, short revents);
/* pacer_rx.c, on the main thread */
void pacer_rx_free(struct pacer *p);

#endif
