/* SPDX-License-Identifier: MIT */
/*
 * probes.xdp_responder: loads bpf/xdp_responder.bpf.c with the maps of the
 * probes already running (stack_latency, softirq, drops) shared into it,
 * attaches it to the interface through a bpf_link (detached when the agent
 * exits, even killed), and every interval refreshes the values only user
 * space has (load average, memory, the percentiles just exported, and the
 * interface's MAC and addresses, the only ones answered for) into the
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
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

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

_Static_assert(hl_xr_stage(HL_XR_STAGES - 1) == HL_STAGE_COUNT - 1,
	       "the wire format has one slot per stage but conntrack");

/* The `result` attribute of each counter (enum hl_xr_result). */
static const char *const result_names[HL_XR_RESULTS] = {
	[HL_XR_ANSWERED] = "answered",
	[HL_XR_REFUSED] = "refused",
	[HL_XR_LIMITED] = "rate_limited",
	[HL_XR_MALFORMED] = "malformed",
	[HL_XR_NOT_UNICAST] = "not_unicast",
	[HL_XR_FOREIGN_MAC] = "foreign_mac",
	[HL_XR_BAD_HEADER] = "bad_header",
	[HL_XR_NOT_LOCAL] = "not_local",
	[HL_XR_BAD_SOURCE] = "bad_source",
	[HL_XR_TTL_ZERO] = "ttl_zero",
	[HL_XR_SOURCE_PORT_ZERO] = "source_port_zero",
	[HL_XR_BAD_CHECKSUM] = "bad_checksum",
};

struct xdp_responder {
	struct xdp_responder_bpf *skel;
	int link_fd;
	int ncpus;
	int ifindex;
	const char *ifname; /* borrowed from the config */
	uint64_t interval_ns;
	struct hl_xr_local local; /* the interface's, as last read */
	unsigned int more;	  /* addresses beyond what local holds, last warned */
	int read_err;		  /* the last failure to read them, warned */
	bool virtual;		  /* a software device (veth, tun, ...), not a NIC */
	struct hl_xr_stats cur, prev;
	struct hl_point req_points[HL_XR_RESULTS], pkt_point;
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

/* Add one address of the interface to l; false when l is full. */
static bool add_local(struct hl_xr_local *l, int family, const void *a)
{
	if (family == AF_INET && l->n4 < HL_XR_LOCAL4)
		memcpy(&l->v4[l->n4++], a, 4);
	else if (family == AF_INET6 && l->n6 < HL_XR_LOCAL6)
		memcpy(l->v6[l->n6++], a, 16);
	else
		return false;
	return true;
}

/* What one RTM_GETLINK and one RTM_GETADDR dump of the interface say. */
struct local_read {
	int ifindex;
	struct hl_xr_local l;
	unsigned int more; /* addresses that did not fit */
	bool link, virtual;
};

static void take_link(struct local_read *r, const struct nlmsghdr *nh)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = (int)IFLA_PAYLOAD(nh);

	if (ifi->ifi_index != r->ifindex)
		return;
	r->link = true;
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == sizeof(r->l.mac))
			memcpy(r->l.mac, RTA_DATA(a), sizeof(r->l.mac));
		/* A kind (veth, tun, bridge, ...): a software device, not a NIC. */
		else if (a->rta_type == IFLA_LINKINFO)
			r->virtual = true;
	}
}

/* One RTM_NEWADDR: the address the kernel accepts packets for, if it does. */
static void take_addr(struct local_read *r, const struct nlmsghdr *nh)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	const void *local = NULL, *address = NULL;
	int len = (int)IFA_PAYLOAD(nh);
	uint32_t flags = ifa->ifa_flags;
	size_t want = ifa->ifa_family == AF_INET ? 4 : 16;

	if ((int)ifa->ifa_index != r->ifindex ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return;
	for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_LOCAL && RTA_PAYLOAD(a) == want)
			local = RTA_DATA(a);
		else if (a->rta_type == IFA_ADDRESS && RTA_PAYLOAD(a) == want)
			address = RTA_DATA(a);
		else if (a->rta_type == IFA_FLAGS && RTA_PAYLOAD(a) == 4)
			memcpy(&flags, RTA_DATA(a), 4);
	}
	/* On a point-to-point link IFA_ADDRESS is the peer's, IFA_LOCAL ours. */
	if (!local)
		local = address;
	/* Duplicate detection pending or failed: the kernel does not accept it either. */
	if (!local || (flags & IFA_F_DADFAILED) ||
	    ((flags & IFA_F_TENTATIVE) && !(flags & IFA_F_OPTIMISTIC)))
		return;
	if (!add_local(&r->l, ifa->ifa_family, local))
		r->more++;
}

/*
 * Send req (len bytes, sequence number seq) on fd and hand each message of
 * the answer to take_link or take_addr, until the end of a dump or a
 * single answer. 0 or -errno.
 */
static int nl_ask(int fd, const void *req, size_t len, uint32_t seq, uint32_t *buf, size_t bufsize,
		  struct local_read *r)
{
	if (send(fd, req, len, 0) != (ssize_t)len)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, bufsize, 0);
		int left = (int)n;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		/* NLMSG_OK, with left checked positive before it meets unsigned lengths */
		for (struct nlmsghdr *nh = (void *)buf;
		     left >= (int)sizeof(*nh) && nh->nlmsg_len >= sizeof(*nh) &&
		     nh->nlmsg_len <= (unsigned int)left;
		     nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *ne = NLMSG_DATA(nh);

				return ne->error ? ne->error : -EIO;
			}
			if (nh->nlmsg_type == RTM_NEWLINK)
				take_link(r, nh);
			else if (nh->nlmsg_type == RTM_NEWADDR)
				take_addr(r, nh);
			if (!(nh->nlmsg_flags & NLM_F_MULTI))
				return 0; /* the one answer to a plain request */
		}
	}
}

