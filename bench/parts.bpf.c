// SPDX-License-Identifier: GPL-2.0
/*
 * Where a histogram program's nanoseconds go (bench/parts.sh): the softirq
 * probe's softirq_entry program (bpf/softirq.bpf.c) rebuilt one part at a
 * time, each program adding one part to the one before, with the project's
 * own code for every part (lathist.h, exphist.h: what every duration
 * program of hostlat runs per sample):
 *   p0_empty   nothing (the floor)
 *   p1_state   the per-CPU, per-vector state: one array lookup, one store
 *   p2_clock   + bpf_ktime_get_ns()
 *   p3_totals  + the series' running totals (dense element 0: sum, zeros,
 *              min, max)
 *   p4_search  + the exact OTel bucket's position (hl_exph_pos: the
 *              bounds table searched within the value's octave)
 *   p5_bucket  + that bucket's counter: the whole sample (hl_lathist_add)
 * bench/parts.c loads one of them at a time, with the bucketing tables and
 * the dense layout sized as the agent sizes them. The sample is the time
 * since the previous entry of the vector on this CPU (the real program
 * measures from the raise: the same orders of magnitude).
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_softirq_state);
	__uint(max_entries, HL_SOFTIRQ_VECS);
} state SEC(".maps");

const volatile __u32 vec_mask = 0;

static __always_inline struct hl_softirq_state *vec_get(unsigned int vec)
{
	__u32 k = vec;

	if (vec >= HL_SOFTIRQ_VECS || !(vec_mask & (1U << vec)))
		return 0;
	return bpf_map_lookup_elem(&state, &k);
}

/* Parts 1 to `upto` of a sample of vector vec. */
static __always_inline int run(unsigned int vec, int upto)
{
	struct hl_series_key key = {.stage = vec};
	struct hl_softirq_state *st = vec_get(vec);
	struct hl_series_val *sv;
	__u64 now, v;
	__u32 i;

	if (!st)
		return 0;
	now = upto >= 2 ? bpf_ktime_get_ns() : st->entered + 1000;
	v = st->entered && st->entered <= now ? now - st->entered : 0;
	st->entered = now;
	if (upto < 3 || !v)
		return 0;
	if (upto >= 5) {
		hl_lathist_add(&key, v);
		return 0;
	}
	i = key.stage * dense_stride;
	sv = bpf_map_lookup_elem(&dense, &i);
	if (sv)
		hl_series_val_add(sv, v);
	if (upto >= 4) /* kept where the compiler cannot drop it */
		st->runs += hl_exph_pos(exph_bounds, exph_octave_first, hist_scale, v);
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(p0_empty, unsigned int vec)
{
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(p1_state, unsigned int vec)
{
	return run(vec, 1);
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(p2_clock, unsigned int vec)
{
	return run(vec, 2);
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(p3_totals, unsigned int vec)
{
	return run(vec, 3);
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(p4_search, unsigned int vec)
{
	return run(vec, 4);
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(p5_bucket, unsigned int vec)
{
	return run(vec, 5);
}
