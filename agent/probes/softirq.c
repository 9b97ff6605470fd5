/* SPDX-License-Identifier: MIT */
/*
 * probes.softirq: wait (raise to entry) and run time (entry to exit) per
 * softirq vector, from the softirq tracepoints (bpf/softirq.bpf.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "probes.h"
#include "kernel.h"
#include "latprobe.h"
#include "log.h"
#include "softirq.h"
#include "softirq.skel.h"
#include "function_latency.h"

#define COMP "softirq"

/* In the kernel's order, NULL-terminated. */
static const char *const vector_names[] = {
	"hi",	   "timer", "net_tx",  "net_rx", "block", "irq_poll",
	"tasklet", "sched", "hrtimer", "rcu",	 NULL,
};
_Static_assert(sizeof(vector_names) / sizeof(vector_names[0]) == HL_SOFTIRQ_VECS + 1,
	       "vector_names must name every softirq vector");

static const struct hl_softirq_conf *softirq_conf(const struct hl_config *cfg)
{
	return hl_probe_config(cfg, &hl_softirq_probe);
}

struct softirq {
	struct softirq_bpf *skel;
	struct hl_latprobe lp;
	bool have_wait;
};

/* What this kernel offers: run time needs entry+exit, wait needs raise too. */
static int softirq_plan(bool *have_wait, char *why, size_t whylen)
{
	if (!hl_kernel_btf()) {
		snprintf(why, whylen, "%s", hl_kernel_btf_error());
		return -ENOENT;
	}
	if (!hl_kernel_has_tp_btf("softirq_entry") || !hl_kernel_has_tp_btf("softirq_exit")) {
		snprintf(why, whylen,
			 "the kernel has no irq/softirq_entry and softirq_exit "
			 "tracepoints");
		return -ENOENT;
	}
	*have_wait = hl_kernel_has_tp_btf("softirq_raise");
	if (!*have_wait)
		snprintf(why, whylen, "no irq/softirq_raise tracepoint: wait unavailable");
	else
		why[0] = 0;
	return 0;
}

static void vector_list(uint32_t mask, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int v = 0; v < HL_SOFTIRQ_VECS && off < len; v++)
		if (mask & (1U << v))
			off += snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
					vector_names[v]);
}

static bool softirq_enabled(const struct hl_config *cfg)
{
	return softirq_conf(cfg)->enabled;
}

static void softirq_check(const struct hl_config *cfg, FILE *f)
{
	char why[256], vecs[128];
	bool have_wait = false;

	vector_list(softirq_conf(cfg)->vectors, vecs, sizeof(vecs));
	fprintf(f, "probe softirq: vectors %s\n", vecs);
	if (softirq_plan(&have_wait, why, sizeof(why))) {
		fprintf(f, "  unavailable: %s\n", why);
		return;
	}
	fprintf(f, "  %-10s %s\n", "duration", "tp_btf/softirq_entry + tp_btf/softirq_exit");
	fprintf(f, "  %-10s %s\n", "wait",
		have_wait ? "tp_btf/softirq_raise + tp_btf/softirq_entry" : "unavailable");
	if (why[0])
		fprintf(f, "  %s\n", why);
}

static void softirq_stop(void *state)
{
	struct softirq *s = state;

	if (!s)
		return;
	if (s->skel &&
	    hl_probe_shared_map(HL_SHARED_SOFTIRQ_STATE) == bpf_map__fd(s->skel->maps.state))
		hl_probe_share_map(HL_SHARED_SOFTIRQ_STATE, -1);
	hl_latprobe_free(&s->lp);
	softirq_bpf__destroy(s->skel);
	free(s);
}

