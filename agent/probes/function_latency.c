/* SPDX-License-Identifier: MIT */
/*
 * probes.function_latency: each configured kernel function timed by an
 * fentry/fexit pair (bpf/function_latency.bpf.c, one slot per function), or by a
 * kprobe/kretprobe pair where the kernel will not let a trampoline hook it
 * (EPERM on kernels that refuse BPF trampolines, more arguments than the
 * trampolines pass, e.g. tcp_collapse() on x86-64 6.1...). A
 * function not in the kernel's BTF is a config error (found at start and
 * by --check); one neither hook can time is reported by name and both
 * reasons, and the others are timed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "probes.h"
#include "function_latency.skel.h"
#include "kernel.h"
#include "latprobe.h"
#include "log.h"
#include "function_latency.h"

#define COMP "function_latency"
#define KEY "probes.function_latency.functions"

static const struct hl_function_latency_conf *function_latency_conf(const struct hl_config *cfg)
{
	return hl_probe_config(cfg, &hl_function_latency_probe);
}

/* ---- planning --------------------------------------------------------------------- */

/* Item s of the list: its function name and whether it is optional. */
static void parse_item(const char *s, char *func, size_t len, bool *optional)
{
	size_t n = strlen(s);

	*optional = n && s[n - 1] == '?';
	if (*optional)
		n--;
	snprintf(func, len, "%.*s", (int)n, s);
}

int hl_function_latency_validate(const struct hl_config *cfg,
				 const struct hl_function_latency_kernel *k, char *err,
				 size_t errlen)
{
	const struct hl_strlist *fl = &function_latency_conf(cfg)->functions;
	char func[HL_FUNC_NAME_MAX + 1];
	bool optional;

	if (!k->has_btf)
		return 0;
	for (size_t i = 0; i < fl->n; i++) {
		parse_item(fl->v[i], func, sizeof(func), &optional);
		if (optional || k->has_func(func))
			continue;
		if (fl->pos)
			snprintf(err, errlen,
				 "%s:%d:%d: '%s' is not a function in the running kernel's BTF "
				 "(misspelt, inlined or absent here; write '%s?' to time it only "
				 "where it exists) (key '%s')",
				 cfg->path, fl->pos[i].line, fl->pos[i].column, func, func, KEY);
		else
			snprintf(err, errlen,
				 "%s: '%s' (a default) is not a function in the running kernel's "
				 "BTF; set the list explicitly (key '%s')",
				 cfg->path, func, KEY);
		return -EINVAL;
	}
	return 0;
}

const char *hl_function_latency_hook_name(enum hl_function_latency_hook hook)
{
	switch (hook) {
	case HL_FUNCLAT_FENTRY:
		return "fentry";
	case HL_FUNCLAT_KPROBE:
		return "kprobe";
	default:
		return "none";
	}
}

/* The first hook whose two ends both attach, else every hook's reason in p->why. */
static void plan_hook(const struct hl_function_latency_kernel *k,
		      struct hl_function_latency_plan *p)
{
	char why[160], kwhy[sizeof(p->fentry_why)];

	/* Both ends must attach; the first refusal is the one to report. */
	if (k->probe(p->func, false, why, sizeof(why)))
		snprintf(p->fentry_why, sizeof(p->fentry_why), "fentry refused: %s", why);
	else if (k->probe(p->func, true, why, sizeof(why)))
		snprintf(p->fentry_why, sizeof(p->fentry_why), "fexit refused: %s", why);
	else {
		p->hook = HL_FUNCLAT_FENTRY;
		return;
	}
	if (!k->probe_kprobe) {
		snprintf(p->why, sizeof(p->why), "%s", p->fentry_why);
		return;
	}
	if (k->probe_kprobe(p->func, false, why, sizeof(why)))
		snprintf(kwhy, sizeof(kwhy), "kprobe failed: %s", why);
	else if (k->probe_kprobe(p->func, true, why, sizeof(why)))
		snprintf(kwhy, sizeof(kwhy), "kretprobe failed: %s", why);
	else {
		p->hook = HL_FUNCLAT_KPROBE;
		return;
	}
	snprintf(p->why, sizeof(p->why), "%.*s; %.*s", (int)sizeof(kwhy), p->fentry_why,
		 (int)sizeof(kwhy), kwhy);
}

