/* SPDX-License-Identifier: MIT */
/*
 * probes.napi: per device, NAPI polls, packets polled, and polls that used
 * their whole budget (bpf/napi.bpf.c, tracepoint napi/napi_poll).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <linux/types.h>

#include "probes.h"
#include "kernel.h"
#include "log.h"
#include "napi.h"
#include "napi.skel.h"
#include "netaddr.h"
#include "probeutil.h"
#include "stall.h"
#include "function_latency.h"

#define COMP "napi"
#define BACKLOG_NAME "backlog"

enum { M_POLLS, M_PACKETS, M_EXHAUSTED, M_BUDGET, M_COUNT };

struct napi {
	struct napi_bpf *skel;
	struct hl_links links;
	struct hl_counter_set cs;
	int ncpus;
	struct hl_lost lost;
	struct hl_point *points; /* M_COUNT runs of cs.n points */
};

/* Per device: its name, NUL-terminated. */
struct napi_labels {
	char name[HL_NAPI_NAMSIZ + 1];
};

static const struct hl_napi_conf *napi_conf(const struct hl_config *cfg)
{
	return hl_probe_config(cfg, &hl_napi_probe);
}

static bool napi_enabled(const struct hl_config *cfg)
{
	return napi_conf(cfg)->enabled;
}

/* A namespace path that is not a network namespace is a config error. */
static int napi_validate(const struct hl_config *cfg, char *err, size_t errlen)
{
	return hl_validate_netns(cfg, napi_conf(cfg)->network_namespace,
				 "probes.napi.network_namespace", err, errlen);
}

static const char *napi_unavailable(void)
{
	if (!hl_kernel_btf())
		return hl_kernel_btf_error();
	if (!hl_kernel_has_tp_btf("napi_poll"))
		return "the kernel has no napi/napi_poll tracepoint";
	return NULL;
}

static void napi_check(const struct hl_config *cfg, FILE *f)
{
	const char *why = napi_unavailable();

	fprintf(f, "probe napi: namespace %s\n", napi_conf(cfg)->network_namespace);
	fprintf(f, "  %-10s %s\n", "polls", why ? "unavailable" : "tp_btf/napi_poll");
	if (why)
		fprintf(f, "  %s\n", why);
}

static void napi_stop(void *state)
{
	struct napi *n = state;

	if (!n)
		return;
	hl_links_destroy(&n->links);
	napi_bpf__destroy(n->skel);
	hl_counter_set_free(&n->cs);
	free(n->points);
	free(n);
}

static void *napi_start(const struct hl_config *cfg, char *err, size_t errlen)
{
	const struct hl_napi_conf *c = napi_conf(cfg);
	struct napi *n = calloc(1, sizeof(*n));
	const char *why = napi_unavailable();
	uint64_t netns;
	int e;

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (why) {
		snprintf(err, errlen, "%s", why);
		goto fail;
	}
	e = hl_resolve_netns(c->network_namespace, "probes.napi.network_namespace", &netns, err,
			     errlen);
	if (e)
		goto fail;
	n->ncpus = libbpf_num_possible_cpus();
	if (n->ncpus <= 0) {
		snprintf(err, errlen, "cannot count possible CPUs");
		goto fail;
	}
	/* + 1: the backlog, which no namespace filter removes */
	hl_counter_set_init(&n->cs, sizeof(struct hl_napi_key), M_COUNT, c->max_series + 1,
			    n->ncpus);
	n->skel = napi_bpf__open();
	if (hl_skel_opened(n->skel, err, errlen))
		goto fail;
	n->skel->rodata->netns_ino = netns;
	bpf_map__set_max_entries(n->skel->maps.napi_stats, c->max_series + 1);
	if (hl_skel_load_attach(n->skel->skeleton, "the NAPI program", COMP, &n->links, err,
				errlen))
		goto fail;
	hl_info(COMP, "counting polls via tp_btf/napi_poll in namespace %s", c->network_namespace);
	return n;
fail:
	napi_stop(n);
	return NULL;
}

static const char *device_name(struct hl_counter_entry *ent)
{
	const struct hl_napi_key *k = ent->key;
	struct napi_labels *l = ent->user;

	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return NULL;
		if (!k->ifindex)
			snprintf(l->name, sizeof(l->name), "%s", BACKLOG_NAME);
		else
			memcpy(l->name, k->name, HL_NAPI_NAMSIZ);
		ent->user = l;
	}
	return l->name;
}

