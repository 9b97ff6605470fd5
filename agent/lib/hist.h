/* SPDX-License-Identifier: MIT */
/*
 * Exponential histograms in user space: the exact seconds-grid boundary
 * table handed to the kernel, and an aggregated histogram with OTel
 * semantics (scale, offset, bucket counts, zero count, sum, min, max)
 * that downscales itself to stay within max_size buckets.
 */
#ifndef HOSTLAT_HIST_H
#define HOSTLAT_HIST_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "exphist.h"
#include "hostlat_exporter.h"

/* The kernel's bucketing table for one scale (see bpf/exphist.h). */
struct hl_exph_table {
	int scale;
	int32_t idx_min; /* OTel bucket index of v = 1 ns */
	__u64 bounds[HL_EXPH_TABLE_SIZE];
	__u32 octave_first[64];
};

/* Fill t for scale 0..HL_EXPH_MAX_SCALE exactly; -EINVAL on a bad scale. */
int hl_exph_table_init(struct hl_exph_table *t, int scale);
/* OTel bucket index of v ns (v >= 1) through the kernel's code path;
 * INT32_MIN for v == 0 (the zero bucket). */
int32_t hl_exph_index(const struct hl_exph_table *t, uint64_t v_ns);
/* Same index computed independently with exact big-integer arithmetic;
 * INT32_MIN for v == 0 or a bad scale. */
int32_t hl_exph_index_ref(int scale, uint64_t v_ns);
/* OTel bucket index of the plain integer v >= 1 (bytes, flows: not ns) at
 * scale 0..HL_EXPH_MAX_SCALE, exactly; INT32_MIN for v == 0 or a bad scale. */
int32_t hl_exph_index_int(int scale, uint64_t v);
/* The same, always with big integers (what hl_exph_index_int falls back to). */
int32_t hl_exph_index_int_exact(int scale, uint64_t v);
/* Bucket i at scale s holds (lo, hi] seconds (plain values for raw_values). */
void hl_exph_bounds(int scale, int32_t index, double *lo, double *hi);

/* struct hl_hist is part of the exporter ABI: exporters/hostlat_exporter.h */

/* max_size >= 2; scale is the starting (highest) scale. -ENOMEM. */
int hl_hist_init(struct hl_hist *h, uint32_t max_size, int scale);
void hl_hist_free(struct hl_hist *h); /* NULL-safe, idempotent */
/* Back to empty at the given scale (keeps the allocation). */
void hl_hist_reset(struct hl_hist *h, int scale);
/*
 * Add n values that fall into bucket `index` at `scale` (scale >= h->scale
 * is downscaled into h; a smaller scale downscales h first). Downscales h
 * as needed to keep within max_size. Does not touch count-independent
 * fields sum/min/max.
 */
void hl_hist_add_bucket(struct hl_hist *h, int scale, int32_t index, uint64_t n);
void hl_hist_add_zero(struct hl_hist *h, uint64_t n);
/* Record one value in ns exactly (count, sum, bucket); min/max stay known
 * only if h was empty or they were already known. */
void hl_hist_record(struct hl_hist *h, const struct hl_exph_table *t, uint64_t v_ns);
/* The same for a plain integer v (bytes, flows: h->raw_values), bucketed
 * exactly by hl_exph_index_int(scale, v). */
void hl_hist_record_int(struct hl_hist *h, int scale, uint64_t v);
/* The same for v known to fall into bucket index at scale (ignored when
 * v == 0): for callers that record one value into several histograms. */
void hl_hist_record_at(struct hl_hist *h, int scale, int32_t index, uint64_t v);
/* Downscale by d >= 0 steps (i -> i >> d). */
void hl_hist_downscale(struct hl_hist *h, int d);
/* dst += src (scales reconciled, min of mins, max of maxes). An empty src
 * changes nothing; an empty dst takes the lower of the two scales. */
void hl_hist_merge(struct hl_hist *dst, const struct hl_hist *src);
/* A value of h (sum_ns, min_ns, max_ns) in the metric's unit: seconds, or
 * the plain value when h->raw_values. */
double hl_hist_value(const struct hl_hist *h, uint64_t v);
/*
 * Value at quantile q (0..1) in seconds (plain units when raw_values):
 * the upper bound of the bucket holding that rank, clamped to [min, max]
 * where known; 0 when empty.
 */
double hl_hist_quantile(const struct hl_hist *h, double q);

#endif /* HOSTLAT_HIST_H */