int hl_function_latency_plan(const struct hl_config *cfg,
			     const struct hl_function_latency_kernel *k,
			     struct hl_function_latency_plan *plan)
{
	const struct hl_strlist *fl = &function_latency_conf(cfg)->functions;
	int available = 0;

	for (size_t i = 0; i < fl->n && i < HL_FUNC_SLOTS; i++) {
		struct hl_function_latency_plan *p = &plan[i];

		memset(p, 0, sizeof(*p));
		parse_item(fl->v[i], p->func, sizeof(p->func), &p->optional);
		if (!k->has_btf) {
			snprintf(p->why, sizeof(p->why), "no kernel BTF");
			continue;
		}
		if (!k->has_func(p->func)) {
			snprintf(p->why, sizeof(p->why),
				 "not in the kernel's BTF (inlined or absent)");
			continue;
		}
		plan_hook(k, p);
		if (p->hook == HL_FUNCLAT_NONE)
			continue;
		p->available = true;
		available++;
	}
	return available;
}

static bool running_has_func(const char *name)
{
	return hl_kernel_has_func(name);
}

static int running_probe(const char *func, bool fexit, char *why, size_t whylen)
{
	return hl_kernel_probe_trampoline(func, fexit, why, whylen);
}

static int running_probe_kprobe(const char *func, bool retprobe, char *why, size_t whylen)
{
	return hl_kernel_probe_kprobe(func, retprobe, why, whylen);
}

/* The running kernel, for the planning functions. */
static struct hl_function_latency_kernel running_kernel(void)
{
	return (struct hl_function_latency_kernel){
		.has_btf = hl_kernel_btf() != NULL,
		.has_func = running_has_func,
		.probe = running_probe,
		.probe_kprobe = running_probe_kprobe,
	};
}

/* ---- the probe module -------------------------------------------------------------- */

struct function_latency {
	struct function_latency_bpf *skel;
	struct hl_latprobe lp;
	struct hl_function_latency_plan plan[HL_FUNC_SLOTS];
	size_t n_funcs;
	/* hostlat.probe.hook: per function the hook it runs on */
	char hook_label[HL_FUNC_SLOTS][2 * HL_FUNC_NAME_MAX + 32];
	struct hl_point hook_points[HL_FUNC_SLOTS];
};

static bool function_latency_enabled(const struct hl_config *cfg)
{
	return function_latency_conf(cfg)->enabled;
}

static int function_latency_validate(const struct hl_config *cfg, char *err, size_t errlen)
{
	struct hl_function_latency_kernel k = running_kernel();

	return hl_function_latency_validate(cfg, &k, err, errlen);
}

/*
 * "fentry/F + fexit/F", or "kprobe/F + kretprobe/F" followed, with why,
 * by " (why not fentry)".
 */
static void describe_hook(const struct hl_function_latency_plan *p, bool why, char *buf, size_t len)
{
	int n = HL_FUNC_NAME_MAX, w = (int)sizeof(p->fentry_why);

	if (p->hook == HL_FUNCLAT_NONE)
		snprintf(buf, len, "none");
	else if (p->hook == HL_FUNCLAT_KPROBE)
		snprintf(buf, len, "kprobe/%.*s + kretprobe/%.*s%s%.*s%s", n, p->func, n, p->func,
			 why ? " (" : "", why ? w : 0, p->fentry_why, why ? ")" : "");
	else
		snprintf(buf, len, "fentry/%.*s + fexit/%.*s", n, p->func, n, p->func);
}

static void print_plan(const struct hl_function_latency_plan *plan, size_t n, FILE *f)
{
	fprintf(f, "probe function_latency:\n");
	fprintf(f, "  %-28s %s\n", "function", "hook");
	for (size_t i = 0; i < n && i < HL_FUNC_SLOTS; i++) {
		char name[HL_FUNC_NAME_MAX + 16], hook[2 * HL_FUNC_NAME_MAX + 256];

		snprintf(name, sizeof(name), "%.*s%s", HL_FUNC_NAME_MAX, plan[i].func,
			 plan[i].optional ? " (optional)" : "");
		if (plan[i].available) {
			describe_hook(&plan[i], true, hook, sizeof(hook));
			fprintf(f, "  %-28s %s\n", name, hook);
		} else {
			fprintf(f, "  %-28s unavailable: %s\n", name, plan[i].why);
		}
	}
}

