/* SPDX-License-Identifier: MIT */
/* The agent's two clocks, in nanoseconds. */
#ifndef HOSTLAT_CLOCK_H
#define HOSTLAT_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* CLOCK_MONOTONIC: the clock of bpf_ktime_get_ns (and of responder replies). */
uint64_t hl_mono_ns(void);
/* CLOCK_REALTIME: Unix time, for exported timestamps. */
uint64_t hl_unix_ns(void);

/*
 * CLOCK_REALTIME - CLOCK_MONOTONIC, from the tightest of a few bracketed
 * readings: a Unix time t is monotonic time t - offset.
 */
int64_t hl_realtime_offset_ns(void);

/* What the kernel says of its clock (adjtimex(2), modes 0: reads only). */
struct hl_clock_state {
	bool synchronized;     /* neither STA_UNSYNC nor the TIME_ERROR state */
	uint64_t max_error_ns; /* maxerror: the bound the time daemon keeps up to date */
	uint64_t est_error_ns; /* esterror: the daemon's estimate */
};

/* 0, or -errno (c then says unsynchronized, errors unknown: UINT64_MAX). */
int hl_clock_state(struct hl_clock_state *c);

#endif
