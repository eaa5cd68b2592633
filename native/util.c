/*
 * DOC: util.c: errno to JS errors (the one boundary), argument helpers, and
 * entering a network namespace around one socket() call.
 */
#include "tandem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>

/* ---- errors: the one boundary where errno becomes a JS Error ---- */

napi_value make_errno_error(napi_env env, const char *syscall, int err)
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

napi_value throw_errno(napi_env env, const char *syscall, int err)
{
	napi_throw(env, make_errno_error(env, syscall, err));
	return NULL;
}

napi_value throw_type(napi_env env, const char *what)
{
	napi_throw_type_error(env, "EINVAL", what);
	return NULL;
}

/* A Node-API call failed: the exception it left, or one naming the call and Node-API's own message. */
napi_value throw_napi(napi_env env, const char *what)
{
	const napi_extended_error_info *info = NULL;
	bool pending = false;
	char text[200];

	if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
		return NULL;
	napi_get_last_error_info(env, &info);
	snprintf(text, sizeof(text), "%s failed: %s", what, info && info->error_message ? info->error_message : "Node-API error");
	napi_throw_error(env, "ENAPI", text);
	return NULL;
}

/* A strong reference to v; 0, or -1 with nothing held. */
int hold_ref(napi_env env, napi_value v, napi_ref *out)
{
	*out = NULL;
	return napi_create_reference(env, v, 1, out) == napi_ok ? 0 : -1;
}

/*
 * Calls a JS callback from a libuv callback (no JS on the stack). A callback
 * that throws leaves its exception pending in Node-API, where it would be
 * thrown into whatever JS next calls the addon; napi_fatal_exception hands
 * it to process 'uncaughtException' now, as for any event-loop callback
 * (udx-native does the same).
 */
void call_back(napi_env env, napi_async_context ctx, napi_value recv, napi_value cb, size_t argc, const napi_value *argv)
{
	napi_value error;

	if (napi_make_callback(env, ctx, recv, cb, argc, argv, NULL) == napi_pending_exception &&
	    napi_get_and_clear_last_exception(env, &error) == napi_ok)
		napi_fatal_exception(env, error);
}

/* ---- argument helpers ---- */

int get_bool(napi_env env, napi_value v, bool *out)
{
	return napi_get_value_bool(env, v, out) == napi_ok ? 0 : -1;
}

int get_string(napi_env env, napi_value v, char *out, size_t size)
{
	size_t len;
	napi_valuetype t;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_string)
		return -1;
	if (napi_get_value_string_utf8(env, v, out, size, &len) != napi_ok || len + 1 >= size)
		return -1;
	return 0;
}

int is_nullish(napi_env env, napi_value v)
{
	napi_valuetype t;
	napi_typeof(env, v, &t);
	return t == napi_null || t == napi_undefined;
}

/* A BigInt that fits an int64_t exactly. */
int get_i64(napi_env env, napi_value v, int64_t *out)
{
	bool lossless;
	return napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok && lossless ? 0 : -1;
}

/* Any Buffer or TypedArray: its bytes. */
int get_bytes(napi_env env, napi_value v, void **data, size_t *len)
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

struct sock *unwrap(napi_env env, napi_value v)
{
	struct sock *p = NULL;
	if (napi_unwrap(env, v, (void **)&p) != napi_ok)
		return NULL;
	return p;
}

/* ---- network namespaces: enter around one socket() call ---- */

/* Returns a socket created inside the namespace at `path` (or here if NULL),
 * or -errno with *syscall set. */
int socket_in_netns(const char *path, int domain, int type, int proto, const char **syscall)
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
