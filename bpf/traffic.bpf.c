// SPDX-License-Identifier: GPL-2.0
/*
 * Traffic sampling (Millisampler-style): during a run, every packet seen by
 * tc on a sampled interface adds to slot (now - start) / granularity of
 * its CPU's block of the slots array (a plain array, one block per CPU,
 * that user space maps instead of copying): bytes, packets, ECN CE-marked
 * bytes (ingress), and a bit of a small flow-hash bitmap; TCP retransmissions (egress) come from the
 * tcp_retransmit_skb tracepoint into the same slots. Outside a run the tc
 * programs read one word and return.
 *
 * The programs never change a packet's fate: they always return
 * TC_ACT_UNSPEC (tcx: next program / pass).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "traffic_types.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define TC_ACT_UNSPEC_ (-1)
#define ECN_CE 3

/* Written by user space before load. */
const volatile __u32 n_ifaces = 0;
const volatile __u32 if_index[HL_TRAFFIC_MAX_IFACES];
const volatile __u32 samples = 2000;	     /* slots per (interface, direction) */
const volatile __u32 n_cpus = 1;	     /* possible CPUs: blocks in slots */
const volatile __u64 netns_ino = 0;	     /* the agent's network namespace */
const volatile bool retrans_has_err = false; /* the tracepoint passes err */

/* The current run (struct hl_traffic_run), written by user space. */
volatile struct hl_traffic_run run;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct hl_traffic_slot);
	__uint(max_entries, 1); /* n_cpus * n_ifaces * 2 * samples, set before load */
} slots SEC(".maps");

static __always_inline int iface_pos(__u32 ifindex)
{
	for (int i = 0; i < HL_TRAFFIC_MAX_IFACES; i++) {
		if ((__u32)i >= n_ifaces)
			break;
		if (if_index[i] == ifindex)
			return i;
	}
	return -1;
}

/* The slot of this packet in the current run, or NULL. */
static __always_inline struct hl_traffic_slot *run_slot(__u32 ifindex, int dir)
{
	struct hl_traffic_slot *s;
	__u64 now, start, gran, end, n;
	__u32 key, id, cpu;
	int pos;

	end = run.end_ns;
	if (!end)
		return NULL;
	now = bpf_ktime_get_ns();
	start = run.start_ns;
	gran = run.gran_ns;
	id = run.id;
	if (now >= end || now < start || !gran)
		return NULL;
	/* run.samples is samples (user space sets both): this bound is enough. */
	n = (now - start) / gran;
	if (n >= samples)
		return NULL;
	pos = iface_pos(ifindex);
	if (pos < 0)
		return NULL;
	cpu = bpf_get_smp_processor_id();
	if (cpu >= n_cpus)
		return NULL;
	/* this CPU's block (traffic_types.h): no other CPU writes it */
	key = ((cpu * n_ifaces + (__u32)pos) * HL_TRAFFIC_DIRS + (__u32)dir) * samples + (__u32)n;
	s = bpf_map_lookup_elem(&slots, &key);
	if (!s)
		return NULL;
	if (s->run != id) {
		s->bytes = 0;
		s->ce_bytes = 0;
		for (int w = 0; w < HL_TRAFFIC_SKETCH_WORDS; w++)
			s->flows[w] = 0;
		s->packets = 0;
		s->retrans = 0;
		s->run = id;
	}
	return s;
}

/* ECN field of the IPv4 or IPv6 header: 0..3; 0 for other protocols. */
static __always_inline __u32 ecn_of(struct __sk_buff *skb)
{
	__u32 proto = skb->protocol;
	__u8 h[2];

	if (proto != bpf_htons(ETH_P_IP_) && proto != bpf_htons(ETH_P_IPV6_))
		return 0;
	if (bpf_skb_load_bytes_relative(skb, 0, h, sizeof(h), BPF_HDR_START_NET))
		return 0;
	if (proto == bpf_htons(ETH_P_IP_))
		return h[1] & 3; /* TOS byte */
	return (h[1] >> 4) & 3;	 /* low bits of the traffic class */
}

static __always_inline void count(struct __sk_buff *skb, int dir)
{
	struct hl_traffic_slot *s = run_slot(skb->ifindex, dir);
	__u32 segs, hash, bit;

	if (!s)
		return;
	segs = skb->gso_segs;
	s->bytes += skb->len;
	s->packets += segs > 1 ? segs : 1;
	if (dir == HL_TRAFFIC_RX && ecn_of(skb) == ECN_CE)
		s->ce_bytes += skb->len;
	/* The kernel's flow hash (computed once if nothing has yet); the top
	 * bits of a multiplicative mix pick the sketch bit. */
	hash = bpf_get_hash_recalc(skb);
	bit = (hash * 0x9E3779B1U) >> 24; /* 8 bits: HL_TRAFFIC_SKETCH_BITS 256 */
	s->flows[(bit >> 6) & (HL_TRAFFIC_SKETCH_WORDS - 1)] |= 1ULL << (bit & 63);
}

SEC("tc")
int hl_traffic_ingress(struct __sk_buff *skb)
{
	count(skb, HL_TRAFFIC_RX);
	return TC_ACT_UNSPEC_;
}

SEC("tc")
int hl_traffic_egress(struct __sk_buff *skb)
{
	count(skb, HL_TRAFFIC_TX);
	return TC_ACT_UNSPEC_;
}

/*
 * TCP retransmissions, counted on the interface of the socket's cached
 * route. Segments, not calls: a retransmitted skb may carry several.
 */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(hl_traffic_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	struct hl_traffic_slot *s;
	struct net_device *dev;
	struct tcp_skb_cb *cb;
	__u16 segs;

	if (!run.end_ns)
		return 0;
	if (retrans_has_err && (int)ctx[2])
		return 0;
	dev = BPF_CORE_READ(sk, sk_dst_cache, dev);
	if (!dev || BPF_CORE_READ(dev, nd_net.net, ns.inum) != netns_ino)
		return 0;
	s = run_slot(BPF_CORE_READ(dev, ifindex), HL_TRAFFIC_TX);
	if (!s)
		return 0;
	cb = (struct tcp_skb_cb *)&skb->cb[0];
	segs = BPF_CORE_READ(cb, tcp_gso_segs);
	/* Not in the tc path: a softirq may interrupt us on this CPU. */
	__sync_fetch_and_add(&s->retrans, segs > 1 ? segs : 1);
	return 0;
}
