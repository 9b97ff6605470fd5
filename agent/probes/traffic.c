/* SPDX-License-Identifier: MIT */
/*
 * probes.traffic: load traffic.bpf.c, hook tc on the configured interfaces,
 * and run sampling runs from a scheduler thread. Every `every`, one run per
 * granularity, one after the other (all interfaces sample at the same time,
 * each into its own slots, so runs never overlap on an interface). After a
 * run the thread sums the CPUs, arms the next run, then stores the series on
 * disk and folds it into the metrics that the next collection exports.
 *
 * align: wallclock (SyncMillisampler): rounds start on multiples of `every`
 * in Unix time and each run on a multiple of its granularity, so agents on
 * hosts with synchronized clocks sample the same slots. The kernel counts
 * slot (now - start) / gran in CLOCK_MONOTONIC and nothing before start: a
 * run is armed ahead of its start (ARM_LEAD_NS), its start the aligned Unix
 * instant converted to monotonic time; a late wake-up moves the run to a
 * later slot boundary (hl_traffic_arm_start), never off the grid.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>

#include "probes.h"
#include "clock.h"
#include "hist.h"
#include "kernel.h"
#include "log.h"
#include "netaddr.h"
#include "privs.h"
#include "probeutil.h"
#include "traffic.h"
#include "traffic_types.h"
#include "traffic.skel.h"

#define HIST_SCALE 3	     /* exponential histograms of bytes and flows */
#define HIST_MAX_BUCKETS 160 /* per exported histogram */
#define RUN_GRACE_NS 2000000 /* after a run's end, before it is read */
#define ARM_LEAD_NS 50000000 /* wallclock: a run is armed this long before its start */
#define ARM_MARGIN_NS 50000  /* at least this between arming and the start */
#define RUN_GAP_NS 100000000 /* wallclock: between runs of a round (grace, reading) */
#define PLAN_SLACK_NS (5 * ARM_LEAD_NS + RUN_GAP_NS) /* a plan is never further ahead */
#define MAX_GRANS 8
#define N_SERIES_METRICS 7 /* metrics with a point per series */
#define N_CLOCK_METRICS 3
#define N_METRICS (N_SERIES_METRICS + N_CLOCK_METRICS + 1)

static const char *const dir_attr[2] = {"receive", "transmit"};

/* Why a run file could not be written: hostlat.traffic.store.errors{reason}. */
enum store_reason {
	STORE_NO_SPACE,	    /* ENOSPC, EDQUOT */
	STORE_READ_ONLY,    /* EROFS */
	STORE_PERMISSION,   /* EACCES, EPERM */
	STORE_NO_DIRECTORY, /* ENOENT, ENOTDIR: store.dir went away */
	STORE_IO,	    /* EIO */
	STORE_OTHER,
	STORE_REASONS,
};

static const char *const store_reason_names[STORE_REASONS] = {
	"no_space", "read_only", "permission", "no_directory", "io", "other",
};

_Static_assert(sizeof(struct hl_traffic_slot) == 64, "a slot is one cache line");
_Static_assert(HL_TRAFFIC_SKETCH_BITS == 256, "traffic.bpf.c picks a bit with hash >> 24");

struct tseries {
	int iface, gran, dir;
	bool have; /* a run has been folded in */
	/* accumulated by the scheduler thread (under the lock) */
	struct hl_hist bytes_cum, bytes_delta, flows_cum, flows_delta;
	uint64_t bursts, ce_bytes, retrans;
	double peak, interval_peak;
	bool peak_fresh;
	uint64_t run_bursts; /* in the latest run */
	char run_start[40];  /* its start, RFC 3339 UTC with nanoseconds */
	/* what the last collect exported */
	struct hl_hist xb_cum, xb_delta, xf_cum, xf_delta;
	uint64_t x_bursts, x_ce_bytes, x_retrans;
	double x_peak;
};

struct iface {
	char name[IF_NAMESIZE];
	int ifindex;
	uint64_t link_bps; /* 0: unknown */
	bool speed_from_config;
	struct hl_tc_attachment att;
};

struct hl_traffic {
	struct traffic_bpf *skel;
	struct bpf_link *retrans_link;
	struct iface ifaces[HL_TRAFFIC_MAX_IFACES];
	int n_ifaces;
	uint64_t grans[MAX_GRANS];
	char gran_name[MAX_GRANS][16];
	int n_grans;
	uint32_t samples, burst_pct;
	uint64_t every_ns;
	bool aligned;			/* align: wallclock */
	char host[HL_TRAFFIC_HOST_MAX]; /* host.name of the resource, into the run files */
	struct hl_point clock_pts[N_CLOCK_METRICS];
	const char *store_dir; /* NULL: runs are not stored */
	uint64_t store_max_bytes, store_max_age_ns;
	/* failed writes (scheduler thread; the counters under the lock) */
	uint64_t store_logged[4]; /* errnos logged since the last stored run, a bit each */
	uint64_t store_failed;	  /* failed writes since the last stored run */
	uint64_t store_errors[STORE_REASONS], x_store_errors[STORE_REASONS];
	struct hl_point store_pts[STORE_REASONS];
	int ncpus;
	bool idle; /* no interface to sample: does nothing */
	/* scheduler */
	pthread_t thread;
	bool thread_started, stopping;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t run_id;
	/* reading (scheduler thread only) */
	struct hl_traffic_slots slots;
	struct hl_traffic_rundata rd[HL_TRAFFIC_MAX_IFACES];
	/* metrics (under the lock) */
	struct tseries *series;
	size_t n_series;
	struct hl_point *pts;
};

/* ---- small helpers ----------------------------------------------------------------- */

uint32_t hl_traffic_flow_estimate(const uint64_t *words, unsigned int nbits)
{
	unsigned int set = 0;
	double m = nbits;

	for (unsigned int i = 0; i < nbits / 64; i++)
		set += (unsigned int)__builtin_popcountll(words[i]);
	if (!set)
		return 0;
	if (set >= nbits) /* saturated: as if one bit were still clear */
		set = nbits - 1;
	/*
	 * Linear counting: n flows leave m (1 - 1/m)^n bits clear on average,
	 * so n = ln(clear / m) / ln(1 - 1/m). Exact while no two flows share a
	 * bit and n <= 16 (the estimate of k set bits rounds to k).
	 */
	return (uint32_t)lround(log((m - set) / m) / log1p(-1.0 / m));
}

bool hl_traffic_is_burst(uint64_t bytes, uint64_t gran_ns, uint64_t link_bps, uint32_t pct)
{
	/* bytes * 8 / (gran_ns * 1e-9) > link_bps * pct / 100 */
	if (!link_bps || !gran_ns)
		return false;
	return (unsigned __int128)bytes * 8 * 1000000000ULL * 100 >
	       (unsigned __int128)link_bps * pct * gran_ns;
}

uint64_t hl_traffic_align_up(uint64_t t, uint64_t step)
{
	uint64_t r = t % step;

	return r ? t - r + step : t;
}

