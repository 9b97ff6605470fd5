/* SPDX-License-Identifier: MIT */
/*
 * probes.stack_latency: choose a hook per stage (fentry/fexit, else a
 * kprobe, else a tp_btf tracepoint), load stack_latency.bpf.c with only the
 * chosen programs, and turn its per-CPU monotonic maps into cumulative and
 * delta exponential histograms every interval.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probes.h"
#include "hist.h"
#include "exemplar.h"
#include "hostlat.h"
#include "kernel.h"
#include "log.h"
#include "maputil.h"
#include "netaddr.h"
#include "probeutil.h"
#include "series.h"
#include "stages.h"
#include "standing_queue.h"
#include "stack_conntrack.h"
#include "stack_latency.h"
#include "stack_latency.skel.h"

#define MAX_HOOKS 2

struct hook {
	const char *prog;   /* program name in stack_latency.bpf.c */
	const char *target; /* kernel function or tracepoint */
	bool fexit;
};

struct stage_def {
	struct hook tramp[MAX_HOOKS];  /* preferred: fentry/fexit, all must work */
	struct hook kprobe[MAX_HOOKS]; /* first fallback: kprobes, same points, all must work */
	struct hook tp[MAX_HOOKS];     /* last fallback: tp_btf, all must exist */
	const char *no_tp_why;	       /* why there is no tracepoint fallback */
};

/* The conntrack stage's last tier, planned and linked by stack_conntrack.c. */
static const struct hook ct_netfilter[MAX_HOOKS] = {{HL_CT_NF_PROG, "netfilter"}};

static const struct stage_def stage_defs[HL_STAGE_COUNT] = {
	[HL_STAGE_IP_START] =
		{
			.tramp = {{"hl_ip4_rcv_core", "ip_rcv_core"},
				  {"hl_ip6_rcv_core", "ip6_rcv_core"}},
			.kprobe = {{"hl_kp_ip4_rcv_core", "ip_rcv_core"},
				   {"hl_kp_ip6_rcv_core", "ip6_rcv_core"}},
			.tp = {{"hl_tp_netif_receive_skb", "netif_receive_skb"}},
		},
	/* nf_conntrack_in, often a module's; its netfilter tier: stack_conntrack.c. */
	[HL_STAGE_CONNTRACK] =
		{
			.tramp = {{"hl_nf_conntrack_in", "nf_conntrack_in"}},
			.kprobe = {{"hl_kp_nf_conntrack_in", "nf_conntrack_in"}},
		},
	[HL_STAGE_TCP_START] =
		{
			.tramp = {{"hl_tcp_v4_rcv", "tcp_v4_rcv"}, {"hl_tcp_v6_rcv", "tcp_v6_rcv"}},
			.kprobe = {{"hl_kp_tcp_v4_rcv", "tcp_v4_rcv"},
				   {"hl_kp_tcp_v6_rcv", "tcp_v6_rcv"}},
			.tp = {{"hl_tp_tcp_probe", "tcp_probe"}},
		},
	[HL_STAGE_UDP_START] =
		{
			.tramp = {{"hl_udp_rcv", "udp_rcv"}, {"hl_udpv6_rcv", "udpv6_rcv"}},
			.kprobe = {{"hl_kp_udp_rcv", "udp_rcv"}, {"hl_kp_udpv6_rcv", "udpv6_rcv"}},
			.no_tp_why = "no tracepoint sees UDP packets on arrival at the UDP layer",
		},
	[HL_STAGE_TCP_SOCK_ENQUEUED] =
		{
			.tramp = {{"hl_tcp_queue_rcv", "tcp_queue_rcv", true}},
			.tp = {{"hl_tp_sk_data_ready", "sk_data_ready"}},
		},
	[HL_STAGE_UDP_SOCK_ENQUEUED] =
		{
			.tramp = {{"hl_udp_enqueue", "__udp_enqueue_schedule_skb", true}},
			.tp = {{"hl_tp_sk_data_ready", "sk_data_ready"}},
		},
	[HL_STAGE_TCP_SOCK_READ] =
		{
			.tramp = {{"hl_tcp_recv_timestamp", "tcp_recv_timestamp"}},
			.kprobe = {{"hl_kp_tcp_recv_timestamp", "tcp_recv_timestamp"}},
			.tp = {{"hl_tp_skb_copy", "skb_copy_datagram_iovec"},
			       {"hl_tp_sock_recv_length", "sock_recv_length"}},
		},
	[HL_STAGE_UDP_SOCK_READ] =
		{
			.tramp = {{"hl_skb_consume_udp", "skb_consume_udp"}},
			.kprobe = {{"hl_kp_skb_consume_udp", "skb_consume_udp"}},
			.no_tp_why = "UDP reads copy linear skbs without a tracepoint "
				     "(skb_copy_datagram_iovec does not fire)",
		},
};

