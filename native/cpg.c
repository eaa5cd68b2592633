/*
 * DOC: cpg.c: Corosync's closed process groups (libcpg): join a group,
 * multicast with agreed (total) order, deliver and configuration-change
 * callbacks through uv_poll on CPG's fd, leave.
 *
 * Everything the group means is decided in TypeScript (src/io/group-link.ts
 * wraps this file); here a CPG error becomes a JS Error like an errno one:
 * .code is the nearest errno name (EAGAIN for CS_ERR_TRY_AGAIN, the flow
 * control of a busy ring), .syscall the cpg_ call, .csError Corosync's own
 * number, so the advice stays in one place (src/io/native.ts).
 *
 * Lifetime: JS owns the wrapper. close() stops the poll; the connection is
 * finalized in the uv_close callback (never inside cpg_dispatch, which may
 * be running the callback that asked to close). The struct is freed once
 * both that and the JS finalizer have run.
 */
#include "tandem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <corosync/cpg.h>

/* An event held from the libcpg callback until cpg_dispatch has returned:
 * cpg_dispatch keeps a 1 MiB buffer on the stack, deeper than V8 lets JS
 * run, so no JS is called from inside it. */
struct held {
	struct held *next;
	int type; /* 0 deliver, 1 confchg, 2 totem */
	uint32_t nodeid, pid, ring_nodeid, counts[3];
	uint64_t ring_seq;
	size_t len;
	uint8_t data[]; /* deliver: the message; confchg: 3 address lists; totem: node ids */
};

struct group {
	napi_env env;
	struct held *head, **tail;
	cpg_handle_t handle;
	uv_poll_t poll;
	int closing, uv_closed, finalized;
	napi_ref self, on_event;
	napi_async_context async;
};

static int cs_errno(cs_error_t e)
{
	switch (e) {
	case CS_ERR_TRY_AGAIN: case CS_ERR_QUEUE_FULL: return EAGAIN;
	case CS_ERR_LIBRARY: return ECONNREFUSED; /* no corosync to talk to */
	case CS_ERR_ACCESS: case CS_ERR_SECURITY: return EACCES;
	case CS_ERR_TOO_BIG: return EMSGSIZE;
	case CS_ERR_NO_MEMORY: case CS_ERR_NO_RESOURCES: return ENOMEM;
	case CS_ERR_BAD_HANDLE: return EBADF;
	case CS_ERR_EXIST: return EEXIST;
	case CS_ERR_NOT_EXIST: case CS_ERR_NAME_NOT_FOUND: return ENOENT;
	case CS_ERR_INVALID_PARAM: case CS_ERR_NAME_TOO_LONG: return EINVAL;
	case CS_ERR_TIMEOUT: return ETIMEDOUT;
	case CS_ERR_INTERRUPT: return EINTR;
	case CS_ERR_BUSY: return EBUSY;
	default: return EIO;
	}
}

static napi_value cs_error(napi_env env, const char *call, cs_error_t e)
{
	napi_value error = make_errno_error(env, call, cs_errno(e)), n;
	napi_create_int32(env, (int32_t)e, &n);
	napi_set_named_property(env, error, "csError", n);
	return error;
}

static napi_value throw_cs(napi_env env, const char *call, cs_error_t e)
{
	napi_throw(env, cs_error(env, call, e));
	return NULL;
}

static void emit(struct group *g, napi_value event)
{
	napi_value cb = NULL, self = NULL;
	napi_get_reference_value(g->env, g->on_event, &cb);
	napi_get_reference_value(g->env, g->self, &self);
	if (cb && self)
		call_back(g->env, g->async, self, cb, 1, &event);
}

static napi_value event_of(napi_env env, const char *type)
{
	napi_value o, t;
	napi_create_object(env, &o);
	napi_create_string_utf8(env, type, NAPI_AUTO_LENGTH, &t);
	napi_set_named_property(env, o, "type", t);
	return o;
}

static void set_u32(napi_env env, napi_value o, const char *name, uint32_t v)
{
	napi_value n;
	napi_create_uint32(env, v, &n);
	napi_set_named_property(env, o, name, n);
}

static napi_value addresses(napi_env env, const struct cpg_address *list, size_t n)
{
	napi_value arr, a;
	napi_create_array_with_length(env, n, &arr);
	for (size_t i = 0; i < n; i++) {
		napi_create_object(env, &a);
		set_u32(env, a, "nodeid", list[i].nodeid);
		set_u32(env, a, "pid", list[i].pid);
		set_u32(env, a, "reason", list[i].reason);
		napi_set_element(env, arr, i, a);
	}
	return arr;
}

static struct group *group_of(cpg_handle_t h)
{
	void *ctx = NULL;
	cpg_context_get(h, &ctx);
	return ctx;
}

static void hold(struct group *g, struct held *h)
{
	if (!h)
		return; /* out of memory: dropped, and JS sees a gap in its own sequence numbers */
	h->next = NULL;
	*g->tail = h;
	g->tail = &h->next;
}

