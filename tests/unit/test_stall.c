/* SPDX-License-Identifier: MIT */
/*
 * Kernel stall probes without a kernel: function_latency's selection and
 * validation against fake kernels (BTF contents, trampolines allowed,
 * refused, or refused for fexit only; kprobes as the fallback, working or
 * not), the per-series cumulative and
 * delta histograms built from the kernel's monotonic counters, and the two
 * map layouts of bpf/lathist.h read back (real BPF maps, filled here the
 * way the programs fill them; needs CAP_BPF).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include "config.h"
#include "hist.h"
#include "series.h"
#include "function_latency.h"
#include "probes.h"
#include "unit.h"

/* ---- fake kernels -------------------------------------------------------------- */

static const char *const btf_funcs[] = {"net_rx_action", "tcp_collapse", "tcp_v4_rcv",
					"tcp_try_rmem_schedule", NULL};
static int probe_calls, kprobe_calls;
static const char *refuse_fexit_of;	/* fexit refused for this function only */
static const char *refuse_fentry_of;	/* fentry refused (ENOTSUPP) for this function only */
static const char *refuse_kretprobe_of; /* kretprobe refused for this function only */

static bool fake_has_func(const char *name)
{
	for (int i = 0; btf_funcs[i]; i++)
		if (!strcmp(btf_funcs[i], name))
			return true;
	return false;
}

static int probe_ok(const char *func, bool fexit, char *why, size_t whylen)
{
	probe_calls++;
	if (refuse_fentry_of && !fexit && !strcmp(func, refuse_fentry_of)) {
		snprintf(why, whylen,
			 "%s() has 7 arguments, more than this kernel's BPF "
			 "trampolines pass (ENOTSUPP)",
			 func);
		return -524;
	}
	if (refuse_fexit_of && fexit && !strcmp(func, refuse_fexit_of)) {
		snprintf(why, whylen, "fexit on %s() refused: ENOTSUPP", func);
		return -524;
	}
	why[0] = 0;
	return 0;
}

static int probe_eperm(const char *func, bool fexit, char *why, size_t whylen)
{
	(void)func;
	(void)fexit;
	probe_calls++;
	snprintf(why, whylen, "the kernel refused a BPF trampoline (EPERM)");
	return -EPERM;
}

static int kprobe_ok(const char *func, bool retprobe, char *why, size_t whylen)
{
	kprobe_calls++;
	if (refuse_kretprobe_of && retprobe && !strcmp(func, refuse_kretprobe_of)) {
		snprintf(why, whylen, "the kernel refused a kretprobe on %s() (EOPNOTSUPP)", func);
		return -EOPNOTSUPP;
	}
	why[0] = 0;
	return 0;
}

static int kprobe_none(const char *func, bool retprobe, char *why, size_t whylen)
{
	(void)func;
	(void)retprobe;
	kprobe_calls++;
	snprintf(why, whylen, "the kernel has no kprobes (CONFIG_KPROBES off)");
	return -ENOENT;
}

static const struct hl_function_latency_kernel k_ok = {true, fake_has_func, probe_ok, NULL};
static const struct hl_function_latency_kernel k_eperm = {true, fake_has_func, probe_eperm, NULL};
static const struct hl_function_latency_kernel k_nobtf = {false, fake_has_func, probe_ok, NULL};
/* Trampolines for most functions (refuse_fentry_of aside), kprobes for all. */
static const struct hl_function_latency_kernel k_kprobe = {true, fake_has_func, probe_ok,
							   kprobe_ok};
/* Neither trampolines nor kprobes. */
static const struct hl_function_latency_kernel k_neither = {true, fake_has_func, probe_eperm,
							    kprobe_none};

static int load(struct hl_config *c, const char *text)
{
	char err[512];
	int e = hl_config_load_string(c, text, strlen(text), "t.yaml", err, sizeof(err));

	CHECK(e == 0, "config: %s", err);
	return e;
}