static const char *const drop_reason_names[HL_DROP_REASON_COUNT] = {
	[HL_DROP_NO_TSTAMP] = "no_timestamp",
	[HL_DROP_FUTURE] = "future_timestamp",
	[HL_DROP_TX_TSTAMP] = "tx_timestamp",
	[HL_DROP_MAP_FULL] = "map_full",
	/* bpf/sockstate.h */
	[HL_DROP_HOL_BLOCKED] = "hol_blocked",
};

struct hl_stack_latency {
	struct stack_latency_bpf *skel;
	struct hl_links links;
	struct hl_stage_plan plan[HL_STAGE_COUNT];
	struct hl_exph_table table;
	bool use_tai;
	int ncpus;
	uint32_t max_buckets, max_series, max_entries;
	int rx_ts_fd;
	int ct_links[2]; /* the conntrack stage's netfilter links, or -1 */
	/* collection state */
	struct hl_series_set ss;
	struct hl_ex_reader ex;
	uint64_t counters[HL_COUNTERS_SIZE], prev_counters[HL_COUNTERS_SIZE];
	struct hl_point *lat_points, *hook_points;
	struct hl_point event_points[HL_STAGE_COUNT];
	struct hl_point drop_points[HL_STAGE_COUNT * HL_DROP_REASON_COUNT];
	struct hl_sq_points sq; /* standing_queue metrics */
	bool sq_on;
	uint32_t read_mask; /* socket-read stages measured (standing_queue metrics) */
};

static const struct hl_stack_latency_conf *stack_latency_conf(const struct hl_config *cfg)
{
	return hl_probe_config(cfg, &hl_stack_latency_probe);
}

static bool stage_wanted(const struct hl_config *cfg, int st)
{
	const struct hl_stack_latency_conf *sc = stack_latency_conf(cfg);

	return sc->enabled && (sc->stages & (1U << st));
}

/* Append a reason to p->why, after "; " unless it is the first. */
static void add_why(struct hl_stage_plan *p, const char *reason)
{
	size_t n = strlen(p->why);

	snprintf(p->why + n, sizeof(p->why) - n, "%s%s", n ? "; " : "", reason);
}

/*
 * Whether every hook of a tier (fentry/fexit or kprobe) attaches here; the
 * first failure's reason goes to p->why, else the targets to p->detail.
 */
static bool tier_works(const struct hook *hooks, bool kprobe, struct hl_stage_plan *p)
{
	size_t off = 0;

	for (int i = 0; i < MAX_HOOKS && hooks[i].prog; i++) {
		const char *kind = kprobe ? "kprobe" : hooks[i].fexit ? "fexit" : "fentry";
		char why[160], reason[256];
		int err;

		if (kprobe)
			err = hl_kernel_probe_kprobe(hooks[i].target, false, why, sizeof(why));
		else
			err = hl_kernel_probe_trampoline(hooks[i].target, hooks[i].fexit, why,
							 sizeof(why));
		if (err) {
			snprintf(reason, sizeof(reason), "%s/%s: %s", kind, hooks[i].target, why);
			add_why(p, reason);
			p->detail[0] = 0;
			return false;
		}
		off += snprintf(p->detail + off, sizeof(p->detail) - off, "%s%s/%s", i ? " + " : "",
				kind, hooks[i].target);
	}
	return true;
}

static void plan_stage(int st, bool wanted, struct hl_stage_plan *p)
{
	const struct stage_def *d = &stage_defs[st];
	char reason[200];
	size_t off = 0;

	memset(p, 0, sizeof(*p));
	p->stage = hl_stage_names[st];
	p->wanted = wanted;
	p->hook = "none";
	if (!hl_kernel_btf()) {
		snprintf(p->why, sizeof(p->why), "%s", hl_kernel_btf_error());
		return;
	}
	/* Preferred: trampolines on every listed function. */
	if (tier_works(d->tramp, false, p)) {
		p->available = true;
		p->hook = d->tramp[0].fexit ? "fexit" : "fentry";
		return;
	}
	/* Then kprobes on the same functions, where the stage has them. */
	if (d->kprobe[0].prog && tier_works(d->kprobe, true, p)) {
		p->available = true;
		p->hook = "kprobe";
		return;
	}
	if (!d->tp[0].prog) {
		if (d->no_tp_why) {
			snprintf(reason, sizeof(reason), "no tracepoint fallback: %s",
				 d->no_tp_why);
			add_why(p, reason);
		}
		return;
	}
	for (int i = 0; i < MAX_HOOKS && d->tp[i].prog; i++) {
		if (!hl_kernel_has_tp_btf(d->tp[i].target)) {
			snprintf(reason, sizeof(reason),
				 "fallback tracepoint %s is not in this kernel", d->tp[i].target);
			add_why(p, reason);
			p->detail[0] = 0;
			return;
		}
		off += snprintf(p->detail + off, sizeof(p->detail) - off, "%stp_btf/%s",
				i ? " + " : "", d->tp[i].target);
	}
	p->available = true;
	p->hook = "tp_btf";
}

void hl_stack_latency_plan(const struct hl_config *cfg, struct hl_stage_plan plan[])
{
	for (int st = 0; st < HL_STAGE_COUNT; st++)
		plan_stage(st, stage_wanted(cfg, st), &plan[st]);
	hl_ct_plan(&plan[HL_STAGE_CONNTRACK], stack_latency_conf(cfg)->filters.network_namespace);
}

