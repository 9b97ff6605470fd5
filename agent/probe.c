/* SPDX-License-Identifier: MIT */
/* The probe modules the agent knows, in the order their metrics appear. */
#include "probe.h"
#include "stack.h"

const struct hl_probe_ops *const hl_probes[] = {
	&hl_stack_probe,
	NULL,
};