static void test_plan(void)
{
	struct hl_function_latency_plan plan[HL_FUNC_SLOTS];
	struct hl_config c;
	int n;

	if (load(&c, "probes:\n  function_latency:\n    functions: [net_rx_action, "
		     "tcp_collapse, \"tcp_prune_queue?\", tcp_try_rmem_schedule]\n"))
		return;

	/* Trampolines allowed: every function in BTF runs; the optional one is out. */
	probe_calls = 0;
	n = hl_function_latency_plan(&c, &k_ok, plan);
	CHECK(n == 3, "available %d", n);
	CHECK(plan[0].available && !strcmp(plan[0].func, "net_rx_action") && !plan[0].optional &&
		      plan[0].hook == HL_FUNCLAT_FENTRY && !plan[0].fentry_why[0],
	      "plan 0");
	CHECK(!strcmp(hl_function_latency_hook_name(plan[0].hook), "fentry") &&
		      plan[2].hook == HL_FUNCLAT_NONE &&
		      !strcmp(hl_function_latency_hook_name(plan[2].hook), "none"),
	      "hook names");
	CHECK(!plan[2].available && plan[2].optional && !strcmp(plan[2].func, "tcp_prune_queue") &&
		      strstr(plan[2].why, "not in the kernel's BTF"),
	      "optional, absent: %s / %s", plan[2].func, plan[2].why);
	CHECK(probe_calls == 6, "fentry and fexit probed for the 3 functions in BTF: %d",
	      probe_calls);

	/* Refused: nothing runs, each says why; absent functions are not probed. */
	probe_calls = 0;
	n = hl_function_latency_plan(&c, &k_eperm, plan);
	CHECK(n == 0, "available %d", n);
	for (int i = 0; i < 4; i++)
		CHECK(!plan[i].available && plan[i].why[0], "refused %d", i);
	CHECK(strstr(plan[0].why, "EPERM") && strstr(plan[1].why, "EPERM"), "reason %s",
	      plan[0].why);
	CHECK(probe_calls == 3, "one refused fentry per function in BTF: %d", probe_calls);

	/* fentry works but fexit does not: the function cannot be timed. */
	refuse_fexit_of = "tcp_collapse";
	n = hl_function_latency_plan(&c, &k_ok, plan);
	refuse_fexit_of = NULL;
	CHECK(n == 2 && !plan[1].available && strstr(plan[1].why, "fexit"), "fexit refused: %s",
	      plan[1].why);

	/* No BTF: nothing can run, nothing is a config error. */
	n = hl_function_latency_plan(&c, &k_nobtf, plan);
	CHECK(n == 0 && !strcmp(plan[0].why, "no kernel BTF"), "no BTF: %s", plan[0].why);
	hl_config_free(&c);
}

/* Kprobes where trampolines cannot hook a function (tcp_collapse on 6.1). */
static void test_plan_kprobe(void)
{
	struct hl_function_latency_plan plan[HL_FUNC_SLOTS];
	struct hl_config c;
	int n;

	if (load(&c, "probes:\n  function_latency:\n    functions: [net_rx_action, "
		     "tcp_collapse, \"tcp_prune_queue?\"]\n"))
		return;

	/* fentry refused (ENOTSUPP) for one function, kprobes work: that one via kprobes. */
	refuse_fentry_of = "tcp_collapse";
	probe_calls = kprobe_calls = 0;
	n = hl_function_latency_plan(&c, &k_kprobe, plan);
	CHECK(n == 2, "available %d", n);
	CHECK(plan[0].available && plan[0].hook == HL_FUNCLAT_FENTRY && !plan[0].fentry_why[0],
	      "net_rx_action keeps fentry: %s", hl_function_latency_hook_name(plan[0].hook));
	CHECK(plan[1].available && plan[1].hook == HL_FUNCLAT_KPROBE &&
		      !strcmp(hl_function_latency_hook_name(plan[1].hook), "kprobe") &&
		      !plan[1].why[0],
	      "tcp_collapse via kprobe: %s / %s", hl_function_latency_hook_name(plan[1].hook),
	      plan[1].why);
	CHECK(strstr(plan[1].fentry_why, "fentry refused") &&
		      strstr(plan[1].fentry_why, "ENOTSUPP"),
	      "why not fentry: %s", plan[1].fentry_why);
	CHECK(!plan[2].available && strstr(plan[2].why, "not in the kernel's BTF"),
	      "optional, absent: %s", plan[2].why);
	/* fentry + fexit for net_rx_action, the refused fentry of tcp_collapse; its 2 kprobes. */
	CHECK(probe_calls == 3 && kprobe_calls == 2, "probes: %d trampoline, %d kprobe",
	      probe_calls, kprobe_calls);

	/* The kretprobe fails: not timed, with both hooks' reasons. */
	refuse_kretprobe_of = "tcp_collapse";
	n = hl_function_latency_plan(&c, &k_kprobe, plan);
	refuse_kretprobe_of = NULL;
	refuse_fentry_of = NULL;
	CHECK(n == 1 && !plan[1].available && plan[1].hook == HL_FUNCLAT_NONE &&
		      strstr(plan[1].why, "fentry refused") && strstr(plan[1].why, "kretprobe"),
	      "kretprobe refused: %s", plan[1].why);

	/* Neither hook: unavailable, both reasons given, kprobes tried for each function. */
	probe_calls = kprobe_calls = 0;
	n = hl_function_latency_plan(&c, &k_neither, plan);
	CHECK(n == 0, "available %d", n);
	for (int i = 0; i < 2; i++)
		CHECK(!plan[i].available && plan[i].hook == HL_FUNCLAT_NONE &&
			      strstr(plan[i].why, "fentry refused: the kernel refused a BPF "
						  "trampoline (EPERM)") &&
			      strstr(plan[i].why, "; kprobe failed: the kernel has no kprobes"),
		      "neither %d: %s", i, plan[i].why);
	CHECK(probe_calls == 2 && kprobe_calls == 2, "probes: %d trampoline, %d kprobe",
	      probe_calls, kprobe_calls);

	/* Trampolines fine: kprobes are never tried. */
	kprobe_calls = 0;
	n = hl_function_latency_plan(&c, &k_kprobe, plan);
	CHECK(n == 2 && kprobe_calls == 0 && plan[1].hook == HL_FUNCLAT_FENTRY,
	      "no kprobe needed: %d, %d kprobe probes", n, kprobe_calls);
	hl_config_free(&c);
}

