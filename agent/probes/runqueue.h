/* SPDX-License-Identifier: MIT */
/* probes.runqueue's config (the tests read it). */
#ifndef HOSTLAT_RUNQUEUE_H
#define HOSTLAT_RUNQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define HL_RUNQ_GROUP_CGROUP (1U << 0) /* group_by: [cgroup] */

enum hl_runqueue_tasks { HL_RUNQ_SOCKET_READERS, HL_RUNQ_ALL };

struct hl_runqueue_conf {
	bool enabled;
	int tasks;		   /* enum hl_runqueue_tasks */
	struct hl_strlist cgroups; /* filters.cgroups */
	struct hl_uintlist pids;   /* filters.pids */
	uint32_t group_by;	   /* HL_RUNQ_GROUP_CGROUP */
	uint32_t histogram_scale;
	uint32_t max_buckets;
	uint32_t max_series;
	bool exemplars; /* the longest wait of every interval, with its task */
};

#endif
