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
	const char *help; /* one line: what the section measures */
	/*
	 * The section's keys, offsets into the probe's own config struct of
	 * config_size bytes, which the parser allocates and fills (defaults
	 * included); the probe reads it with hl_probe_config.
	 */
	const struct hl_option *options;
	size_t config_size;
	/*
	 * Optional: checks between keys of the section, after it parsed.
	 * -EINVAL with *pb filled (the parser adds the position).
	 */
	int (*check_config)(const void *conf, struct hl_config_problem *pb);
	bool (*enabled)(const struct hl_config *cfg);
	/*
	 * --check: print what would run here and through which hooks, from
	 * the config and the kernel's features (used when start failed, or
	 * when the probe has no report).
	 */
	void (*check)(const struct hl_config *cfg, FILE *f);
	/* Optional, --check: print what the started probe state runs (the truth). */
	void (*report)(void *state, FILE *f);
	/* Load and attach; NULL with one message in err when it cannot run at all. */
	void *(*start)(const struct hl_config *cfg, char *err, size_t errlen);
	/*
	 * Optional: false when start under --check (hl_probe_trial) loads
	 * this probe's programs without attaching them. NULL: it attaches.
	 */
	bool (*trial_attaches)(const struct hl_config *cfg);
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
	/*
	 * Optional: every interval, the complete batch (all probes' metrics)
	 * after collection, before it is exported.
	 */
	void (*observe)(void *state, const struct hl_batch *b);
	/*
	 * Optional: capabilities (bit 1ULL << CAP_X, agent/core/privs.h) this
	 * running probe still needs after start, with the reason in why; e.g.
	 * CAP_NET_ADMIN to remove a tc filter at stop. Once every probe has
	 * started the agent drops every capability no probe names here.
	 */
	uint64_t (*privileges)(void *state, char *why, size_t len);
};

/*
 * The gauge of the hook each stage or function runs on, which more than
 * one probe exports (stack_latency, function_latency).
 */
#define HL_METRIC_PROBE_HOOK "hostlat.probe.hook"

/*
 * Every probe, NULL-terminated, in the order of their config sections, of
 * start and of metrics (agent/probes/registry.c).
 */
extern const struct hl_probe_ops *const hl_probes[];

/* Probe p's config struct in cfg (p->config_size bytes), or NULL. */
const void *hl_probe_config(const struct hl_config *cfg, const struct hl_probe_ops *p);

/*
 * True while --check starts the probes to verify them. A probe whose
 * attach could disturb traffic (native XDP resets some NICs' rings) then
 * loads its programs without attaching them.
 */
extern bool hl_probe_trial;
/* Whether probe p attaches during --check (its trial_attaches; NULL: yes). */
bool hl_probe_trial_attaches(const struct hl_probe_ops *p, const struct hl_config *cfg);

/*
 * Maps a running probe lends to probes started after it (the XDP responder
 * sums them in the kernel). The fd stays the lender's: a borrower that
 * keeps the map past the lender's stop holds its own reference (libbpf's
 * bpf_map__reuse_fd duplicates it).
 */
enum hl_shared_map {
	HL_SHARED_STACK_COUNTERS, /* stack_latency `counters` (hostlat.h) */
	HL_SHARED_SOFTIRQ_STATE,  /* softirq `state`, when it measures net_rx (stall.h) */
	HL_SHARED_DROPS_TOTAL,	  /* drops `drops_total` */
	HL_SHARED_MAPS,
};

void hl_probe_share_map(enum hl_shared_map id, int fd); /* fd < 0: withdraw */
int hl_probe_shared_map(enum hl_shared_map id);		/* -1 when none */

#endif