static struct held *held_new(int type, size_t len)
{
	struct held *h = calloc(1, sizeof(*h) + len);
	if (h) {
		h->type = type;
		h->len = len;
	}
	return h;
}

static void on_deliver(cpg_handle_t handle, const struct cpg_name *name, uint32_t nodeid, uint32_t pid, void *msg, size_t len)
{
	struct group *g = group_of(handle);
	struct held *h;
	(void)name;

	if (!g || g->closing)
		return;
	h = held_new(0, len);
	if (h) {
		h->nodeid = nodeid;
		h->pid = pid;
		memcpy(h->data, msg, len);
	}
	hold(g, h);
}

static void on_confchg(cpg_handle_t handle, const struct cpg_name *name,
		       const struct cpg_address *members, size_t n_members,
		       const struct cpg_address *left, size_t n_left,
		       const struct cpg_address *joined, size_t n_joined)
{
	struct group *g = group_of(handle);
	size_t a = sizeof(struct cpg_address);
	struct held *h;
	(void)name;

	if (!g || g->closing)
		return;
	h = held_new(1, (n_members + n_left + n_joined) * a);
	if (h) {
		h->counts[0] = n_members;
		h->counts[1] = n_left;
		h->counts[2] = n_joined;
		memcpy(h->data, members, n_members * a);
		memcpy(h->data + n_members * a, left, n_left * a);
		memcpy(h->data + (n_members + n_left) * a, joined, n_joined * a);
	}
	hold(g, h);
}

static void on_totem(cpg_handle_t handle, struct cpg_ring_id ring, uint32_t n, const uint32_t *nodes)
{
	struct group *g = group_of(handle);
	struct held *h;

	if (!g || g->closing)
		return;
	h = held_new(2, n * sizeof(uint32_t));
	if (h) {
		h->ring_nodeid = ring.nodeid;
		h->ring_seq = ring.seq;
		h->counts[0] = n;
		memcpy(h->data, nodes, n * sizeof(uint32_t));
	}
	hold(g, h);
}

static napi_value event_from(napi_env env, const struct held *h)
{
	napi_value ev, v, arr;
	const struct cpg_address *list = (const void *)h->data;

	switch (h->type) {
	case 0:
		ev = event_of(env, "deliver");
		set_u32(env, ev, "nodeid", h->nodeid);
		set_u32(env, ev, "pid", h->pid);
		napi_create_buffer_copy(env, h->len, h->data, NULL, &v);
		napi_set_named_property(env, ev, "data", v);
		return ev;
	case 1:
		ev = event_of(env, "confchg");
		napi_set_named_property(env, ev, "members", addresses(env, list, h->counts[0]));
		napi_set_named_property(env, ev, "left", addresses(env, list + h->counts[0], h->counts[1]));
		napi_set_named_property(env, ev, "joined", addresses(env, list + h->counts[0] + h->counts[1], h->counts[2]));
		return ev;
	default:
		ev = event_of(env, "totem");
		set_u32(env, ev, "ringNodeid", h->ring_nodeid);
		napi_create_double(env, (double)h->ring_seq, &v);
		napi_set_named_property(env, ev, "ringSeq", v);
		napi_create_array_with_length(env, h->counts[0], &arr);
		for (uint32_t i = 0; i < h->counts[0]; i++) {
			napi_create_uint32(env, ((const uint32_t *)h->data)[i], &v);
			napi_set_element(env, arr, i, v);
		}
		napi_set_named_property(env, ev, "nodes", arr);
		return ev;
	}
}

/* Hands the held events to JS, in order; frees them also when closed meanwhile. */
static void flush_held(struct group *g)
{
	struct held *h;
	while ((h = g->head)) {
		g->head = h->next;
		if (!g->head)
			g->tail = &g->head;
		if (!g->closing) {
			napi_handle_scope scope;
			napi_open_handle_scope(g->env, &scope);
			emit(g, event_from(g->env, h));
			napi_close_handle_scope(g->env, scope);
		}
		free(h);
	}
}

static void on_uv_closed(uv_handle_t *h)
{
	struct group *g = h->data;
	cpg_finalize(g->handle);
	flush_held(g); /* closing: frees without calling JS */
	g->uv_closed = 1;
	if (g->finalized)
		free(g);
}

static void begin_close(struct group *g)
{
	if (g->closing)
		return;
	g->closing = 1;
	uv_poll_stop(&g->poll);
	uv_close((uv_handle_t *)&g->poll, on_uv_closed);
}

static void release(struct group *g)
{
	if (g->on_event) {
		napi_delete_reference(g->env, g->on_event);
		g->on_event = NULL;
	}
	if (g->async) {
		napi_async_destroy(g->env, g->async);
		g->async = NULL;
	}
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct group *g = h->data;
	cs_error_t e;
	(void)events;

	if (g->closing)
		return;
	e = status < 0 ? CS_ERR_LIBRARY : cpg_dispatch(g->handle, CS_DISPATCH_ALL);
	flush_held(g);
	if (e != CS_OK && e != CS_ERR_TRY_AGAIN && !g->closing) {
		/* Corosync went away: report once, stop polling; JS closes. */
		napi_handle_scope scope;
		napi_value ev;
		uv_poll_stop(&g->poll);
		napi_open_handle_scope(g->env, &scope);
		ev = event_of(g->env, "error");
		napi_set_named_property(g->env, ev, "error", cs_error(g->env, "cpg_dispatch", e));
		emit(g, ev);
		napi_close_handle_scope(g->env, scope);
	}
}