uint64_t hl_traffic_arm_start(uint64_t planned, uint64_t now, uint64_t gran_ns, uint64_t margin_ns)
{
	if (planned >= now + margin_ns)
		return planned;
	return hl_traffic_align_up(now + margin_ns, gran_ns);
}

/* RFC 3339, UTC, nanoseconds: 2026-12-02T13:05:10.000100000Z */
static void format_rfc3339(uint64_t unix_ns, char *buf, size_t len)
{
	time_t secs = (time_t)(unix_ns / 1000000000ULL);
	struct tm tm;
	size_t n;

	n = gmtime_r(&secs, &tm) ? strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) : 0;
	if (!n)
		n = (size_t)snprintf(buf, len, "%" PRIu64, (uint64_t)secs);
	if (n < len)
		snprintf(buf + n, len - n, ".%09uZ", (unsigned int)(unix_ns % 1000000000ULL));
}

/* The clock line of --check and of the start log; true when synchronized. */
static bool describe_clock(char *buf, size_t len)
{
	struct hl_clock_state c;
	int e = hl_clock_state(&c);
	char maxe[32], este[32];

	if (e) {
		snprintf(buf, len, "cannot be read (adjtimex: %s)", strerror(-e));
		return false;
	}
	hl_format_duration(c.max_error_ns, maxe, sizeof(maxe));
	hl_format_duration(c.est_error_ns, este, sizeof(este));
	snprintf(buf, len, "%s (adjtimex: maximum error %s, estimated error %s)%s",
		 c.synchronized ? "synchronized" : "NOT synchronized", maxe, este,
		 c.synchronized ? ""
				: "; STA_UNSYNC or TIME_ERROR: no time daemon keeps it in step, "
				  "hostlat traffic merge refuses this host's runs");
	return c.synchronized;
}

/* Mbit/s from /sys/class/net/IF/speed; 0 when the interface reports none. */
static uint64_t read_speed_mbps(const char *ifname)
{
	char path[64], buf[32];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/speed", ifname);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		v = strtoll(buf, NULL, 10);
	fclose(f);
	return v > 0 ? (uint64_t)v : 0;
}

/* The interface of the default route (IPv4, else IPv6), or "" when none. */
static void default_route_iface(char *out, size_t len)
{
	char line[512], ifn[64];
	unsigned long best_metric = ~0UL;
	FILE *f = fopen("/proc/net/route", "re");

	out[0] = 0;
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			unsigned long dst, gw, flags, ref, use, metric, mask;

			if (sscanf(line, "%63s %lx %lx %lx %lu %lu %lu %lx", ifn, &dst, &gw, &flags,
				   &ref, &use, &metric, &mask) != 8)
				continue;
			if (dst || mask || !(flags & 1) || metric >= best_metric)
				continue;
			best_metric = metric;
			snprintf(out, len, "%s", ifn);
		}
		fclose(f);
	}
	if (out[0])
		return;
	f = fopen("/proc/net/ipv6_route", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char dst[40], src[40], nh[40];
		unsigned int plen, splen;
		unsigned long metric, ref, use, flags;

		if (sscanf(line, "%39s %x %39s %x %39s %lx %lx %lx %lx %63s", dst, &plen, src,
			   &splen, nh, &metric, &ref, &use, &flags, ifn) != 10)
			continue;
		/* RTF_UP, not RTF_REJECT (the kernel's unreachable default on lo) */
		if (plen || strspn(dst, "0") != 32 || !(flags & 1) || (flags & 0x200) ||
		    !strcmp(ifn, "lo") || metric >= best_metric)
			continue;
		best_metric = metric;
		snprintf(out, len, "%s", ifn);
	}
	fclose(f);
}

/* Does the tcp_retransmit_skb tracepoint pass an error code (Linux 6.15+)? */
static bool retrans_tp_has_err(void)
{
	const struct btf *btf = hl_kernel_btf();
	const struct btf_type *t;
	int id;

	id = btf ? btf__find_by_name_kind(btf, "btf_trace_tcp_retransmit_skb", BTF_KIND_TYPEDEF)
		 : -1;
	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	if (!t || !btf_is_ptr(t))
		return false;
	t = btf__type_by_id(btf, t->type);
	/* (void *ctx, const struct sock *, const struct sk_buff *, int err) */
	return t && btf_is_func_proto(t) && btf_vlen(t) >= 4;
}

static uint64_t mem_per_cpu(int n_ifaces, uint32_t samples)
{
	return (uint64_t)n_ifaces * HL_TRAFFIC_DIRS * samples * sizeof(struct hl_traffic_slot);
}

/* ---- resolving the config ------------------------------------------------------------ */

static const struct hl_traffic_conf *traffic_conf(const struct hl_config *cfg)
{
	return hl_probe_config(cfg, &hl_traffic_probe);
}

/*
 * The host name the run files carry: the resource's host.name from the
 * config, else the Kubernetes node (K8S_NODE_NAME), else the system's.
 */
static void host_name(const struct hl_config *cfg, char *out, size_t len)
{
	const char *env = getenv("K8S_NODE_NAME");

	out[0] = 0;
	for (size_t i = 0; i < cfg->resource.attributes.n; i++)
		if (!strcmp(cfg->resource.attributes.v[i].key, "host.name"))
			snprintf(out, len, "%s", cfg->resource.attributes.v[i].value);
	if (!out[0] && env && *env)
		snprintf(out, len, "%s", env);
	if (!out[0] && gethostname(out, len - 1) != 0)
		out[0] = 0;
	out[len - 1] = 0;
}

/* Interfaces, speeds and granularities; 0 (maybe t->idle) or -errno. */
static int resolve(struct hl_traffic *t, const struct hl_config *cfg, char *err, size_t errlen)
{
	const struct hl_traffic_conf *tc = traffic_conf(cfg);
	const struct hl_strlist *l = &tc->interfaces;
	char def[IF_NAMESIZE + 48];

	t->samples = tc->samples;
	t->every_ns = tc->every_ns;
	t->aligned = tc->align == HL_TRAFFIC_ALIGN_WALLCLOCK;
	host_name(cfg, t->host, sizeof(t->host));
	t->burst_pct = tc->burst_threshold;
	t->n_grans = (int)(tc->granularities.n < MAX_GRANS ? tc->granularities.n : MAX_GRANS);
	for (int g = 0; g < t->n_grans; g++) {
		t->grans[g] = tc->granularities.v[g];
		hl_format_duration(t->grans[g], t->gran_name[g], sizeof(t->gran_name[g]));
	}
	if (!l->n) {
		default_route_iface(def, sizeof(def));
		if (!def[0] || strlen(def) >= IF_NAMESIZE) {
			t->idle = true;
			return 0;
		}
	}
	for (size_t i = 0; i < (l->n ? l->n : 1) && i < HL_TRAFFIC_MAX_IFACES; i++) {
		struct iface *f = &t->ifaces[t->n_ifaces];
		const char *name = l->n ? l->v[i] : def;
		uint64_t mbps;

		snprintf(f->name, sizeof(f->name), "%s", name);
		f->ifindex = (int)if_nametoindex(name);
		if (!f->ifindex) {
			snprintf(err, errlen,
				 "probes.traffic.interfaces: no interface named '%s' in the "
				 "agent's network namespace",
				 name);
			return -ENODEV;
		}
		mbps = read_speed_mbps(name);
		if (!mbps && tc->link_speed) {
			mbps = tc->link_speed;
			f->speed_from_config = true;
		}
		f->link_bps = mbps * 1000000ULL;
		t->n_ifaces++;
	}
	return 0;
}

