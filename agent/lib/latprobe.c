/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "latprobe.h"

uint32_t hl_latprobe_entries(uint32_t n_series, int scale, int octaves)
{
	uint64_t n = (uint64_t)n_series * ((uint64_t)octaves << scale) + 64;

	return n > (1U << 20) ? 1U << 20 : (uint32_t)n;
}

int hl_latprobe_init(struct hl_latprobe *lp, uint32_t scale, uint32_t max_buckets,
		     uint32_t dense_ids, uint32_t max_series, uint32_t max_entries, char *err,
		     size_t errlen)
{
	int ncpus = libbpf_num_possible_cpus();
	int e;

	memset(lp, 0, sizeof(*lp));
	if (ncpus <= 0) {
		snprintf(err, errlen, "cannot count possible CPUs: %s", strerror(-ncpus));
		return ncpus ? ncpus : -EINVAL;
	}
	e = hl_exph_table_init(&lp->table, (int)scale);
	if (e) {
		snprintf(err, errlen, "histogram_scale %u is out of range", scale);
		return e;
	}
	hl_series_set_init(&lp->ss, &lp->table, ncpus, max_buckets, max_series, max_entries);
	if (dense_ids)
		hl_series_set_dense(&lp->ss, dense_ids);
	return 0;
}

void hl_latprobe_free(struct hl_latprobe *lp)
{
	hl_links_destroy(&lp->links);
	hl_series_set_free(&lp->ss);
	free(lp->points);
	lp->points = NULL;
	lp->cap_points = 0;
}

int hl_latprobe_read(struct hl_latprobe *lp, int hist_fd, int series_fd, int dense_fd,
		     int counters_fd)
{
	int e = hl_series_set_collect(&lp->ss, hist_fd, series_fd, dense_fd);

	if (e)
		return e;
	memcpy(lp->prev_ctr, lp->ctr, sizeof(lp->ctr));
	return hl_read_percpu_array(counters_fd, HL_STALL_COUNTERS, lp->ss.ncpus, lp->ctr);
}

struct hl_point *hl_latprobe_points(struct hl_latprobe *lp, size_t n)
{
	if (n > lp->cap_points) {
		struct hl_point *p = realloc(lp->points, n * sizeof(*p));

		if (!p)
			return NULL;
		lp->points = p;
		lp->cap_points = n;
	}
	if (n)
		memset(lp->points, 0, n * sizeof(*lp->points));
	return lp->points ? lp->points : lp->lost_points; /* n == 0: any non-NULL */
}

void hl_latprobe_hist_point(struct hl_point *p, const struct hl_series *sr)
{
	p->cumulative = &sr->cum;
	p->delta = &sr->delta;
}

struct hl_metric hl_latprobe_lost_metric(struct hl_latprobe *lp, const char *name)
{
	static const struct {
		int idx;
		const char *reason;
	} rows[] = {{HL_STALL_MAP_FULL, "map_full"}, {HL_STALL_OVERFLOW, "overflow"}};

	memset(lp->lost_points, 0, sizeof(lp->lost_points));
	for (size_t i = 0; i < 2; i++) {
		hl_point_attr(&lp->lost_points[i], "reason", rows[i].reason);
		hl_point_counter(&lp->lost_points[i], lp->ctr[rows[i].idx],
				 lp->prev_ctr[rows[i].idx]);
	}
	return (struct hl_metric){
		.name = name,
		.description = "Samples the kernel probe could not record: a histogram map was "
			       "full (map_full) or its per-task state was (overflow)",
		.unit = "{sample}",
		.kind = HL_METRIC_COUNTER,
		.points = lp->lost_points,
		.n_points = 2,
	};
}