static void test_validate(void)
{
	struct hl_function_latency_conf *fl;
	struct hl_config c;
	char err[512];
	int e;

	if (load(&c, "probes:\n  function_latency:\n    functions:\n      - net_rx_action\n"
		     "      - tcp_colapse\n"))
		return;
	err[0] = 0;
	e = hl_function_latency_validate(&c, &k_ok, err, sizeof(err));
	CHECK(e == -EINVAL && strstr(err, "t.yaml:5:9: 'tcp_colapse' is not a function") &&
		      strstr(err, "(key 'probes.function_latency.functions')"),
	      "misspelt: %d %s", e, err);
	/* Trampolines play no part in validation. */
	e = hl_function_latency_validate(&c, &k_eperm, err, sizeof(err));
	CHECK(e == -EINVAL, "misspelt, trampolines refused: %d", e);
	/* Without BTF nothing can be checked: start reports it instead. */
	CHECK(hl_function_latency_validate(&c, &k_nobtf, err, sizeof(err)) == 0, "no BTF");
	hl_config_free(&c);

	if (load(&c, "probes: {function_latency: {functions: [\"tcp_colapse?\", tcp_collapse]}}"))
		return;
	CHECK(hl_function_latency_validate(&c, &k_ok, err, sizeof(err)) == 0, "optional: %s", err);
	hl_config_free(&c);

	/* The defaults (no positions) validate against a kernel that has them... */
	if (load(&c, ""))
		return;
	CHECK(hl_function_latency_validate(&c, &k_ok, err, sizeof(err)) == 0, "defaults: %s", err);
	/* ...and a default missing from BTF is named as a default. */
	fl = (struct hl_function_latency_conf *)hl_probe_config(&c, &hl_function_latency_probe);
	free(fl->functions.v[1]);
	fl->functions.v[1] = strdup("tcp_collapse_x");
	e = hl_function_latency_validate(&c, &k_ok, err, sizeof(err));
	CHECK(e == -EINVAL && strstr(err, "'tcp_collapse_x' (a default)"), "default: %s", err);
	hl_config_free(&c);
}

/* ---- series: cumulative and delta from monotonic counters ------------------------ */

