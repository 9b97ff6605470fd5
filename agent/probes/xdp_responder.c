/* SPDX-License-Identifier: MIT */
/*
 * probes.xdp_responder: loads bpf/xdp_responder.bpf.c with the maps of the
 * probes already running (stack_latency, softirq, drops) shared into it,
 * attaches it to the interface through a bpf_link (detached when the agent
 * exits, even killed), and every interval refreshes the values only user
 * space has (load average, memory, the percentiles just exported) into the
 * program's .bss. Its counters become self-metrics.
 */
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "clock.h"
#include "pingwire.h"
#include "probes.h"
#include "hist.h"
#include "hostlat.h"
#include "log.h"
#include "netaddr.h"
#include "probeutil.h"
#include "softirq.h"
#include "stack_latency.h"
#include "stages.h"
#include "responder_proto.h"
#include "xdp_responder.h"
#include "stall.h"
#include "xdp_responder.skel.h"

#define COMP "xdp_responder"

_Static_assert(HL_XR_STAGES == HL_STAGE_COUNT, "the wire format has one slot per stage");

enum { R_ANSWERED, R_REFUSED, R_LIMITED, R_MALFORMED, R_COUNT };

struct xdp_responder {
	struct xdp_responder_bpf *skel;
	int link_fd;
	int ncpus;
	const char *ifname; /* borrowed from the config */
	uint64_t interval_ns;
	struct hl_xr_stats cur, prev;
	struct hl_point req_points[R_COUNT], pkt_point;
	struct hl_hist pct[HL_STAGE_COUNT]; /* scratch for observe */
};

/* The maps of other probes this program sums (in the order of have[] below). */
static const struct {
	enum hl_shared_map id;
	const char *probe;
} shared[] = {
	{HL_SHARED_STACK_COUNTERS, "stack_latency"},
	{HL_SHARED_SOFTIRQ_STATE, "softirq (net_rx)"},
	{HL_SHARED_DROPS_TOTAL, "drops"},
};

/* Make u the copy the program reads: write the idle copy, then switch. */
static void publish(struct xdp_responder *x, const struct hl_xr_user *u)
{
	struct xdp_responder_bpf__bss *bss = x->skel->bss;
	__u32 next = (__atomic_load_n(&bss->user_slot, __ATOMIC_RELAXED) + 1) & 1;

	memcpy(&bss->user[next], u, sizeof(*u));
	__atomic_store_n(&bss->user_slot, next, __ATOMIC_RELEASE);
}

/* The helpers the program needs (Linux 5.19+); 0 or -ENOTSUP with why. */
static int helpers_ok(char *why, size_t len)
{
	static const struct {
		enum bpf_func_id id;
		const char *name, *since;
	} need[] = {
		{BPF_FUNC_loop, "bpf_loop", "5.17"},
		{BPF_FUNC_map_lookup_percpu_elem, "bpf_map_lookup_percpu_elem", "5.19"},
	};

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, need[i].id, NULL) <= 0) {
			snprintf(why, len,
				 "the kernel has no %s helper for XDP programs (Linux %s+)",
				 need[i].name, need[i].since);
			return -ENOTSUP;
		}
	}
	return 0;
}

static const struct hl_xdp_responder_conf *xdp_responder_conf(const struct hl_config *cfg)
{
	return hl_probe_config(cfg, &hl_xdp_responder_probe);
}

static bool xdp_responder_enabled(const struct hl_config *cfg)
{
	return xdp_responder_conf(cfg)->enabled;
}

/* --check verifies native XDP by loading only: attaching resets some NICs. */
static bool xdp_responder_trial_attaches(const struct hl_config *cfg)
{
	return xdp_responder_conf(cfg)->mode != HL_XDP_NATIVE;
}