static void function_latency_check(const struct hl_config *cfg, FILE *f)
{
	struct hl_function_latency_plan plan[HL_FUNC_SLOTS];
	struct hl_function_latency_kernel k = running_kernel();
	size_t n = function_latency_conf(cfg)->functions.n;

	hl_function_latency_plan(cfg, &k, plan);
	print_plan(plan, n < HL_FUNC_SLOTS ? n : HL_FUNC_SLOTS, f);
}

static void function_latency_report(void *state, FILE *f)
{
	struct function_latency *fl = state;

	print_plan(fl->plan, fl->n_funcs, f);
}

static void function_latency_stop(void *state)
{
	struct function_latency *fl = state;

	if (!fl)
		return;
	hl_latprobe_free(&fl->lp);
	function_latency_bpf__destroy(fl->skel);
	free(fl);
}

/* Slot's entry or exit program for its hook. */
static struct bpf_program *slot_prog(struct function_latency *fl, size_t slot, bool exit)
{
	bool kp = fl->plan[slot].hook == HL_FUNCLAT_KPROBE;
	char name[48];

	snprintf(name, sizeof(name), "hl_%s_%s_%zu", kp ? "kp" : "fn", exit ? "exit" : "entry",
		 slot);
	return bpf_object__find_program_by_name(fl->skel->obj, name);
}

/* Let slot's programs for its hook load (fentry/fexit: pointed at the function). */
static int enable_slot(struct function_latency *fl, size_t slot)
{
	int e;

	for (int exit = 0; exit < 2; exit++) {
		struct bpf_program *prog = slot_prog(fl, slot, exit);

		if (!prog)
			return -ENOENT;
		e = 0;
		if (fl->plan[slot].hook == HL_FUNCLAT_FENTRY)
			e = bpf_program__set_attach_target(prog, 0, fl->plan[slot].func);
		if (!e)
			e = bpf_program__set_autoload(prog, true);
		if (e)
			return e;
	}
	return 0;
}

/*
 * Attach slot's pair, the exit first: an exit without its entry is
 * ignored, an entry whose exit is not attached yet would stay on the
 * task's call stack. Kprobes attach to the function by name; libbpf 1.1
 * cannot set a kretprobe's maxactive, so the kernel's default applies
 * (max(10, 2 x CPUs) calls in flight; more are not timed). 0 or -errno.
 */
static int attach_slot(struct function_latency *fl, size_t slot)
{
	const struct hl_function_latency_plan *p = &fl->plan[slot];
	struct bpf_link *link[2] = {NULL, NULL};

	for (int exit = 1; exit >= 0; exit--) {
		struct bpf_program *prog = slot_prog(fl, slot, exit);

		if (p->hook == HL_FUNCLAT_KPROBE) {
			LIBBPF_OPTS(bpf_kprobe_opts, opts, .retprobe = exit);

			link[exit] = bpf_program__attach_kprobe_opts(prog, p->func, &opts);
		} else {
			link[exit] = bpf_program__attach(prog);
		}
		if (!link[exit]) {
			int e = -errno;

			bpf_link__destroy(link[1]);
			return e;
		}
	}
	fl->lp.links.v[fl->lp.links.n++] = link[1];
	fl->lp.links.v[fl->lp.links.n++] = link[0];
	return 0;
}

/*
 * The slot of a program the kernel refused (hl_fn_entry_N, hl_kp_exit_N,
 * ...): that function is reported with the verifier's verdict and the
 * others load without it. False when the failure is not one program's.
 */
static bool refuse_slot(struct function_latency *fl)
{
	const struct hl_bpf_failure *f = hl_bpf_failure();
	const char *u = f ? strrchr(f->prog, '_') : NULL;
	char *end;
	unsigned long slot;

	/* Only the verifier's verdict is one program's; EPERM, ENOMEM... are everyone's. */
	if (!u || strncmp(f->prog, "hl_", 3) || strncmp(f->why, "verifier: ", 10))
		return false;
	slot = strtoul(u + 1, &end, 10);
	if (*end || slot >= fl->n_funcs || !fl->plan[slot].available)
		return false;
	fl->plan[slot].available = false;
	fl->plan[slot].hook = HL_FUNCLAT_NONE;
	snprintf(fl->plan[slot].why, sizeof(fl->plan[slot].why), "the kernel refused %s: %s",
		 f->prog, f->why);
	hl_warn(COMP, "%s() cannot be timed: %s", fl->plan[slot].func, fl->plan[slot].why);
	return true;
}

