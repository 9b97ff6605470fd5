/* SPDX-License-Identifier: MIT */
/*
 * The probe modules the agent knows: one list, in the order of their
 * sections under probes: (config, reference, messages), of their start and
 * of their metrics in a batch. A probe that borrows another's maps
 * (core/probe.h, hl_probe_shared_map) comes after it.
 */
#include "probes.h"

const struct hl_probe_ops *const hl_probes[] = {
	&hl_stack_latency_probe,    /* probes.stack_latency */
	&hl_traffic_probe,	    /* probes.traffic */
	&hl_softirq_probe,	    /* probes.softirq */
	&hl_napi_probe,		    /* probes.napi */
	&hl_function_latency_probe, /* probes.function_latency */
	&hl_drops_probe,	    /* probes.drops */
	&hl_runqueue_probe,	    /* probes.runqueue */
	&hl_xdp_responder_probe,    /* probes.xdp_responder: after the probes whose maps it reads */
	NULL,
};
