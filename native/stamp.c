/*
 * DOC: stamp.c: a received message's kernel stamp moved onto CLOCK_MONOTONIC, never later than now
 */
#include "stamp.h"

#include <string.h>
#include <sys/socket.h>

int64_t ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* Kernel stamps are CLOCK_REALTIME (sockets have no monotonic receive
 * stamp); they are shifted onto CLOCK_MONOTONIC (the clock of
 * process.hrtime) with the offset measured when the batch was read, because
 * nothing above this file sees wall time. A message without a stamp gets the
 * read's own time. */
int64_t mono_stamp(struct msghdr *m, const struct timespec *real, const struct timespec *mono)
{
	int64_t stamp = ns_of(mono);
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec k;
			memcpy(&k, CMSG_DATA(c), sizeof(k));
			stamp = ns_of(mono) - (ns_of(real) - ns_of(&k));
		}
	}
	/* A wall clock stepped back after the frame arrived would put its
	 * arrival in the future (a dead peer kept alive for the size of the
	 * step): no frame arrived later than now. */
	return stamp > ns_of(mono) ? ns_of(mono) : stamp;
}
