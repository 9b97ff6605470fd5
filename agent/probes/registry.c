/* SPDX-License-Identifier: MIT */
/* The probe modules the agent knows, in the order they start and their metrics appear. */
#include "config.h"
#include "probes.h"
#include "xdp_responder_conf.h"

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

/* The order of their sections in the config, config/hostlat.yaml and the reference. */
const struct hl_probe_ops *const hl_probe_sections[] = {
	&hl_stack_latency_probe,    /* probes.stack_latency */
	&hl_traffic_probe,	    /* probes.traffic */
	&hl_softirq_probe,	    /* probes.softirq */
	&hl_napi_probe,		    /* probes.napi */
	&hl_function_latency_probe, /* probes.function_latency */
	&hl_drops_probe,	    /* probes.drops */
	&hl_runqueue_probe,	    /* probes.runqueue */
	&hl_xdp_responder_probe,    /* probes.xdp_responder */
	NULL,
};

bool hl_probe_trial_attaches(const struct hl_probe_ops *p, const struct hl_config *cfg)
{
	const struct hl_xdp_responder_conf *x;

	if (p != &hl_xdp_responder_probe)
		return true;
	x = hl_probe_config(cfg, p);
	return x->mode != HL_XDP_NATIVE;
}
