/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-socket state at the socket-read stages of stack_latency.bpf.c:
 *
 *  - HOL-blocked TCP reads. A segment that arrived while an earlier one was
 *    lost waits in the out-of-order queue until the retransmission fills
 *    the hole: its read shows the network's loss recovery (an RTO is at
 *    least 200 ms) as host latency. Such reads are left out (counted as
 *    dropped, reason hol_blocked) unless include_hol_blocked is set.
 *  - Standing queues, CoDel's rule applied at each read (the dequeue) with
 *    the read's sojourn time: above target for a whole interval starts an
 *    episode, the first read below target (or that leaves the queue empty)
 *    ends it; durations go into histograms of the extra series ids
 *    HL_SQ_* (hostlat.h) of the stage maps (lathist.h).
 *
 * Storage: socket-local storage where the program may call
 * bpf_sk_storage_get (fentry, fexit, tp_btf), freed with the socket; kprobe
 * programs have no such helper and use a bounded LRU hash keyed by the
 * socket's address (see struct hl_sockstate_key).
 *
 * The read hooks run after the socket lock was released (tcp_recvmsg calls
 * tcp_recv_timestamp after release_sock; sock_recv_length fires after the
 * protocol's recvmsg returned): every field is read while softirqs may
 * change it, and two tasks may read one socket at once. Each guess below
 * is made so that a race can only EXCLUDE a read, never include one that
 * waited behind a hole; the races handled are named where they are.
 *
 * Include after the helpers of stack_latency.bpf.c (count, now_realtime,
 * sk_qlen, group_by, lathist.h).
 */
#ifndef HOSTLAT_SOCKSTATE_H
#define HOSTLAT_SOCKSTATE_H

/* Written by user space before load. */
const volatile bool hol_exclude = false; /* leave HOL-blocked TCP reads out */
const volatile __u64 sq_target_ns = 0;	 /* 0: standing-queue detection off */
const volatile __u64 sq_interval_ns = 0;

/*
 * How far past rcv_nxt a sequence number may lie and still be believed
 * (the largest TCP window is 1 GiB); also how far behind copied_seq the
 * safe mark may fall before it is moved up, so that the wrap-aware
 * comparison (valid within 2 GiB) never flips.
 */
#define HL_HOL_SPAN (1U << 30)

struct hl_sockstate {
	/*
	 * rcv_ooopack << 32 | the sequence number up to which reads may have
	 * waited behind a hole; 0 before the socket's first out-of-order
	 * packet. One 64-bit word, stored at once: a reader on another CPU
	 * sees the old or the new pair, never a mix.
	 */
	__u64 hol;
	__u64 sq_above;	  /* realtime ns since which the sojourn is above target, 0: below */
	__u32 sq_episode; /* 1: a standing-queue episode is under way */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct hl_sockstate);
} sockstate SEC(".maps");

/*
 * kprobe variant: the socket's address and, for TCP, the connection's
 * initial receive sequence + 1 (rcv_nxt - bytes_received, fixed for a
 * connection's life, random per connection). A socket freed and another
 * allocated at the same address is therefore another key (1 in 2^32 that
 * the ISNs match): it starts with no state, which at worst excludes its
 * first out-of-order read (rcv_ooopack > 0, nothing stored: treated as
 * grown). A torn read of the two fields gives a key of no connection: that
 * read is excluded and its entry ages out of the LRU. UDP sockets have no
 * such number (ident 0): a reused address may inherit an above-target mark
 * of the standing-queue rule, which only matters if the new socket's first
 * reads are above target too.
 */
struct hl_sockstate_key {
	__u64 sk;
	__u32 ident;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct hl_sockstate_key);
	__type(value, struct hl_sockstate);
	__uint(max_entries, 1); /* probes.stack_latency.max_sockets, set by user space */
} sockstate_lru SEC(".maps");

/* A tcp_sock field: a direct load in BTF programs, a CO-RE probe read in kprobes. */
#define HL_TP(tp, field, kp) ((kp) ? BPF_CORE_READ(tp, field) : (tp)->field)