void hl_stack_latency_print_plan(FILE *f, const struct hl_stage_plan plan[])
{
	fprintf(f, "%-20s %-8s %-8s %s\n", "stage", "enabled", "hook", "via");
	for (int st = 0; st < HL_STAGE_COUNT; st++) {
		const struct hl_stage_plan *p = &plan[st];

		fprintf(f, "%-20s %-8s %-8s %s\n", p->stage, p->wanted ? "yes" : "no", p->hook,
			p->available ? p->detail : "-");
		if (p->why[0])
			fprintf(f, "%-38s %s: %s\n", "", p->available ? "fallback" : "unavailable",
				p->why);
	}
}

/* ---- start / stop ------------------------------------------------------------------- */

static int fill_filters(struct hl_stack_latency *s, const struct hl_config *cfg, char *err,
			size_t errlen)
{
	const struct hl_stack_latency_filters *f = &stack_latency_conf(cfg)->filters;
	__u8 one = 1;
	int e;

	for (size_t i = 0; i < f->interfaces.n; i++) {
		__u32 ifindex = if_nametoindex(f->interfaces.v[i]);

		if (!ifindex) {
			snprintf(err, errlen,
				 "probes.stack_latency.filters.interfaces: no interface named '%s' "
				 "in the agent's network namespace",
				 f->interfaces.v[i]);
			return -ENODEV;
		}
		if (bpf_map__update_elem(s->skel->maps.iface_filter, &ifindex, sizeof(ifindex),
					 &one, sizeof(one), BPF_ANY))
			return -errno;
	}
	e = hl_fill_cgroup_filter(s->skel->maps.cgroup_filter, &f->cgroups,
				  "probes.stack_latency.filters.cgroups", err, errlen);
	if (e)
		return e;
	return hl_fill_pid_filter(s->skel->maps.pid_filter, &f->pids);
}

/* The hooks of the tier the plan chose for stage st. */
static const struct hook *chosen_hooks(const struct hl_stage_plan *p, int st)
{
	if (!strcmp(p->hook, "tp_btf"))
		return stage_defs[st].tp;
	if (!strcmp(p->hook, "kprobe"))
		return stage_defs[st].kprobe;
	if (!strcmp(p->hook, "netfilter"))
		return ct_netfilter;
	return stage_defs[st].tramp;
}

/*
 * The kernel refused the program of the last load failure: every stage
 * that chose it is reported with the verifier's verdict and left out (the
 * others load without it). Returns how many stages it took out.
 */
static int refuse_stages(struct hl_stack_latency *s)
{
	const struct hl_bpf_failure *f = hl_bpf_failure();
	int n = 0;

	/* Only the verifier's verdict is one program's; EPERM, ENOMEM... are everyone's. */
	if (!f || strncmp(f->why, "verifier: ", 10))
		return 0;
	for (int st = 0; st < HL_STAGE_COUNT; st++) {
		struct hl_stage_plan *p = &s->plan[st];
		const struct hook *hooks = chosen_hooks(p, st);

		if (!p->wanted || !p->available)
			continue;
		for (int i = 0; i < MAX_HOOKS && hooks[i].prog; i++) {
			if (strcmp(hooks[i].prog, f->prog))
				continue;
			p->available = false;
			snprintf(p->why, sizeof(p->why), "the kernel refused %s (%s): %s", f->prog,
				 p->detail, f->why);
			p->hook = "none";
			p->detail[0] = 0;
			hl_warn("stack", "stage %s unavailable: %s", p->stage, p->why);
			n++;
			break;
		}
	}
	return n;
}

/*
 * Per-socket state (bpf/sockstate.h): HOL exclusion at tcp-socket-read
 * unless include_hol_blocked, the standing-queue rule at the read stages
 * when configured; the kprobe variant's LRU sized only when a read stage
 * runs on kprobes with either on. Off, the rodata prunes all of it.
 */
static void sockstate_configure(struct hl_stack_latency *s, const struct hl_stack_latency_conf *sc,
				uint32_t mask)
{
	const uint32_t tcp = 1U << HL_STAGE_TCP_SOCK_READ, udp = 1U << HL_STAGE_UDP_SOCK_READ;
	struct stack_latency_bpf__rodata *ro = s->skel->rodata;
	bool kprobe = false;

	ro->hol_exclude = (mask & tcp) && !sc->include_hol_blocked;
	s->read_mask = mask & (tcp | udp);
	s->sq_on = sc->standing_queue && s->read_mask;
	if (s->sq_on) {
		ro->sq_target_ns = sc->standing_queue->target_ns;
		ro->sq_interval_ns = sc->standing_queue->interval_ns;
	}
	for (int st = HL_STAGE_TCP_SOCK_READ; st <= HL_STAGE_UDP_SOCK_READ; st++)
		if ((mask & (1U << st)) && !strcmp(s->plan[st].hook, "kprobe"))
			kprobe = true;
	if (kprobe && (ro->hol_exclude || s->sq_on))
		bpf_map__set_max_entries(s->skel->maps.sockstate_lru, sc->max_sockets);
}