static void describe_ifaces(const struct hl_traffic *t, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; i < t->n_ifaces && off < len; i++) {
		const struct iface *f = &t->ifaces[i];

		if (f->link_bps)
			off += (size_t)snprintf(buf + off, len - off, "%s%s (%" PRIu64 " Mbit/s%s)",
						i ? ", " : "", f->name, f->link_bps / 1000000,
						f->speed_from_config ? ", from the config" : "");
		else
			off += (size_t)snprintf(buf + off, len - off,
						"%s%s (speed unknown: no bursts counted)",
						i ? ", " : "", f->name);
	}
}

/* ---- start / stop ---------------------------------------------------------------------- */

static int series_init(struct hl_traffic *t)
{
	t->n_series = (size_t)t->n_ifaces * t->n_grans * HL_TRAFFIC_DIRS;
	t->series = calloc(t->n_series, sizeof(*t->series));
	t->pts = calloc(t->n_series * N_SERIES_METRICS, sizeof(*t->pts));
	if (!t->series || !t->pts)
		return -ENOMEM;
	for (size_t k = 0; k < t->n_series; k++) {
		struct tseries *s = &t->series[k];
		struct hl_hist *h[] = {&s->bytes_cum,	&s->bytes_delta, &s->flows_cum,
				       &s->flows_delta, &s->xb_cum,	 &s->xb_delta,
				       &s->xf_cum,	&s->xf_delta};

		s->dir = (int)(k % HL_TRAFFIC_DIRS);
		s->gran = (int)(k / HL_TRAFFIC_DIRS % (size_t)t->n_grans);
		s->iface = (int)(k / HL_TRAFFIC_DIRS / (size_t)t->n_grans);
		for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
			if (hl_hist_init(h[i], HIST_MAX_BUCKETS, HIST_SCALE))
				return -ENOMEM;
			h[i]->raw_values = true;
		}
	}
	return 0;
}

static struct tseries *series_of(struct hl_traffic *t, int iface, int gran, int dir)
{
	return &t->series[((size_t)iface * t->n_grans + gran) * HL_TRAFFIC_DIRS + dir];
}

static int buffers_init(struct hl_traffic *t)
{
	t->slots.fd = -1; /* set after load */
	t->slots.ncpus = t->ncpus;
	t->slots.n_ifaces = t->n_ifaces;
	t->slots.samples = t->samples;
	for (int i = 0; i < t->n_ifaces; i++) {
		struct hl_traffic_rundata *r = &t->rd[i];

		snprintf(r->ifname, sizeof(r->ifname), "%s", t->ifaces[i].name);
		r->link_bps = t->ifaces[i].link_bps;
		r->burst_pct = t->burst_pct;
		r->samples[0] = calloc(t->samples, sizeof(*r->samples[0]));
		r->samples[1] = calloc(t->samples, sizeof(*r->samples[1]));
		if (!r->samples[0] || !r->samples[1])
			return -ENOMEM;
	}
	return 0;
}

static void *scheduler(void *arg);

static void traffic_stop(void *state)
{
	struct hl_traffic *t = state;

	if (!t)
		return;
	if (t->thread_started) {
		pthread_mutex_lock(&t->lock);
		t->stopping = true;
		pthread_cond_signal(&t->cond);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->thread, NULL);
	}
	if (t->skel && t->skel->bss)
		__atomic_store_n(&t->skel->bss->run.end_ns, 0, __ATOMIC_SEQ_CST);
	for (int i = 0; i < t->n_ifaces; i++)
		hl_tc_detach(&t->ifaces[i].att);
	bpf_link__destroy(t->retrans_link);
	traffic_bpf__destroy(t->skel);
	for (size_t k = 0; t->series && k < t->n_series; k++) {
		struct tseries *s = &t->series[k];

		hl_hist_free(&s->bytes_cum);
		hl_hist_free(&s->bytes_delta);
		hl_hist_free(&s->flows_cum);
		hl_hist_free(&s->flows_delta);
		hl_hist_free(&s->xb_cum);
		hl_hist_free(&s->xb_delta);
		hl_hist_free(&s->xf_cum);
		hl_hist_free(&s->xf_delta);
	}
	for (int i = 0; i < HL_TRAFFIC_MAX_IFACES; i++)
		hl_traffic_rundata_free(&t->rd[i]);
	free(t->series);
	free(t->pts);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
	free(t);
}

/* Open the object and set it up for t; the retransmit program only if wanted. */
static int open_configured(struct hl_traffic *t, bool retrans)
{
	struct traffic_bpf__rodata *ro;

	t->skel = traffic_bpf__open();
	if (!t->skel)
		return errno ? -errno : -ENOMEM;
	ro = t->skel->rodata;
	ro->n_ifaces = (__u32)t->n_ifaces;
	for (int i = 0; i < t->n_ifaces; i++)
		ro->if_index[i] = (__u32)t->ifaces[i].ifindex;
	ro->samples = t->samples;
	ro->n_cpus = (__u32)t->ncpus;
	ro->netns_ino = hl_self_netns_ino();
	ro->retrans_has_err = retrans_tp_has_err();
	bpf_map__set_max_entries(t->skel->maps.slots,
				 hl_traffic_slot_entries(t->ncpus, t->n_ifaces, t->samples));
	if (!retrans)
		bpf_program__set_autoload(t->skel->progs.hl_traffic_retransmit, false);
	return 0;
}

static int load(struct hl_traffic *t, char *err, size_t errlen)
{
	bool retrans = hl_kernel_has_tp_btf("tcp_retransmit_skb");
	int e;

	hl_bpf_failure_reset();
	e = open_configured(t, retrans);
	if (!e)
		e = traffic_bpf__load(t->skel);
	if (e && retrans) {
		/* Retransmits are an extra: run without them rather than not at all. */
		hl_warn("traffic",
			"the kernel refused the retransmit program (%s): retransmits are not "
			"counted",
			strerror(-e));
		traffic_bpf__destroy(t->skel);
		retrans = false;
		hl_bpf_failure_reset();
		e = open_configured(t, false);
		if (!e)
			e = traffic_bpf__load(t->skel);
	} else if (!retrans) {
		hl_warn("traffic", "this kernel has no tcp_retransmit_skb tracepoint: "
				   "retransmits are not counted");
	}
	if (e) {
		hl_bpf_load_error(e, "the traffic programs", err, errlen);
		return e;
	}
	if (retrans) {
		t->retrans_link = bpf_program__attach(t->skel->progs.hl_traffic_retransmit);
		if (!t->retrans_link)
			hl_warn("traffic",
				"cannot attach tp_btf/tcp_retransmit_skb (%s): retransmits are not "
				"counted",
				strerror(errno));
	}
	return 0;
}

