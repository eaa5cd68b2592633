/*
 * DOC: pacer_load.c: the main thread's side of the heartbeat pacer: a new
 * window of frames, and the counters
 *
 * The window is built outside the lock (only this thread replaces it, so its
 * rows can be read without one) and swapped in under it: the heartbeat thread
 * never waits for a JS thread that a busy CPU preempted in a copy or a
 * malloc (pacer.c says why).
 */
#include "pacer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* tandem_pacer_load(wrapper, fromTick: bigint, frames: Buffer, lens: Uint16Array,
 * ifidx: Uint8Array, nowCount) -> the tick the thread sends next.
 * The first nowCount slots are sent at once (a change the peer must hear now);
 * the rest are rows of perTick slots for ticks fromTick, fromTick + 1, ...
 * They replace the window from fromTick on; rows before it that are not yet
 * sent stay. Every slot is frames.length / lens.length bytes. */
napi_value tandem_pacer_load(napi_env env, napi_callback_info info)
{
	size_t argc = 6, frames_len, lens_bytes, idx_len;
	napi_value argv[6], result;
	struct pacer *p;
	int64_t from_arg;
	uint64_t from, keep_from, keep_to, old_first, next;
	uint32_t now_count, nslots, slot_size, new_rows, kept_rows, rows, old_nticks, old_slot;
	void *frames, *lens_v, *idx_v;
	uint16_t *lens;
	uint8_t *idx, *nf = NULL, *ni = NULL, *uf = NULL, *ui = NULL, *of, *oi, *pf = NULL, *pi = NULL;
	uint16_t *nl = NULL, *ul = NULL, *ol, *pl = NULL;
	int wake;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6 || !(p = unwrap_pacer(env, argv[0])))
		return throw_errno(env, "pacer_load", EBADF);
	if (!p->running)
		return throw_errno(env, "pacer_load", EBADF);
	if (get_i64(env, argv[1], &from_arg) < 0 || from_arg < 0 ||
	    get_bytes(env, argv[2], &frames, &frames_len) < 0 || get_bytes(env, argv[3], &lens_v, &lens_bytes) < 0 ||
	    get_bytes(env, argv[4], &idx_v, &idx_len) < 0 || napi_get_value_uint32(env, argv[5], &now_count) != napi_ok)
		return throw_type(env, "pacer_load(wrapper, fromTick: bigint >= 0, frames: Buffer, lens: Uint16Array, ifidx: Uint8Array, nowCount)");
	from = (uint64_t)from_arg;
	lens = lens_v;
	idx = idx_v;
	nslots = (uint32_t)(lens_bytes / 2);
	if (nslots == 0 || idx_len != nslots || now_count > nslots || (nslots - now_count) % p->per_tick != 0 ||
	    frames_len % nslots != 0 || frames_len / nslots > PACER_MAX_FRAME)
		return throw_type(env, "frames, lens and ifidx must describe nowCount slots then whole rows of perTick slots");
	slot_size = (uint32_t)(frames_len / nslots);
	for (uint32_t i = 0; i < nslots; i++)
		if (lens[i] > slot_size || idx[i] >= p->nsocks)
			return throw_type(env, "a frame is longer than its slot or names a socket the pacer does not have");
	new_rows = (nslots - now_count) / p->per_tick;

	/* The window as it stands: only this thread replaces it, so its rows can be copied without the lock;
	 * the heartbeat thread only moves next_tick on, which the new window's `first` absorbs (due_tick). */
	pthread_mutex_lock(&p->lock);
	keep_from = p->next_tick > p->first ? p->next_tick : p->first;
	old_first = p->first;
	old_nticks = p->nticks;
	old_slot = p->slot_size;
	pthread_mutex_unlock(&p->lock);
	/* Rows kept: not yet sent, before fromTick. A fromTick past the window's
	 * end (the runtime came back after the lease ran out) keeps nothing: the
	 * ticks between were due while nobody loaded them, and stay silent. */
	keep_to = from;
	kept_rows = from <= old_first + old_nticks && keep_to > keep_from ? (uint32_t)(keep_to - keep_from) : 0;
	if (kept_rows > 0 && slot_size != old_slot)
		return throw_type(env, "the slot size changed: load from the next tick the pacer sends");
	rows = kept_rows + new_rows;
	if (rows > 0) {
		nf = malloc((size_t)rows * p->per_tick * slot_size);
		nl = calloc((size_t)rows * p->per_tick, sizeof(*nl));
		ni = calloc((size_t)rows * p->per_tick, 1);
	}
	if (now_count > 0) {
		uf = malloc((size_t)now_count * slot_size);
		ul = malloc((size_t)now_count * sizeof(*ul));
		ui = malloc(now_count);
	}
	if ((rows > 0 && (!nf || !nl || !ni)) || (now_count > 0 && (!uf || !ul || !ui))) {
		free(nf), free(nl), free(ni), free(uf), free(ul), free(ui);
		return throw_errno(env, "malloc", ENOMEM);
	}
	if (kept_rows > 0) {
		size_t off = (size_t)(keep_from - old_first) * p->per_tick, n = (size_t)kept_rows * p->per_tick;
		memcpy(nf, p->frames + off * slot_size, n * slot_size);
		memcpy(nl, p->lens + off, n * sizeof(*nl));
		memcpy(ni, p->ifidx + off, n);
	}
	if (new_rows > 0) {
		memcpy(nf + (size_t)kept_rows * p->per_tick * slot_size, (uint8_t *)frames + (size_t)now_count * slot_size,
		       (size_t)new_rows * p->per_tick * slot_size);
		memcpy(nl + (size_t)kept_rows * p->per_tick, lens + now_count, (size_t)new_rows * p->per_tick * sizeof(*nl));
		memcpy(ni + (size_t)kept_rows * p->per_tick, idx + now_count, (size_t)new_rows * p->per_tick);
	}
	if (now_count > 0) {
		memcpy(uf, frames, (size_t)now_count * slot_size);
		memcpy(ul, lens, (size_t)now_count * sizeof(*ul));
		memcpy(ui, idx, now_count);
	}

	pthread_mutex_lock(&p->lock);
	of = p->frames, ol = p->lens, oi = p->ifidx;
	p->frames = nf;
	p->lens = nl;
	p->ifidx = ni;
	p->slot_size = slot_size;
	p->first = kept_rows > 0 ? keep_from : from;
	p->nticks = rows;
	if (rows > 0)
		p->expired = 0;
	if (now_count > 0) {
		/* The thread sends these first when it wakes (their sequences are lower than the new rows'); any
		 * not sent yet from an earlier load are superseded by these newer ones. */
		pf = p->urgent, pl = p->urgent_lens, pi = p->urgent_idx;
		p->urgent = uf, p->urgent_lens = ul, p->urgent_idx = ui;
		p->urgent_count = now_count;
		p->urgent_slot = slot_size;
	}
	/* The thread sleeps to the deadline it armed and reads the window when it
	 * wakes: a top-up that leaves that tick due costs it no wakeup. */
	wake = now_count > 0 || pacer_due_tick(p) != p->armed;
	next = p->next_tick;
	pthread_mutex_unlock(&p->lock);
	if (wake)
		pacer_wake(p);
	free(of), free(ol), free(oi), free(pf), free(pl), free(pi);
	napi_create_bigint_uint64(env, next, &result);
	return result;
}