/* Open the object with the available slots' programs and load it. */
static int open_and_load(struct function_latency *fl, char *err, size_t errlen)
{
	int e;

	fl->skel = function_latency_bpf__open();
	e = hl_skel_opened(fl->skel, err, errlen);
	if (e)
		return e;
	hl_bpf_autoload_none(fl->skel->obj);
	for (size_t i = 0; i < fl->n_funcs; i++) {
		if (!fl->plan[i].available)
			continue;
		e = enable_slot(fl, i);
		if (e) {
			snprintf(err, errlen, "cannot set up the programs for %s(): %s",
				 fl->plan[i].func, strerror(-e));
			return e;
		}
	}
	HL_LATHIST_PREPARE(fl->skel, &fl->lp.ss);
	return hl_skel_load(fl->skel->skeleton, "the function-latency programs", err, errlen);
}

static void *function_latency_start(const struct hl_config *cfg, char *err, size_t errlen)
{
	const struct hl_function_latency_conf *c = function_latency_conf(cfg);
	struct hl_function_latency_kernel k = running_kernel();
	struct function_latency *fl = calloc(1, sizeof(*fl));
	size_t off = 0;
	int n_avail, e;

	if (!fl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fl->n_funcs = c->functions.n < HL_FUNC_SLOTS ? c->functions.n : HL_FUNC_SLOTS;
	n_avail = hl_function_latency_plan(cfg, &k, fl->plan);
	for (size_t i = 0; n_avail && i < fl->n_funcs; i++)
		if (!fl->plan[i].available)
			hl_warn(COMP, "%s() cannot be timed: %s", fl->plan[i].func,
				fl->plan[i].why);
	if (!n_avail) {
		off = (size_t)snprintf(err, errlen, "no kernel function can be timed here:");
		for (size_t i = 0; i < fl->n_funcs && off < errlen; i++)
			off += (size_t)snprintf(err + off, errlen - off, "%s %s(): %s",
						i ? ";" : "", fl->plan[i].func, fl->plan[i].why);
		goto fail;
	}
	e = hl_latprobe_init(&fl->lp, c->histogram_scale, c->max_buckets, (uint32_t)fl->n_funcs, 0,
			     0, err, errlen);
	if (e)
		goto fail;
	/* A function whose programs the verifier refuses is left out, the others load. */
	while ((e = open_and_load(fl, err, errlen)) && refuse_slot(fl) && --n_avail > 0) {
		function_latency_bpf__destroy(fl->skel);
		fl->skel = NULL;
		err[0] = 0;
	}
	if (e)
		goto fail;
	fl->lp.links.v = calloc(2 * fl->n_funcs, sizeof(*fl->lp.links.v));
	if (!fl->lp.links.v) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	n_avail = 0;
	for (size_t i = 0; i < fl->n_funcs; i++) {
		struct hl_function_latency_plan *p = &fl->plan[i];
		char hook[2 * HL_FUNC_NAME_MAX + 256];

		if (!p->available)
			continue;
		describe_hook(p, true, hook, sizeof(hook));
		e = attach_slot(fl, i);
		if (e) {
			hl_err(COMP, "%s() cannot be timed: attaching %s failed: %s", p->func, hook,
			       strerror(-e));
			p->available = false;
			p->hook = HL_FUNCLAT_NONE;
			snprintf(p->why, sizeof(p->why), "attaching failed: %s", strerror(-e));
			continue;
		}
		hl_info(COMP, "timing %s() via %s", p->func, hook);
		n_avail++;
	}
	if (!n_avail) {
		snprintf(err, errlen, "no function-latency program could be attached");
		goto fail;
	}
	return fl;
fail:
	function_latency_stop(fl);
	return NULL;
}

static int function_latency_collect(void *state, struct hl_metric *out, size_t max)
{
	struct function_latency *fl = state;
	struct hl_point *pts;
	size_t np = 0;
	int e;

	if (max < 3)
		return -ENOSPC;
	e = hl_latprobe_read(&fl->lp, bpf_map__fd(fl->skel->maps.hist),
			     bpf_map__fd(fl->skel->maps.series), bpf_map__fd(fl->skel->maps.dense),
			     bpf_map__fd(fl->skel->maps.counters));
	if (e)
		return e;
	pts = hl_latprobe_points(&fl->lp, fl->lp.ss.n);
	if (!pts)
		return -ENOMEM;
	for (size_t i = 0; i < fl->lp.ss.n; i++) {
		const struct hl_series *sr = &fl->lp.ss.v[i];

		if (sr->key.stage >= fl->n_funcs)
			continue;
		hl_point_attr(&pts[np], "function", fl->plan[sr->key.stage].func);
		hl_latprobe_hist_point(&pts[np], sr);
		np++;
	}
	out[0] = (struct hl_metric){
		.name = "hostlat.function.duration",
		.description = "Time from entering to leaving a kernel function",
		.unit = "s",
		.kind = HL_METRIC_EXPHIST,
		.points = pts,
		.n_points = np,
	};
	out[1] = hl_latprobe_lost_metric(&fl->lp, "hostlat.function.lost");
	for (size_t i = 0; i < fl->n_funcs; i++) {
		struct hl_point *p = &fl->hook_points[i];

		memset(p, 0, sizeof(*p));
		describe_hook(&fl->plan[i], false, fl->hook_label[i], sizeof(fl->hook_label[i]));
		hl_point_attr(p, "function", fl->plan[i].func);
		hl_point_attr(p, "hook", fl->hook_label[i]);
		p->gauge = fl->plan[i].available ? 1 : 0;
	}
	out[2] = (struct hl_metric){
		.name = HL_METRIC_PROBE_HOOK,
		.description = "1 for the hook each timed kernel function runs on, 0 when it has "
			       "none here",
		.unit = "1",
		.kind = HL_METRIC_GAUGE,
		.points = fl->hook_points,
		.n_points = fl->n_funcs,
	};
	return 3;
}

/* ---- config (probes.function_latency) ---- */

#define OFF(field) offsetof(struct hl_function_latency_conf, field)

/* A kernel function name (C identifier, or a GCC clone like f.isra.0), optionally with '?'. */
static int check_function(const char *s, char *why, size_t whylen)
{
	size_t len = strlen(s);
	bool ok = len <= HL_FUNC_NAME_MAX + 1 && !(s[0] >= '0' && s[0] <= '9') && s[0] != '.';

	if (len && s[len - 1] == '?')
		len--;
	for (size_t i = 0; ok && i < len; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		     (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.';
	if (ok && len)
		return 0;
	snprintf(why, whylen,
		 "'%s' is not a kernel function name (letters, digits, _ and ., at most %d "
		 "characters, optionally followed by ?)",
		 s, HL_FUNC_NAME_MAX);
	return -EINVAL;
}

static const struct hl_option function_latency_options[] = {
	{.name = "enabled",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(enabled),
	 .def = "true",
	 .help = "time kernel functions with fentry/fexit, or kprobe/kretprobe where "
		 "trampolines cannot hook them (needs one of the two)"},
	{.name = "functions",
	 .type = HL_OPT_STRLIST,
	 .offset = OFF(functions),
	 .def = "[net_rx_action, tcp_collapse, tcp_prune_queue?]",
	 .min = 1,
	 .max = HL_FUNC_SLOTS,
	 .help = "kernel functions to time; each must be in the kernel's BTF (checked at start "
		 "and by --check: exit status 2 otherwise), unless its name ends in ? (then "
		 "timed only where it exists)",
	 .check = check_function},
	HL_LATPROBE_SCALE_OPTION(struct hl_function_latency_conf),
	HL_LATPROBE_BUCKETS_OPTION(struct hl_function_latency_conf),
	{0},
};

const struct hl_probe_ops hl_function_latency_probe = {
	.name = "function_latency",
	.help = "duration of kernel functions",
	.options = function_latency_options,
	.config_size = sizeof(struct hl_function_latency_conf),
	.enabled = function_latency_enabled,
	.check = function_latency_check,
	.start = function_latency_start,
	.report = function_latency_report,
	.collect = function_latency_collect,
	.stop = function_latency_stop,
	.validate = function_latency_validate,
};
