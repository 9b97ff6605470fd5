/* SPDX-License-Identifier: MIT */
#include <time.h>

#include "clock.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t hl_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t hl_unix_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}