static void *traffic_start(const struct hl_config *cfg, char *err, size_t errlen)
{
	const struct hl_traffic_conf *tc = traffic_conf(cfg);
	struct hl_traffic *t = calloc(1, sizeof(*t));
	pthread_condattr_t ca;
	char desc[1024];
	int e;

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	t->ncpus = libbpf_num_possible_cpus();
	if (t->ncpus <= 0) {
		snprintf(err, errlen, "cannot count possible CPUs");
		goto fail;
	}
	e = resolve(t, cfg, err, errlen);
	if (e)
		goto fail;
	if (t->idle) {
		hl_info("traffic", "no interface to sample: the agent's network namespace has no "
				   "default route and probes.traffic.interfaces is empty; traffic "
				   "sampling is off");
		return t;
	}
	if (!hl_kernel_btf()) {
		snprintf(err, errlen, "%s", hl_kernel_btf_error());
		goto fail;
	}
	if (!hl_traffic_slot_entries(t->ncpus, t->n_ifaces, t->samples)) {
		snprintf(err, errlen,
			 "probes.traffic: %u samples x %d interfaces x 2 directions x %d CPUs is "
			 "more slots than one BPF array can hold: lower samples or interfaces",
			 t->samples, t->n_ifaces, t->ncpus);
		goto fail;
	}
	if (series_init(t) || buffers_init(t)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	e = load(t, err, errlen);
	if (e)
		goto fail;
	t->slots.fd = bpf_map__fd(t->skel->maps.slots);
	for (int i = 0; i < t->n_ifaces; i++) {
		const int fds[2] = {bpf_program__fd(t->skel->progs.hl_traffic_ingress),
				    bpf_program__fd(t->skel->progs.hl_traffic_egress)};
		char why[512] = "";

		e = hl_tc_attach(&t->ifaces[i].att, t->ifaces[i].ifindex, fds, tc->attach, why,
				 sizeof(why));
		if (e) {
			snprintf(err, errlen, "interface %s: %s", t->ifaces[i].name, why);
			goto fail;
		}
	}
	if (tc->store.max_bytes) {
		char why[1024], warn[1024];

		/* Refused once here rather than failing (and keeping capabilities) every run. */
		if (hl_traffic_store_check_dir(tc->store.dir, true, why, sizeof(why), warn,
					       sizeof(warn))) {
			hl_err("traffic", "store.dir %s; runs are not stored", why);
		} else {
			if (warn[0])
				hl_warn("traffic", "store.dir %s; runs are stored there", warn);
			t->store_dir = tc->store.dir;
		}
		t->store_max_bytes = tc->store.max_bytes;
		t->store_max_age_ns = tc->store.max_age_ns;
	}
	describe_ifaces(t, desc, sizeof(desc));
	{
		char grans[MAX_GRANS * 18] = "", every[32];
		uint64_t round_ns = 0;
		size_t off = 0;

		for (int g = 0; g < t->n_grans; g++) {
			off += (size_t)snprintf(grans + off, sizeof(grans) - off, "%s%s",
						g ? ", " : "", t->gran_name[g]);
			round_ns += t->grans[g] * t->samples;
		}
		hl_format_duration(t->every_ns, every, sizeof(every));
		hl_info("traffic",
			"sampling %s via %s: %u samples of %s every %s; %" PRIu64
			" bytes of kernel memory per CPU",
			desc, t->ifaces[0].att.tcx ? "tcx" : "tc clsact", t->samples, grans, every,
			mem_per_cpu(t->n_ifaces, t->samples));
		if (t->aligned) {
			bool sync = describe_clock(desc, sizeof(desc));

			if (sync)
				hl_info("traffic",
					"runs aligned to UTC multiples of every; clock %s", desc);
			else
				hl_warn("traffic",
					"runs aligned to UTC multiples of every; clock %s", desc);
		}
		if (round_ns > t->every_ns)
			hl_warn("traffic",
				"a round of runs takes %.3gs, longer than every (%s): rounds "
				"follow "
				"each other back to back",
				round_ns * 1e-9, every);
	}
	if (pthread_create(&t->thread, NULL, scheduler, t)) {
		snprintf(err, errlen, "cannot start the scheduler thread");
		goto fail;
	}
	t->thread_started = true;
	return t;
fail:
	traffic_stop(t);
	return NULL;
}

/* ---- runs ------------------------------------------------------------------------------- */

/* Wait with the lock held until mono time `until` or stop; true when stopping. */
static bool wait_until(struct hl_traffic *t, uint64_t until)
{
	while (!t->stopping) {
		struct timespec ts = {.tv_sec = (time_t)(until / 1000000000ULL),
				      .tv_nsec = (long)(until % 1000000000ULL)};

		if (hl_mono_ns() >= until)
			break;
		pthread_cond_timedwait(&t->cond, &t->lock, &ts);
	}
	return t->stopping;
}

/* ---- reading the slots ------------------------------------------------------------- */

uint32_t hl_traffic_slot_entries(int ncpus, int n_ifaces, uint32_t samples)
{
	uint64_t n = (uint64_t)(ncpus > 0 ? ncpus : 0) * (uint64_t)(n_ifaces > 0 ? n_ifaces : 0) *
		     HL_TRAFFIC_DIRS * samples;

	return n <= UINT32_MAX ? (uint32_t)n : 0;
}

void hl_traffic_read_slots(struct hl_traffic_slots *s, uint32_t id, struct hl_traffic_rundata *rd)
{
	size_t keys = (size_t)s->n_ifaces * HL_TRAFFIC_DIRS * s->samples;
	size_t len = keys * (size_t)s->ncpus * sizeof(struct hl_traffic_slot);
	const struct hl_traffic_slot *all = NULL;
	struct hl_traffic_slot one;

	/*
	 * Mapped for this read only: the pages would otherwise stay in the
	 * agent's resident set between runs.
	 */
	if (!s->no_mmap && len) {
		void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, s->fd, 0);

		if (m == MAP_FAILED) /* this run only: the next one tries again */
			hl_warn("traffic",
				"cannot map the slots (%s): this run read one element at a time",
				strerror(errno));
		else
			all = m;
	}
	for (size_t k = 0; k < keys; k++) {
		uint32_t i = (uint32_t)(k % s->samples),
			 dir = (uint32_t)(k / s->samples % HL_TRAFFIC_DIRS),
			 ifc = (uint32_t)(k / s->samples / HL_TRAFFIC_DIRS);
		struct hl_traffic_sample *x = &rd[ifc].samples[dir][i];
		uint64_t sk[HL_TRAFFIC_SKETCH_WORDS] = {0}; /* OR of the CPUs' bitmaps */

		memset(x, 0, sizeof(*x));
		for (int c = 0; c < s->ncpus; c++) {
			const struct hl_traffic_slot *v = &one;
			__u32 key = (__u32)((size_t)c * keys + k);

			if (all)
				v = &all[key];
			else if (bpf_map_lookup_elem(s->fd, &key, &one))
				continue; /* cannot be read: zero */
			if (v->run != id)
				continue;
			x->bytes += v->bytes;
			x->ce_bytes += v->ce_bytes;
			x->packets += v->packets;
			x->retrans += v->retrans;
			for (int w = 0; w < HL_TRAFFIC_SKETCH_WORDS; w++)
				sk[w] |= v->flows[w];
		}
		x->flows = hl_traffic_flow_estimate(sk, HL_TRAFFIC_SKETCH_BITS);
	}
	if (all)
		munmap((void *)all, len);
}

