/* SPDX-License-Identifier: MIT */
/* The agent's two clocks, in nanoseconds. */
#ifndef HOSTLAT_CLOCK_H
#define HOSTLAT_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC: the clock of bpf_ktime_get_ns (and of responder replies). */
uint64_t hl_mono_ns(void);
/* CLOCK_REALTIME: Unix time, for exported timestamps. */
uint64_t hl_unix_ns(void);

#endif
