/*
 * DOC: stamp.h: receive stamps on CLOCK_MONOTONIC (no Node-API: a test compiles it on its own)
 */
#ifndef TANDEM_STAMP_H
#define TANDEM_STAMP_H

#include <stdint.h>
#include <time.h>

struct msghdr;

int64_t ns_of(const struct timespec *t);
int64_t mono_stamp(struct msghdr *m, const struct timespec *real, const struct timespec *mono);

#endif