static int configure(struct hl_stack_latency *s, const struct hl_config *cfg, char *err,
		     size_t errlen)
{
	const struct hl_stack_latency_conf *sc = stack_latency_conf(cfg);
	struct stack_latency_bpf__rodata *ro = s->skel->rodata;
	uint64_t netns;
	uint32_t mask = 0;
	int e;

	e = hl_resolve_netns(sc->filters.network_namespace,
			     "probes.stack_latency.filters.network_namespace", &netns, err, errlen);
	if (e)
		return e;
	for (int st = 0; st < HL_STAGE_COUNT; st++)
		if (s->plan[st].wanted && s->plan[st].available)
			mask |= 1U << st;
	e = hl_exph_table_init(&s->table, (int)sc->histogram_scale);
	if (e) {
		snprintf(err, errlen, "histogram_scale %u is out of range", sc->histogram_scale);
		return e;
	}
	ro->stage_enabled = mask;
	ro->group_by = sc->group_by;
	ro->netns_ino = netns;
	ro->filter_ifaces = sc->filters.interfaces.n > 0;
	ro->filter_cgroups = sc->filters.cgroups.n > 0;
	ro->filter_pids = sc->filters.pids.n > 0;
	ro->min_queue_len = sc->filters.min_queue_length;
	sockstate_configure(s, sc, mask);

	s->max_series = sc->max_groups;
	s->max_entries = sc->max_bucket_entries;
	hl_series_set_init(&s->ss, &s->table, s->ncpus, s->max_buckets, s->max_series,
			   s->max_entries);
	/* Not grouped: the series are the stages, in the dense layout. */
	if (!sc->group_by)
		hl_series_set_dense(&s->ss, sc->standing_queue ? HL_SQ_SERIES_END : HL_STAGE_COUNT);
	HL_LATHIST_PREPARE(s->skel, &s->ss);
	ro->exemplars_on = sc->exemplars;
	/* The XDP responder answers with the kernel's count of each stage's samples. */
	ro->count_events = hl_xdp_responder_probe.enabled && hl_xdp_responder_probe.enabled(cfg);
	hl_ex_size_maps(&s->ss, sc->exemplars, s->skel->maps.ex_dense, s->skel->maps.ex_hash);
	if (sc->filters.interfaces.n > bpf_map__max_entries(s->skel->maps.iface_filter))
		bpf_map__set_max_entries(s->skel->maps.iface_filter, sc->filters.interfaces.n);
	if (sc->filters.cgroups.n > bpf_map__max_entries(s->skel->maps.cgroup_filter))
		bpf_map__set_max_entries(s->skel->maps.cgroup_filter, sc->filters.cgroups.n);
	if (sc->filters.pids.n > bpf_map__max_entries(s->skel->maps.pid_filter))
		bpf_map__set_max_entries(s->skel->maps.pid_filter, sc->filters.pids.n);

	for (int st = 0; st < HL_STAGE_COUNT; st++) {
		const struct hook *hooks = chosen_hooks(&s->plan[st], st);

		if (!(mask & (1U << st)))
			continue;
		for (int i = 0; i < MAX_HOOKS && hooks[i].prog; i++) {
			e = hl_bpf_autoload(s->skel->obj, hooks[i].prog);
			if (e)
				return e;
		}
	}
	return hl_ct_prepare(s->skel->obj, &s->plan[HL_STAGE_CONNTRACK]);
}

/* Open the object with the programs of the stages that can run and load it. */
static int open_and_load(struct hl_stack_latency *s, const struct hl_config *cfg, char *err,
			 size_t errlen)
{
	int e;

	s->skel = stack_latency_bpf__open();
	e = hl_skel_opened(s->skel, err, errlen);
	if (e)
		return e;
	hl_bpf_autoload_none(s->skel->obj); /* nothing loads unless a stage chose it */
	e = configure(s, cfg, err, errlen);
	if (e) {
		if (!err[0])
			snprintf(err, errlen, "cannot configure the BPF object: %s", strerror(-e));
		return e;
	}
	s->skel->bss->clock_offset_ns = hl_kernel_clock_offset(s->use_tai);
	return hl_skel_load(s->skel->skeleton, "the stack-latency programs", err, errlen);
}