static void test_series(void)
{
	struct hl_exph_table t;
	struct hl_series sr = {0};
	struct hl_raw_bucket a[2], b[3];

	CHECK(hl_exph_table_init(&t, 3) == 0, "table");
	sr.cum_scale = 3;
	CHECK(hl_hist_init(&sr.cum, 160, 3) == 0 && hl_hist_init(&sr.delta, 160, 3) == 0,
	      "hist init");
	/* first read: 2 samples of 1000 ns, 1 of 5000 ns, 1 zero */
	a[0] = (struct hl_raw_bucket){hl_exph_index(&t, 1000) - t.idx_min, 2};
	a[1] = (struct hl_raw_bucket){hl_exph_index(&t, 5000) - t.idx_min, 1};
	hl_series_update(&sr, &t, a, 2, 1, 7000, 0, 5000);
	CHECK(sr.cum.count == 4 && sr.delta.count == 4 && sr.cum.zero_count == 1,
	      "first: cum %llu delta %llu", (unsigned long long)sr.cum.count,
	      (unsigned long long)sr.delta.count);
	CHECK(sr.delta.has_min && sr.delta.has_max && sr.delta.max_ns == 5000, "first extremes");
	CHECK(sr.cum.sum_ns == 7000 && sr.delta.sum_ns == 7000, "first sums");

	/* second read: one more 1000 ns sample and a new 80 us maximum */
	b[0] = (struct hl_raw_bucket){a[0].pos, 3};
	b[1] = a[1];
	b[2] = (struct hl_raw_bucket){hl_exph_index(&t, 80000) - t.idx_min, 1};
	hl_series_update(&sr, &t, b, 3, 1, 88000, 0, 80000);
	CHECK(sr.cum.count == 6 && sr.delta.count == 2 && sr.delta.zero_count == 0,
	      "second: cum %llu delta %llu", (unsigned long long)sr.cum.count,
	      (unsigned long long)sr.delta.count);
	CHECK(sr.delta.sum_ns == 81000, "delta sum %llu", (unsigned long long)sr.delta.sum_ns);
	CHECK(sr.delta.has_max && sr.delta.max_ns == 80000 && !sr.delta.has_min,
	      "the max moved, the min did not");

	/* third read: nothing new */
	hl_series_update(&sr, &t, b, 3, 1, 88000, 0, 80000);
	CHECK(sr.cum.count == 6 && sr.delta.count == 0, "idle interval");
	hl_hist_free(&sr.cum);
	hl_hist_free(&sr.delta);
	free(sr.prev);
}

/* ---- the dense and hash layouts read back ----------------------------------------- */

/* Samples per (series id, CPU): the same data written in both layouts. */
static const struct {
	uint32_t id;
	int cpu;
	uint64_t v;
} samples[] = {{0, 0, 1000},  {0, 0, 1000}, {0, 1, 5000},	   {0, 1, 0},
	       {2, 0, 80000}, {2, 1, 3},    {2, 1, UINT64_MAX / 2}};

static int percpu_map(enum bpf_map_type type, size_t key, size_t val, uint32_t n)
{
	return bpf_map_create(type, NULL, (uint32_t)key, (uint32_t)val, n, NULL);
}

static void fill_dense(int fd, const struct hl_exph_table *t, uint32_t stride, int ncpus)
{
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct hl_series_val *vals = calloc((size_t)ncpus, sizeof(*vals));
		int cpu = samples[i].cpu % ncpus;
		uint32_t k = samples[i].id * stride, pos;

		bpf_map_lookup_elem(fd, &k, vals);
		hl_series_val_add(&vals[cpu], samples[i].v);
		bpf_map_update_elem(fd, &k, vals, BPF_ANY);
		if (samples[i].v) {
			pos = (uint32_t)(hl_exph_index(t, samples[i].v) - t->idx_min);
			k += 1 + pos / HL_DENSE_SLOTS;
			CHECK(k < (samples[i].id + 1) * stride, "position %u beyond the block",
			      pos);
			bpf_map_lookup_elem(fd, &k, vals);
			((__u64 *)&vals[cpu])[pos % HL_DENSE_SLOTS]++;
			bpf_map_update_elem(fd, &k, vals, BPF_ANY);
		}
		free(vals);
	}
}

static void fill_hash(int hist_fd, int series_fd, const struct hl_exph_table *t, int ncpus)
{
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct hl_series_val *vals = calloc((size_t)ncpus, sizeof(*vals));
		__u64 *counts = calloc((size_t)ncpus, sizeof(*counts));
		struct hl_series_key sk = {.stage = samples[i].id};
		int cpu = samples[i].cpu % ncpus;

		bpf_map_lookup_elem(series_fd, &sk, vals);
		hl_series_val_add(&vals[cpu], samples[i].v);
		bpf_map_update_elem(series_fd, &sk, vals, BPF_ANY);
		if (samples[i].v) {
			struct hl_hist_key hk = {
				.stage = (__u16)samples[i].id,
				.pos = (__u16)(hl_exph_index(t, samples[i].v) - t->idx_min),
			};

			bpf_map_lookup_elem(hist_fd, &hk, counts);
			counts[cpu]++;
			bpf_map_update_elem(hist_fd, &hk, counts, BPF_ANY);
		}
		free(vals);
		free(counts);
	}
}

