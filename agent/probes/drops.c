/* SPDX-License-Identifier: MIT */
/*
 * probes.drops: skb drops counted per reason, named from the running
 * kernel's BTF (enum skb_drop_reason: SKB_DROP_REASON_NO_SOCKET ->
 * NO_SOCKET), and the sock_rcvqueue_full / sock_exceed_buf_limit events
 * (bpf/drops.bpf.c), optionally per cgroup of the socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "probes.h"
#include "drops.h"
#include "drops.skel.h"
#include "kernel.h"
#include "log.h"
#include "netaddr.h"
#include "probeutil.h"
#include "stall.h"
#include "function_latency.h"

#define COMP "drops"
/* Most skb drop reasons counted in the dense array (6.18 has about 130). */
#define DENSE_MAX 1024
#define REASON_PREFIX "SKB_DROP_REASON_"

enum kfree_form { KFREE_NONE, KFREE_NOREASON, KFREE_REASON, KFREE_REASON_SK };

static const char *const kfree_progs[] = {
	[KFREE_NOREASON] = "hl_kfree_skb_noreason",
	[KFREE_REASON] = "hl_kfree_skb",
	[KFREE_REASON_SK] = "hl_kfree_skb_sk",
};

struct drops_plan {
	enum kfree_form kfree;
	bool rcvq, exceed;
	char why[256]; /* what is missing */
};

/* Per counter entry: its labels. */
struct drop_labels {
	char reason[64];
	char cgpath[256];
	bool cg_resolved;
};

struct drops {
	struct drops_bpf *skel;
	struct drops_plan plan;
	struct hl_links links;
	struct hl_counter_set cs;
	struct hl_map_dump dense_dump;
	uint32_t dense_reasons; /* skb reasons counted in the dense array (0: none) */
	bool group_cgroup;
	int ncpus;
	struct hl_lost lost;
	struct hl_point *points; /* skb, rcvq, exceed points, in entry order */
	/* enum skb_drop_reason names from BTF, by value (NULL: unnamed) */
	char **reason_names;
	size_t n_reason_names;
};

static void append(char *buf, size_t len, const char *what)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? "; " : "", what);
}

static void drops_plan(struct drops_plan *p)
{
	int nargs;

	memset(p, 0, sizeof(*p));
	if (!hl_kernel_btf()) {
		snprintf(p->why, sizeof(p->why), "%s", hl_kernel_btf_error());
		return;
	}
	nargs = hl_kernel_tp_btf_nargs("kfree_skb");
	if (nargs >= 4)
		p->kfree = KFREE_REASON_SK;
	else if (nargs == 3)
		p->kfree = KFREE_REASON;
	else if (nargs == 2)
		p->kfree = KFREE_NOREASON;
	if (p->kfree == KFREE_NONE)
		append(p->why, sizeof(p->why),
		       "no skb/kfree_skb tracepoint: skb drops unavailable");
	else if (p->kfree == KFREE_NOREASON)
		append(p->why, sizeof(p->why),
		       "kfree_skb carries no drop reason here (before 5.17): reason UNKNOWN");
	p->rcvq = hl_kernel_has_tp_btf("sock_rcvqueue_full");
	if (!p->rcvq)
		append(p->why, sizeof(p->why), "no sock/sock_rcvqueue_full tracepoint");
	p->exceed = hl_kernel_has_tp_btf("sock_exceed_buf_limit");
	if (!p->exceed)
		append(p->why, sizeof(p->why), "no sock/sock_exceed_buf_limit tracepoint");
}