static void *softirq_start(const struct hl_config *cfg, char *err, size_t errlen)
{
	const struct hl_softirq_conf *c = softirq_conf(cfg);
	uint32_t n_series = HL_SOFTIRQ_KINDS * HL_SOFTIRQ_VECS;
	struct softirq *s = calloc(1, sizeof(*s));
	char why[256];
	int e;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (softirq_plan(&s->have_wait, err, errlen))
		goto fail;
	if (!s->have_wait)
		hl_warn(COMP, "%s", err);
	err[0] = 0;
	e = hl_latprobe_init(&s->lp, c->histogram_scale, c->max_buckets, n_series, 0, 0, err,
			     errlen);
	if (e)
		goto fail;
	s->skel = softirq_bpf__open();
	if (hl_skel_opened(s->skel, err, errlen))
		goto fail;
	hl_bpf_autoload_none(s->skel->obj);
	hl_bpf_autoload(s->skel->obj, "hl_softirq_entry");
	hl_bpf_autoload(s->skel->obj, "hl_softirq_exit");
	if (s->have_wait)
		hl_bpf_autoload(s->skel->obj, "hl_softirq_raise");
	HL_LATHIST_PREPARE(s->skel, &s->lp.ss);
	s->skel->rodata->vec_mask = c->vectors;
	if (hl_skel_load_attach(s->skel->skeleton, "the softirq programs", COMP, &s->lp.links, err,
				errlen))
		goto fail;
	vector_list(c->vectors, why, sizeof(why));
	hl_info(COMP, "vectors %s via tp_btf/softirq_%s", why,
		s->have_wait ? "raise, softirq_entry, softirq_exit" : "entry, softirq_exit");
	if (c->vectors & (1U << HL_SOFTIRQ_NET_RX))
		hl_probe_share_map(HL_SHARED_SOFTIRQ_STATE, bpf_map__fd(s->skel->maps.state));
	return s;
fail:
	softirq_stop(s);
	return NULL;
}

static int softirq_collect(void *state, struct hl_metric *out, size_t max)
{
	static const struct {
		const char *name, *desc;
	} defs[HL_SOFTIRQ_KINDS] = {
		[HL_SOFTIRQ_WAIT] = {"hostlat.softirq.wait",
				     "Time from raising a softirq to its handler starting"},
		[HL_SOFTIRQ_RUN] = {"hostlat.softirq.duration", "Run time of softirq handlers"},
	};
	struct softirq *s = state;
	struct hl_point *pts;
	size_t np[HL_SOFTIRQ_KINDS] = {0}, n;
	int e;

	if (max < HL_SOFTIRQ_KINDS + 1)
		return -ENOSPC;
	e = hl_latprobe_read(&s->lp, bpf_map__fd(s->skel->maps.hist),
			     bpf_map__fd(s->skel->maps.series), bpf_map__fd(s->skel->maps.dense),
			     bpf_map__fd(s->skel->maps.counters));
	if (e)
		return e;
	n = s->lp.ss.n;
	pts = hl_latprobe_points(&s->lp, n);
	if (!pts)
		return -ENOMEM;
	/* Series are sorted by id = kind * vectors + vector: each kind is one run. */
	for (size_t i = 0; i < n; i++) {
		const struct hl_series *sr = &s->lp.ss.v[i];
		uint32_t kind = sr->key.stage / HL_SOFTIRQ_VECS,
			 vec = sr->key.stage % HL_SOFTIRQ_VECS;

		if (kind >= HL_SOFTIRQ_KINDS)
			continue;
		hl_point_attr(&pts[i], "softirq.vector", vector_names[vec]);
		hl_latprobe_hist_point(&pts[i], sr);
		np[kind]++;
	}
	for (int k = 0, off = 0; k < HL_SOFTIRQ_KINDS; off += (int)np[k], k++)
		out[k] = (struct hl_metric){
			.name = defs[k].name,
			.description = defs[k].desc,
			.unit = "s",
			.kind = HL_METRIC_EXPHIST,
			.points = pts + off,
			.n_points = np[k],
		};
	out[HL_SOFTIRQ_KINDS] = hl_latprobe_lost_metric(&s->lp, "hostlat.softirq.lost");
	return HL_SOFTIRQ_KINDS + 1;
}

/* ---- config (probes.softirq) ---- */

#define OFF(field) offsetof(struct hl_softirq_conf, field)

static const struct hl_option softirq_options[] = {
	{.name = "enabled",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(enabled),
	 .def = "true",
	 .help = "measure softirq wait (raise to entry) and run time (entry to exit)"},
	{.name = "vectors",
	 .type = HL_OPT_FLAGS,
	 .offset = OFF(vectors),
	 .def = "[net_rx, net_tx]",
	 .min = 1,
	 .names = vector_names,
	 .help = "softirq vectors to measure"},
	HL_LATPROBE_SCALE_OPTION(struct hl_softirq_conf),
	HL_LATPROBE_BUCKETS_OPTION(struct hl_softirq_conf),
	{0},
};

const struct hl_probe_ops hl_softirq_probe = {
	.name = "softirq",
	.help = "softirq wait and run time per vector",
	.options = softirq_options,
	.config_size = sizeof(struct hl_softirq_conf),
	.enabled = softirq_enabled,
	.check = softirq_check,
	.start = softirq_start,
	.collect = softirq_collect,
	.stop = softirq_stop,
};
