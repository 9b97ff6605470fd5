// SPDX-License-Identifier: GPL-2.0
/*
 * Run-queue latency: the time a task waits, runnable, for a CPU. It
 * becomes runnable at sched_wakeup / sched_wakeup_new, or stays runnable
 * when preempted (sched_switch with prev still TASK_RUNNING); the wait
 * ends at the sched_switch that runs it. Measured for threads that read
 * sockets (marked in task storage at each socket read) or for every task,
 * optionally only in given processes or cgroups; histograms per cgroup
 * when grouped (lathist.h, series id 0).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "hostlat.h"
#include "exphist.h"
#include "stall.h"
#include "maphelp.h"
#include "lathist.h"
#include "taskfilter.h"
#include "exemplar.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool all_tasks = false; /* else socket readers only */
const volatile bool group_cgroup = false;

struct task_rq {
	__u64 queued; /* when it became runnable; 0: not waiting */
	__u32 reader; /* read a socket */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_rq);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, HL_STALL_COUNTERS);
} counters SEC(".maps");

/* Kernels before 5.14 called task_struct.__state `state`. */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

static __always_inline bool still_runnable(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state == 0;
	return ((struct task_struct___old *)t)->state == 0;
}

static __always_inline __u64 task_cgroup(struct task_struct *t)
{
	return t->cgroups->dfl_cgrp->kn->id;
}

static __always_inline bool task_match(struct task_struct *t)
{
	return (!filter_pids || hl_pid_listed(t->tgid)) &&
	       (!filter_cgroups || hl_cgroup_listed(task_cgroup(t)));
}

/* t is runnable from now on. */
static __always_inline void enqueue(struct task_struct *t)
{
	struct task_rq *st;

	if (!t->pid)
		return; /* idle tasks never wait */
	if (all_tasks) {
		if (!task_match(t))
			return;
		st = bpf_task_storage_get(&tasks, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!st) {
			hl_count(&counters, HL_STALL_OVERFLOW);
			return;
		}
	} else {
		/* Most tasks are not socket readers: that check before the filters. */
		st = bpf_task_storage_get(&tasks, t, 0, 0);
		if (!st || !st->reader || !task_match(t))
			return;
	}
	st->queued = bpf_ktime_get_ns();
}

static __always_inline void mark_reader(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct task_rq *st;

	if (all_tasks)
		return;
	st = bpf_task_storage_get(&tasks, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (st)
		st->reader = 1;
	else
		hl_count(&counters, HL_STALL_OVERFLOW);
}

/* Socket readers: every recvmsg on a socket (6.4+). */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(hl_rq_sock_recv, struct sock *sk, int ret)
{
	if (ret >= 0)
		mark_reader();
	return 0;
}

/* Older kernels: a read that copies an skb to user space. */
SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(hl_rq_skb_copy, const struct sk_buff *skb, int len)
{
	mark_reader();
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(hl_rq_wakeup, struct task_struct *p)
{
	enqueue(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(hl_rq_wakeup_new, struct task_struct *p)
{
	enqueue(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(hl_rq_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct hl_series_key key = {};
	struct hl_ex_slot *ex;
	struct task_rq *st;
	__u64 now, queued, rank;
	__u32 seq;

	if (still_runnable(prev))
		enqueue(prev);
	st = bpf_task_storage_get(&tasks, next, 0, 0);
	if (!st || !st->queued)
		return 0;
	queued = st->queued;
	st->queued = 0;
	now = bpf_ktime_get_ns();
	if (queued > now)
		return 0;
	if (group_cgroup)
		key.cgroup = task_cgroup(next);
	if (hl_lathist_add(&key, now - queued)) {
		hl_count(&counters, HL_STALL_MAP_FULL);
		return 0;
	}
	/* A new maximum of the interval: the task that waited (exemplar.h). */
	ex = hl_ex_better(&key, now - queued, &rank);
	if (ex) {
		seq = hl_ex_begin(ex, rank, now - queued);
		hl_ex_task(ex, next, task_cgroup(next), false);
		hl_ex_end(ex, seq);
	}
	return 0;
}
