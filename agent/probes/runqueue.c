/* SPDX-License-Identifier: MIT */
/*
 * probes.runqueue: run-queue latency (wake-up or preemption to running)
 * of socket readers, or of every task, optionally only in given processes
 * or cgroups, optionally one histogram per cgroup (bpf/runqueue.bpf.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "probes.h"
#include "exemplar.h"
#include "kernel.h"
#include "latprobe.h"
#include "log.h"
#include "runqueue.h"
#include "runqueue.skel.h"
#include "function_latency.h"

#define COMP "runqueue"
/* Run-queue waits worth bucketing: 1 ns .. 2^36 ns (about 69 s). */
#define RUNQ_OCTAVES 36
#define RUNQ_MAX_ENTRIES 65536

struct runqueue_plan {
	const char *mark_prog, *mark_hook; /* socket readers: how reads are seen */
	bool wakeup_new;
	char why[200];
};

struct runqueue {
	struct runqueue_bpf *skel;
	struct hl_latprobe lp;
	struct hl_ex_reader ex;
	struct runqueue_plan plan;
	bool group_cgroup;
};

static const struct hl_runqueue_conf *runqueue_conf(const struct hl_config *cfg)
{
	return hl_probe_config(cfg, &hl_runqueue_probe);
}

/* 0 when it can run; readers need a socket-read tracepoint. */
static int runqueue_plan(const struct hl_config *cfg, struct runqueue_plan *p)
{
	memset(p, 0, sizeof(*p));
	if (!hl_kernel_btf()) {
		snprintf(p->why, sizeof(p->why), "%s", hl_kernel_btf_error());
		return -ENOENT;
	}
	if (!hl_kernel_has_tp_btf("sched_wakeup") || !hl_kernel_has_tp_btf("sched_switch")) {
		snprintf(p->why, sizeof(p->why),
			 "the kernel has no sched/sched_wakeup and sched_switch tracepoints");
		return -ENOENT;
	}
	p->wakeup_new = hl_kernel_has_tp_btf("sched_wakeup_new");
	if (runqueue_conf(cfg)->tasks == HL_RUNQ_ALL)
		return 0;
	if (hl_kernel_has_tp_btf("sock_recv_length")) {
		p->mark_prog = "hl_rq_sock_recv";
		p->mark_hook = "tp_btf/sock_recv_length";
	} else if (hl_kernel_has_tp_btf("skb_copy_datagram_iovec")) {
		p->mark_prog = "hl_rq_skb_copy";
		p->mark_hook = "tp_btf/skb_copy_datagram_iovec";
		snprintf(p->why, sizeof(p->why),
			 "no sock/sock_recv_length tracepoint (before 6.4): readers are seen "
			 "when a read copies an skb (not ordinary UDP reads)");
	} else {
		snprintf(p->why, sizeof(p->why),
			 "no tracepoint shows socket reads here: use tasks: all with filters");
		return -ENOENT;
	}
	return 0;
}

static bool runqueue_enabled(const struct hl_config *cfg)
{
	return runqueue_conf(cfg)->enabled;
}

static void runqueue_check(const struct hl_config *cfg, FILE *f)
{
	const struct hl_runqueue_conf *c = runqueue_conf(cfg);
	struct runqueue_plan p;
	int e = runqueue_plan(cfg, &p);

	fprintf(f, "probe runqueue: %s%s%s%s\n",
		c->tasks == HL_RUNQ_ALL ? "every task" : "socket readers",
		c->pids.n ? ", given processes" : "", c->cgroups.n ? ", given cgroups" : "",
		c->group_by ? ", by cgroup" : "");
	if (e) {
		fprintf(f, "  unavailable: %s\n", p.why);
		return;
	}
	fprintf(f, "  %-10s tp_btf/sched_wakeup%s + tp_btf/sched_switch\n", "latency",
		p.wakeup_new ? " + tp_btf/sched_wakeup_new" : "");
	if (p.mark_hook)
		fprintf(f, "  %-10s %s\n", "readers", p.mark_hook);
	if (p.why[0])
		fprintf(f, "  %s\n", p.why);
}

static void runqueue_stop(void *state)
{
	struct runqueue *r = state;

	if (!r)
		return;
	hl_latprobe_free(&r->lp);
	hl_ex_free(&r->ex);
	runqueue_bpf__destroy(r->skel);
	free(r);
}

