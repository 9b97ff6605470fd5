/* SPDX-License-Identifier: MIT */
/*
 * probes.function_latency: which hook times each configured function,
 * planned from the config and what the kernel offers (pure, for tests).
 */
#ifndef HOSTLAT_FUNCTION_LATENCY_H
#define HOSTLAT_FUNCTION_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "config.h"
#include "probe.h"
#include "stall.h"

/* probes.function_latency */
struct hl_function_latency_conf {
	bool enabled;
	struct hl_strlist functions; /* names, each optionally followed by '?' */
	uint32_t histogram_scale;
	uint32_t max_buckets;
};

/* ---- function_latency planning (pure: the kernel is passed in) ---- */

/* What the plan needs to know about the running kernel. */
struct hl_function_latency_kernel {
	bool has_btf;			    /* false: nothing can be checked or timed */
	bool (*has_func)(const char *name); /* in the kernel's BTF as a function */
	/* 0 when an fentry (fexit) program attaches to func, else -errno and why. */
	int (*probe)(const char *func, bool fexit, char *why, size_t whylen);
	/* 0 when a kprobe (kretprobe) attaches to func, else -errno and why; NULL: none. */
	int (*probe_kprobe)(const char *func, bool retprobe, char *why, size_t whylen);
};

/* How a function is timed, in order of preference. */
enum hl_function_latency_hook {
	HL_FUNCLAT_NONE,   /* it cannot be timed here */
	HL_FUNCLAT_FENTRY, /* fentry + fexit (BPF trampolines) */
	HL_FUNCLAT_KPROBE, /* kprobe + kretprobe, when trampolines cannot hook it */
};

struct hl_function_latency_plan {
	char func[HL_FUNC_NAME_MAX + 1]; /* the config item without its '?' */
	bool optional;			 /* the item ended in '?' */
	bool available;			 /* hook != HL_FUNCLAT_NONE */
	enum hl_function_latency_hook hook;
	char fentry_why[200]; /* why fentry/fexit are not used ("fentry refused: ..."), or "" */
	char why[420];	      /* when not available: every hook's reason */
};

/* "fentry", "kprobe" or "none". */
const char *hl_function_latency_hook_name(enum hl_function_latency_hook hook);

/*
 * The config errors the kernel reveals: a function not in its BTF (unless
 * the item ends in '?': optional, e.g. inlined in some builds). -EINVAL
 * with "FILE:LINE:COLUMN: ... (key 'probes.function_latency.functions')" in
 * err (the list item's position when known); 0 when fine or when the kernel
 * has no BTF (start reports that).
 */
int hl_function_latency_validate(const struct hl_config *cfg,
				 const struct hl_function_latency_kernel *k, char *err,
				 size_t errlen);
/* One plan per configured function, in order; returns how many are available. */
int hl_function_latency_plan(const struct hl_config *cfg,
			     const struct hl_function_latency_kernel *k,
			     struct hl_function_latency_plan *plan);

#endif
