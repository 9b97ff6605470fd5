/* SPDX-License-Identifier: MIT */
/* The probe modules the agent knows, in the order they start and their metrics appear. */
#include "probes.h"

const struct hl_probe_ops *const hl_probes[] = {
	&hl_stack_latency_probe,    /* probes.stack_latency */
	&hl_softirq_probe,	    /* probes.softirq */
	&hl_napi_probe,		    /* probes.napi */
	&hl_function_latency_probe, /* probes.function_latency */
	&hl_drops_probe,	    /* probes.drops */
	&hl_runqueue_probe,	    /* probes.runqueue */
	&hl_traffic_probe,	    /* probes.traffic */
	&hl_xdp_responder_probe,    /* probes.xdp_responder: after the probes whose maps it reads */
	NULL,
};