/* Names of enum skb_drop_reason by value, from the running kernel's BTF. */
static int load_reason_names(struct drops *d)
{
	const struct btf *btf = hl_kernel_btf();
	const struct btf_type *t;
	const struct btf_enum *en;
	__u32 max = 0;
	int id;

	if (!btf)
		return 0;
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id <= 0)
		return 0;
	t = btf__type_by_id(btf, id);
	en = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++)
		if ((__u32)en[i].val > max && (__u32)en[i].val < 65536)
			max = (__u32)en[i].val;
	d->reason_names = calloc((size_t)max + 1, sizeof(*d->reason_names));
	if (!d->reason_names)
		return -ENOMEM;
	d->n_reason_names = (size_t)max + 1;
	for (int i = 0; i < btf_vlen(t); i++) {
		const char *name = btf__name_by_offset(btf, en[i].name_off);
		__u32 v = (__u32)en[i].val;

		if (!name || v > max || d->reason_names[v])
			continue;
		if (!strncmp(name, REASON_PREFIX, strlen(REASON_PREFIX)))
			name += strlen(REASON_PREFIX);
		else if (!strncmp(name, "SKB_", 4))
			name += 4; /* SKB_CONSUMED, SKB_NOT_DROPPED_YET */
		d->reason_names[v] = strdup(name);
		if (!d->reason_names[v])
			return -ENOMEM;
	}
	return 0;
}

static void reason_label(const struct drops *d, __u32 reason, char *buf, size_t len)
{
	if (reason == HL_DROP_REASON_UNKNOWN)
		snprintf(buf, len, "UNKNOWN");
	else if (reason < d->n_reason_names && d->reason_names[reason])
		snprintf(buf, len, "%s", d->reason_names[reason]);
	else if (reason >> 16) /* subsystem-specific reasons (mac80211, ovs...) */
		snprintf(buf, len, "SUBSYS_%u_%u", reason >> 16, reason & 0xffff);
	else
		snprintf(buf, len, "REASON_%u", reason);
}

static const struct hl_drops_conf *drops_conf(const struct hl_config *cfg)
{
	return hl_probe_config(cfg, &hl_drops_probe);
}

static bool drops_enabled(const struct hl_config *cfg)
{
	return drops_conf(cfg)->enabled;
}

/* A namespace path that is not a network namespace is a config error. */
static int drops_validate(const struct hl_config *cfg, char *err, size_t errlen)
{
	return hl_validate_netns(cfg, drops_conf(cfg)->network_namespace,
				 "probes.drops.network_namespace", err, errlen);
}

static void drops_check(const struct hl_config *cfg, FILE *f)
{
	const struct hl_drops_conf *c = drops_conf(cfg);
	struct drops_plan p;

	drops_plan(&p);
	fprintf(f, "probe drops: namespace %s%s\n", c->network_namespace,
		c->group_by ? ", by cgroup" : "");
	fprintf(f, "  %-22s %s\n", "skb drops",
		p.kfree ? (p.kfree == KFREE_NOREASON ? "tp_btf/kfree_skb (no reason)"
						     : "tp_btf/kfree_skb")
			: "unavailable");
	fprintf(f, "  %-22s %s\n", "rcvqueue_full",
		p.rcvq ? "tp_btf/sock_rcvqueue_full" : "unavailable");
	fprintf(f, "  %-22s %s\n", "exceed_buf_limit",
		p.exceed ? "tp_btf/sock_exceed_buf_limit" : "unavailable");
	if (p.why[0])
		fprintf(f, "  %s\n", p.why);
}

static void drops_stop(void *state)
{
	struct drops *d = state;

	if (!d)
		return;
	if (d->skel &&
	    hl_probe_shared_map(HL_SHARED_DROPS_TOTAL) == bpf_map__fd(d->skel->maps.drops_total))
		hl_probe_share_map(HL_SHARED_DROPS_TOTAL, -1);
	hl_links_destroy(&d->links);
	drops_bpf__destroy(d->skel);
	hl_counter_set_free(&d->cs);
	hl_map_dump_free(&d->dense_dump);
	for (size_t i = 0; i < d->n_reason_names; i++)
		free(d->reason_names[i]);
	free(d->reason_names);
	free(d->points);
	free(d);
}