/* The socket as a TCP socket; NULL when it is not a full TCP socket. */
static __always_inline const struct tcp_sock *hl_tcp_of(const struct sock *sk, bool kp)
{
	if (kp)
		return (const struct tcp_sock *)sk;
	return bpf_skc_to_tcp_sock((void *)sk);
}

/* kprobe key part of a TCP socket (struct hl_sockstate_key); 0 elsewhere. */
static __always_inline __u32 hl_tcp_ident(const struct tcp_sock *tp, bool kp)
{
	if (!kp)
		return 0;
	return BPF_CORE_READ(tp, rcv_nxt) - (__u32)BPF_CORE_READ(tp, bytes_received);
}

static __always_inline struct hl_sockstate *hl_sockstate_get(const struct sock *sk, __u32 ident,
							     bool create, bool kp)
{
	struct hl_sockstate_key key = {.sk = (__u64)sk, .ident = ident};
	struct hl_sockstate zero = {}, *st;

	if (!kp)
		return bpf_sk_storage_get(&sockstate, (void *)sk, 0,
					  create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
	st = bpf_map_lookup_elem(&sockstate_lru, &key);
	if (st || !create)
		return st;
	/* Another CPU may insert it first: then its entry is used. */
	bpf_map_update_elem(&sockstate_lru, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&sockstate_lru, &key);
}

/*
 * The sequence number up to which reads may have waited behind the hole
 * rcv_ooopack just reported: the end of the out-of-order queue's last skb
 * when the queue holds any, else rcv_nxt (the hole was filled, everything
 * before rcv_nxt may have waited). The queue changes under us (softirq
 * adds, prunes or drains it; its last skb may be freed while we read): the
 * skb is read with bpf_probe_read_kernel (a freed skb gives garbage, never
 * a fault) and a value not after rcv_nxt or more than HL_HOL_SPAN past it
 * is replaced by the right edge of the advertised window, which no queued
 * segment can pass, or failing that rcv_nxt + HL_HOL_SPAN: larger than the
 * truth, so more is excluded, never less.
 */
static __always_inline __u32 hl_hol_safe_seq(const struct tcp_sock *tp, bool kp)
{
	__u32 nxt = HL_TP(tp, rcv_nxt, kp), edge, end;
	__u64 last;

	edge = HL_TP(tp, rcv_wup, kp) + HL_TP(tp, rcv_wnd, kp);
	if ((__s32)(edge - nxt) <= 0 || edge - nxt > HL_HOL_SPAN)
		edge = nxt + HL_HOL_SPAN;
	if (!HL_TP(tp, out_of_order_queue.rb_node, kp))
		return nxt;
	last = (__u64)BPF_CORE_READ(tp, ooo_last_skb);
	if (!last)
		return edge;
	/* TCP_SKB_CB(skb)->end_seq: the second __u32 of skb->cb (struct tcp_skb_cb). */
	last += bpf_core_field_offset(struct sk_buff, cb) + sizeof(__u32);
	if (bpf_probe_read_kernel(&end, sizeof(end), (const void *)last))
		return edge;
	if ((__s32)(end - nxt) <= 0 || end - nxt > HL_HOL_SPAN)
		return edge;
	return end;
}

/*
 * True when the TCP read that just ended may have waited behind a lost
 * segment: rcv_ooopack grew since the socket's previous read, or the read
 * ended at or before the sequence number remembered when it last grew.
 * The common path (a socket that never saw an out-of-order packet) is one
 * load and a compare, without a storage lookup.
 *
 * Races: rcv_ooopack grows while we look (the next read sees it grow and
 * is excluded, with a mark taken later, so larger); two readers update the
 * word at once (one pair wins; if it is the older count, the next read
 * sees rcv_ooopack "grow" again and is excluded, its mark taken later);
 * no storage (memory, the LRU): exclude.
 */
static __always_inline bool hl_hol_blocked(const struct sock *sk, bool kp)
{
	const struct tcp_sock *tp;
	struct hl_sockstate *st;
	__u32 ooo, copied, safe;
	__u64 hol;

	if (!hol_exclude)
		return false;
	tp = hl_tcp_of(sk, kp);
	if (!tp)
		return false;
	ooo = HL_TP(tp, rcv_ooopack, kp);
	if (!ooo)
		return false;
	st = hl_sockstate_get(sk, hl_tcp_ident(tp, kp), true, kp);
	if (!st)
		return true;
	hol = *(volatile __u64 *)&st->hol;
	copied = HL_TP(tp, copied_seq, kp);
	if ((__u32)(hol >> 32) != ooo) {
		*(volatile __u64 *)&st->hol = (__u64)ooo << 32 | hl_hol_safe_seq(tp, kp);
		return true;
	}
	safe = (__u32)hol;
	if ((__s32)(copied - safe) <= 0)
		return true;
	/* Past the mark: keep it within HL_HOL_SPAN behind (once per GiB read). */
	if (copied - safe > HL_HOL_SPAN)
		*(volatile __u64 *)&st->hol = (__u64)ooo << 32 | copied;
	return false;
}

/*
 * Whether the read left the socket with nothing to read: CoDel's "backlog
 * below one MTU", where no queue stands whatever the sojourn (a reader
 * that wakes late for a trickle of packets). TCP: every byte received in
 * order was copied; UDP (skb_consume_udp, the datagram already dequeued):
 * both the reader queue and the receive queue are empty.
 */
static __always_inline bool hl_read_drained(__u32 stage, const struct sock *sk, bool kp)
{
	const struct tcp_sock *tp;

	if (stage != HL_STAGE_TCP_SOCK_READ)
		return !sk_qlen(sk, kp) &&
		       !BPF_CORE_READ((const struct udp_sock *)sk, reader_queue.qlen);
	tp = hl_tcp_of(sk, kp);
	return tp && HL_TP(tp, copied_seq, kp) == HL_TP(tp, rcv_nxt, kp);
}

/*
 * CoDel's rule at a read of stage with the stamp tstamp: when the sojourn
 * is above target, the queue has stood above target since that packet's
 * sojourn crossed it (tstamp + target: a reader that stopped for a while
 * makes no reads meanwhile, so the time of the read would miss the stall);
 * above target at every read for a whole interval from then starts an
 * episode (counted in the series HL_SQ_*_EPISODES as a 0 ns sample); the
 * first read below target, or that leaves the queue empty, ends it and
 * records its duration (from when the sojourn went above target to this
 * read) in HL_SQ_*_DURATION. Reads that find nothing are no samples and
 * change nothing. Races between two readers of one socket only blur the
 * episode's bounds.
 */
static __always_inline void hl_standing_queue(__u32 stage, const struct sock *sk, __u64 tstamp,
					      __u64 cgroup, bool kp)
{
	bool tcp = stage == HL_STAGE_TCP_SOCK_READ, below;
	struct hl_series_key skey = {};
	struct hl_sockstate *st;
	__u32 ident = 0;
	__u64 now;

	if (!sq_target_ns || !tstamp)
		return;
	now = now_realtime();
	if (tstamp > now)
		return;
	below = now - tstamp < sq_target_ns || hl_read_drained(stage, sk, kp);
	if (kp && tcp)
		ident = hl_tcp_ident((const struct tcp_sock *)sk, kp);
	/* Below target with no state: nothing to end, nothing to store. */
	st = hl_sockstate_get(sk, ident, !below, kp);
	if (!st)
		return;
	if (group_by & HL_GROUP_CGROUP)
		skey.cgroup = cgroup;
	if (below) {
		if (st->sq_episode) {
			skey.stage = tcp ? HL_SQ_TCP_DURATION : HL_SQ_UDP_DURATION;
			if (now > st->sq_above && hl_lathist_add(&skey, now - st->sq_above))
				count(stage, HL_CNT_DROP0 + HL_DROP_MAP_FULL);
			st->sq_episode = 0;
		}
		st->sq_above = 0;
		return;
	}
	if (!st->sq_above)
		st->sq_above = tstamp + sq_target_ns;
	if (!st->sq_episode && now >= st->sq_above && now - st->sq_above >= sq_interval_ns) {
		st->sq_episode = 1;
		skey.stage = tcp ? HL_SQ_TCP_EPISODES : HL_SQ_UDP_EPISODES;
		if (hl_lathist_add(&skey, 0))
			count(stage, HL_CNT_DROP0 + HL_DROP_MAP_FULL);
	}
}

#endif /* HOSTLAT_SOCKSTATE_H */
