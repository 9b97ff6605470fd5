/* SPDX-License-Identifier: MIT */
/*
 * Kernel stall probes without a kernel: function_latency's selection and
 * validation against fake kernels (BTF contents, trampolines allowed,
 * refused, or refused for fexit only), and the per-series cumulative and
 * delta histograms built from the kernel's monotonic counters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "config.h"
#include "hist.h"
#include "series.h"
#include "stallprobes.h"
#include "unit.h"

/* ---- fake kernels -------------------------------------------------------------- */

static const char *const btf_funcs[] = {"net_rx_action", "tcp_collapse", "tcp_v4_rcv",
					"tcp_try_rmem_schedule", NULL};
static int probe_calls;
static const char *refuse_fexit_of; /* fexit refused for this function only */

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

static const struct hl_funclat_kernel k_ok = {true, fake_has_func, probe_ok};
static const struct hl_funclat_kernel k_eperm = {true, fake_has_func, probe_eperm};
static const struct hl_funclat_kernel k_nobtf = {false, fake_has_func, probe_ok};

static int load(struct hl_config *c, const char *text)
{
	char err[512];
	int e = hl_config_load_string(c, text, strlen(text), "t.yaml", err, sizeof(err));

	CHECK(e == 0, "config: %s", err);
	return e;
}

static void test_plan(void)
{
	struct hl_funclat_plan plan[HL_FUNC_SLOTS];
	struct hl_config c;
	int n;

	if (load(&c, "probes:\n  function_latency:\n    functions: [net_rx_action, "
		     "tcp_collapse, \"tcp_prune_queue?\", tcp_try_rmem_schedule]\n"))
		return;

	/* Trampolines allowed: every function in BTF runs; the optional one is out. */
	probe_calls = 0;
	n = hl_funclat_plan(&c, &k_ok, plan);
	CHECK(n == 3, "available %d", n);
	CHECK(plan[0].available && !strcmp(plan[0].func, "net_rx_action") && !plan[0].optional,
	      "plan 0");
	CHECK(!plan[2].available && plan[2].optional && !strcmp(plan[2].func, "tcp_prune_queue") &&
		      strstr(plan[2].why, "not in the kernel's BTF"),
	      "optional, absent: %s / %s", plan[2].func, plan[2].why);
	CHECK(probe_calls == 6, "fentry and fexit probed for the 3 functions in BTF: %d",
	      probe_calls);

	/* Refused: nothing runs, each says why; absent functions are not probed. */
	probe_calls = 0;
	n = hl_funclat_plan(&c, &k_eperm, plan);
	CHECK(n == 0, "available %d", n);
	for (int i = 0; i < 4; i++)
		CHECK(!plan[i].available && plan[i].why[0], "refused %d", i);
	CHECK(strstr(plan[0].why, "EPERM") && strstr(plan[1].why, "EPERM"), "reason %s",
	      plan[0].why);
	CHECK(probe_calls == 3, "one refused fentry per function in BTF: %d", probe_calls);

	/* fentry works but fexit does not: the function cannot be timed. */
	refuse_fexit_of = "tcp_collapse";
	n = hl_funclat_plan(&c, &k_ok, plan);
	refuse_fexit_of = NULL;
	CHECK(n == 2 && !plan[1].available && strstr(plan[1].why, "fexit"), "fexit refused: %s",
	      plan[1].why);

	/* No BTF: nothing can run, nothing is a config error. */
	n = hl_funclat_plan(&c, &k_nobtf, plan);
	CHECK(n == 0 && !strcmp(plan[0].why, "no kernel BTF"), "no BTF: %s", plan[0].why);
	hl_config_free(&c);
}

static void test_validate(void)
{
	struct hl_config c;
	char err[512];
	int e;

	if (load(&c, "probes:\n  function_latency:\n    functions:\n      - net_rx_action\n"
		     "      - tcp_colapse\n"))
		return;
	err[0] = 0;
	e = hl_funclat_validate(&c, &k_ok, err, sizeof(err));
	CHECK(e == -EINVAL && strstr(err, "t.yaml:5:9: 'tcp_colapse' is not a function") &&
		      strstr(err, "(key 'probes.function_latency.functions')"),
	      "misspelt: %d %s", e, err);
	/* Trampolines play no part in validation. */
	e = hl_funclat_validate(&c, &k_eperm, err, sizeof(err));
	CHECK(e == -EINVAL, "misspelt, trampolines refused: %d", e);
	/* Without BTF nothing can be checked: start reports it instead. */
	CHECK(hl_funclat_validate(&c, &k_nobtf, err, sizeof(err)) == 0, "no BTF");
	hl_config_free(&c);

	if (load(&c, "probes: {function_latency: {functions: [\"tcp_colapse?\", tcp_collapse]}}"))
		return;
	CHECK(hl_funclat_validate(&c, &k_ok, err, sizeof(err)) == 0, "optional: %s", err);
	hl_config_free(&c);

	/* The defaults (no positions) validate against a kernel that has them... */
	if (load(&c, ""))
		return;
	CHECK(hl_funclat_validate(&c, &k_ok, err, sizeof(err)) == 0, "defaults: %s", err);
	/* ...and a default missing from BTF is named as a default. */
	free(c.function_latency.functions.v[1]);
	c.function_latency.functions.v[1] = strdup("tcp_collapse_x");
	e = hl_funclat_validate(&c, &k_ok, err, sizeof(err));
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

int main(void)
{
	test_plan();
	test_validate();
	test_series();
	return UNIT_DONE();
}