static void *drops_start(const struct hl_config *cfg, char *err, size_t errlen)
{
	const struct hl_drops_conf *c = drops_conf(cfg);
	struct drops *d = calloc(1, sizeof(*d));
	uint64_t netns;
	int e;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	drops_plan(&d->plan);
	if (!d->plan.kfree && !d->plan.rcvq && !d->plan.exceed) {
		snprintf(err, errlen, "nothing to attach: %s", d->plan.why);
		goto fail;
	}
	if (d->plan.why[0])
		hl_warn(COMP, "%s", d->plan.why);
	e = hl_resolve_netns(c->network_namespace, "probes.drops.network_namespace", &netns, err,
			     errlen);
	if (e)
		goto fail;
	d->ncpus = libbpf_num_possible_cpus();
	if (d->ncpus <= 0) {
		snprintf(err, errlen, "cannot count possible CPUs");
		goto fail;
	}
	if (load_reason_names(d)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	d->group_cgroup = c->group_by & HL_DROPS_GROUP_CGROUP;
	hl_counter_set_init(&d->cs, sizeof(struct hl_drop_key), 1, c->max_series, d->ncpus);
	d->skel = drops_bpf__open();
	if (hl_skel_opened(d->skel, err, errlen))
		goto fail;
	hl_bpf_autoload_none(d->skel->obj);
	if (d->plan.kfree)
		hl_bpf_autoload(d->skel->obj, kfree_progs[d->plan.kfree]);
	if (d->plan.rcvq)
		hl_bpf_autoload(d->skel->obj, "hl_sock_rcvqueue_full");
	if (d->plan.exceed)
		hl_bpf_autoload(d->skel->obj, "hl_sock_exceed_buf_limit");
	d->skel->rodata->netns_ino = netns;
	d->skel->rodata->group_cgroup = d->group_cgroup;
	bpf_map__set_max_entries(d->skel->maps.drops, c->max_series);
	/* Without group_by, the kernel's reasons in a per-CPU array: one
	 * counter each, at most DENSE_MAX (a larger enum stays in the hash). */
	if (!d->group_cgroup && d->n_reason_names <= DENSE_MAX)
		d->dense_reasons = (uint32_t)d->n_reason_names;
	d->skel->rodata->dense_reasons = d->dense_reasons;
	bpf_map__set_max_entries(d->skel->maps.dense, d->dense_reasons + 2);
	if (hl_skel_load_attach(d->skel->skeleton, "the drop programs", COMP, &d->links, err,
				errlen))
		goto fail;
	hl_info(COMP, "counting%s%s%s in namespace %s%s", d->plan.kfree ? " skb drops" : "",
		d->plan.rcvq ? " rcvqueue_full" : "", d->plan.exceed ? " exceed_buf_limit" : "",
		c->network_namespace, d->group_cgroup ? ", by cgroup" : "");
	if (d->plan.kfree)
		hl_probe_share_map(HL_SHARED_DROPS_TOTAL, bpf_map__fd(d->skel->maps.drops_total));
	return d;
fail:
	drops_stop(d);
	return NULL;
}

/* Entry i of the dense array (dense_reasons + 2 entries: the reasons, then
 * rcvqueue_full and exceed_buf_limit; bpf/drops.bpf.c) as a counter key. */
static void dense_key(uint32_t i, void *key, void *ctx)
{
	const struct drops *d = ctx;
	struct hl_drop_key *k = key;

	if (i < d->dense_reasons) {
		k->kind = HL_DROPK_SKB;
		k->reason = i;
	} else {
		k->kind = HL_DROPK_RCVQ_FULL + (i - d->dense_reasons);
	}
}

static struct drop_labels *labels_of(struct drops *d, struct hl_counter_entry *ent)
{
	const struct hl_drop_key *k = ent->key;
	struct drop_labels *l = ent->user;

	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return NULL;
		ent->user = l;
		if (k->kind == HL_DROPK_SKB)
			reason_label(d, k->reason, l->reason, sizeof(l->reason));
	}
	hl_cgroup_label(k->cgroup, l->cgpath, sizeof(l->cgpath), &l->cg_resolved);
	return l;
}