static void xdp_responder_check(const struct hl_config *cfg, FILE *f)
{
	const struct hl_xdp_responder_conf *c = xdp_responder_conf(cfg);
	const struct hl_softirq_conf *si = hl_probe_config(cfg, &hl_softirq_probe);
	bool stack = hl_stack_latency_probe.enabled(cfg), drops = hl_drops_probe.enabled(cfg),
	     softirq = si->enabled && (si->vectors & (1U << HL_SOFTIRQ_NET_RX));
	char why[160];

	fprintf(f, "probe xdp_responder: interface %s, UDP port %u, %s XDP, ", c->interface,
		c->port, c->mode == HL_XDP_GENERIC ? "generic" : "native");
	if (c->rate_limit)
		fprintf(f, "at most %u responses/s, ", c->rate_limit);
	fprintf(f, "%zu allowed source network(s)\n", c->allow.n);
	if (!if_nametoindex(c->interface))
		fprintf(f, "  unavailable: no interface '%s' here\n", c->interface);
	else if (helpers_ok(why, sizeof(why)))
		fprintf(f, "  unavailable: %s\n", why);
	fprintf(f, "  counters from:%s%s%s%s\n", stack ? " stack_latency" : "",
		softirq ? " softirq(net_rx)" : "", drops ? " drops" : "",
		stack || softirq || drops ? "" : " this program only");
}

static void xdp_responder_stop(void *state)
{
	struct xdp_responder *x = state;

	if (!x)
		return;
	if (x->link_fd >= 0)
		close(x->link_fd); /* the last reference: detaches the program */
	xdp_responder_bpf__destroy(x->skel);
	for (int i = 0; i < HL_STAGE_COUNT; i++)
		hl_hist_free(&x->pct[i]);
	free(x);
}

