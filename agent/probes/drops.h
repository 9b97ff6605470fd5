/* SPDX-License-Identifier: MIT */
/* probes.drops's config (the tests read it). */
#ifndef HOSTLAT_DROPS_H
#define HOSTLAT_DROPS_H

#include <stdbool.h>
#include <stdint.h>

#define HL_DROPS_GROUP_CGROUP (1U << 0) /* group_by: [cgroup] */

struct hl_drops_conf {
	bool enabled;
	char *network_namespace; /* host, all, a path or an inode number */
	uint32_t group_by;	 /* HL_DROPS_GROUP_CGROUP */
	uint32_t max_series;
};

#endif
