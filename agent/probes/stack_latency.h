/* SPDX-License-Identifier: MIT */
/* The network-stack latency probe (probes.stack_latency). */
#ifndef HOSTLAT_STACK_H
#define HOSTLAT_STACK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "hostlat_exporter.h"
#include "probe.h"

/* Its latency histogram metric; the XDP responder finds it in the batch by this name. */
#define HL_METRIC_STACK_LATENCY "hostlat.stack.latency"

/* probes.stack_latency */
struct hl_stack_latency_filters {
	struct hl_strlist interfaces; /* names; empty = all */
	char *network_namespace;      /* "host" (default), "all", a path, or an inode number */
	struct hl_strlist cgroups;    /* cgroup v2 paths; empty = all */
	struct hl_uintlist pids;      /* empty = all */
	uint32_t min_queue_length;
};

/* probes.stack_latency.standing_queue (CoDel's rule per socket at the reads) */
struct hl_standing_queue_conf {
	uint64_t target_ns;
	uint64_t interval_ns;
};

struct hl_stack_latency_conf {
	bool enabled;
	uint32_t stages; /* bit per enum hl_stage */
	uint32_t histogram_scale;
	uint32_t max_buckets;	     /* export max size per histogram */
	uint32_t max_groups;	     /* `max_series`: kernel map bound for group-by keys */
	uint32_t max_bucket_entries; /* kernel per-bucket counter map capacity */
	struct hl_stack_latency_filters filters;
	uint32_t group_by;			       /* HL_GROUP_IFACE | HL_GROUP_CGROUP */
	bool include_hol_blocked;		       /* keep TCP reads blocked behind a loss */
	struct hl_standing_queue_conf *standing_queue; /* NULL: off */
	uint32_t max_sockets; /* kprobe variant: sockets with per-socket state */
	bool exemplars;	      /* the worst sample of every interval, with its context */
};

struct hl_stack_latency;

/* How a stage is measured on this kernel. */
struct hl_stage_plan {
	const char *stage;
	bool wanted;	  /* enabled in the config */
	bool available;	  /* a hook can run here */
	const char *hook; /* "fentry", "fexit", "kprobe", "tp_btf", "netfilter" or "none" */
	char detail[160]; /* hook targets, e.g. "tp_btf/netif_receive_skb" */
	char why[480];	  /* when a preferred hook or every hook is unusable: each reason */
};

/* Decide per stage which hook to use (no BPF is loaded except probes). */
void hl_stack_latency_plan(const struct hl_config *cfg, struct hl_stage_plan plan[]);
void hl_stack_latency_print_plan(FILE *f, const struct hl_stage_plan plan[]);

/*
 * Open, configure, load and attach. Returns NULL with a message in err
 * when nothing could be attached or the config cannot be applied (missing
 * interface, unknown cgroup, ...).
 */
struct hl_stack_latency *hl_stack_latency_start(const struct hl_config *cfg, char *err,
						size_t errlen);
/* Refresh the kernel's clock offset (every interval). */
void hl_stack_latency_refresh_clock(struct hl_stack_latency *s);
/*
 * Read the maps and append this probe's metrics to out (at most max).
 * Memory stays valid until the next collect or stop. Returns the number
 * of metrics appended or -errno.
 */
int hl_stack_latency_collect(struct hl_stack_latency *s, struct hl_metric *out, size_t max);
void hl_stack_latency_stop(struct hl_stack_latency *s); /* NULL-safe; detaches everything */

#endif
