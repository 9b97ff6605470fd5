/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types and constants shared by the BPF programs and the agent.
 * Fixed-width types only; no kernel or libc headers.
 */
#ifndef HOSTLAT_H
#define HOSTLAT_H

/* Network-stack latency stages, in the order packets meet them. */
enum hl_stage {
	HL_STAGE_IP_START = 0,
	HL_STAGE_CONNTRACK, /* PREROUTING, after ip_rcv_core: the packet meets connection tracking */
	HL_STAGE_TCP_START,
	HL_STAGE_UDP_START,
	HL_STAGE_TCP_SOCK_ENQUEUED,
	HL_STAGE_UDP_SOCK_ENQUEUED,
	HL_STAGE_TCP_SOCK_READ,
	HL_STAGE_UDP_SOCK_READ,
	HL_STAGE_COUNT,
};

/* Why a sample was not recorded (per stage, per-CPU counters). */
enum hl_drop_reason {
	HL_DROP_NO_TSTAMP = 0, /* skb carried no RX software timestamp */
	HL_DROP_FUTURE,	       /* stamp later than now (clock step) */
	HL_DROP_TX_TSTAMP,     /* skb carries a transmit delivery time */
	HL_DROP_MAP_FULL,      /* no room for a new group-by key */
	HL_DROP_HOL_BLOCKED,   /* TCP read that may have waited behind a lost segment */
	HL_DROP_REASON_COUNT,
};

/*
 * Series ids past the stages in the stage histogram maps: standing-queue
 * episodes at the socket-read stages (bpf/sockstate.h). A duration series
 * holds each ended episode's length; an episodes series one 0 ns sample per
 * episode started (its count is the episode count).
 */
enum hl_sq_series {
	HL_SQ_TCP_DURATION = HL_STAGE_COUNT,
	HL_SQ_UDP_DURATION,
	HL_SQ_TCP_EPISODES,
	HL_SQ_UDP_EPISODES,
	HL_SQ_SERIES_END,
};

/* Group-by flags (rodata group_by). */
#define HL_GROUP_IFACE (1U << 0)
#define HL_GROUP_CGROUP (1U << 1)

/* Histogram bucket counter key: one per (group, stage, bucket). */
struct hl_hist_key {
	__u64 cgroup;  /* cgroup v2 id, 0 unless grouped by cgroup */
	__u32 ifindex; /* 0 unless grouped by interface */
	__u32 netns;   /* network namespace inode of ifindex, 0 unless grouped by interface */
	__u16 stage;   /* enum hl_stage */
	__u16 pos;     /* table position, see exphist.h */
	__u32 pad;     /* zero */
};

/* Per (group, stage) running totals; min/max over the map's lifetime. */
struct hl_series_key {
	__u64 cgroup;
	__u32 ifindex;
	__u32 netns;
	__u32 stage;
	__u32 pad; /* zero */
};

/* Interface names as the kernel saw them, for group-by interface. */
struct hl_ifname_key {
	__u32 netns;
	__u32 ifindex;
};
#define HL_IFNAMSIZ 16

struct hl_series_val {
	__u64 sum_ns;
	__u64 zero; /* samples of exactly 0 ns (the zero bucket) */
	__u64 min_ns;
	__u64 max_ns;
};

/*
 * Dense layout (bpf/lathist.h), used when a probe's series are the ids
 * 0..n-1 and nothing else (no group-by): per id a block of `stride`
 * elements of the per-CPU array `dense`, each element 32 bytes. Element 0
 * is the id's struct hl_series_val; element 1 + p / HL_DENSE_SLOTS holds,
 * in its __u64 slot p % HL_DENSE_SLOTS, the count of table position p.
 */
#define HL_DENSE_SLOTS 4
_Static_assert(sizeof(struct hl_series_val) == HL_DENSE_SLOTS * sizeof(__u64),
	       "a dense element is a struct hl_series_val or HL_DENSE_SLOTS bucket counters");

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * One sample of v ns in a series' totals on this CPU's copy (the kernel's
 * code; user space tests it). A copy starts all zero (a hash entry another
 * CPU created, any dense block): its first sample (no zeros, max 0 so far)
 * sets min.
 */
static __always_inline void hl_series_val_add(struct hl_series_val *sv, __u64 v)
{
	int first = !sv->zero && !sv->max_ns;

	if (!v)
		sv->zero++;
	sv->sum_ns += v;
	if (first || v < sv->min_ns)
		sv->min_ns = v;
	if (v > sv->max_ns)
		sv->max_ns = v;
}

/* Per-CPU counters array: index = stage * HL_CNT_PER_STAGE + slot. */
enum hl_counter_slot {
	HL_CNT_EVENTS = 0, /* samples recorded (stack: only for the XDP responder) */
	HL_CNT_DROP0,	   /* + enum hl_drop_reason */
	HL_CNT_PER_STAGE = HL_CNT_DROP0 + HL_DROP_REASON_COUNT,
};
#define HL_COUNTERS_SIZE (HL_STAGE_COUNT * HL_CNT_PER_STAGE)

#endif /* HOSTLAT_H */