/* Fold a finished run of granularity g into the series (lock held). */
static void fold_run(struct hl_traffic *t, int g)
{
	for (int i = 0; i < t->n_ifaces; i++) {
		const struct hl_traffic_rundata *r = &t->rd[i];

		for (int d = 0; d < HL_TRAFFIC_DIRS; d++) {
			struct tseries *s = series_of(t, i, g, d);
			uint64_t peak = 0, bursts = 0;

			for (uint32_t k = 0; k < r->n; k++) {
				const struct hl_traffic_sample *x = &r->samples[d][k];
				/* each exact index (bignum arithmetic) once for both */
				int32_t bi = hl_exph_index_int(HIST_SCALE, x->bytes);
				int32_t fi = hl_exph_index_int(HIST_SCALE, x->flows);

				hl_hist_record_at(&s->bytes_cum, HIST_SCALE, bi, x->bytes);
				hl_hist_record_at(&s->bytes_delta, HIST_SCALE, bi, x->bytes);
				hl_hist_record_at(&s->flows_cum, HIST_SCALE, fi, x->flows);
				hl_hist_record_at(&s->flows_delta, HIST_SCALE, fi, x->flows);
				if (hl_traffic_is_burst(x->bytes, r->gran_ns, r->link_bps,
							r->burst_pct))
					bursts++;
				s->ce_bytes += x->ce_bytes;
				s->retrans += x->retrans;
				if (x->bytes > peak)
					peak = x->bytes;
			}
			s->bursts += bursts;
			s->run_bursts = bursts;
			format_rfc3339(r->start_unix_ns, s->run_start, sizeof(s->run_start));
			s->peak = (double)peak * 1e9 / (double)r->gran_ns;
			if (!s->peak_fresh || s->peak > s->interval_peak)
				s->interval_peak = s->peak;
			s->peak_fresh = true;
			s->have = true;
		}
	}
}

static enum store_reason store_reason(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
		return STORE_NO_SPACE;
	case EROFS:
		return STORE_READ_ONLY;
	case EACCES:
	case EPERM:
		return STORE_PERMISSION;
	case ENOENT:
	case ENOTDIR:
		return STORE_NO_DIRECTORY;
	case EIO:
		return STORE_IO;
	default:
		return STORE_OTHER;
	}
}

/*
 * A run file written (e 0) or not (-errno): counted, and each kind of
 * error logged once until a run is stored again (a full disk fails every
 * run; its log must not grow with it).
 */
static void store_result(struct hl_traffic *t, int e, const char *path)
{
	unsigned int bit = -e < 256 ? (unsigned int)-e : 255;
	const char *name;

	if (!e) {
		hl_debug("traffic", "stored %s", path);
		if (t->store_failed)
			hl_info("traffic",
				"runs are stored in %s again, after %" PRIu64 " failed writes",
				t->store_dir, t->store_failed);
		t->store_failed = 0;
		memset(t->store_logged, 0, sizeof(t->store_logged));
		return;
	}
	pthread_mutex_lock(&t->lock);
	t->store_errors[store_reason(-e)]++;
	pthread_mutex_unlock(&t->lock);
	t->store_failed++;
	if (t->store_logged[bit / 64] & (1ULL << (bit % 64)))
		return;
	t->store_logged[bit / 64] |= 1ULL << (bit % 64);
	name = strerrorname_np(-e);
	hl_warn("traffic",
		"cannot store runs in %s: %s (%s); not logged again until a run is stored, "
		"hostlat.traffic.store.errors counts the failures",
		t->store_dir, strerror(-e), name ? name : "?");
}

/* The run's slots into t->rd, before the next run can reuse them. */
static void read_run(struct hl_traffic *t, int g, uint32_t id, uint64_t start_unix,
		     const struct hl_clock_state *clk)
{
	hl_traffic_read_slots(&t->slots, id, t->rd);
	for (int i = 0; i < t->n_ifaces; i++) {
		struct hl_traffic_rundata *r = &t->rd[i];

		r->gran_ns = t->grans[g];
		r->n = t->samples;
		r->start_unix_ns = start_unix;
		r->version = HL_TRAFFIC_STORE_VERSION;
		snprintf(r->host, sizeof(r->host), "%s", t->host);
		r->aligned = t->aligned;
		r->clock_known = true;
		r->clock = *clk;
	}
}

/* Store the run read into t->rd and fold it into the metrics. */
static void finish_run(struct hl_traffic *t, int g)
{
	char path[4096];

	if (t->store_dir) {
		for (int i = 0; i < t->n_ifaces; i++) {
			int e = hl_traffic_store_write(t->store_dir, &t->rd[i], path, sizeof(path));

			store_result(t, e, path);
		}
		hl_traffic_store_prune(t->store_dir, t->store_max_bytes, t->store_max_age_ns);
	}
	pthread_mutex_lock(&t->lock);
	fold_run(t, g);
	pthread_mutex_unlock(&t->lock);
}

/*
 * Wait (lock held) until ARM_LEAD_NS before Unix time *at, following the
 * realtime clock if it is set meanwhile. A clock set back (the plan more
 * than every, or step, ahead) makes *at the next multiple of step instead
 * of a wait of that long. true when stopping.
 */
static bool wait_until_unix(struct hl_traffic *t, uint64_t *at, uint64_t step)
{
	for (;;) {
		int64_t off = hl_realtime_offset_ns();
		uint64_t now = (uint64_t)((int64_t)hl_mono_ns() + off);

		if (t->stopping)
			return true;
		/* beyond what any plan reaches: the next step boundary is at most step away */
		if (*at > now + (t->every_ns > step ? t->every_ns : step) + PLAN_SLACK_NS) {
			hl_info("traffic",
				"the realtime clock was set back (the next run was %.3f s "
				"away): runs planned anew",
				(double)(*at - now) * 1e-9);
			*at = hl_traffic_align_up(now + ARM_LEAD_NS, step);
		}
		if (*at <= now + ARM_LEAD_NS)
			return false;
		wait_until(t, (uint64_t)((int64_t)(*at - ARM_LEAD_NS) - off));
	}
}

/*
 * Arm run id of granularity g. wallclock: at the Unix time planned (or
 * the next slot boundary when that is too close or past); start: now.
 * The run's Unix and monotonic starts go to *start_unix, *start_mono.
 */
