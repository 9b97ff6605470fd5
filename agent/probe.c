/* SPDX-License-Identifier: MIT */
/* The probe modules the agent knows, in the order their metrics appear. */
#include "probe.h"
#include "stack.h"
#include "stallprobes.h"
#include "traffic.h"

const struct hl_probe_ops *const hl_probes[] = {
	&hl_stack_probe,   /* probes.stack_latency */
	&hl_softirq_probe, /* probes.softirq */
	&hl_napi_probe,	   /* probes.napi */
	&hl_funclat_probe, /* probes.function_latency */
	&hl_drops_probe,   /* probes.drops */
	&hl_runq_probe,	   /* probes.runqueue */
	&hl_traffic_probe, /* probes.traffic */
	NULL,
};
