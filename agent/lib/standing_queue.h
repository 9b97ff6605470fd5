/* SPDX-License-Identifier: MIT */
/*
 * The standing-queue metrics of the socket-read stages (bpf/sockstate.h):
 * the series ids HL_SQ_* of a stage series set turned into
 * hostlat.stack.standing_queue.episodes (a counter: the count of each
 * episodes series, one 0 ns sample per episode started) and
 * hostlat.stack.standing_queue.duration (the duration series as they are).
 */
#ifndef HOSTLAT_STANDING_QUEUE_H
#define HOSTLAT_STANDING_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "hostlat_exporter.h"
#include "series.h"

#define HL_METRIC_SQ_EPISODES "hostlat.stack.standing_queue.episodes"
#define HL_METRIC_SQ_DURATION "hostlat.stack.standing_queue.duration"

struct hl_sq_points {
	struct hl_point *episodes, *durations;
	size_t cap;
};

/*
 * Append the two metrics to out (room for 2) from the series of ss whose
 * stage is an HL_SQ_* id, for the stages in stage_mask (bit per enum
 * hl_stage). Points stay valid until the next call or hl_sq_points_free.
 * Returns 2 or -ENOMEM.
 */
int hl_sq_metrics(struct hl_sq_points *sq, const struct hl_series_set *ss, uint32_t stage_mask,
		  struct hl_metric out[2]);
void hl_sq_points_free(struct hl_sq_points *sq); /* idempotent */

#endif
