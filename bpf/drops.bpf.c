// SPDX-License-Identifier: GPL-2.0
/*
 * Packet drops and socket-buffer pressure, counted per (kind, reason,
 * socket cgroup): skb/kfree_skb by drop reason (the
 * number; user space names it from the running kernel's BTF), and
 * sock/sock_rcvqueue_full and sock/sock_exceed_buf_limit. kfree_skb's
 * arguments changed over time (reason in 5.17, the receiving socket in
 * 6.11): one program per form, user space loads the one this kernel has.
 * Without group_by the counters are a per-CPU array indexed by reason
 * (`dense`: one inlined array lookup per event instead of a hash lookup,
 * and the socket is not read); with it, or for a reason past the kernel's
 * enum (subsystem reasons), a per-CPU hash keyed by (kind, reason, cgroup).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "hostlat.h"
#include "stall.h"
#include "maphelp.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 netns_ino = 0;	  /* 0: every network namespace */
const volatile bool group_cgroup = false; /* key by the socket's cgroup */
/* skb drop reasons below this are counted in `dense` (0: the hash only);
 * `dense` has dense_reasons + 2 entries: the reasons, then rcvqueue_full
 * and exceed_buf_limit. Set by user space from the kernel's enum. */
const volatile __u32 dense_reasons = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1); /* set by user space before load */
} dense SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct hl_drop_key);
	__type(value, __u64);
	__uint(max_entries, 1024); /* set by user space before load */
} drops SEC(".maps");

/* Events not counted because the drops map was full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} overflow SEC(".maps");

/* Packets dropped (the skb drops counted above, every reason): the one
 * number the XDP responder sums instead of walking the drops map. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} drops_total SEC(".maps");

static __always_inline __u64 sk_cgroup(const struct sock *sk)
{
	struct cgroup *cg;

	if (!sk || !bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return 0;
	cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	if (!cg)
		return 0;
	return BPF_CORE_READ(cg, kn, id);
}

static __always_inline bool net_match(const struct net *net)
{
	if (!netns_ino)
		return true;
	return net && BPF_CORE_READ(net, ns.inum) == netns_ino;
}

static __always_inline void add(__u32 kind, __u32 reason, const struct sock *sk)
{
	struct hl_drop_key key = {.kind = kind, .reason = reason};
	__u64 *c, zero = 0;

	if (dense_reasons && !group_cgroup) {
		if (kind != HL_DROPK_SKB) {
			hl_count(&dense, dense_reasons + kind - HL_DROPK_RCVQ_FULL);
			return;
		}
		if (reason < dense_reasons) {
			hl_count(&dense, reason);
			return;
		}
	}
	if (group_cgroup)
		key.cgroup = sk_cgroup(sk);
	c = hl_lookup_or_init(&drops, &key, &zero);
	if (c)
		(*c)++;
	else
		hl_count(&overflow, 0);
}

/* The socket a dropped skb was for: the tracepoint's, else the skb's owner
 * (read only when a filter or the cgroup key needs it). */
static __always_inline void skb_drop(const struct sk_buff *skb, __u32 reason,
				     const struct sock *rx_sk)
{
	const struct sock *sk = rx_sk;
	const struct net *net = 0;

	if (!sk && (netns_ino || group_cgroup))
		sk = BPF_CORE_READ(skb, sk);
	if (netns_ino) {
		if (sk)
			net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
		else
			net = BPF_CORE_READ(skb, dev, nd_net.net);
		if (!net_match(net))
			return;
	}
	add(HL_DROPK_SKB, reason, sk);
	hl_count(&drops_total, 0);
}

static __always_inline bool consumed(__u32 reason)
{
	/* Not a drop: some kernels report normal frees through kfree_skb too. */
	return bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	       reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED);
}

/* 6.11+: kfree_skb(skb, location, reason, rx_sk) */
SEC("tp_btf/kfree_skb")
int BPF_PROG(hl_kfree_skb_sk, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	if (!consumed(reason))
		skb_drop(skb, reason, rx_sk);
	return 0;
}

/* 5.17-6.10: kfree_skb(skb, location, reason) */
SEC("tp_btf/kfree_skb")
int BPF_PROG(hl_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	if (!consumed(reason))
		skb_drop(skb, reason, 0);
	return 0;
}

/* Before 5.17: kfree_skb(skb, location), no reason. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(hl_kfree_skb_noreason, struct sk_buff *skb, void *location)
{
	skb_drop(skb, HL_DROP_REASON_UNKNOWN, 0);
	return 0;
}

static __always_inline void sock_event(__u32 kind, const struct sock *sk)
{
	if (netns_ino && !net_match(BPF_CORE_READ(sk, __sk_common.skc_net.net)))
		return;
	add(kind, 0, sk);
}

SEC("tp_btf/sock_rcvqueue_full")
int BPF_PROG(hl_sock_rcvqueue_full, struct sock *sk)
{
	sock_event(HL_DROPK_RCVQ_FULL, sk);
	return 0;
}

SEC("tp_btf/sock_exceed_buf_limit")
int BPF_PROG(hl_sock_exceed_buf_limit, struct sock *sk)
{
	sock_event(HL_DROPK_EXCEED_BUF, sk);
	return 0;
}
