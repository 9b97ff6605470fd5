/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by the kernel stall probes (softirq, napi, drops, runqueue,
 * function latency) and the agent. Fixed-width types only.
 */
#ifndef HOSTLAT_STALL_H
#define HOSTLAT_STALL_H

/* ---- softirq --------------------------------------------------------------- */

/* Softirq vectors, as numbered by the kernel (include/linux/interrupt.h). */
#define HL_SOFTIRQ_VECS 10
#define HL_SOFTIRQ_NET_RX 3
/* Series id (hl_series_key.stage) = kind * HL_SOFTIRQ_VECS + vector. */
enum hl_softirq_kind {
	HL_SOFTIRQ_WAIT = 0, /* softirq_raise -> softirq_entry */
	HL_SOFTIRQ_RUN,	     /* softirq_entry -> softirq_exit */
	HL_SOFTIRQ_KINDS,
};

/*
 * Per-CPU state of one vector (the softirq program's `state` map). runs and
 * run_ns also let the XDP responder sum NET_RX activity over CPUs cheaply.
 */
struct hl_softirq_state {
	__u64 raised;  /* first raise not yet followed by an entry; 0: none */
	__u64 entered; /* entry of the running handler; 0: none */
	__u64 runs;    /* handler runs measured (entry to exit) */
	__u64 run_ns;  /* their total time */
};

/* Per-CPU counters of the latency probes (softirq, runqueue, function). */
enum hl_stall_counter {
	HL_STALL_MAP_FULL, /* samples lost: a histogram map was full */
	HL_STALL_OVERFLOW, /* entries lost: a state map was full or nested too deep */
	HL_STALL_COUNTERS,
};

/* ---- napi -------------------------------------------------------------------- */

#define HL_NAPI_NAMSIZ 16

struct hl_napi_key {
	__u32 netns;   /* inode of the device's network namespace; 0: no device */
	__u32 ifindex; /* 0: no device (the per-CPU backlog) */
	char name[HL_NAPI_NAMSIZ];
};

struct hl_napi_val {
	__u64 polls;	 /* napi_poll calls */
	__u64 packets;	 /* work done, summed */
	__u64 exhausted; /* polls that used their whole budget */
	__u64 budget;	 /* budgets, summed (average = budget / polls) */
};

/* ---- drops -------------------------------------------------------------------- */

enum hl_drop_kind {
	HL_DROPK_SKB = 0,    /* skb/kfree_skb, by reason */
	HL_DROPK_RCVQ_FULL,  /* sock/sock_rcvqueue_full */
	HL_DROPK_EXCEED_BUF, /* sock/sock_exceed_buf_limit */
};

/* Reason value used when the kernel's kfree_skb carries no reason. */
#define HL_DROP_REASON_UNKNOWN 0xffffffffU

struct hl_drop_key {
	__u64 cgroup; /* the socket's cgroup v2 id when grouped, else 0 */
	__u32 reason; /* enum skb_drop_reason value (HL_DROPK_SKB), else 0 */
	__u32 kind;   /* enum hl_drop_kind */
};

/* ---- function latency ---------------------------------------------------------- */

/* Most kernel functions timed at once (programs are generated per slot). */
#define HL_FUNC_SLOTS 16
/* Nesting depth kept per (task, function): recursion, or a softirq
 * interrupting the same function in process context. */
#define HL_FUNC_DEPTH 4
/* Longest function name a config item may give. */
#define HL_FUNC_NAME_MAX 127

#endif /* HOSTLAT_STALL_H */