static void *runqueue_start(const struct hl_config *cfg, char *err, size_t errlen)
{
	const struct hl_runqueue_conf *c = runqueue_conf(cfg);
	struct runqueue *r = calloc(1, sizeof(*r));
	uint32_t n_series, entries;
	struct bpf_object *obj;
	int e;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (runqueue_plan(cfg, &r->plan)) {
		snprintf(err, errlen, "%s", r->plan.why);
		goto fail;
	}
	if (r->plan.why[0])
		hl_warn(COMP, "%s", r->plan.why);
	r->group_cgroup = c->group_by & HL_RUNQ_GROUP_CGROUP;
	n_series = r->group_cgroup ? c->max_series : 1;
	entries = hl_latprobe_entries(n_series, (int)c->histogram_scale, RUNQ_OCTAVES);
	if (entries > RUNQ_MAX_ENTRIES)
		entries = RUNQ_MAX_ENTRIES; /* beyond: samples counted as lost */
	/* Not grouped: one series, in the dense layout. */
	e = hl_latprobe_init(&r->lp, c->histogram_scale, c->max_buckets, r->group_cgroup ? 0 : 1,
			     n_series, entries, err, errlen);
	if (e)
		goto fail;
	r->skel = runqueue_bpf__open();
	if (hl_skel_opened(r->skel, err, errlen))
		goto fail;
	obj = r->skel->obj;
	hl_bpf_autoload_none(obj);
	hl_bpf_autoload(obj, "hl_rq_wakeup");
	hl_bpf_autoload(obj, "hl_rq_switch");
	if (r->plan.wakeup_new)
		hl_bpf_autoload(obj, "hl_rq_wakeup_new");
	if (r->plan.mark_prog)
		hl_bpf_autoload(obj, r->plan.mark_prog);
	HL_LATHIST_PREPARE(r->skel, &r->lp.ss);
	r->skel->rodata->all_tasks = c->tasks == HL_RUNQ_ALL;
	r->skel->rodata->filter_pids = c->pids.n > 0;
	r->skel->rodata->filter_cgroups = c->cgroups.n > 0;
	r->skel->rodata->group_cgroup = r->group_cgroup;
	r->skel->rodata->exemplars_on = c->exemplars;
	hl_ex_size_maps(&r->lp.ss, c->exemplars, r->skel->maps.ex_dense, r->skel->maps.ex_hash);
	if (c->pids.n > bpf_map__max_entries(r->skel->maps.pid_filter))
		bpf_map__set_max_entries(r->skel->maps.pid_filter, c->pids.n);
	if (c->cgroups.n > bpf_map__max_entries(r->skel->maps.cgroup_filter))
		bpf_map__set_max_entries(r->skel->maps.cgroup_filter, c->cgroups.n);
	if (hl_skel_load(r->skel->skeleton, "the run-queue programs", err, errlen))
		goto fail;
	hl_ex_init(&r->ex, c->exemplars, r->lp.ss.ncpus, &r->skel->bss->ex_epoch);
	e = hl_fill_cgroup_filter(r->skel->maps.cgroup_filter, &c->cgroups,
				  "probes.runqueue.filters.cgroups", err, errlen);
	if (!e)
		e = hl_fill_pid_filter(r->skel->maps.pid_filter, &c->pids);
	if (e) {
		if (!err[0])
			snprintf(err, errlen, "cannot fill the filter maps: %s", strerror(-e));
		goto fail;
	}
	if (hl_bpf_attach_loaded(obj, COMP, &r->lp.links) <= 0) {
		snprintf(err, errlen, "no run-queue program could be attached");
		goto fail;
	}
	hl_info(COMP, "measuring %s via tp_btf/sched_wakeup + sched_switch%s%s",
		c->tasks == HL_RUNQ_ALL ? "every task" : "socket readers",
		r->plan.mark_hook ? ", readers via " : "",
		r->plan.mark_hook ? r->plan.mark_hook : "");
	return r;
fail:
	runqueue_stop(r);
	return NULL;
}

