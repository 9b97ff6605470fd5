// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel function latency: for each configured function (slot n, up to
 * HL_FUNC_SLOTS) an fentry and an fexit program (BPF trampolines), and a
 * kprobe and a kretprobe program for functions trampolines cannot hook;
 * user space loads one pair per slot in use. The fentry/fexit programs
 * name a placeholder target and are pointed at the slot's function
 * (bpf_program__set_attach_target); the kprobes are attached to it by
 * name. Both pairs run the same on_entry/on_exit. Entry times are kept per (task, slot) with a small stack,
 * so recursion and a softirq interrupting the same function in process
 * context pair up; per task, not per CPU, so a function that sleeps or
 * migrates is timed right too. Durations go to lathist.h, series id = slot.
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

struct call_key {
	__u64 task; /* task_struct address: unique per running task, idle tasks included */
	__u32 slot;
	__u32 pad;
};

struct call_stack {
	__u64 ts[HL_FUNC_DEPTH];
	__u32 depth; /* calls entered and not yet exited (may exceed HL_FUNC_DEPTH) */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct call_key);
	__type(value, struct call_stack);
	__uint(max_entries, 16384);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, HL_STALL_COUNTERS);
} counters SEC(".maps");

static __always_inline int on_entry(__u32 slot)
{
	struct call_key key = {.task = bpf_get_current_task(), .slot = slot};
	struct call_stack init = {}, *cs;
	__u32 d;

	cs = hl_lookup_or_init(&calls, &key, &init);
	if (!cs) {
		hl_count(&counters, HL_STALL_OVERFLOW);
		return 0;
	}
	d = cs->depth;
	/*
	 * Far deeper than any recursion: returns were missed (a kretprobe
	 * drops the calls past its limit of calls in flight). Start over
	 * rather than never timing this task's calls again.
	 */
	if (d >= 4 * HL_FUNC_DEPTH) {
		hl_count(&counters, HL_STALL_OVERFLOW);
		d = 0;
	}
	if (d < HL_FUNC_DEPTH)
		cs->ts[d] = bpf_ktime_get_ns();
	else
		hl_count(&counters, HL_STALL_OVERFLOW);
	cs->depth = d + 1;
	return 0;
}

static __always_inline int on_exit(__u32 slot)
{
	struct call_key key = {.task = bpf_get_current_task(), .slot = slot};
	struct hl_series_key skey = {.stage = slot};
	struct call_stack *cs = bpf_map_lookup_elem(&calls, &key);
	__u64 now = bpf_ktime_get_ns(), start;
	__u32 d;

	if (!cs || !cs->depth)
		return 0; /* entered before we attached */
	d = cs->depth - 1;
	cs->depth = d;
	if (d >= HL_FUNC_DEPTH)
		return 0; /* too deep: its start was not kept */
	start = cs->ts[d];
	if (!d)
		bpf_map_delete_elem(&calls, &key);
	if (start > now)
		return 0;
	if (hl_lathist_add(&skey, now - start))
		hl_count(&counters, HL_STALL_MAP_FULL);
	return 0;
}

/*
 * The placeholder target exists in every kernel with BTF; user space
 * retargets. The kprobes have no target: user space attaches them.
 */
#define HL_FUNC_SLOT(n)                                                                            \
	SEC("fentry/security_socket_recvmsg")                                                      \
	int BPF_PROG(hl_fn_entry_##n)                                                              \
	{                                                                                          \
		return on_entry(n);                                                                \
	}                                                                                          \
	SEC("fexit/security_socket_recvmsg")                                                       \
	int BPF_PROG(hl_fn_exit_##n)                                                               \
	{                                                                                          \
		return on_exit(n);                                                                 \
	}                                                                                          \
	SEC("kprobe")                                                                              \
	int BPF_KPROBE(hl_kp_entry_##n)                                                            \
	{                                                                                          \
		return on_entry(n);                                                                \
	}                                                                                          \
	SEC("kretprobe")                                                                           \
	int BPF_KRETPROBE(hl_kp_exit_##n)                                                          \
	{                                                                                          \
		return on_exit(n);                                                                 \
	}

HL_FUNC_SLOT(0)
HL_FUNC_SLOT(1)
HL_FUNC_SLOT(2)
HL_FUNC_SLOT(3)
HL_FUNC_SLOT(4)
HL_FUNC_SLOT(5)
HL_FUNC_SLOT(6)
HL_FUNC_SLOT(7)
HL_FUNC_SLOT(8)
HL_FUNC_SLOT(9)
HL_FUNC_SLOT(10)
HL_FUNC_SLOT(11)
HL_FUNC_SLOT(12)
HL_FUNC_SLOT(13)
HL_FUNC_SLOT(14)
HL_FUNC_SLOT(15)