static void arm_run(struct hl_traffic *t, struct hl_traffic_run *run, int g, uint32_t id,
		    uint64_t planned, uint64_t *start_unix, uint64_t *start_mono)
{
	uint64_t gran = t->grans[g], mono, unix_start;

	__atomic_store_n(&run->end_ns, 0, __ATOMIC_SEQ_CST);
	run->gran_ns = gran;
	run->samples = t->samples;
	run->id = id;
	if (t->aligned) {
		int64_t off = hl_realtime_offset_ns();
		uint64_t now = (uint64_t)((int64_t)hl_mono_ns() + off);

		unix_start = hl_traffic_arm_start(planned, now, gran, ARM_MARGIN_NS);
		if (unix_start != planned) {
			hl_info("traffic",
				"run of %s armed %.3f ms after its planned start: starts %" PRIu64
				" slots later",
				t->gran_name[g], ((double)now - (double)planned) * 1e-6,
				(unix_start - planned) / gran);
		}
		mono = (uint64_t)((int64_t)unix_start - off);
	} else {
		unix_start = hl_unix_ns();
		mono = hl_mono_ns();
	}
	run->start_ns = mono;
	__atomic_store_n(&run->end_ns, mono + gran * t->samples, __ATOMIC_RELEASE);
	*start_unix = unix_start;
	*start_mono = mono;
}

static void *scheduler(void *arg)
{
	struct hl_traffic *t = arg;
	struct hl_traffic_run *run = &t->skel->bss->run;
	uint64_t round = hl_mono_ns(), round_unix = 0, next_unix = 0;
	bool pending = false; /* a run read into t->rd, not yet stored */
	int pending_g = 0;

	pthread_mutex_lock(&t->lock);
	if (t->aligned)
		round_unix = hl_traffic_align_up(hl_unix_ns() + 5 * ARM_LEAD_NS, t->every_ns);
	while (!t->stopping) {
		for (int g = 0; g < t->n_grans && !t->stopping; g++) {
			uint64_t start_mono, start_unix, planned = 0,
							 dur = t->grans[g] * t->samples;
			struct hl_clock_state clk;
			uint32_t id;

			if (t->aligned) {
				if (!g && wait_until_unix(t, &round_unix, t->every_ns))
					break;
				planned = hl_traffic_align_up(g ? next_unix : round_unix,
							      t->grans[g]);
				if (wait_until_unix(t, &planned, t->grans[g]))
					break;
			}
			id = ++t->run_id ? t->run_id : ++t->run_id;
			hl_clock_state(&clk);
			arm_run(t, run, g, id, planned, &start_unix, &start_mono);
			if (pending) { /* the previous run, stored while this one samples */
				pthread_mutex_unlock(&t->lock);
				finish_run(t, pending_g);
				pthread_mutex_lock(&t->lock);
				pending = false;
			}
			if (wait_until(t, start_mono + dur + RUN_GRACE_NS))
				break;
			__atomic_store_n(&run->end_ns, 0, __ATOMIC_SEQ_CST);
			read_run(t, g, id, start_unix, &clk);
			pending = true;
			pending_g = g;
			next_unix = start_unix + dur + RUN_GAP_NS;
		}
		if (t->stopping)
			break;
		if (pending && !t->aligned) { /* as before: stored before the round's wait */
			pthread_mutex_unlock(&t->lock);
			finish_run(t, pending_g);
			pthread_mutex_lock(&t->lock);
			pending = false;
		}
		if (t->aligned) {
			uint64_t now = hl_unix_ns();

			/* Longer than every: the next multiple of every, like every other host. */
			round_unix += t->every_ns;
			if (round_unix < now + ARM_LEAD_NS)
				round_unix = hl_traffic_align_up(now + ARM_LEAD_NS, t->every_ns);
			if (pending && round_unix > now + ARM_LEAD_NS + RUN_GAP_NS) {
				pthread_mutex_unlock(&t->lock);
				finish_run(t, pending_g);
				pthread_mutex_lock(&t->lock);
				pending = false;
			}
			continue;
		}
		round += t->every_ns;
		if (round < hl_mono_ns())
			round = hl_mono_ns();
		wait_until(t, round);
	}
	__atomic_store_n(&run->end_ns, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&t->lock);
	if (pending) /* read before the stop: stored, not lost */
		finish_run(t, pending_g);
	return NULL;
}

/* ---- collection ------------------------------------------------------------------------ */

static void copy_hist(struct hl_hist *dst, const struct hl_hist *src)
{
	hl_hist_reset(dst, src->scale);
	hl_hist_merge(dst, src);
}

static void point_init(struct hl_point *p, const struct hl_traffic *t, const struct tseries *s,
		       bool with_dir)
{
	memset(p, 0, sizeof(*p));
	if (with_dir)
		hl_point_attr(p, "network.io.direction", dir_attr[s->dir]);
	hl_point_attr(p, "network.interface.name", t->ifaces[s->iface].name);
	hl_point_attr(p, "hostlat.granularity", t->gran_name[s->gran]);
}