static void test_layouts(void)
{
	int ncpus = libbpf_num_possible_cpus();
	struct hl_series_set dense, hash;
	struct hl_exph_table t;
	uint32_t stride;
	int dfd, hfd, sfd;

	CHECK(hl_exph_table_init(&t, 3) == 0, "table");
	hl_series_set_init(&dense, &t, ncpus, 160, 1, 64);
	hl_series_set_dense(&dense, 3);
	hl_series_set_init(&hash, &t, ncpus, 160, 8, 64);
	stride = dense.dense_stride;
	CHECK(dense.max_series >= 3, "max_series %u below the dense ids", dense.max_series);
	/*
	 * At scale 3, 1 ns is OTel bucket ceil(8 * log2(1e-9)) - 1 = -240 and
	 * 2^64 ns bucket ceil(8 * log2(2^64 * 1e-9)) - 1 = 272: positions
	 * 0..512, 4 per element after the totals: 1 + 129 elements.
	 */
	CHECK(stride == 130, "stride %u at scale 3, want 130", stride);
	dfd = percpu_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct hl_series_val), 3 * stride);
	hfd = percpu_map(BPF_MAP_TYPE_PERCPU_HASH, sizeof(struct hl_hist_key), 8, 64);
	sfd = percpu_map(BPF_MAP_TYPE_PERCPU_HASH, sizeof(struct hl_series_key),
			 sizeof(struct hl_series_val), 8);
	if (dfd < 0 || hfd < 0 || sfd < 0) {
		/* Not a silent pass: make test runs as root, where this fails. */
		CHECK(0, "cannot create BPF maps: %s (run as root)", strerror(errno));
		goto out;
	}
	fill_dense(dfd, &t, stride, ncpus);
	fill_hash(hfd, sfd, &t, ncpus);
	CHECK(hl_series_set_collect(&dense, -1, -1, dfd) == 0, "dense collect");
	CHECK(hl_series_set_collect(&hash, hfd, sfd, -1) == 0, "hash collect");

	/* id 1 never sampled: no series, as in the hash maps */
	CHECK(dense.n == 2 && hash.n == 2, "series: dense %zu, hash %zu", dense.n, hash.n);
	for (size_t i = 0; i < dense.n && i < hash.n; i++) {
		const struct hl_hist *d = &dense.v[i].cum, *h = &hash.v[i].cum;

		CHECK(dense.v[i].key.stage == hash.v[i].key.stage, "ids differ");
		CHECK(d->count == h->count && d->zero_count == h->zero_count &&
			      d->sum_ns == h->sum_ns && d->min_ns == h->min_ns &&
			      d->max_ns == h->max_ns,
		      "id %u: dense count %llu min %llu max %llu, hash count %llu min %llu max "
		      "%llu",
		      dense.v[i].key.stage, (unsigned long long)d->count,
		      (unsigned long long)d->min_ns, (unsigned long long)d->max_ns,
		      (unsigned long long)h->count, (unsigned long long)h->min_ns,
		      (unsigned long long)h->max_ns);
		CHECK(d->scale == h->scale && d->len == h->len && d->offset == h->offset &&
			      !memcmp(d->counts, h->counts, d->len * sizeof(*d->counts)),
		      "id %u: buckets differ", dense.v[i].key.stage);
	}
	if (dense.n == 2) {
		const struct hl_hist *a = &dense.v[0].cum, *b = &dense.v[1].cum;

		CHECK(a->count == 4 && a->zero_count == 1 && a->sum_ns == 7000, "id 0 totals");
		CHECK(a->min_ns == 0 && a->max_ns == 5000, "id 0 extremes"); /* a 0 was seen */
		CHECK(b->count == 3 && b->min_ns == 3 && b->max_ns == UINT64_MAX / 2, "id 2");
	}
out:
	if (dfd >= 0)
		close(dfd);
	if (hfd >= 0)
		close(hfd);
	if (sfd >= 0)
		close(sfd);
	hl_series_set_free(&dense);
	hl_series_set_free(&hash);
}

int main(void)
{
	test_plan();
	test_plan_kprobe();
	test_validate();
	test_series();
	test_layouts();
	return UNIT_DONE();
}