/*
 * The interface's MAC, kind and addresses over rtnetlink (the address dump
 * filtered by the kernel where it can, NETLINK_GET_STRICT_CHK, and here
 * anyway). 0 or -errno.
 */
static int read_local(struct local_read *r)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} link = {
		.nh = {.nlmsg_len = sizeof(link),
		       .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST,
		       .nlmsg_seq = 1},
		.ifi = {.ifi_family = AF_UNSPEC, .ifi_index = r->ifindex},
	};
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} addr = {
		.nh = {.nlmsg_len = sizeof(addr),
		       .nlmsg_type = RTM_GETADDR,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		       .nlmsg_seq = 2},
		.ifa = {.ifa_family = AF_UNSPEC, .ifa_index = (unsigned int)r->ifindex},
	};
	size_t bufsize = 32768;		 /* the most the kernel puts in one message batch */
	uint32_t *buf = malloc(bufsize); /* aligned for nlmsghdr */
	int fd, one = 1, e;

	if (!buf)
		return -ENOMEM;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		e = -errno;
		free(buf);
		return e;
	}
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	e = nl_ask(fd, &link, sizeof(link), 1, buf, bufsize, r);
	if (!e && !r->link)
		e = -ENODEV;
	if (!e)
		e = nl_ask(fd, &addr, sizeof(addr), 2, buf, bufsize, r);
	close(fd);
	free(buf);
	return e;
}

/* Read the interface's MAC and addresses again; on failure keep the last ones. */
static int refresh_local(struct xdp_responder *x)
{
	struct local_read r = {.ifindex = x->ifindex};
	int e = read_local(&r);

	if (e) {
		if (e != x->read_err)
			hl_warn(COMP,
				"cannot read the addresses of %s (answering for the last ones "
				"read): %s",
				x->ifname, strerror(-e));
		x->read_err = e;
		return e;
	}
	if (x->read_err)
		hl_info(COMP, "the addresses of %s are read again", x->ifname);
	x->read_err = 0;
	if (r.more && r.more != x->more)
		hl_warn(COMP,
			"%s has %u addresses beyond the %d IPv4 and %d IPv6 ones answered for",
			x->ifname, r.more, HL_XR_LOCAL4, HL_XR_LOCAL6);
	x->more = r.more;
	x->local = r.l;
	x->virtual = r.virtual;
	return 0;
}

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
	x->ifindex = ifindex;
	e = refresh_local(x);
	if (e) {
		snprintf(err, errlen, "cannot read the MAC and addresses of %s: %s", c->interface,
			 strerror(-e));
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
	/* Where frames with offloaded UDP checksums can arrive (udp_csum_ok). */
	x->skel->rodata->partial_csum_ok = c->mode == HL_XDP_GENERIC || x->virtual;
	if (hl_skel_load(x->skel->skeleton, "the XDP program", err, errlen))
		goto fail;
	if (fill_allow(x, &c->allow, err, errlen))
		goto fail;
	if (hl_xr_read_host(&u) == 0) {
		u.flags = HL_XR_F_USER;
		u.interval_ns = x->interval_ns;
		u.updated_ns = hl_mono_ns();
	}
	u.local = x->local;
	publish(x, &u);
	if (hl_probe_trial && !xdp_responder_trial_attaches(cfg))
		return x;
	if (attach(x, c, ifindex, err, errlen))
		goto fail;
	if (c->rate_limit)
		snprintf(rate, sizeof(rate), "at most %u/s", c->rate_limit);
	hl_info(COMP,
		"answering UDP port %u on %s (%s XDP) for its %u IPv4 and %u IPv6 address(es), "
		"%zu allowed network(s), %s; counters from%s%s%s%s",
		c->port, c->interface, c->mode == HL_XDP_GENERIC ? "generic" : "native",
		x->local.n4, x->local.n6, c->allow.n, rate, have[0] ? " stack_latency" : "",
		have[1] ? " softirq" : "", have[2] ? " drops" : "",
		have[0] || have[1] || have[2] ? "" : " this program only");
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
		for (int r = 0; r < HL_XR_RESULTS; r++)
			x->cur.results[r] += v[c].results[r];
	}
out:
	free(v);
	return e;
}

static int xdp_responder_collect(void *state, struct hl_metric *out, size_t max)
{
	struct xdp_responder *x = state;
	int e;

	if (max < 2)
		return -ENOSPC;
	e = read_stats(x);
	if (e)
		return e;
	for (int r = 0; r < HL_XR_RESULTS; r++) {
		struct hl_point *p = &x->req_points[r];

		memset(p, 0, sizeof(*p));
		hl_point_attr(p, "network.interface.name", x->ifname);
		hl_point_attr(p, "result", result_names[r]);
		hl_point_counter(p, x->cur.results[r], x->prev.results[r]);
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
		.n_points = HL_XR_RESULTS,
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

/* The percentiles just collected, the host's figures, the interface's addresses. */
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
		for (int w = 0; w < HL_XR_STAGES; w++)
			for (int k = 0; k < HL_XR_PCTS; k++)
				u.stack_pct_ns[w][k] = (__u64)llround(
					hl_hist_quantile(&x->pct[hl_xr_stage(w)], q[k]) * 1e9);
	}
	refresh_local(x);
	u.local = x->local;
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