static int fill_allow(struct xdp_responder *x, const struct hl_strlist *allow, char *err,
		      size_t errlen)
{
	__u8 one = 1;

	for (size_t i = 0; i < allow->n; i++) {
		struct hl_xr_lpm_key key = {0};
		unsigned int len;

		if (hl_parse_cidr(allow->v[i], key.addr, &len, err, errlen))
			return -EINVAL; /* the config was checked: not reached */
		key.prefixlen = len;
		if (bpf_map__update_elem(x->skel->maps.allow, &key, sizeof(key), &one, sizeof(one),
					 BPF_ANY)) {
			snprintf(err, errlen, "cannot fill the allow list: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int attach(struct xdp_responder *x, const struct hl_xdp_responder_conf *c, int ifindex,
		  char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	int e;

	lo.flags = c->mode == HL_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	x->link_fd = bpf_link_create(bpf_program__fd(x->skel->progs.hl_xdp_responder), ifindex,
				     BPF_XDP, &lo);
	if (x->link_fd >= 0)
		return 0;
	e = errno;
	if (e == EBUSY || e == EEXIST)
		snprintf(err, errlen,
			 "interface %s already has an XDP program (another tool's, or the other "
			 "mode's): hostlat does not replace it",
			 c->interface);
	else if (c->mode == HL_XDP_NATIVE && (e == EOPNOTSUPP || e == EINVAL))
		snprintf(err, errlen,
			 "the driver of %s cannot run XDP programs natively (%s): set "
			 "probes.xdp_responder.mode: generic",
			 c->interface, strerror(e));
	else
		snprintf(err, errlen, "cannot attach the XDP program to %s: %s", c->interface,
			 strerror(e));
	return -e;
}

static void *xdp_responder_start(const struct hl_config *cfg, char *err, size_t errlen)
{
	const struct hl_xdp_responder_conf *c = xdp_responder_conf(cfg);
	struct xdp_responder *x = calloc(1, sizeof(*x));
	struct hl_xr_user u = {0};
	bool have[3] = {false};
	char rate[32] = "no rate limit";
	int ifindex, e;

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->link_fd = -1;
	x->ifname = c->interface;
	x->interval_ns = cfg->agent.interval_ns;
	x->ncpus = libbpf_num_possible_cpus();
	for (int i = 0; i < HL_STAGE_COUNT; i++)
		if (hl_hist_init(&x->pct[i], 160, HL_EXPH_MAX_SCALE)) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	ifindex = (int)if_nametoindex(c->interface);
	if (!ifindex) {
		snprintf(err, errlen,
			 "no interface '%s' in the agent's network namespace (key "
			 "'probes.xdp_responder.interface')",
			 c->interface);
		goto fail;
	}
	if (x->ncpus <= 0 || helpers_ok(err, errlen)) {
		if (x->ncpus <= 0)
			snprintf(err, errlen, "cannot count the possible CPUs");
		goto fail;
	}
	x->skel = xdp_responder_bpf__open();
	if (hl_skel_opened(x->skel, err, errlen))
		goto fail;
	x->skel->rodata->port_be = htons((uint16_t)c->port);
	x->skel->rodata->nr_cpus = (__u32)x->ncpus;
	if (c->rate_limit) {
		uint64_t emission = 1000000000ULL / c->rate_limit;

		x->skel->rodata->emission_ns = emission ? emission : 1;
		x->skel->rodata->burst_ns = x->skel->rodata->emission_ns * (c->rate_limit - 1);
	}
	bpf_map__set_max_entries(x->skel->maps.allow, (__u32)c->allow.n);
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		struct bpf_map *maps[] = {x->skel->maps.stack_counters, x->skel->maps.softirq_state,
					  x->skel->maps.drops_total};
		struct bpf_map *m = maps[i];
		int fd = hl_probe_shared_map(shared[i].id);

		if (fd < 0)
			continue;
		e = bpf_map__reuse_fd(m, fd);
		if (e)
			hl_warn(COMP, "cannot share the %s probe's map: %s", shared[i].probe,
				strerror(-e));
		have[i] = !e;
	}
	x->skel->rodata->have_stack = have[0];
	x->skel->rodata->have_softirq = have[1];
	x->skel->rodata->have_drops = have[2];
	if (hl_skel_load(x->skel->skeleton, "the XDP program", err, errlen))
		goto fail;
	if (fill_allow(x, &c->allow, err, errlen))
		goto fail;
	if (hl_xr_read_host(&u) == 0) {
		u.flags = HL_XR_F_USER;
		u.interval_ns = x->interval_ns;
		u.updated_ns = hl_mono_ns();
		publish(x, &u);
	}
	if (hl_probe_trial && !xdp_responder_trial_attaches(cfg))
		return x;
	if (attach(x, c, ifindex, err, errlen))
		goto fail;
	if (c->rate_limit)
		snprintf(rate, sizeof(rate), "at most %u/s", c->rate_limit);
	hl_info(COMP,
		"answering UDP port %u on %s (%s XDP), %zu allowed network(s), %s; counters "
		"from%s%s%s%s",
		c->port, c->interface, c->mode == HL_XDP_GENERIC ? "generic" : "native", c->allow.n,
		rate, have[0] ? " stack_latency" : "", have[1] ? " softirq" : "",
		have[2] ? " drops" : "", have[0] || have[1] || have[2] ? "" : " this program only");
	return x;
fail:
	xdp_responder_stop(x);
	return NULL;
}

static int read_stats(struct xdp_responder *x)
{
	struct hl_xr_stats *v = calloc((size_t)x->ncpus, sizeof(*v));
	__u32 zero = 0;
	int e = 0;

	if (!v)
		return -ENOMEM;
	if (bpf_map__lookup_elem(x->skel->maps.xr_stats, &zero, sizeof(zero), v,
				 sizeof(*v) * (size_t)x->ncpus, 0)) {
		e = -errno;
		goto out;
	}
	x->prev = x->cur;
	memset(&x->cur, 0, sizeof(x->cur));
	for (int c = 0; c < x->ncpus; c++) {
		x->cur.packets += v[c].packets;
		x->cur.answered += v[c].answered;
		x->cur.refused += v[c].refused;
		x->cur.limited += v[c].limited;
		x->cur.malformed += v[c].malformed;
	}
out:
	free(v);
	return e;
}

/* Answered, refused, rate-limited, malformed: in enum R_* order. */
static void results(const struct hl_xr_stats *st, uint64_t v[R_COUNT])
{
	v[R_ANSWERED] = st->answered;
	v[R_REFUSED] = st->refused;
	v[R_LIMITED] = st->limited;
	v[R_MALFORMED] = st->malformed;
}

static int xdp_responder_collect(void *state, struct hl_metric *out, size_t max)
{
	static const char *const names[R_COUNT] = {
		[R_ANSWERED] = "answered",
		[R_REFUSED] = "refused",
		[R_LIMITED] = "rate_limited",
		[R_MALFORMED] = "malformed",
	};
	struct xdp_responder *x = state;
	uint64_t now[R_COUNT], was[R_COUNT];
	int e;

	if (max < 2)
		return -ENOSPC;
	e = read_stats(x);
	if (e)
		return e;
	results(&x->cur, now);
	results(&x->prev, was);
	for (int r = 0; r < R_COUNT; r++) {
		struct hl_point *p = &x->req_points[r];

		memset(p, 0, sizeof(*p));
		hl_point_attr(p, "network.interface.name", x->ifname);
		hl_point_attr(p, "result", names[r]);
		hl_point_counter(p, now[r], was[r]);
	}
	memset(&x->pkt_point, 0, sizeof(x->pkt_point));
	hl_point_attr(&x->pkt_point, "network.interface.name", x->ifname);
	hl_point_counter(&x->pkt_point, x->cur.packets, x->prev.packets);
	out[0] = (struct hl_metric){
		.name = "hostlat.xdp_responder.requests",
		.description = "Monitoring requests the XDP responder answered, or did not and why",
		.unit = "{request}",
		.kind = HL_METRIC_COUNTER,
		.points = x->req_points,
		.n_points = R_COUNT,
	};
	out[1] = (struct hl_metric){
		.name = "hostlat.xdp_responder.packets",
		.description = "Packets the XDP responder's program saw on its interface",
		.unit = "{packet}",
		.kind = HL_METRIC_COUNTER,
		.points = &x->pkt_point,
		.n_points = 1,
	};
	return 2;
}

/* Percentiles of the stack latency just collected, and the host's figures. */
static void xdp_responder_observe(void *state, const struct hl_batch *b)
{
	static const double q[HL_XR_PCTS] = {0.5, 0.9, 0.99};
	struct xdp_responder *x = state;
	struct hl_xr_user u = {0};
	bool have_stack = false;

	if (hl_xr_read_host(&u) == 0)
		u.flags |= HL_XR_F_USER;
	u.interval_ns = x->interval_ns;
	for (int s = 0; s < HL_STAGE_COUNT; s++)
		hl_hist_reset(&x->pct[s], HL_EXPH_MAX_SCALE);
	for (size_t i = 0; i < b->n_metrics; i++) {
		const struct hl_metric *m = &b->metrics[i];

		if (m->kind != HL_METRIC_EXPHIST || strcmp(m->name, HL_METRIC_STACK_LATENCY))
			continue;
		have_stack = true;
		for (size_t k = 0; k < m->n_points; k++) {
			const struct hl_point *p = &m->points[k];

			for (unsigned int a = 0; a < p->n_attrs; a++) {
				if (strcmp(p->attrs[a].key, "stage"))
					continue;
				for (int s = 0; s < HL_STAGE_COUNT; s++)
					if (!strcmp(p->attrs[a].value, hl_stage_names[s]) &&
					    p->delta)
						hl_hist_merge(&x->pct[s], p->delta);
			}
		}
	}
	if (have_stack) {
		u.flags |= HL_XR_F_PCT;
		for (int s = 0; s < HL_STAGE_COUNT; s++)
			for (int k = 0; k < HL_XR_PCTS; k++)
				u.stack_pct_ns[s][k] =
					(__u64)llround(hl_hist_quantile(&x->pct[s], q[k]) * 1e9);
	}
	u.updated_ns = hl_mono_ns();
	publish(x, &u);
}

/* ---- config (probes.xdp_responder) ---- */

#define OFF(field) offsetof(struct hl_xdp_responder_conf, field)

static const char *const mode_names[] = {
	[HL_XDP_NATIVE] = "native",
	[HL_XDP_GENERIC] = "generic",
	NULL,
};

static const struct hl_option xdp_responder_options[] = {
	{.name = "enabled",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(enabled),
	 .def = "false",
	 .help = "answer monitoring requests (hostlat ping) from XDP on the interface, in the "
		 "kernel, with no user space on the path"},
	{.name = "interface",
	 .type = HL_OPT_STRING,
	 .offset = OFF(interface),
	 .help = "required when enabled: the interface (in the agent's network namespace) whose "
		 "requests are answered",
	 .check = hl_check_ifname},
	{.name = "port",
	 .type = HL_OPT_UINT,
	 .offset = OFF(port),
	 .def = "6946",
	 .min = 1,
	 .max = 65535,
	 .help = "UDP port of the requests"},
	{.name = "allow",
	 .type = HL_OPT_STRLIST,
	 .offset = OFF(allow),
	 .def = "[]",
	 .max = 1024,
	 .help = "required when enabled: the sources answered, as CIDRs (IPv4 and IPv6; an "
		 "address alone is one host; 0.0.0.0/0 and ::/0 allow everyone); requests from "
		 "others are dropped and counted",
	 .check = hl_check_cidr},
	{.name = "rate_limit",
	 .type = HL_OPT_UINT,
	 .offset = OFF(rate_limit),
	 .def = "1000",
	 .min = 0,
	 .max = 10000000,
	 .help = "most responses per second, all sources and CPUs together (a token bucket in "
		 "the kernel that holds one second's worth); requests beyond are dropped and "
		 "counted; 0: no limit"},
	{.name = "mode",
	 .type = HL_OPT_ENUM,
	 .offset = OFF(mode),
	 .def = "native",
	 .names = mode_names,
	 .help = "native: in the driver (it must support XDP); generic: on the kernel's "
		 "generic XDP hook, any driver, slower"},
	{0},
};

/* Enabled, it needs an interface and an allow list. */
static int xdp_responder_check_config(const void *conf, struct hl_config_problem *pb)
{
	const struct hl_xdp_responder_conf *c = conf;

	if (!c->enabled || (c->interface && c->allow.n))
		return 0;
	/* enabled is false by default: the file sets it, the message points there */
	pb->near = "enabled";
	if (!c->interface) {
		pb->key = "interface";
		snprintf(pb->msg, sizeof(pb->msg),
			 "the XDP responder is enabled but names no interface");
	} else {
		pb->key = "allow";
		snprintf(pb->msg, sizeof(pb->msg),
			 "the XDP responder is enabled but allows no source: list the monitors' "
			 "networks (0.0.0.0/0 and ::/0 allow everyone)");
	}
	return -EINVAL;
}

const struct hl_probe_ops hl_xdp_responder_probe = {
	.name = "xdp_responder",
	.help = "in-kernel responder to monitoring requests (hostlat ping)",
	.options = xdp_responder_options,
	.config_size = sizeof(struct hl_xdp_responder_conf),
	.check_config = xdp_responder_check_config,
	.enabled = xdp_responder_enabled,
	.check = xdp_responder_check,
	.start = xdp_responder_start,
	.trial_attaches = xdp_responder_trial_attaches,
	.collect = xdp_responder_collect,
	.stop = xdp_responder_stop,
	.observe = xdp_responder_observe,
};