static int traffic_collect(void *state, struct hl_metric *out, size_t max)
{
	struct hl_traffic *t = state;
	struct hl_point *pb, *pf, *pp, *pr, *pc, *pt, *pu;
	size_t nb = 0, nf = 0, np = 0, nr = 0, nc = 0, nt = 0, nu = 0;
	struct hl_clock_state clk;
	bool clk_ok;

	if (t->idle)
		return 0;
	if (max < N_METRICS)
		return -ENOSPC;
	pb = t->pts;
	pf = pb + t->n_series;
	pp = pf + t->n_series;
	pr = pp + t->n_series;
	pc = pr + t->n_series;
	pt = pc + t->n_series;
	pu = pt + t->n_series;
	clk_ok = hl_clock_state(&clk) == 0;
	for (int k = 0; k < N_CLOCK_METRICS; k++)
		memset(&t->clock_pts[k], 0, sizeof(t->clock_pts[k]));
	t->clock_pts[0].gauge = clk.synchronized ? 1 : 0;
	t->clock_pts[1].gauge = (double)clk.max_error_ns * 1e-9;
	t->clock_pts[2].gauge = (double)clk.est_error_ns * 1e-9;
	pthread_mutex_lock(&t->lock);
	for (int k = 0; k < STORE_REASONS; k++) {
		struct hl_point *p = &t->store_pts[k];

		memset(p, 0, sizeof(*p));
		hl_point_attr(p, "reason", store_reason_names[k]);
		hl_point_counter(p, t->store_errors[k], t->x_store_errors[k]);
		t->x_store_errors[k] = t->store_errors[k];
	}
	for (size_t k = 0; k < t->n_series; k++) {
		struct tseries *s = &t->series[k];
		struct hl_point *p;

		if (!s->have)
			continue;
		copy_hist(&s->xb_cum, &s->bytes_cum);
		copy_hist(&s->xb_delta, &s->bytes_delta);
		copy_hist(&s->xf_cum, &s->flows_cum);
		copy_hist(&s->xf_delta, &s->flows_delta);
		hl_hist_reset(&s->bytes_delta, HIST_SCALE);
		hl_hist_reset(&s->flows_delta, HIST_SCALE);
		if (s->peak_fresh) {
			s->x_peak = s->interval_peak;
			s->peak_fresh = false;
		}

		p = &pb[nb++];
		point_init(p, t, s, true);
		p->cumulative = &s->xb_cum;
		p->delta = &s->xb_delta;
		p = &pf[nf++];
		point_init(p, t, s, true);
		p->cumulative = &s->xf_cum;
		p->delta = &s->xf_delta;
		p = &pp[np++];
		point_init(p, t, s, true);
		p->gauge = s->x_peak;
		if (t->ifaces[s->iface].link_bps) {
			p = &pr[nr++];
			point_init(p, t, s, true);
			hl_point_counter(p, s->bursts, s->x_bursts);
			s->x_bursts = s->bursts;
			p = &pu[nu++];
			point_init(p, t, s, true);
			hl_point_attr(p, "hostlat.run.start", s->run_start);
			p->gauge = (double)s->run_bursts;
		}
		if (s->dir == HL_TRAFFIC_RX) {
			p = &pc[nc++];
			point_init(p, t, s, false);
			hl_point_counter(p, s->ce_bytes, s->x_ce_bytes);
			s->x_ce_bytes = s->ce_bytes;
		} else {
			p = &pt[nt++];
			point_init(p, t, s, false);
			hl_point_counter(p, s->retrans, s->x_retrans);
			s->x_retrans = s->retrans;
		}
	}
	pthread_mutex_unlock(&t->lock);

	out[0] = (struct hl_metric){
		.name = "hostlat.traffic.sample.bytes",
		.description = "Bytes per sample of the traffic sampling runs",
		.unit = "By",
		.kind = HL_METRIC_EXPHIST,
		.points = pb,
		.n_points = nb,
	};
	out[1] = (struct hl_metric){
		.name = "hostlat.traffic.peak.rate",
		.description = "Highest per-sample rate of the latest run",
		.unit = "By/s",
		.kind = HL_METRIC_GAUGE,
		.points = pp,
		.n_points = np,
	};
	out[2] = (struct hl_metric){
		.name = "hostlat.traffic.bursts",
		.description = "Samples whose rate exceeded burst_threshold of the link speed",
		.unit = "{sample}",
		.kind = HL_METRIC_COUNTER,
		.points = pr,
		.n_points = nr,
	};
	out[3] = (struct hl_metric){
		.name = "hostlat.traffic.ecn.ce.bytes",
		.description = "Bytes received with ECN Congestion Experienced during runs",
		.unit = "By",
		.kind = HL_METRIC_COUNTER,
		.points = pc,
		.n_points = nc,
	};
	out[4] = (struct hl_metric){
		.name = "hostlat.traffic.retransmits",
		.description = "TCP segments retransmitted during runs",
		.unit = "{segment}",
		.kind = HL_METRIC_COUNTER,
		.points = pt,
		.n_points = nt,
	};
	out[5] = (struct hl_metric){
		.name = "hostlat.traffic.flows",
		.description = "Active flows per sample (linear-counting estimate)",
		.unit = "{flow}",
		.kind = HL_METRIC_EXPHIST,
		.points = pf,
		.n_points = nf,
	};
	out[6] = (struct hl_metric){
		.name = "hostlat.traffic.run.bursts",
		.description = "Samples of the latest run in which the interface was bursting",
		.unit = "{sample}",
		.kind = HL_METRIC_GAUGE,
		.points = pu,
		.n_points = nu,
	};
	out[7] = (struct hl_metric){
		.name = "hostlat.clock.synchronized",
		.description = "1 when the kernel says its clock is synchronized (adjtimex)",
		.unit = "1",
		.kind = HL_METRIC_GAUGE,
		.points = &t->clock_pts[0],
		.n_points = 1,
	};
	out[8] = (struct hl_metric){
		.name = "hostlat.clock.max_error",
		.description = "The kernel's bound on its clock's error (adjtimex maxerror)",
		.unit = "s",
		.kind = HL_METRIC_GAUGE,
		.points = &t->clock_pts[1],
		.n_points = clk_ok,
	};
	out[9] = (struct hl_metric){
		.name = "hostlat.clock.estimated_error",
		.description =
			"The time daemon's estimate of the clock's error (adjtimex esterror)",
		.unit = "s",
		.kind = HL_METRIC_GAUGE,
		.points = &t->clock_pts[2],
		.n_points = clk_ok,
	};
	if (!t->store_dir)
		return N_SERIES_METRICS + N_CLOCK_METRICS;
	out[10] = (struct hl_metric){
		.name = "hostlat.traffic.store.errors",
		.description = "Run files that could not be written to store.dir, by reason",
		.unit = "{file}",
		.kind = HL_METRIC_COUNTER,
		.points = t->store_pts,
		.n_points = STORE_REASONS,
	};
	return N_METRICS;
}

/* ---- config (probes.traffic) ------------------------------------------------------------ */

#define OFF(field) offsetof(struct hl_traffic_conf, field)

static const char *const attach_names[] = {
	[HL_TRAFFIC_ATTACH_AUTO] = "auto",
	[HL_TRAFFIC_ATTACH_TCX] = "tcx",
	[HL_TRAFFIC_ATTACH_TC] = "tc",
	NULL,
};

static const char *const align_names[] = {
	[HL_TRAFFIC_ALIGN_WALLCLOCK] = "wallclock",
	[HL_TRAFFIC_ALIGN_START] = "start",
	NULL,
};

static const struct hl_option store_options[] = {
	{.name = "dir",
	 .type = HL_OPT_STRING,
	 .offset = OFF(store.dir),
	 .def = "/var/lib/hostlat/traffic",
	 .help = "directory of the stored runs (created if missing, mode 0755); one "
		 "gzip-compressed CSV file per run and interface; refused at start when it is "
		 "not a directory or users other than root can change it"},
	{.name = "max_bytes",
	 .type = HL_OPT_UINT,
	 .offset = OFF(store.max_bytes),
	 .def = "104857600",
	 .min = 0,
	 .max = UINT32_MAX,
	 .help = "most bytes of stored runs; the oldest files are deleted beyond it; 0: store "
		 "nothing"},
	{.name = "max_age",
	 .type = HL_OPT_DURATION,
	 .offset = OFF(store.max_age_ns),
	 .def = "24h",
	 .min = HL_SEC(60),
	 .max = HL_SEC(366 * 86400),
	 .help = "stored runs older than this are deleted"},
	{0},
};