struct hl_stack_latency *hl_stack_latency_start(const struct hl_config *cfg, char *err,
						size_t errlen)
{
	struct hl_stack_latency *s = calloc(1, sizeof(*s));
	int e, n_avail = 0;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->rx_ts_fd = -1;
	s->ct_links[0] = s->ct_links[1] = -1;
	s->max_buckets = stack_latency_conf(cfg)->max_buckets;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		snprintf(err, errlen, "cannot count possible CPUs: %s", strerror(-s->ncpus));
		goto fail;
	}
	hl_stack_latency_plan(cfg, s->plan);
	for (int st = 0; st < HL_STAGE_COUNT; st++) {
		struct hl_stage_plan *p = &s->plan[st];

		if (!p->wanted)
			continue;
		if (!p->available) {
			hl_warn("stack", "stage %s unavailable: %s", p->stage, p->why);
			continue;
		}
		n_avail++;
		if (p->why[0])
			hl_info("stack", "stage %s via %s (preferred hook unusable: %s)", p->stage,
				p->detail, p->why);
		else
			hl_info("stack", "stage %s via %s", p->stage, p->detail);
	}
	if (!n_avail) {
		snprintf(err, errlen, "no network-stack stage can run on this kernel%s%s",
			 hl_kernel_btf() ? "" : ": ", hl_kernel_btf() ? "" : hl_kernel_btf_error());
		goto fail;
	}
	s->use_tai = hl_kernel_has_tai();
	/* A stage whose program the verifier refuses is left out, the others load. */
	while ((e = open_and_load(s, cfg, err, errlen))) {
		int refused = refuse_stages(s);

		if (!refused || (n_avail -= refused) <= 0)
			break;
		stack_latency_bpf__destroy(s->skel);
		s->skel = NULL;
		hl_series_set_free(&s->ss);
		err[0] = 0;
	}
	if (e)
		goto fail;
	hl_ex_init(&s->ex, stack_latency_conf(cfg)->exemplars, s->ncpus, &s->skel->bss->ex_epoch);
	e = fill_filters(s, cfg, err, errlen);
	if (e) {
		if (!err[0])
			snprintf(err, errlen, "cannot fill the filter maps: %s", strerror(-e));
		goto fail;
	}
	s->rx_ts_fd = hl_kernel_enable_rx_timestamps();
	if (s->rx_ts_fd < 0)
		hl_warn("stack",
			"cannot turn on software RX timestamps (%s): only packets stamped "
			"for other reasons will be measured",
			strerror(-s->rx_ts_fd));
	e = hl_bpf_attach_loaded(s->skel->obj, "stack", &s->links);
	if (e >= 0)
		e += hl_ct_attach(s->skel->obj, &s->plan[HL_STAGE_CONNTRACK],
				  stack_latency_conf(cfg)->filters.network_namespace, s->ct_links);
	if (e <= 0) {
		snprintf(err, errlen, "no stack-latency program could be attached");
		goto fail;
	}
	return s;
fail:
	hl_stack_latency_stop(s);
	return NULL;
}

void hl_stack_latency_refresh_clock(struct hl_stack_latency *s)
{
	if (s && s->skel)
		s->skel->bss->clock_offset_ns = hl_kernel_clock_offset(s->use_tai);
}

void hl_stack_latency_stop(struct hl_stack_latency *s)
{
	if (!s)
		return;
	hl_links_destroy(&s->links);
	hl_ct_detach(s->ct_links);
	stack_latency_bpf__destroy(s->skel);
	if (s->rx_ts_fd >= 0)
		close(s->rx_ts_fd);
	hl_series_set_free(&s->ss);
	hl_sq_points_free(&s->sq);
	hl_ex_free(&s->ex);
	free(s->lat_points);
	free(s->hook_points);
	free(s);
}

/* ---- collection ---------------------------------------------------------------------- */

/*
 * The interface's name in its own network namespace: as the kernel saw it
 * (ifnames map), else from the agent's namespace when it is the same one.
 */
static void series_resolve_ifname(struct hl_stack_latency *s, struct hl_series *sr)
{
	struct hl_ifname_key k = {.netns = sr->key.netns, .ifindex = sr->key.ifindex};
	char name[HL_IFNAMSIZ + 1] = "";

	if (sr->if_resolved || !sr->key.ifindex)
		return;
	if (bpf_map__lookup_elem(s->skel->maps.ifnames, &k, sizeof(k), name, HL_IFNAMSIZ, 0) == 0) {
		snprintf(sr->ifname, sizeof(sr->ifname), "%s", name);
		sr->if_resolved = true;
	} else if (sr->key.netns == (uint32_t)hl_self_netns_ino() &&
		   if_indextoname(sr->key.ifindex, name)) {
		snprintf(sr->ifname, sizeof(sr->ifname), "%s", name);
		sr->if_resolved = true;
	} else {
		snprintf(sr->ifname, sizeof(sr->ifname), "ifindex-%u", sr->key.ifindex);
	}
}

/*
 * The kernel's counters, after the histograms. A stage's samples recorded
 * are its series' counts (every sample recorded is in exactly one): the
 * kernel counts them too only for the XDP responder (count_events).
 */
static int read_counters(struct hl_stack_latency *s)
{
	int e;

	memcpy(s->prev_counters, s->counters, sizeof(s->counters));
	e = hl_read_percpu_array(bpf_map__fd(s->skel->maps.counters), HL_COUNTERS_SIZE, s->ncpus,
				 s->counters);
	if (e)
		return e;
	for (int st = 0; st < HL_STAGE_COUNT; st++)
		s->counters[st * HL_CNT_PER_STAGE + HL_CNT_EVENTS] = 0;
	for (size_t i = 0; i < s->ss.n; i++) {
		const struct hl_series *sr = &s->ss.v[i];

		if (sr->key.stage < HL_STAGE_COUNT)
			s->counters[sr->key.stage * HL_CNT_PER_STAGE + HL_CNT_EVENTS] +=
				sr->cum.count;
	}
	return 0;
}

