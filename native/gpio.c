/*
 * DOC: gpio.c: GPIO lines through the character device (v2 uAPI) and the watchdog device.
 *
 * Thin: open the chip, ask for info, request lines as outputs with their
 * initial values and a consumer name, set and get values, release (close).
 * The request fd is handed to JS as a number; JS owns its lifetime (the
 * kernel releases the lines when it is closed, also when the process dies:
 * that release is what the bypass relays rely on). The watchdog: open (which
 * starts it), set the timeout, keepalive, and close with or without the
 * magic 'V' (without it, the timer keeps running and fires).
 */
#include "tandem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/gpio.h> /* the vendored copy: native/uapi/ */
#include <linux/watchdog.h>
#include <sys/ioctl.h>

/* Opens the device named by v; on failure the JS exception is already thrown and -1 returned. */
static int open_dev(napi_env env, napi_value v, int flags)
{
	char path[256];
	int fd;

	if (get_string(env, v, path, sizeof(path)) < 0) {
		throw_type(env, "the device path must be a string");
		return -1;
	}
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		throw_errno(env, "open", errno);
	return fd;
}

static int get_fd(napi_env env, napi_value v)
{
	int32_t fd;
	if (napi_get_value_int32(env, v, &fd) != napi_ok || fd < 0)
		return -1;
	return fd;
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *s)
{
	napi_value v;
	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, obj, key, v);
}

static void set_u32(napi_env env, napi_value obj, const char *key, uint32_t n)
{
	napi_value v;
	napi_create_uint32(env, n, &v);
	napi_set_named_property(env, obj, key, v);
}

/* tandem_gpio_chip_info(path) -> { name, label, lines } */
napi_value tandem_gpio_chip_info(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], out;
	struct gpiochip_info ci;
	int fd, err;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	fd = open_dev(env, argv[0], O_RDONLY);
	if (fd < 0)
		return NULL;
	memset(&ci, 0, sizeof(ci));
	if (ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, &ci) < 0) {
		err = errno;
		close(fd);
		return throw_errno(env, "ioctl(GPIO_GET_CHIPINFO)", err);
	}
	close(fd);
	napi_create_object(env, &out);
	set_str(env, out, "name", ci.name);
	set_str(env, out, "label", ci.label);
	set_u32(env, out, "lines", ci.lines);
	return out;
}

/* tandem_gpio_line_info(path, offset) -> { name, consumer, used, output, activeLow } */
napi_value tandem_gpio_line_info(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], out, b;
	struct gpio_v2_line_info li;
	uint32_t offset;
	int fd, err;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 2 || napi_get_value_uint32(env, argv[1], &offset) != napi_ok)
		return throw_type(env, "the line offset must be a number");
	fd = open_dev(env, argv[0], O_RDONLY);
	if (fd < 0)
		return NULL;
	memset(&li, 0, sizeof(li));
	li.offset = offset;
	if (ioctl(fd, GPIO_V2_GET_LINEINFO_IOCTL, &li) < 0) {
		err = errno;
		close(fd);
		return throw_errno(env, "ioctl(GPIO_V2_GET_LINEINFO)", err);
	}
	close(fd);
	napi_create_object(env, &out);
	set_str(env, out, "name", li.name);
	set_str(env, out, "consumer", li.consumer);
	napi_get_boolean(env, (li.flags & GPIO_V2_LINE_FLAG_USED) != 0, &b);
	napi_set_named_property(env, out, "used", b);
	napi_get_boolean(env, (li.flags & GPIO_V2_LINE_FLAG_OUTPUT) != 0, &b);
	napi_set_named_property(env, out, "output", b);
	napi_get_boolean(env, (li.flags & GPIO_V2_LINE_FLAG_ACTIVE_LOW) != 0, &b);
	napi_set_named_property(env, out, "activeLow", b);
	return out;
}

/* tandem_gpio_request(path, offsets: Uint32Array, values: Uint8Array, consumer, activeLow) -> request fd */
napi_value tandem_gpio_request(napi_env env, napi_callback_info info)
{
	size_t argc = 5, n_off, n_val, i;
	napi_value argv[5], out;
	void *offs, *vals;
	bool active_low = false;
	struct gpio_v2_line_request req;
	int fd, err;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 5 || get_bytes(env, argv[1], &offs, &n_off) < 0 || get_bytes(env, argv[2], &vals, &n_val) < 0)
		return throw_type(env, "offsets (Uint32Array) and values (Uint8Array) are required");
	n_off /= 4;
	if (n_off == 0 || n_off > GPIO_V2_LINES_MAX || n_val != n_off)
		return throw_type(env, "1..64 offsets, and one value per offset");
	memset(&req, 0, sizeof(req));
	if (get_string(env, argv[3], req.consumer, sizeof(req.consumer)) < 0)
		return throw_type(env, "the consumer must be a string of at most 31 bytes");
	if (get_bool(env, argv[4], &active_low) < 0)
		return throw_type(env, "activeLow must be a boolean");
	req.num_lines = n_off;
	req.config.flags = GPIO_V2_LINE_FLAG_OUTPUT | (active_low ? GPIO_V2_LINE_FLAG_ACTIVE_LOW : 0);
	req.config.num_attrs = 1;
	req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
	for (i = 0; i < n_off; i++) {
		req.offsets[i] = ((uint32_t *)offs)[i];
		if (((uint8_t *)vals)[i])
			req.config.attrs[0].attr.values |= (__u64)1 << i;
		req.config.attrs[0].mask |= (__u64)1 << i;
	}
	fd = open_dev(env, argv[0], O_RDWR);
	if (fd < 0)
		return NULL;
	if (ioctl(fd, GPIO_V2_GET_LINE_IOCTL, &req) < 0) {
		err = errno;
		close(fd);
		return throw_errno(env, "ioctl(GPIO_V2_GET_LINE)", err);
	}
	close(fd); /* the request fd lives on its own */
	napi_create_int32(env, req.fd, &out);
	return out;
}

