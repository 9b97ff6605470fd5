/* SPDX-License-Identifier: MIT */
/* What the probe modules share at run time (probe.h); the modules themselves: probes/registry.c. */
#include "probe.h"

bool hl_probe_trial;

bool hl_probe_trial_attaches(const struct hl_probe_ops *p, const struct hl_config *cfg)
{
	return !p->trial_attaches || p->trial_attaches(cfg);
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

/* The parser stores probe i's config at probe_conf[i] (config.c). */
const void *hl_probe_config(const struct hl_config *cfg, const struct hl_probe_ops *p)
{
	for (int i = 0; i < HL_PROBES_MAX && hl_probes[i]; i++)
		if (hl_probes[i] == p)
			return cfg->probe_conf[i];
	return NULL;
}
