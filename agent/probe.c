/* SPDX-License-Identifier: MIT */
/* The probe modules the agent knows, in the order their metrics appear. */
#include "probe.h"
#include "stack.h"
#include "stallprobes.h"
#include "traffic.h"
#include "responder.h"

const struct hl_probe_ops *const hl_probes[] = {
	&hl_stack_probe,   /* probes.stack_latency */
	&hl_softirq_probe, /* probes.softirq */
	&hl_napi_probe,	   /* probes.napi */
	&hl_funclat_probe, /* probes.function_latency */
	&hl_drops_probe,   /* probes.drops */
	&hl_runq_probe,	   /* probes.runqueue */
	&hl_traffic_probe, /* probes.traffic */
	&hl_xdpresp_probe, /* probes.xdp_responder: after the probes whose maps it reads */
	NULL,
};

bool hl_probe_trial;

bool hl_probe_trial_attaches(const struct hl_probe_ops *p, const struct hl_config *cfg)
{
	return !(p == &hl_xdpresp_probe && cfg->xdp_responder.mode == HL_XDP_NATIVE);
}

/* fd + 1 of each shared map; 0: none. */
static int shared_fd1[HL_SHARED_MAPS];

void hl_probe_share_map(enum hl_shared_map id, int fd)
{
	if ((unsigned int)id < HL_SHARED_MAPS)
		shared_fd1[id] = fd < 0 ? 0 : fd + 1;
}

int hl_probe_shared_map(enum hl_shared_map id)
{
	return (unsigned int)id < HL_SHARED_MAPS ? shared_fd1[id] - 1 : -1;
}
