/*
 * DOC: hw-sim.c: an LD_PRELOAD stand-in for the GPIO character device (v2 uAPI) and /dev/watchdog
 *
 * This kernel has neither GPIO nor a watchdog (and no gpio-sim/configfs), so
 * tests preload this library into a process that runs the production code
 * path unchanged: open("/dev/gpiochipN"), the v2 ioctls, close(); open
 * ("/dev/watchdogN"), its ioctls, the magic 'V', close(). Only devices that
 * exist in $TANDEM_HW_SIM_DIR are simulated; everything else goes to libc.
 *
 * State lives in files so that other processes (the lab, a test) can watch
 * it, and so that it outlives the process as a kernel's would:
 *   gpiochipN            chip definition: "label NLINES [eacces]"
 *   gpiochipN.lineK      "requested PID CONSUMER VALUE" or "released VALUE"
 *   watchdogN            present: the device exists
 *   watchdogN.state      "armed PID TIMEOUT LAST_KEEPALIVE_NS" or "disarmed"
 *   sysfs/               present: /sys/class/gpio is simulated too (the fallback for kernels without
 *                        the v2 uAPI): sysfs/gpiochipN/{base,ngpio,label} describe a chip; writing N to
 *                        export creates sysfs/gpioN/{direction,value,active_low} and marks the line
 *                        "exported VALUE" (sysfs lines have no owner: they stay exported when the
 *                        process dies, unlike a v2 request); unexport releases it
 * A line whose requesting PID is dead is released, as the kernel releases a
 * line when the process holding the request fd dies: readers apply that
 * rule (test/helpers/hw-sim.ts). The watchdog fires when armed and no
 * keepalive came within TIMEOUT seconds, also for a dead or frozen process.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <linux/watchdog.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FD 4096
enum kind { NONE, CHIP, LINES, WATCHDOG, SYSFS };

struct sim {
	enum kind kind;
	int chip;		/* N of gpiochipN / watchdogN */
	unsigned nlines;	/* CHIP: lines of the chip */
	unsigned n;		/* LINES: how many */
	unsigned offsets[GPIO_V2_LINES_MAX];
	int timeout;		/* WATCHDOG */
	int magic;
	char attr[32];		/* SYSFS: "export", "unexport", or the attribute of gpio N */
	int gpio;
};

static struct sim fds[MAX_FD];

static const char *dir(void)
{
	return getenv("TANDEM_HW_SIM_DIR");
}

static int real_open(const char *path, int flags, mode_t mode)
{
	static int (*fn)(const char *, int, ...);
	if (!fn)
		fn = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	return fn(path, flags, mode);
}

static int real_close(int fd)
{
	static int (*fn)(int);
	if (!fn)
		fn = (int (*)(int))dlsym(RTLD_NEXT, "close");
	return fn(fd);
}

static int read_file(const char *name, char *buf, size_t size)
{
	char path[512];
	int fd;
	ssize_t got;

	snprintf(path, sizeof(path), "%s/%s", dir(), name);
	fd = real_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	got = read(fd, buf, size - 1);
	real_close(fd);
	if (got < 0)
		return -1;
	buf[got] = 0;
	return 0;
}

/* Written whole through a rename, so a watcher never reads half a state. */
static void write_file(const char *name, const char *text)
{
	char path[512], tmp[520];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir(), name);
	snprintf(tmp, sizeof(tmp), "%s.%d", path, getpid());
	fd = real_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0) {
		real_close(fd);
		return;
	}
	real_close(fd);
	rename(tmp, path);
}

static int pid_alive(int pid)
{
	return pid > 0 && kill(pid, 0) == 0;
}

