/* SPDX-License-Identifier: MIT */
/*
 * agent/probes/function_latency.c without a kernel: the selection and
 * validation of the functions to time against fake kernels (BTF contents,
 * trampolines allowed, refused, or refused for fexit only; kprobes as the
 * fallback, working or not).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
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

int main(void)
{
	test_plan();
	test_plan_kprobe();
	test_validate();
	return UNIT_DONE();
}