static int collect_histograms(struct hl_stack_latency *s)
{
	int e = hl_series_set_collect(&s->ss, bpf_map__fd(s->skel->maps.hist),
				      bpf_map__fd(s->skel->maps.series),
				      bpf_map__fd(s->skel->maps.dense));

	if (e)
		return e;
	e = hl_ex_collect(&s->ex, &s->ss, bpf_map__fd(s->skel->maps.ex_dense),
			  bpf_map__fd(s->skel->maps.ex_hash));
	if (e)
		hl_warn("stack", "exemplars of this interval lost: %s", strerror(-e));
	for (size_t i = 0; i < s->ss.n; i++) {
		hl_series_resolve_cgroup(&s->ss.v[i]);
		series_resolve_ifname(s, &s->ss.v[i]);
	}
	return 0;
}

int hl_stack_latency_collect(struct hl_stack_latency *s, struct hl_metric *out, size_t max)
{
	size_t m = 0, np = 0;
	int e;

	if (max < (s->sq_on ? 6U : 4U))
		return -ENOSPC;
	e = collect_histograms(s);
	if (e)
		return e;
	e = read_counters(s);
	if (e)
		return e;

	free(s->lat_points);
	s->lat_points = calloc(s->ss.n ? s->ss.n : 1, sizeof(*s->lat_points));
	if (!s->lat_points)
		return -ENOMEM;
	for (size_t i = 0; i < s->ss.n; i++) {
		struct hl_series *sr = &s->ss.v[i];
		struct hl_point *p;

		if (sr->key.stage >= HL_STAGE_COUNT)
			continue; /* standing-queue series, below */
		p = &s->lat_points[np++];
		hl_point_attr(p, "stage", hl_stage_names[sr->key.stage]);
		if (sr->key.ifindex)
			hl_point_attr(p, "network.interface.name", sr->ifname);
		if (sr->key.cgroup)
			hl_point_attr(p, "cgroup.path", sr->cgpath);
		p->cumulative = &sr->cum;
		p->delta = &sr->delta;
	}
	out[m++] = (struct hl_metric){
		.name = HL_METRIC_STACK_LATENCY,
		.description = "Time from a packet's RX software timestamp to each stage of the "
			       "kernel network stack",
		.unit = "s",
		.kind = HL_METRIC_EXPHIST,
		.points = s->lat_points,
		.n_points = np,
	};

	/* Self-metrics: samples recorded and dropped per stage, and the hooks. */
	np = 0;
	for (int st = 0; st < HL_STAGE_COUNT; st++) {
		size_t idx = st * HL_CNT_PER_STAGE + HL_CNT_EVENTS;
		struct hl_point *p;

		if (!s->plan[st].wanted || !s->plan[st].available)
			continue;
		p = &s->event_points[np++];
		memset(p, 0, sizeof(*p));
		hl_point_attr(p, "stage", hl_stage_names[st]);
		hl_point_counter(p, s->counters[idx], s->prev_counters[idx]);
	}
	out[m++] = (struct hl_metric){
		.name = "hostlat.probe.events",
		.description = "Samples recorded by the kernel probes",
		.unit = "{sample}",
		.kind = HL_METRIC_COUNTER,
		.points = s->event_points,
		.n_points = np,
	};
	np = 0;
	for (int st = 0; st < HL_STAGE_COUNT; st++) {
		if (!s->plan[st].wanted || !s->plan[st].available)
			continue;
		for (int r = 0; r < HL_DROP_REASON_COUNT; r++) {
			size_t idx = st * HL_CNT_PER_STAGE + HL_CNT_DROP0 + r;
			struct hl_point *p = &s->drop_points[np++];

			memset(p, 0, sizeof(*p));
			hl_point_attr(p, "stage", hl_stage_names[st]);
			hl_point_attr(p, "reason", drop_reason_names[r]);
			hl_point_counter(p, s->counters[idx], s->prev_counters[idx]);
		}
	}
	out[m++] = (struct hl_metric){
		.name = "hostlat.probe.dropped",
		.description = "Samples the kernel probes could not record, by reason",
		.unit = "{sample}",
		.kind = HL_METRIC_COUNTER,
		.points = s->drop_points,
		.n_points = np,
	};
	if (s->sq_on) {
		e = hl_sq_metrics(&s->sq, &s->ss, s->read_mask, &out[m]);
		if (e < 0)
			return e;
		m += e;
	}
	if (!s->hook_points) {
		s->hook_points = calloc(HL_STAGE_COUNT, sizeof(*s->hook_points));
		if (!s->hook_points)
			return -ENOMEM;
	}
	np = 0;
	for (int st = 0; st < HL_STAGE_COUNT; st++) {
		struct hl_point *p = &s->hook_points[np];

		if (!s->plan[st].wanted)
			continue;
		np++;
		memset(p, 0, sizeof(*p));
		hl_point_attr(p, "stage", hl_stage_names[st]);
		hl_point_attr(p, "hook", s->plan[st].available ? s->plan[st].detail : "none");
		p->gauge = s->plan[st].available ? 1 : 0;
	}
	out[m++] = (struct hl_metric){
		.name = HL_METRIC_PROBE_HOOK,
		.description = "1 for the hook each enabled stage runs on, 0 when it has none here",
		.unit = "1",
		.kind = HL_METRIC_GAUGE,
		.points = s->hook_points,
		.n_points = np,
	};
	return (int)m;
}