static int drops_collect(void *state, struct hl_metric *out, size_t max)
{
	static const struct {
		const char *name, *desc, *unit;
	} defs[] = {
		[HL_DROPK_SKB] = {"hostlat.skb.drops", "Packets the kernel dropped, by drop reason",
				  "{packet}"},
		[HL_DROPK_RCVQ_FULL] = {"hostlat.socket.rcvqueue_full",
					"Packets refused because a socket's receive queue was full",
					"{event}"},
		[HL_DROPK_EXCEED_BUF] = {"hostlat.socket.exceed_buf_limit",
					 "Socket memory allocations over the protocol's limits",
					 "{event}"},
	};
	struct drops *d = state;
	struct hl_point *pts;
	size_t m = 0, np = 0;
	int e;

	if (max < 4)
		return -ENOSPC;
	e = hl_counter_set_collect(&d->cs, bpf_map__fd(d->skel->maps.drops));
	if (!e && d->dense_reasons)
		e = hl_counter_set_collect_array(&d->cs, &d->dense_dump,
						 bpf_map__fd(d->skel->maps.dense),
						 d->dense_reasons + 2, dense_key, d);
	if (e)
		return e;
	e = hl_lost_read(&d->lost, bpf_map__fd(d->skel->maps.overflow), d->ncpus);
	if (e)
		return e;
	free(d->points);
	d->points = calloc(d->cs.n ? d->cs.n : 1, sizeof(*d->points));
	if (!d->points)
		return -ENOMEM;
	pts = d->points;
	for (__u32 kind = HL_DROPK_SKB; kind <= HL_DROPK_EXCEED_BUF; kind++) {
		size_t first = np;

		for (size_t i = 0; i < d->cs.n; i++) {
			struct hl_counter_entry *ent = &d->cs.v[i];
			const struct hl_drop_key *k = ent->key;
			struct drop_labels *l;

			if (k->kind != kind)
				continue;
			l = labels_of(d, ent);
			if (!l)
				return -ENOMEM;
			if (kind == HL_DROPK_SKB)
				hl_point_attr(&pts[np], "reason", l->reason);
			if (d->group_cgroup && k->cgroup)
				hl_point_attr(&pts[np], "cgroup.path", l->cgpath);
			hl_point_counter(&pts[np], ent->cur[0], ent->prev[0]);
			np++;
		}
		out[m++] = (struct hl_metric){
			.name = defs[kind].name,
			.description = defs[kind].desc,
			.unit = defs[kind].unit,
			.kind = HL_METRIC_COUNTER,
			.points = pts + first,
			.n_points = np - first,
		};
	}
	out[m++] = hl_lost_metric(&d->lost, "hostlat.drops.lost",
				  "Drop events not counted because the kernel's counter map was "
				  "full (probes.drops.max_series)",
				  "{event}");
	return (int)m;
}

/* ---- config (probes.drops) ---- */

#define OFF(field) offsetof(struct hl_drops_conf, field)

/* bit 0 = HL_DROPS_GROUP_CGROUP */
static const char *const group_names[] = {"cgroup", NULL};

static const struct hl_option drops_options[] = {
	{.name = "enabled",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(enabled),
	 .def = "true",
	 .help = "count packet drops by reason, and sockets' receive-queue and buffer-limit "
		 "events"},
	{.name = "network_namespace",
	 .type = HL_OPT_STRING,
	 .offset = OFF(network_namespace),
	 .def = "host",
	 .help = "count only drops in this namespace (" HL_NETNS_HELP ")",
	 .check = hl_check_netns},
	{.name = "group_by",
	 .type = HL_OPT_FLAGS,
	 .offset = OFF(group_by),
	 .def = "[]",
	 .names = group_names,
	 .help = "[cgroup]: split counts by the cgroup of the socket involved (events without "
		 "a socket have no cgroup.path); empty: no split"},
	{.name = "max_series",
	 .type = HL_OPT_UINT,
	 .offset = OFF(max_series),
	 .def = "1024",
	 .min = 16,
	 .max = 1048576,
	 .help = "most (kind, reason, cgroup) counters in the kernel; events beyond are "
		 "counted as overflow"},
	{0},
};

const struct hl_probe_ops hl_drops_probe = {
	.name = "drops",
	.help = "packet drops by reason and socket-buffer pressure",
	.options = drops_options,
	.config_size = sizeof(struct hl_drops_conf),
	.enabled = drops_enabled,
	.check = drops_check,
	.start = drops_start,
	.validate = drops_validate,
	.collect = drops_collect,
	.stop = drops_stop,
};