static int napi_collect(void *state, struct hl_metric *out, size_t max)
{
	static const struct {
		const char *name, *desc, *unit;
		enum hl_metric_kind kind;
	} defs[M_COUNT] = {
		[M_POLLS] = {"hostlat.napi.polls", "NAPI polls", "{poll}", HL_METRIC_COUNTER},
		[M_PACKETS] = {"hostlat.napi.packets", "Packets (work) done by NAPI polls",
			       "{packet}", HL_METRIC_COUNTER},
		[M_EXHAUSTED] = {"hostlat.napi.budget_exhausted",
				 "NAPI polls that used their whole budget (packets were left "
				 "for the next round)",
				 "{poll}", HL_METRIC_COUNTER},
		[M_BUDGET] = {"hostlat.napi.budget",
			      "Average budget of the NAPI polls in the interval (the total "
			      "before the first poll)",
			      "{packet}", HL_METRIC_GAUGE},
	};
	struct napi *n = state;
	size_t nd, m = 0;
	int e;

	if (max < M_COUNT + 1)
		return -ENOSPC;
	e = hl_counter_set_collect(&n->cs, bpf_map__fd(n->skel->maps.napi_stats));
	if (e)
		return e;
	e = hl_lost_read(&n->lost, bpf_map__fd(n->skel->maps.overflow), n->ncpus);
	if (e)
		return e;
	nd = n->cs.n;
	free(n->points);
	n->points = calloc(M_COUNT * (nd ? nd : 1), sizeof(*n->points));
	if (!n->points)
		return -ENOMEM;
	for (int k = 0; k < M_COUNT; k++) {
		struct hl_point *pts = n->points + (size_t)k * nd;

		for (size_t i = 0; i < nd; i++) {
			struct hl_counter_entry *ent = &n->cs.v[i];
			const char *name = device_name(ent);
			uint64_t polls, budget;

			if (!name)
				return -ENOMEM;
			hl_point_attr(&pts[i], "network.interface.name", name);
			if (k != M_BUDGET) {
				hl_point_counter(&pts[i], ent->cur[k], ent->prev[k]);
				continue;
			}
			polls = ent->cur[M_POLLS] - ent->prev[M_POLLS];
			budget = ent->cur[M_BUDGET] - ent->prev[M_BUDGET];
			if (!polls) { /* nothing this interval: the average since start */
				polls = ent->cur[M_POLLS];
				budget = ent->cur[M_BUDGET];
			}
			pts[i].gauge = polls ? (double)budget / (double)polls : 0;
		}
		out[m++] = (struct hl_metric){
			.name = defs[k].name,
			.description = defs[k].desc,
			.unit = defs[k].unit,
			.kind = defs[k].kind,
			.points = pts,
			.n_points = nd,
		};
	}
	out[m++] = hl_lost_metric(&n->lost, "hostlat.napi.lost",
				  "NAPI polls not counted because more devices polled than "
				  "probes.napi.max_series",
				  "{poll}");
	return (int)m;
}

/* ---- config (probes.napi) ---- */

#define OFF(field) offsetof(struct hl_napi_conf, field)

static const struct hl_option napi_options[] = {
	{.name = "enabled",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(enabled),
	 .def = "true",
	 .help = "count NAPI polls, packets and polls that used their whole budget, per device"},
	{.name = "network_namespace",
	 .type = HL_OPT_STRING,
	 .offset = OFF(network_namespace),
	 .def = "host",
	 .help = "devices of this namespace (" HL_NETNS_HELP "); the per-CPU backlog is always "
		 "counted",
	 .check = hl_check_netns},
	{.name = "max_series",
	 .type = HL_OPT_UINT,
	 .offset = OFF(max_series),
	 .def = "256",
	 .min = 1,
	 .max = 65536,
	 .help = "most devices tracked; polls of further devices are counted as overflow"},
	{0},
};

const struct hl_probe_ops hl_napi_probe = {
	.name = "napi",
	.help = "NAPI polls against their budget, per device",
	.options = napi_options,
	.config_size = sizeof(struct hl_napi_conf),
	.enabled = napi_enabled,
	.check = napi_check,
	.start = napi_start,
	.validate = napi_validate,
	.collect = napi_collect,
	.stop = napi_stop,
};