/* ---- config (probes.stack_latency) ---------------------------------------------------- */

#define OFF(field) offsetof(struct hl_stack_latency_conf, field)

/* bit i = group_names[i] */
static const char *const group_names[] = {"interface", "cgroup", NULL};
_Static_assert(HL_GROUP_IFACE == 1U << 0 && HL_GROUP_CGROUP == 1U << 1,
	       "group_names must follow the HL_GROUP_* bits");

static const struct hl_option filter_options[] = {
	{.name = "interfaces",
	 .type = HL_OPT_STRLIST,
	 .offset = OFF(filters.interfaces),
	 .def = "[]",
	 .max = 4096,
	 .help = "only packets received on these interfaces (names in the agent's network "
		 "namespace); empty: all",
	 .check = hl_check_ifname},
	{.name = "network_namespace",
	 .type = HL_OPT_STRING,
	 .offset = OFF(filters.network_namespace),
	 .def = "host",
	 .help = HL_NETNS_HELP,
	 .check = hl_check_netns},
	{.name = "cgroups",
	 .type = HL_OPT_STRLIST,
	 .offset = OFF(filters.cgroups),
	 .def = "[]",
	 .max = 4096,
	 .help = "only sockets read by tasks in these cgroups (socket-read stages): paths "
		 "relative to the cgroup v2 mount, or full paths under it; empty: all"},
	{.name = "pids",
	 .type = HL_OPT_UINTLIST,
	 .offset = OFF(filters.pids),
	 .def = "[]",
	 .min = 1,
	 .max = 4194304,
	 .help = "only sockets read by these processes (socket-read stages); empty: all"},
	{.name = "min_queue_length",
	 .type = HL_OPT_UINT,
	 .offset = OFF(filters.min_queue_length),
	 .def = "0",
	 .min = 0,
	 .max = UINT32_MAX,
	 .help = "only sockets whose receive queue holds at least this many packets (socket "
		 "stages); 0: no filter"},
	{0},
};

static const struct hl_option standing_queue_options[] = {
	{.name = "target",
	 .type = HL_OPT_DURATION,
	 .offset = offsetof(struct hl_standing_queue_conf, target_ns),
	 .def = "5ms",
	 .min = 1,
	 .max = HL_SEC(60),
	 .help = "a read's sojourn time (now - the packet's receive stamp) above this is above "
		 "target"},
	{.name = "interval",
	 .type = HL_OPT_DURATION,
	 .offset = offsetof(struct hl_standing_queue_conf, interval_ns),
	 .def = "100ms",
	 .min = 1,
	 .max = HL_SEC(3600),
	 .help = "above target at every read for this long starts an episode (at least "
		 "target)"},
	{0},
};

