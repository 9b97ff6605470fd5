/* SPDX-License-Identifier: MIT */
/*
 * What the duration probes (softirq, runqueue, function_latency) share:
 * the bucketing table written into their object's rodata, the histogram
 * series read from bpf/lathist.h's maps, the per-CPU HL_STALL_* counters,
 * their links, the metric points built from them, and their histogram
 * config keys.
 */
#ifndef HOSTLAT_LATPROBE_H
#define HOSTLAT_LATPROBE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hist.h"
#include "probeutil.h"
#include "series.h"
#include "stall.h"

struct hl_latprobe {
	struct hl_exph_table table;
	struct hl_series_set ss; /* and the CPU count (ss.ncpus) */
	struct hl_links links;
	uint64_t ctr[HL_STALL_COUNTERS], prev_ctr[HL_STALL_COUNTERS];
	struct hl_point *points; /* scratch for the histogram metrics */
	size_t cap_points;
	struct hl_point lost_points[2];
};

/*
 * Bucket counters needed for n_series series whose values span `octaves`
 * powers of two from 1 ns (40: up to 18 minutes), at scale.
 */
uint32_t hl_latprobe_entries(uint32_t n_series, int scale, int octaves);

/*
 * dense_ids > 0: the dense layout for the series ids 0..dense_ids-1
 * (max_series and max_entries unused); 0: the hash maps with these
 * capacities. 0, or -errno with a message in err.
 */
int hl_latprobe_init(struct hl_latprobe *lp, uint32_t scale, uint32_t max_buckets,
		     uint32_t dense_ids, uint32_t max_series, uint32_t max_entries, char *err,
		     size_t errlen);
void hl_latprobe_free(struct hl_latprobe *lp); /* idempotent; destroys the links */

/*
 * The histogram keys of a duration probe's section (struct hl_option, in
 * config.h), into the uint32_t histogram_scale and max_buckets of its
 * config struct conf_type.
 */
#define HL_LATPROBE_SCALE_OPTION(conf_type)                                                        \
	{                                                                                          \
		.name = "histogram_scale", .type = HL_OPT_UINT,                                    \
		.offset = offsetof(conf_type, histogram_scale), .def = "3", .min = 0, .max = 5,    \
		.help = "exponential histogram scale: 2^scale buckets per power of two"            \
	}
#define HL_LATPROBE_BUCKETS_OPTION(conf_type)                                                      \
	{                                                                                          \
		.name = "max_buckets", .type = HL_OPT_UINT,                                        \
		.offset = offsetof(conf_type, max_buckets), .def = "160", .min = 2, .max = 16384,  \
		.help = "most buckets per exported histogram (downscaled to fit)"                  \
	}

/* Read the histogram maps and the counters array. 0 or -errno. */
int hl_latprobe_read(struct hl_latprobe *lp, int hist_fd, int series_fd, int dense_fd,
		     int counters_fd);

/* n zeroed points of scratch (valid until the next call); NULL on ENOMEM. */
struct hl_point *hl_latprobe_points(struct hl_latprobe *lp, size_t n);

/* Point p shows series sr's histograms. */
void hl_latprobe_hist_point(struct hl_point *p, const struct hl_series *sr);

/*
 * The counter metric `name` of samples lost: reason map_full (a histogram
 * map was full) and overflow (a state map was full or calls nested too deep).
 */
struct hl_metric hl_latprobe_lost_metric(struct hl_latprobe *lp, const char *name);

#endif
