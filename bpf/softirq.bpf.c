// SPDX-License-Identifier: GPL-2.0
/*
 * Softirq wait and run time per vector. A softirq is raised on the CPU
 * that will run it (the pending bit is per CPU), so all state is per CPU:
 *   wait = softirq_entry - the first softirq_raise since the last entry,
 *   run  = softirq_exit - softirq_entry.
 * A raise while the vector runs (net_rx_action re-raising NET_RX when it
 * ran out of budget or time) starts the next wait. Samples go into the
 * exponential histograms of lathist.h, series id = kind * 10 + vector.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "hostlat.h"
#include "exphist.h"
#include "stall.h"
#include "maphelp.h"
#include "lathist.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 vec_mask = 0; /* bit per vector to measure */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_softirq_state);
	__uint(max_entries, HL_SOFTIRQ_VECS);
} state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, HL_STALL_COUNTERS);
} counters SEC(".maps");

static __always_inline struct hl_softirq_state *vec_get(unsigned int vec)
{
	__u32 k = vec;

	if (vec >= HL_SOFTIRQ_VECS || !(vec_mask & (1U << vec)))
		return 0;
	return bpf_map_lookup_elem(&state, &k);
}

static __always_inline void sample(__u32 kind, unsigned int vec, __u64 v)
{
	struct hl_series_key key = {.stage = kind * HL_SOFTIRQ_VECS + vec};

	if (hl_lathist_add(&key, v))
		hl_count(&counters, HL_STALL_MAP_FULL);
}

SEC("tp_btf/softirq_raise")
int BPF_PROG(hl_softirq_raise, unsigned int vec)
{
	struct hl_softirq_state *st = vec_get(vec);

	if (st && !st->raised)
		st->raised = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(hl_softirq_entry, unsigned int vec)
{
	struct hl_softirq_state *st = vec_get(vec);
	__u64 now;

	if (!st)
		return 0;
	now = bpf_ktime_get_ns();
	if (st->raised && st->raised <= now)
		sample(HL_SOFTIRQ_WAIT, vec, now - st->raised);
	st->raised = 0;
	st->entered = now;
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(hl_softirq_exit, unsigned int vec)
{
	struct hl_softirq_state *st = vec_get(vec);
	__u64 now;

	if (!st || !st->entered)
		return 0;
	now = bpf_ktime_get_ns();
	if (st->entered <= now) {
		sample(HL_SOFTIRQ_RUN, vec, now - st->entered);
		st->runs++;
		st->run_ns += now - st->entered;
	}
	st->entered = 0;
	return 0;
}
