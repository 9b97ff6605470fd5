/* SPDX-License-Identifier: MIT */
/*
 * Probe modules: each kernel-side measurement (probes.<name> in the
 * config) plugs into the agent through this table. The agent starts every
 * enabled probe; one that cannot start is reported and the others run.
 */
#ifndef HOSTLAT_PROBE_H
#define HOSTLAT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "hostlat_exporter.h"

struct hl_probe_ops {
	const char *name; /* its section under probes: */
	bool (*enabled)(const struct hl_config *cfg);
	/* --check: print what would run here and through which hooks (no attach). */
	void (*check)(const struct hl_config *cfg, FILE *f);
	/* Load and attach; NULL with one message in err when it cannot run at all. */
	void *(*start)(const struct hl_config *cfg, char *err, size_t errlen);
	/*
	 * Every interval: append this probe's metrics to out (at most max);
	 * memory stays valid until the next collect or stop. Returns the
	 * number appended or -errno.
	 */
	int (*collect)(void *state, struct hl_metric *out, size_t max);
	void (*stop)(void *state); /* NULL-safe; detaches everything */
	/*
	 * Optional: checks of the config that need the running kernel (made
	 * at start and by --check, before anything loads). -EINVAL with one
	 * message "FILE:LINE:COLUMN: ... (key '...')" in err: a config error.
	 */
	int (*validate)(const struct hl_config *cfg, char *err, size_t errlen);
};

/* Every probe, NULL-terminated (agent/probe.c). */
extern const struct hl_probe_ops *const hl_probes[];

#endif