/* A line's state: -1 free, else the holder's pid (0: held by a dead process = free); value out. */
static int line_state(int chip, unsigned off, int *value, char *consumer, size_t csize)
{
	char name[64], buf[256], who[64] = "";
	int pid = 0, v = 0;

	snprintf(name, sizeof(name), "gpiochip%d.line%u", chip, off);
	*value = 0;
	if (consumer)
		consumer[0] = 0;
	if (read_file(name, buf, sizeof(buf)) < 0)
		return -1;
	if (sscanf(buf, "requested %d %63s %d", &pid, who, &v) == 3) {
		*value = v;
		if (!pid_alive(pid))
			return -1;
		if (consumer)
			snprintf(consumer, csize, "%s", who);
		return pid;
	}
	if (sscanf(buf, "exported %d", &v) == 1) {
		*value = v;
		return 1; /* held through sysfs: no owner, busy for everyone else */
	}
	if (sscanf(buf, "released %d", &v) == 1)
		*value = v;
	return -1;
}

static void set_line(int chip, unsigned off, const char *consumer, int value, int held)
{
	char name[64], text[256];

	snprintf(name, sizeof(name), "gpiochip%d.line%u", chip, off);
	if (held)
		snprintf(text, sizeof(text), "requested %d %s %d\n", getpid(), consumer, value);
	else
		snprintf(text, sizeof(text), "released %d\n", value);
	write_file(name, text);
}


/* ---- /sys/class/gpio ---- */

static int sysfs_enabled(void)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/sysfs", dir());
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The chip and offset of global gpio number n, from sysfs/gpiochipC/{base,ngpio}. */
static int sysfs_line_of(int n, int *chip, unsigned *offset)
{
	char name[64], buf[64];
	int c, base, count;

	for (c = 0; c < 64; c++) {
		snprintf(name, sizeof(name), "sysfs/gpiochip%d/base", c);
		if (read_file(name, buf, sizeof(buf)) < 0 || sscanf(buf, "%d", &base) != 1)
			continue;
		snprintf(name, sizeof(name), "sysfs/gpiochip%d/ngpio", c);
		if (read_file(name, buf, sizeof(buf)) < 0 || sscanf(buf, "%d", &count) != 1)
			continue;
		if (n >= base && n < base + count) {
			*chip = c;
			*offset = (unsigned)(n - base);
			return 0;
		}
	}
	return -1;
}

static void sysfs_mark(int n, const char *state, int value)
{
	int chip;
	unsigned off;
	char name[64], text[64];

	if (sysfs_line_of(n, &chip, &off) < 0)
		return;
	snprintf(name, sizeof(name), "gpiochip%d.line%u", chip, off);
	snprintf(text, sizeof(text), "%s %d\n", state, value);
	write_file(name, text);
}

static int sysfs_open(const char *rest)
{
	char p[512];
	int fd, n = -1;
	char attr[32] = "";

	if (!sysfs_enabled())
		return -2;
	snprintf(p, sizeof(p), "%s/sysfs/%s", dir(), rest);
	if (strcmp(rest, "export") != 0 && strcmp(rest, "unexport") != 0 && sscanf(rest, "gpio%d/%31s", &n, attr) != 2)
		return real_open(p, O_RDONLY | O_CLOEXEC, 0); /* chip attributes: plain files */
	fd = real_open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fd >= MAX_FD)
		return fd;
	memset(&fds[fd], 0, sizeof(fds[fd]));
	fds[fd].kind = SYSFS;
	fds[fd].gpio = n;
	snprintf(fds[fd].attr, sizeof(fds[fd].attr), "%s", n >= 0 ? attr : rest);
	return fd;
}