/* tandem_pacer_stats(wrapper, out: BigInt64Array) fills [nextTick, windowEnd,
 * ticksSent, ticksMissed, leaseExpiries, maxLateNs, rxDropped, then per
 * socket: sent, errors, lastErrno, received, rxErrors, rxErrno, doorbells, ringDrops];
 * returns how many values it wrote. */
napi_value tandem_pacer_stats(napi_env env, napi_callback_info info)
{
	size_t argc = 2, len;
	napi_value argv[2], result;
	struct pacer *p;
	void *out_v;
	int64_t *out;
	uint32_t n = 0;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || !(p = unwrap_pacer(env, argv[0])))
		return throw_errno(env, "pacer_stats", EBADF);
	if (get_bytes(env, argv[1], &out_v, &len) < 0 || len < (7 + 8 * (size_t)p->nsocks) * 8)
		return throw_type(env, "out must be a BigInt64Array of 7 + 8 * sockets values");
	out = out_v;
	pthread_mutex_lock(&p->lock);
	out[n++] = (int64_t)p->next_tick;
	out[n++] = (int64_t)(p->first + p->nticks);
	out[n++] = (int64_t)p->ticks_sent;
	out[n++] = (int64_t)p->ticks_missed;
	out[n++] = (int64_t)p->lease_expiries;
	out[n++] = p->max_late_ns;
	out[n++] = p->rx ? (int64_t)p->rx->dropped : 0;
	for (uint32_t i = 0; i < p->nsocks; i++) {
		const struct pacer_iface *s = &p->socks[i];
		out[n++] = (int64_t)s->sent;
		out[n++] = (int64_t)s->errors;
		out[n++] = s->last_errno;
		out[n++] = (int64_t)s->received;
		out[n++] = (int64_t)s->rx_errors;
		out[n++] = s->rx_errno;
		out[n++] = (int64_t)s->doorbells;
		out[n++] = (int64_t)s->ring_drops;
	}
	pthread_mutex_unlock(&p->lock);
	napi_create_uint32(env, n, &result);
	return result;
}
