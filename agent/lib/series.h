/* SPDX-License-Identifier: MIT */
/*
 * Duration histograms kept by the kernel as two per-CPU monotonic maps
 * (see bpf/lathist.h): `hist` counts samples per (series, bucket position)
 * and `series` holds each series' zero count, sum, min and max; or, for a
 * probe whose series are only the ids 0..n-1, one per-CPU array `dense`
 * holding both (the dense layout, bpf/hostlat.h). Every
 * interval a series set reads both, sums the CPUs and rebuilds, per
 * series, a cumulative histogram (its scale only goes down) and the delta
 * since the previous read.
 */
#ifndef HOSTLAT_SERIES_H
#define HOSTLAT_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>

#include "hist.h"
#include "hostlat.h"
#include "maputil.h"

/* Raw cumulative count of one table position. */
struct hl_raw_bucket {
	uint32_t pos;
	uint64_t count;
};

struct hl_series {
	struct hl_series_key key;
	struct hl_hist cum, delta;
	/* Labels the owner fills (names of key.ifindex and key.cgroup). */
	char ifname[32];
	bool if_resolved;
	char cgpath[256];
	bool cg_resolved;
	/* Previous read, for the delta. */
	int cum_scale; /* a cumulative stream's scale only goes down */
	struct hl_raw_bucket *prev;
	size_t n_prev, cap_prev;
	uint64_t prev_zero, prev_sum, prev_min, prev_max;
	bool have_prev;
	/* dense: the last bucket read found the totals of the read before it */
	bool settled;
};

struct hl_series_set {
	const struct hl_exph_table *table; /* the kernel's bucketing (not owned) */
	int ncpus;
	uint32_t max_buckets;  /* per exported histogram */
	uint32_t max_series;   /* capacity of the series map */
	uint32_t max_entries;  /* capacity of the hist map */
	uint32_t dense_ids;    /* dense layout: series ids 0..dense_ids-1; 0: hash maps */
	uint32_t dense_stride; /* elements per id in the dense array */
	struct hl_series *v;   /* sorted by key; may move on every collect */
	size_t n;
	/* scratch */
	struct hl_map_dump hist_dump, series_dump, dense_dump;
	struct hl_raw_bucket *cur;
	size_t cap_cur;
};

void hl_series_set_init(struct hl_series_set *ss, const struct hl_exph_table *table, int ncpus,
			uint32_t max_buckets, uint32_t max_series, uint32_t max_entries);
/* Elements per series id of the dense layout at t's scale. */
uint32_t hl_dense_stride(const struct hl_exph_table *t);
/* Use the dense layout for the series ids 0..n_ids-1 (n_ids > 0). */
void hl_series_set_dense(struct hl_series_set *ss, uint32_t n_ids);
struct bpf_map;
/*
 * Size the object's maps for the layout in use before load: the dense
 * array to ids x stride and the hash maps to 1 entry, or the dense array
 * to 1 and the hash maps to max_series and max_entries.
 */
void hl_series_set_size_maps(const struct hl_series_set *ss, struct bpf_map *hist,
			     struct bpf_map *series, struct bpf_map *dense);
/*
 * Before load: write ss's bucketing table and layout into the rodata of an
 * object built with bpf/lathist.h and size its histogram maps for the
 * layout (hl_series_set_size_maps).
 */
#define HL_LATHIST_PREPARE(skel, ss)                                                               \
	do {                                                                                       \
		(skel)->rodata->hist_scale = (ss)->table->scale;                                   \
		memcpy((void *)(skel)->rodata->exph_bounds, (ss)->table->bounds,                   \
		       sizeof((ss)->table->bounds));                                               \
		memcpy((void *)(skel)->rodata->exph_octave_first, (ss)->table->octave_first,       \
		       sizeof((ss)->table->octave_first));                                         \
		(skel)->rodata->dense_stride = (ss)->dense_stride;                                 \
		hl_series_set_size_maps((ss), (skel)->maps.hist, (skel)->maps.series,              \
					(skel)->maps.dense);                                       \
	} while (0)

/* Read the maps of the layout in use and refresh every series. 0 or -errno. */
int hl_series_set_collect(struct hl_series_set *ss, int hist_fd, int series_fd, int dense_fd);
void hl_series_set_free(struct hl_series_set *ss); /* idempotent */

/*
 * Rebuild sr's cumulative and delta histograms from its raw buckets
 * cur[0..n) (sorted by position) and totals. Exposed for unit tests.
 */
void hl_series_update(struct hl_series *sr, const struct hl_exph_table *table,
		      const struct hl_raw_bucket *cur, size_t n, uint64_t zero, uint64_t sum,
		      uint64_t min, uint64_t max);
/* Fill sr->cgpath from key.cgroup (cgroup-id-N until the path is known). */
void hl_series_resolve_cgroup(struct hl_series *sr);

#endif
