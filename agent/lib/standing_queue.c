/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probeutil.h"
#include "stages.h"
#include "standing_queue.h"

/* The stage an HL_SQ_* series belongs to, and whether it counts episodes. */
static int sq_stage(uint32_t id, bool *episodes)
{
	*episodes = id == HL_SQ_TCP_EPISODES || id == HL_SQ_UDP_EPISODES;
	switch (id) {
	case HL_SQ_TCP_DURATION:
	case HL_SQ_TCP_EPISODES:
		return HL_STAGE_TCP_SOCK_READ;
	case HL_SQ_UDP_DURATION:
	case HL_SQ_UDP_EPISODES:
		return HL_STAGE_UDP_SOCK_READ;
	default:
		return -1;
	}
}

int hl_sq_metrics(struct hl_sq_points *sq, const struct hl_series_set *ss, uint32_t stage_mask,
		  struct hl_metric out[2])
{
	size_t ne = 0, nd = 0;

	if (sq->cap < ss->n) {
		struct hl_point *e = calloc(ss->n, sizeof(*e)), *d = calloc(ss->n, sizeof(*d));

		if (!e || !d) {
			free(e);
			free(d);
			return -ENOMEM;
		}
		hl_sq_points_free(sq);
		sq->episodes = e;
		sq->durations = d;
		sq->cap = ss->n;
	}
	for (size_t i = 0; i < ss->n; i++) {
		const struct hl_series *sr = &ss->v[i];
		bool episodes;
		int st = sq_stage(sr->key.stage, &episodes);
		struct hl_point *p;

		if (st < 0 || !(stage_mask & (1U << st)))
			continue;
		p = episodes ? &sq->episodes[ne++] : &sq->durations[nd++];
		memset(p, 0, sizeof(*p));
		hl_point_attr(p, "stage", hl_stage_names[st]);
		if (sr->key.cgroup)
			hl_point_attr(p, "cgroup.path", sr->cgpath);
		if (episodes) {
			hl_point_counter(p, sr->cum.count, sr->cum.count - sr->delta.count);
		} else {
			p->cumulative = &sr->cum;
			p->delta = &sr->delta;
		}
	}
	out[0] = (struct hl_metric){
		.name = HL_METRIC_SQ_EPISODES,
		.description =
			"Standing-queue episodes at the socket reads: the sojourn time stayed "
			"above target at every read for a whole interval (CoDel's rule)",
		.unit = "{episode}",
		.kind = HL_METRIC_COUNTER,
		.points = sq->episodes,
		.n_points = ne,
	};
	out[1] = (struct hl_metric){
		.name = HL_METRIC_SQ_DURATION,
		.description = "Length of each ended standing-queue episode, from when the sojourn "
			       "time went above target to the first read below it",
		.unit = "s",
		.kind = HL_METRIC_EXPHIST,
		.points = sq->durations,
		.n_points = nd,
	};
	return 2;
}

void hl_sq_points_free(struct hl_sq_points *sq)
{
	free(sq->episodes);
	free(sq->durations);
	*sq = (struct hl_sq_points){0};
}
