/* SPDX-License-Identifier: MIT */
/* probes.napi's config (the tests read it). */
#ifndef HOSTLAT_NAPI_H
#define HOSTLAT_NAPI_H

#include <stdbool.h>
#include <stdint.h>

struct hl_napi_conf {
	bool enabled;
	char *network_namespace; /* host, all, a path or an inode number */
	uint32_t max_series;
};

#endif