static const struct hl_option traffic_options[] = {
	{.name = "enabled",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(enabled),
	 .def = "true",
	 .help = "sample traffic in fine time slots (microbursts)"},
	{.name = "interfaces",
	 .type = HL_OPT_STRLIST,
	 .offset = OFF(interfaces),
	 .def = "[]",
	 .max = HL_TRAFFIC_MAX_IFACES,
	 .help = "interfaces to sample (names in the agent's network namespace); empty: the "
		 "interface of the default route (none: the probe is off)",
	 .check = hl_check_ifname},
	{.name = "granularities",
	 .type = HL_OPT_DURLIST,
	 .offset = OFF(granularities),
	 .def = "[100us, 1ms]",
	 .min = HL_SEC(1) / 100000, /* 10us */
	 .max = HL_SEC(10),
	 .help = "sample lengths: each round runs one run per granularity, one after the other"},
	{.name = "samples",
	 .type = HL_OPT_UINT,
	 .offset = OFF(samples),
	 .def = "2000",
	 .min = 10,
	 .max = 100000,
	 .help = "samples per run; kernel memory per CPU is 128 bytes x samples x interfaces"},
	{.name = "every",
	 .type = HL_OPT_DURATION,
	 .offset = OFF(every_ns),
	 .def = "10s",
	 .min = HL_SEC(1),
	 .max = HL_SEC(86400),
	 .help = "a round of runs starts this often (align wallclock: at the next multiple of "
		 "every when its runs take longer; start: right after the previous round)"},
	{.name = "align",
	 .type = HL_OPT_ENUM,
	 .offset = OFF(align),
	 .def = "wallclock",
	 .names = align_names,
	 .help = "wallclock: rounds start on multiples of every and runs on multiples of their "
		 "granularity in UTC, so hosts with synchronized clocks sample the same slots "
		 "(hostlat traffic merge); start: rounds counted from the agent's start"},
	{.name = "burst_threshold",
	 .type = HL_OPT_UINT,
	 .offset = OFF(burst_threshold),
	 .def = "50",
	 .min = 1,
	 .max = 100,
	 .help = "a sample whose rate exceeds this percentage of the link speed is a burst"},
	{.name = "link_speed",
	 .type = HL_OPT_UINT,
	 .offset = OFF(link_speed),
	 .def = "0",
	 .min = 0,
	 .max = 10000000,
	 .help = "link speed in Mbit/s for interfaces that report none in "
		 "/sys/class/net/IF/speed; 0: no bursts are counted there"},
	{.name = "attach",
	 .type = HL_OPT_ENUM,
	 .offset = OFF(attach),
	 .def = "auto",
	 .names = attach_names,
	 .help = "tcx: tcx links (Linux 6.6+); tc: a clsact qdisc filter, removed on exit; "
		 "auto: tcx where the kernel has it, else tc"},
	{.name = "store",
	 .type = HL_OPT_SECTION,
	 .sub = store_options,
	 .help = "raw runs kept on local disk"},
	{0},
};

/* ---- the probe module -------------------------------------------------------------------- */

static bool traffic_enabled(const struct hl_config *cfg)
{
	return traffic_conf(cfg)->enabled;
}

static void check_store(const struct hl_traffic_conf *tc, FILE *f)
{
	char why[1024], warn[1024];
	int e;

	if (!tc->store.max_bytes) {
		fprintf(f, "  store: off (store.max_bytes is 0)\n");
		return;
	}
	e = hl_traffic_store_check_dir(tc->store.dir, false, why, sizeof(why), warn, sizeof(warn));
	if (e == -ENOENT)
		fprintf(f, "  store: %s (created at start)\n", tc->store.dir);
	else if (e)
		fprintf(f, "  store: refused, runs are not stored: %s\n", why);
	else
		fprintf(f, "  store: %s%s%s\n", tc->store.dir, warn[0] ? "; warning: " : "", warn);
}

static void traffic_check(const struct hl_config *cfg, FILE *f)
{
	const struct hl_traffic_conf *tc = traffic_conf(cfg);
	struct hl_traffic *t = calloc(1, sizeof(*t));
	char err[512] = "", desc[1024];

	fprintf(f, "probe traffic:\n");
	if (!t) {
		fprintf(f, "  out of memory\n");
		return;
	}
	if (resolve(t, cfg, err, sizeof(err))) {
		fprintf(f, "  unavailable: %s\n", err);
	} else if (t->idle) {
		fprintf(f, "  off: no default route in this network namespace and no "
			   "probes.traffic.interfaces\n");
	} else {
		bool tcx = hl_kernel_has_enum_value("bpf_attach_type", "BPF_TCX_INGRESS");

		describe_ifaces(t, desc, sizeof(desc));
		fprintf(f, "  interfaces: %s\n", desc);
		fprintf(f, "  attach: %s\n",
			tc->attach == HL_TRAFFIC_ATTACH_TC ? "tc clsact filter"
			: tcx				   ? "tcx links"
			: tc->attach == HL_TRAFFIC_ATTACH_TCX
				? "tcx links (unavailable: the kernel has no tcx)"
				: "tc clsact filter (the kernel has no tcx)");
		fprintf(f, "  retransmits: %s\n",
			hl_kernel_has_tp_btf("tcp_retransmit_skb")
				? "tp_btf/tcp_retransmit_skb"
				: "unavailable (no tcp_retransmit_skb tracepoint)");
		fprintf(f, "  kernel memory per CPU: %" PRIu64 " bytes\n",
			mem_per_cpu(t->n_ifaces, tc->samples));
		describe_clock(desc, sizeof(desc));
		fprintf(f, "  align: %s\n  clock: %s\n",
			t->aligned ? "wallclock (rounds on multiples of every, UTC)"
				   : "start (rounds counted from the agent's start)",
			desc);
		check_store(tc, f);
	}
	free(t);
}

/*
 * After start: tcx links go with their file descriptors, but a classic tc
 * filter is removed at stop through netlink, which needs CAP_NET_ADMIN;
 * runs are written to store.dir as the agent's own user.
 */
static uint64_t traffic_privileges(void *state, char *why, size_t len)
{
	struct hl_traffic *t = state;
	uint64_t caps = 0;
	int n = 0;

	why[0] = 0;
	for (int i = 0; i < t->n_ifaces; i++) {
		if (t->ifaces[i].att.filter[0] || t->ifaces[i].att.filter[1]) {
			caps |= HL_CAP(CAP_NET_ADMIN);
			n = snprintf(why, len, "its classic tc filter on %s is removed at exit",
				     t->ifaces[i].name);
			if (n < 0 || (size_t)n >= len)
				n = 0;
			break;
		}
	}
	if (t->store_dir && !hl_privs_dir_writable(t->store_dir)) {
		caps |= HL_CAP(CAP_DAC_OVERRIDE);
		snprintf(why + n, len - (size_t)n,
			 "%sstore.dir %s is not writable by the agent's user", n ? "; " : "",
			 t->store_dir);
	}
	return caps;
}

const struct hl_probe_ops hl_traffic_probe = {
	.name = "traffic",
	.help = "fine-grained traffic sampling (microbursts)",
	.options = traffic_options,
	.config_size = sizeof(struct hl_traffic_conf),
	.enabled = traffic_enabled,
	.check = traffic_check,
	.start = traffic_start,
	.collect = traffic_collect,
	.stop = traffic_stop,
	.privileges = traffic_privileges,
};