static void finalize_group(napi_env env, void *data, void *hint)
{
	struct group *g = data;
	(void)env; (void)hint;
	g->finalized = 1;
	release(g);
	begin_close(g);
	if (g->uv_closed)
		free(g);
}

/* tandem_cpg_open(groupName, wrapper, onEvent) -> local nodeid.
 * Connects to the corosync of this network namespace (its IPC is an abstract
 * socket), joins the group and starts delivering events. */
napi_value tandem_cpg_open(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3], result, name;
	char group_name[CPG_MAX_NAME_LENGTH];
	cpg_model_v1_data_t model = { 0 };
	struct cpg_name cname = { 0 };
	struct group *g;
	unsigned int nodeid = 0;
	uv_loop_t *loop;
	cs_error_t e;
	int fd, err;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc != 3 || get_string(env, argv[0], group_name, sizeof(group_name)) < 0)
		return throw_type(env, "group name must be a string of 1 to 127 bytes");
	g = calloc(1, sizeof(*g));
	if (!g)
		return throw_errno(env, "calloc", ENOMEM);
	g->env = env;
	g->tail = &g->head;
	model.model = CPG_MODEL_V1;
	model.cpg_deliver_fn = on_deliver;
	model.cpg_confchg_fn = on_confchg;
	model.cpg_totem_confchg_fn = on_totem;
	model.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF;
	e = cpg_model_initialize(&g->handle, CPG_MODEL_V1, (cpg_model_data_t *)&model, g);
	if (e != CS_OK) {
		free(g);
		return throw_cs(env, "cpg_initialize", e);
	}
	cname.length = strlen(group_name);
	memcpy(cname.value, group_name, cname.length);
	if ((e = cpg_join(g->handle, &cname)) != CS_OK || (e = cpg_fd_get(g->handle, &fd)) != CS_OK ||
	    (e = cpg_local_get(g->handle, &nodeid)) != CS_OK) {
		cpg_finalize(g->handle);
		free(g);
		return throw_cs(env, "cpg_join", e);
	}
	napi_get_uv_event_loop(env, &loop);
	uv_poll_init(loop, &g->poll, fd);
	g->poll.data = g;
	if (napi_wrap(env, argv[1], g, finalize_group, NULL, &g->self) != napi_ok) {
		g->finalized = 1;
		begin_close(g);
		return throw_type(env, "wrapper must be a plain object not wrapped before");
	}
	if (hold_ref(env, argv[2], &g->on_event) < 0 || napi_create_string_utf8(env, "tandem:cpg", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, NULL, name, &g->async) != napi_ok) {
		release(g);
		begin_close(g);
		return throw_napi(env, "tandem_cpg_open");
	}
	napi_reference_ref(env, g->self, NULL); /* strong while open */
	err = uv_poll_start(&g->poll, UV_READABLE, on_poll);
	if (err < 0) {
		uint32_t count;
		napi_reference_unref(env, g->self, &count);
		release(g);
		begin_close(g);
		return throw_errno(env, "uv_poll_start", -err);
	}
	napi_create_uint32(env, nodeid, &result);
	return result;
}

static struct group *unwrap_group(napi_env env, napi_value v)
{
	struct group *g = NULL;
	if (napi_unwrap(env, v, (void **)&g) != napi_ok || !g || g->closing)
		return NULL;
	return g;
}

/* tandem_cpg_mcast(handle, message): agreed order; EAGAIN while the ring is
 * congested (flow control), the caller queues and retries. */
napi_value tandem_cpg_mcast(napi_env env, napi_callback_info info)
{
	size_t argc = 2, len;
	napi_value argv[2];
	struct group *g;
	struct iovec iov;
	void *data;
	cs_error_t e;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	g = argc == 2 ? unwrap_group(env, argv[0]) : NULL;
	if (!g)
		return throw_errno(env, "cpg_mcast_joined", EBADF);
	if (get_bytes(env, argv[1], &data, &len) < 0)
		return throw_type(env, "message must be a Buffer");
	iov.iov_base = data;
	iov.iov_len = len;
	e = cpg_mcast_joined(g->handle, CPG_TYPE_AGREED, &iov, 1);
	if (e != CS_OK)
		return throw_cs(env, "cpg_mcast_joined", e);
	return NULL;
}

/* tandem_cpg_close(handle): idempotent; leaves the group. */
napi_value tandem_cpg_close(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct group *g;
	uint32_t count;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	g = argc == 1 ? unwrap_group(env, argv[0]) : NULL;
	if (!g)
		return NULL;
	napi_reference_unref(env, g->self, &count);
	release(g);
	begin_close(g);
	return NULL;
}