static ssize_t sysfs_write(struct sim *s, int fd, const char *buf, size_t count)
{
	static ssize_t (*fn)(int, const void *, size_t);
	char text[64], p[512], name[64];
	int n;
	size_t len = count < sizeof(text) - 1 ? count : sizeof(text) - 1;

	if (!fn)
		fn = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	memcpy(text, buf, len);
	text[len] = 0;
	if (strcmp(s->attr, "export") == 0 || strcmp(s->attr, "unexport") == 0) {
		int chip;
		unsigned off;
		struct stat st;
		if (sscanf(text, "%d", &n) != 1 || sysfs_line_of(n, &chip, &off) < 0) {
			errno = EINVAL;
			return -1;
		}
		snprintf(p, sizeof(p), "%s/sysfs/gpio%d", dir(), n);
		if (s->attr[0] == 'e') {
			if (stat(p, &st) == 0) {
				errno = EBUSY;
				return -1;
			}
			mkdir(p, 0755);
			snprintf(name, sizeof(name), "sysfs/gpio%d/direction", n);
			write_file(name, "in\n");
			snprintf(name, sizeof(name), "sysfs/gpio%d/value", n);
			write_file(name, "0\n");
			snprintf(name, sizeof(name), "sysfs/gpio%d/active_low", n);
			write_file(name, "0\n");
			sysfs_mark(n, "exported", 0);
		} else {
			char f[600];
			const char *attrs[] = { "direction", "value", "active_low" };
			unsigned k;
			if (stat(p, &st) < 0) {
				errno = EINVAL;
				return -1;
			}
			snprintf(name, sizeof(name), "sysfs/gpio%d/value", n);
			if (read_file(name, text, sizeof(text)) < 0)
				text[0] = '0';
			for (k = 0; k < 3; k++) {
				snprintf(f, sizeof(f), "%s/%s", p, attrs[k]);
				unlink(f);
			}
			rmdir(p);
			sysfs_mark(n, "released", text[0] == '1');
		}
		return (ssize_t)count;
	}
	/* An attribute: kept in its file; direction high/low and value set the line. */
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0 || fn(fd, buf, count) < 0)
		return -1;
	if (strcmp(s->attr, "direction") == 0 && (strncmp(text, "high", 4) == 0 || strncmp(text, "low", 3) == 0)) {
		snprintf(name, sizeof(name), "sysfs/gpio%d/value", s->gpio);
		write_file(name, text[0] == 'h' ? "1\n" : "0\n");
		sysfs_mark(s->gpio, "exported", text[0] == 'h');
	} else if (strcmp(s->attr, "value") == 0) {
		sysfs_mark(s->gpio, "exported", text[0] == '1');
	}
	return (ssize_t)count;
}

static int sim_open(const char *path)
{
	char name[64], buf[256], label[64] = "";
	struct stat st;
	int chip, fd;
	unsigned nlines = 0;

	if (!dir())
		return -2;
	if (strncmp(path, "/sys/class/gpio/", 16) == 0)
		return sysfs_open(path + 16);
	if (sscanf(path, "/dev/gpiochip%d", &chip) == 1) {
		snprintf(name, sizeof(name), "gpiochip%d", chip);
		if (read_file(name, buf, sizeof(buf)) < 0) {
			errno = ENOENT;
			return -1;
		}
		if (strstr(buf, "eacces")) {
			errno = EACCES;
			return -1;
		}
		if (sscanf(buf, "%63s %u", label, &nlines) != 2 || nlines > 512) {
			errno = EIO;
			return -1;
		}
		fd = memfd_create("gpiochip-sim", MFD_CLOEXEC);
		if (fd < 0 || fd >= MAX_FD)
			return -1;
		memset(&fds[fd], 0, sizeof(fds[fd]));
		fds[fd].kind = CHIP;
		fds[fd].chip = chip;
		fds[fd].nlines = nlines;
		return fd;
	}
	if (sscanf(path, "/dev/watchdog%d", &chip) == 1) {
		char p[512];
		snprintf(p, sizeof(p), "%s/watchdog%d", dir(), chip);
		if (stat(p, &st) < 0) {
			errno = ENOENT;
			return -1;
		}
		fd = memfd_create("watchdog-sim", MFD_CLOEXEC);
		if (fd < 0 || fd >= MAX_FD)
			return -1;
		memset(&fds[fd], 0, sizeof(fds[fd]));
		fds[fd].kind = WATCHDOG;
		fds[fd].chip = chip;
		fds[fd].timeout = 60;
		return fd;
	}
	return -2;
}