static const struct hl_option stack_latency_options[] = {
	{.name = "enabled",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(enabled),
	 .def = "true",
	 .help = "measure network-stack latency"},
	{.name = "stages",
	 .type = HL_OPT_FLAGS,
	 .offset = OFF(stages),
	 .def = "[ip-start, tcp-start, udp-start, tcp-socket-enqueued, udp-socket-enqueued, "
		"tcp-socket-read, udp-socket-read]",
	 .min = 1,
	 .names = hl_stage_names,
	 .help = "stages to measure, each from the packet's receive timestamp; conntrack (the "
		 "packet meets connection tracking) only when listed"},
	{.name = "histogram_scale",
	 .type = HL_OPT_UINT,
	 .offset = OFF(histogram_scale),
	 .def = "3",
	 .min = 0,
	 .max = 5,
	 .help = "exponential histogram scale: 2^scale buckets per power of two"},
	{.name = "max_buckets",
	 .type = HL_OPT_UINT,
	 .offset = OFF(max_buckets),
	 .def = "160",
	 .min = 2,
	 .max = 16384,
	 .help = "most buckets per exported histogram (downscaled to fit)"},
	{.name = "max_series",
	 .type = HL_OPT_UINT,
	 .offset = OFF(max_groups),
	 .def = "1024",
	 .min = 1,
	 .max = 1048576,
	 .help = "with group_by: most (group, stage) series the kernel tracks; samples of new "
		 "series beyond it are counted as dropped (without group_by each stage has a "
		 "fixed slot)"},
	{.name = "max_bucket_entries",
	 .type = HL_OPT_UINT,
	 .offset = OFF(max_bucket_entries),
	 .def = "32768",
	 .min = 64,
	 .max = 16777216,
	 .help = "with group_by: capacity of the kernel's per-bucket counter map (without "
		 "group_by the buckets live in a fixed per-CPU array)"},
	{.name = "filters",
	 .type = HL_OPT_SECTION,
	 .sub = filter_options,
	 .help = "which packets and sockets to measure"},
	{.name = "group_by",
	 .type = HL_OPT_FLAGS,
	 .offset = OFF(group_by),
	 .def = "[]",
	 .names = group_names,
	 .help = "split series by receiving interface and/or by the reading task's cgroup "
		 "(socket-read stages); empty: one series per stage"},
	{.name = "include_hol_blocked",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(include_hol_blocked),
	 .def = "false",
	 .help = "keep tcp-socket-read samples of reads that may have waited behind a lost "
		 "segment (rcv_ooopack grew; false: counted as dropped, reason hol_blocked)"},
	{.name = "standing_queue",
	 .type = HL_OPT_STRUCT,
	 .offset = OFF(standing_queue),
	 .size = sizeof(struct hl_standing_queue_conf),
	 .sub = standing_queue_options,
	 .optional = true,
	 .help = "detect standing socket queues at the socket-read stages, per socket, by "
		 "CoDel's rule (a mapping or true turns it on; false: off)"},
	{.name = "max_sockets",
	 .type = HL_OPT_UINT,
	 .offset = OFF(max_sockets),
	 .def = "16384",
	 .min = 64,
	 .max = 4194304,
	 .help = "socket-read stages on kprobes: most sockets whose per-socket state (HOL "
		 "exclusion, standing queue) is kept, least recently read evicted (elsewhere "
		 "the state lives in the socket)"},
	{.name = "exemplars",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(exemplars),
	 .def = "true",
	 .help = "per series and interval, the largest sample with its task and connection "
		 "(exported as the histogram's exemplar)"},
	{0},
};

/* ---- the probe module ------------------------------------------------------------------ */

static bool stack_latency_enabled(const struct hl_config *cfg)
{
	return stack_latency_conf(cfg)->enabled;
}

/* A namespace path that is not a network namespace is a config error. */
static int stack_latency_validate(const struct hl_config *cfg, char *err, size_t errlen)
{
	return hl_validate_netns(cfg, stack_latency_conf(cfg)->filters.network_namespace,
				 "probes.stack_latency.filters.network_namespace", err, errlen);
}

/* standing_queue: interval at least target. */
static int stack_latency_check_config(const void *conf, struct hl_config_problem *pb)
{
	const struct hl_stack_latency_conf *c = conf;
	char t[32], i[32];

	if (!c->standing_queue || c->standing_queue->interval_ns >= c->standing_queue->target_ns)
		return 0;
	hl_format_duration(c->standing_queue->target_ns, t, sizeof(t));
	hl_format_duration(c->standing_queue->interval_ns, i, sizeof(i));
	pb->key = "standing_queue.interval";
	pb->near = "standing_queue";
	snprintf(pb->msg, sizeof(pb->msg),
		 "the standing-queue interval (%s) is shorter than its target (%s): a queue must "
		 "stand above target for at least target",
		 i, t);
	return -EINVAL;
}

static void stack_latency_check(const struct hl_config *cfg, FILE *f)
{
	struct hl_stage_plan plan[HL_STAGE_COUNT];

	hl_stack_latency_plan(cfg, plan);
	fprintf(f, "probe stack_latency:\n");
	hl_stack_latency_print_plan(f, plan);
}

static void stack_latency_report(void *state, FILE *f)
{
	struct hl_stack_latency *s = state;

	fprintf(f, "probe stack_latency:\n");
	hl_stack_latency_print_plan(f, s->plan);
}

static void *stack_latency_start(const struct hl_config *cfg, char *err, size_t errlen)
{
	struct hl_stack_latency *s = hl_stack_latency_start(cfg, err, errlen);

	if (s)
		hl_probe_share_map(HL_SHARED_STACK_COUNTERS, bpf_map__fd(s->skel->maps.counters));
	return s;
}

static int stack_latency_collect(void *state, struct hl_metric *out, size_t max)
{
	hl_stack_latency_refresh_clock(state);
	return hl_stack_latency_collect(state, out, max);
}

static void stack_latency_stop(void *state)
{
	if (state)
		hl_probe_share_map(HL_SHARED_STACK_COUNTERS, -1);
	hl_stack_latency_stop(state);
}

const struct hl_probe_ops hl_stack_latency_probe = {
	.name = "stack_latency",
	.help = "time from packet receive to each network-stack stage",
	.options = stack_latency_options,
	.config_size = sizeof(struct hl_stack_latency_conf),
	.enabled = stack_latency_enabled,
	.check = stack_latency_check,
	.report = stack_latency_report,
	.start = stack_latency_start,
	.validate = stack_latency_validate,
	.check_config = stack_latency_check_config,
	.collect = stack_latency_collect,
	.stop = stack_latency_stop,
};
