/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <time.h>
#include <sys/timex.h>

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

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

int64_t hl_realtime_offset_ns(void)
{
	struct timespec a, b, c;
	int64_t best = 0, best_gap = INT64_MAX;

	for (int i = 0; i < 5; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		clock_gettime(CLOCK_REALTIME, &b);
		clock_gettime(CLOCK_MONOTONIC, &c);
		if (ts_ns(&c) - ts_ns(&a) < best_gap) {
			best_gap = ts_ns(&c) - ts_ns(&a);
			best = ts_ns(&b) - (ts_ns(&a) + ts_ns(&c)) / 2;
		}
	}
	return best;
}

int hl_clock_state(struct hl_clock_state *c)
{
	struct timex tx = {0};
	int st = adjtimex(&tx);

	if (st < 0) {
		c->synchronized = false;
		c->max_error_ns = c->est_error_ns = UINT64_MAX;
		return -errno;
	}
	c->synchronized = st != TIME_ERROR && !(tx.status & STA_UNSYNC);
	c->max_error_ns = tx.maxerror > 0 ? (uint64_t)tx.maxerror * 1000 : 0;
	c->est_error_ns = tx.esterror > 0 ? (uint64_t)tx.esterror * 1000 : 0;
	return 0;
}
