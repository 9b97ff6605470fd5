/* SPDX-License-Identifier: MIT */
/* probes.softirq's config (the XDP responder and the tests read it). */
#ifndef HOSTLAT_SOFTIRQ_H
#define HOSTLAT_SOFTIRQ_H

#include <stdbool.h>
#include <stdint.h>

struct hl_softirq_conf {
	bool enabled;
	uint32_t vectors; /* bit per softirq vector, in the kernel's order (HL_SOFTIRQ_*) */
	uint32_t histogram_scale;
	uint32_t max_buckets;
};

#endif