static void wd_state(struct sim *s, int armed)
{
	char name[64], text[128];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(name, sizeof(name), "watchdog%d.state", s->chip);
	if (armed)
		snprintf(text, sizeof(text), "armed %d %d %lld\n", getpid(), s->timeout,
			 (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	else
		snprintf(text, sizeof(text), "disarmed\n");
	write_file(name, text);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode = 0;
	int fd;

	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = va_arg(ap, mode_t);
	va_end(ap);
	fd = sim_open(path);
	if (fd == -2)
		return real_open(path, flags, mode);
	if (fd >= 0 && fds[fd].kind == WATCHDOG)
		wd_state(&fds[fd], 1); /* opening the device starts it, as on real hardware */
	return fd;
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

/* existsSync() and friends ask access(): the simulated sysfs tree answers for /sys/class/gpio. */
int access(const char *path, int mode)
{
	static int (*fn)(const char *, int);
	char p[512];

	if (!fn)
		fn = (int (*)(const char *, int))dlsym(RTLD_NEXT, "access");
	if (dir() && strncmp(path, "/sys/class/gpio/", 16) == 0 && sysfs_enabled()) {
		snprintf(p, sizeof(p), "%s/sysfs/%s", dir(), path + 16);
		return fn(p, mode);
	}
	return fn(path, mode);
}

static int request_lines(struct sim *chip, struct gpio_v2_line_request *req)
{
	int fd, value, out = 0;
	unsigned i, k;
	__u64 values = 0, valmask = 0;

	if (req->num_lines == 0 || req->num_lines > GPIO_V2_LINES_MAX)
		return -EINVAL;
	for (i = 0; i < req->num_lines; i++) {
		if (req->offsets[i] >= chip->nlines)
			return -EINVAL;
		if (line_state(chip->chip, req->offsets[i], &value, NULL, 0) > 0)
			return -EBUSY;
	}
	if (req->config.flags & GPIO_V2_LINE_FLAG_OUTPUT)
		out = 1;
	for (k = 0; k < req->config.num_attrs && k < GPIO_V2_LINE_NUM_ATTRS_MAX; k++) {
		if (req->config.attrs[k].attr.id == GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES) {
			values = req->config.attrs[k].attr.values;
			valmask = req->config.attrs[k].mask;
		}
	}
	fd = memfd_create("gpio-lines-sim", MFD_CLOEXEC);
	if (fd < 0 || fd >= MAX_FD)
		return -EMFILE;
	memset(&fds[fd], 0, sizeof(fds[fd]));
	fds[fd].kind = LINES;
	fds[fd].chip = chip->chip;
	fds[fd].n = req->num_lines;
	for (i = 0; i < req->num_lines; i++) {
		fds[fd].offsets[i] = req->offsets[i];
		line_state(chip->chip, req->offsets[i], &value, NULL, 0);
		if (out && (valmask >> i) & 1)
			value = (values >> i) & 1;
		set_line(chip->chip, req->offsets[i], req->consumer[0] ? req->consumer : "?", value, 1);
	}
	req->fd = fd;
	return 0;
}

static int line_ioctl(struct sim *s, unsigned long request, void *arg)
{
	struct gpio_v2_line_values *v = arg;
	char consumer[GPIO_MAX_NAME_SIZE];
	int value;
	unsigned i;

	if (request == GPIO_V2_LINE_SET_VALUES_IOCTL) {
		for (i = 0; i < s->n; i++) {
			if (!((v->mask >> i) & 1))
				continue;
			line_state(s->chip, s->offsets[i], &value, consumer, sizeof(consumer));
			set_line(s->chip, s->offsets[i], consumer[0] ? consumer : "?", (v->bits >> i) & 1, 1);
		}
		return 0;
	}
	if (request == GPIO_V2_LINE_GET_VALUES_IOCTL) {
		v->bits = 0;
		for (i = 0; i < s->n; i++) {
			if (!((v->mask >> i) & 1))
				continue;
			line_state(s->chip, s->offsets[i], &value, NULL, 0);
			v->bits |= (__u64)(value & 1) << i;
		}
		return 0;
	}
	return -ENOTTY;
}

static int chip_ioctl(struct sim *s, unsigned long request, void *arg)
{
	if (request == GPIO_GET_CHIPINFO_IOCTL) {
		struct gpiochip_info *info = arg;
		char name[64], buf[256], label[64] = "";
		unsigned n = 0;
		snprintf(name, sizeof(name), "gpiochip%d", s->chip);
		if (read_file(name, buf, sizeof(buf)) < 0 || sscanf(buf, "%63s %u", label, &n) != 2)
			return -EIO;
		memset(info, 0, sizeof(*info));
		snprintf(info->name, sizeof(info->name), "gpiochip%d", s->chip);
		snprintf(info->label, sizeof(info->label), "%s", label);
		info->lines = n;
		return 0;
	}
	if (request == GPIO_V2_GET_LINEINFO_IOCTL) {
		struct gpio_v2_line_info *info = arg;
		unsigned off = info->offset;
		int value;
		if (off >= s->nlines)
			return -EINVAL;
		memset(info, 0, sizeof(*info));
		info->offset = off;
		snprintf(info->name, sizeof(info->name), "line%u", off);
		if (line_state(s->chip, off, &value, info->consumer, sizeof(info->consumer)) > 0)
			info->flags = GPIO_V2_LINE_FLAG_USED | GPIO_V2_LINE_FLAG_OUTPUT;
		else
			info->flags = GPIO_V2_LINE_FLAG_INPUT;
		return 0;
	}
	if (request == GPIO_V2_GET_LINE_IOCTL)
		return request_lines(s, arg);
	return -ENOTTY;
}

static int wd_ioctl(struct sim *s, unsigned long request, void *arg)
{
	int *v = arg;

	switch (request) {
	case WDIOC_SETTIMEOUT:
		if (*v < 1 || *v > 3600)
			return -EINVAL;
		s->timeout = *v;
		wd_state(s, 1);
		return 0;
	case WDIOC_GETTIMEOUT:
		*v = s->timeout;
		return 0;
	case WDIOC_KEEPALIVE:
		wd_state(s, 1);
		return 0;
	}
	return -ENOTTY;
}

int ioctl(int fd, unsigned long request, ...)
{
	static int (*fn)(int, unsigned long, ...);
	va_list ap;
	void *arg;
	int r;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd >= 0 && fd < MAX_FD && fds[fd].kind != NONE && fds[fd].kind != SYSFS) {
		struct sim *s = &fds[fd];
		r = s->kind == CHIP ? chip_ioctl(s, request, arg) : s->kind == LINES ? line_ioctl(s, request, arg) : wd_ioctl(s, request, arg);
		if (r < 0) {
			errno = -r;
			return -1;
		}
		return r;
	}
	if (!fn)
		fn = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	return fn(fd, request, arg);
}

ssize_t write(int fd, const void *buf, size_t count)
{
	static ssize_t (*fn)(int, const void *, size_t);
	if (fd >= 0 && fd < MAX_FD && fds[fd].kind == SYSFS)
		return sysfs_write(&fds[fd], fd, buf, count);
	if (fd >= 0 && fd < MAX_FD && fds[fd].kind == WATCHDOG) {
		size_t i;
		for (i = 0; i < count; i++)
			if (((const char *)buf)[i] == 'V')
				fds[fd].magic = 1;
		wd_state(&fds[fd], 1); /* any write is a keepalive */
		return (ssize_t)count;
	}
	if (!fn)
		fn = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	return fn(fd, buf, count);
}

int close(int fd)
{
	if (fd >= 0 && fd < MAX_FD && fds[fd].kind != NONE) {
		struct sim *s = &fds[fd];
		unsigned i;
		int value;
		if (s->kind == LINES) {
			for (i = 0; i < s->n; i++) {
				line_state(s->chip, s->offsets[i], &value, NULL, 0);
				set_line(s->chip, s->offsets[i], "", value, 0);
			}
		} else if (s->kind == WATCHDOG && s->magic) {
			wd_state(s, 0); /* magic close: the driver stops the timer */
		}
		s->kind = NONE;
	}
	return real_close(fd);
}