static int runqueue_collect(void *state, struct hl_metric *out, size_t max)
{
	struct runqueue *r = state;
	struct hl_point *pts;
	size_t n;
	int e;

	if (max < 2)
		return -ENOSPC;
	e = hl_latprobe_read(&r->lp, bpf_map__fd(r->skel->maps.hist),
			     bpf_map__fd(r->skel->maps.series), bpf_map__fd(r->skel->maps.dense),
			     bpf_map__fd(r->skel->maps.counters));
	if (e)
		return e;
	e = hl_ex_collect(&r->ex, &r->lp.ss, bpf_map__fd(r->skel->maps.ex_dense),
			  bpf_map__fd(r->skel->maps.ex_hash));
	if (e)
		hl_warn(COMP, "exemplars of this interval lost: %s", strerror(-e));
	n = r->lp.ss.n;
	pts = hl_latprobe_points(&r->lp, n);
	if (!pts)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct hl_series *sr = &r->lp.ss.v[i];

		if (r->group_cgroup) {
			hl_series_resolve_cgroup(sr);
			hl_point_attr(&pts[i], "cgroup.path", sr->key.cgroup ? sr->cgpath : "/");
		}
		hl_latprobe_hist_point(&pts[i], sr);
	}
	out[0] = (struct hl_metric){
		.name = "hostlat.sched.runqueue.latency",
		.description = "Time a runnable thread waited for a CPU (wake-up or preemption to "
			       "running)",
		.unit = "s",
		.kind = HL_METRIC_EXPHIST,
		.points = pts,
		.n_points = n,
	};
	out[1] = hl_latprobe_lost_metric(&r->lp, "hostlat.sched.runqueue.lost");
	return 2;
}

/* ---- config (probes.runqueue) ---- */

#define OFF(field) offsetof(struct hl_runqueue_conf, field)

/* bit 0 = HL_RUNQ_GROUP_CGROUP */
static const char *const group_names[] = {"cgroup", NULL};

static const char *const task_names[] = {
	[HL_RUNQ_SOCKET_READERS] = "socket-readers",
	[HL_RUNQ_ALL] = "all",
	NULL,
};

static const struct hl_option filter_options[] = {
	{.name = "cgroups",
	 .type = HL_OPT_STRLIST,
	 .offset = OFF(cgroups),
	 .def = "[]",
	 .max = 4096,
	 .help = "only tasks in these cgroups (cgroup v2 paths, relative to the mount or "
		 "full); empty: all"},
	{.name = "pids",
	 .type = HL_OPT_UINTLIST,
	 .offset = OFF(pids),
	 .def = "[]",
	 .min = 1,
	 .max = 4194304,
	 .help = "only threads of these processes; empty: all"},
	{0},
};

static const struct hl_option runqueue_options[] = {
	{.name = "enabled",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(enabled),
	 .def = "true",
	 .help = "measure run-queue latency: wake-up (or preemption) to running on a CPU"},
	{.name = "tasks",
	 .type = HL_OPT_ENUM,
	 .offset = OFF(tasks),
	 .def = "socket-readers",
	 .names = task_names,
	 .help = "socket-readers: threads once they have read from a socket; all: every "
		 "thread; the filters narrow either"},
	{.name = "filters",
	 .type = HL_OPT_SECTION,
	 .sub = filter_options,
	 .help = "which tasks to measure"},
	{.name = "group_by",
	 .type = HL_OPT_FLAGS,
	 .offset = OFF(group_by),
	 .def = "[]",
	 .names = group_names,
	 .help = "[cgroup]: one histogram per cgroup of the waiting task; empty: one "
		 "histogram"},
	HL_LATPROBE_SCALE_OPTION(struct hl_runqueue_conf),
	HL_LATPROBE_BUCKETS_OPTION(struct hl_runqueue_conf),
	{.name = "max_series",
	 .type = HL_OPT_UINT,
	 .offset = OFF(max_series),
	 .def = "256",
	 .min = 1,
	 .max = 65536,
	 .help = "most cgroups tracked when grouped; samples of further ones are counted as "
		 "lost"},
	{.name = "exemplars",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(exemplars),
	 .def = "true",
	 .help = "per series and interval, the longest wait with its task (exported as the "
		 "histogram's exemplar)"},
	{0},
};

const struct hl_probe_ops hl_runqueue_probe = {
	.name = "runqueue",
	.help = "run-queue latency of socket readers or chosen tasks",
	.options = runqueue_options,
	.config_size = sizeof(struct hl_runqueue_conf),
	.enabled = runqueue_enabled,
	.check = runqueue_check,
	.start = runqueue_start,
	.collect = runqueue_collect,
	.stop = runqueue_stop,
};