/* Set (write != 0) or get the values of a line request: values[i] is line i of the request. */
static napi_value line_values(napi_env env, napi_callback_info info, int write)
{
	size_t argc = 2, n, i;
	napi_value argv[2];
	uint8_t *vals;
	struct gpio_v2_line_values v = { 0, 0 };
	int fd;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 2 || (fd = get_fd(env, argv[0])) < 0 || get_bytes(env, argv[1], (void **)&vals, &n) < 0 || n == 0 || n > 64)
		return throw_type(env, "a request fd and 1..64 values (Uint8Array)");
	for (i = 0; i < n; i++) {
		v.mask |= (__u64)1 << i;
		if (write && vals[i])
			v.bits |= (__u64)1 << i;
	}
	if (ioctl(fd, write ? GPIO_V2_LINE_SET_VALUES_IOCTL : GPIO_V2_LINE_GET_VALUES_IOCTL, &v) < 0)
		return throw_errno(env, write ? "ioctl(GPIO_V2_LINE_SET_VALUES)" : "ioctl(GPIO_V2_LINE_GET_VALUES)", errno);
	if (!write)
		for (i = 0; i < n; i++)
			vals[i] = (v.bits >> i) & 1;
	return NULL;
}

/* tandem_gpio_set(fd, values: Uint8Array) */
napi_value tandem_gpio_set(napi_env env, napi_callback_info info)
{
	return line_values(env, info, 1);
}

/* tandem_gpio_get(fd, values: Uint8Array) fills values */
napi_value tandem_gpio_get(napi_env env, napi_callback_info info)
{
	return line_values(env, info, 0);
}

/* tandem_fd_close(fd): releases GPIO lines; closes the watchdog without the magic (it keeps running). */
napi_value tandem_fd_close(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	int fd;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || (fd = get_fd(env, argv[0])) < 0)
		return throw_type(env, "a file descriptor");
	if (close(fd) < 0)
		return throw_errno(env, "close", errno);
	return NULL;
}

/* tandem_watchdog_open(path, timeoutSeconds) -> { fd, timeout } (opening starts the timer) */
napi_value tandem_watchdog_open(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], out, v;
	int32_t timeout;
	int fd, err;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 2 || napi_get_value_int32(env, argv[1], &timeout) != napi_ok)
		return throw_type(env, "the timeout must be a number of seconds");
	fd = open_dev(env, argv[0], O_WRONLY);
	if (fd < 0)
		return NULL;
	if (ioctl(fd, WDIOC_SETTIMEOUT, &timeout) < 0 || ioctl(fd, WDIOC_GETTIMEOUT, &timeout) < 0) {
		err = errno;
		/* Stop it again: a watchdog we cannot configure must not fire on us. */
		if (write(fd, "V", 1) < 0) { /* nothing more to do */ }
		close(fd);
		return throw_errno(env, "ioctl(WDIOC_SETTIMEOUT)", err);
	}
	napi_create_object(env, &out);
	napi_create_int32(env, fd, &v);
	napi_set_named_property(env, out, "fd", v);
	napi_create_int32(env, timeout, &v);
	napi_set_named_property(env, out, "timeout", v);
	return out;
}

/* tandem_watchdog_keepalive(fd) */
napi_value tandem_watchdog_keepalive(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	int fd, dummy = 0;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || (fd = get_fd(env, argv[0])) < 0)
		return throw_type(env, "a watchdog fd");
	if (ioctl(fd, WDIOC_KEEPALIVE, &dummy) < 0)
		return throw_errno(env, "ioctl(WDIOC_KEEPALIVE)", errno);
	return NULL;
}

/* tandem_watchdog_stop(fd): the magic close; the timer stops. */
napi_value tandem_watchdog_stop(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	int fd, err;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || (fd = get_fd(env, argv[0])) < 0)
		return throw_type(env, "a watchdog fd");
	if (write(fd, "V", 1) != 1) {
		err = errno;
		close(fd);
		return throw_errno(env, "write(magic close)", err);
	}
	if (close(fd) < 0)
		return throw_errno(env, "close", errno);
	return NULL;
}
