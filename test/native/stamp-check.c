/*
 * Drives native/stamp.c's mono_stamp with crafted control messages, as recvmmsg would hand them over, and
 * prints one line per case: "<case> <stamp - mono_now in ns>".
 */
#include "stamp.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int64_t stamp_of(int64_t kernel_real_ns, const struct timespec *real, const struct timespec *mono)
{
	char ctl[CMSG_SPACE(sizeof(struct timespec))];
	struct msghdr m;
	struct cmsghdr *c;
	struct timespec k = { kernel_real_ns / 1000000000LL, kernel_real_ns % 1000000000LL };

	memset(&m, 0, sizeof(m));
	memset(ctl, 0, sizeof(ctl));
	m.msg_control = ctl;
	m.msg_controllen = sizeof(ctl);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_TIMESTAMPNS;
	c->cmsg_len = CMSG_LEN(sizeof(k));
	memcpy(CMSG_DATA(c), &k, sizeof(k));
	return mono_stamp(&m, real, mono);
}

int main(void)
{
	/* The batch is read at wall time 1,800,000,000 s, monotonic 5,000 s. */
	struct timespec real = { 1800000000, 0 }, mono = { 5000, 0 };
	int64_t now = ns_of(&mono), read_at = ns_of(&real);
	struct msghdr none;

	/* Arrived 30 ms before the read: 30 ms before now on the monotonic clock. */
	printf("in_time %lld\n", (long long)(stamp_of(read_at - 30000000LL, &real, &mono) - now));
	/* The wall clock stepped back 600 s between arrival and read: its stamp is 600 s "after" the read. */
	printf("clock_stepped_back %lld\n", (long long)(stamp_of(read_at + 600000000000LL, &real, &mono) - now));
	/* No stamp at all: the read's own time. */
	memset(&none, 0, sizeof(none));
	printf("no_stamp %lld\n", (long long)(mono_stamp(&none, &real, &mono) - now));
	return 0;
}
