// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel monitoring responder (probes.xdp_responder). An XDP
 * program answers monitoring requests (responder_proto.h) in the receive softirq,
 * without user space: it checks the source against an allow list and a
 * global token bucket, then turns the request into the response in place
 * (addresses and ports swapped, checksums recomputed) and sends it back
 * with XDP_TX. The response carries counters summed over CPUs from the
 * maps of the other probes (shared with this object by the agent) and a
 * copy of what the agent refreshes every interval, with its age.
 *
 * Only a unicast frame to the interface's own MAC and IP addresses (which
 * the agent refreshes every interval) from a source a reply may go to, with
 * sound headers and checksum, is answered: anything else to the port passes
 * to the stack unanswered, counted by why (enum hl_xr_result), so the host
 * behaves as without the responder and never replies from an address that
 * is not its own. Datagrams to the port that carry the magic but are not a
 * valid request, from a source outside the allow list or over the rate
 * limit are dropped. Everything else passes untouched.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "hostlat.h"
#include "stall.h"
#include "responder_proto.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define IP_MF_ 0x2000	  /* more fragments */
#define IP_OFFSET_ 0x1fff /* fragment offset */
#define REPLY_TTL 64
#define ETH_ALEN_ 6

/* Written by user space before load. */
const volatile __u16 port_be = 0;     /* UDP port, network byte order */
const volatile __u32 nr_cpus = 1;     /* possible CPUs */
const volatile __u64 emission_ns = 0; /* token bucket: one token per this; 0: no limit */
const volatile __u64 burst_ns = 0;    /* (capacity - 1) * emission_ns */
const volatile bool have_stack = false, have_softirq = false, have_drops = false;
/* Accept UDP checksums a sender's kernel left for offload (udp_csum_ok). */
const volatile bool partial_csum_ok = false;

/* GCRA form of the token bucket: when the bucket is next full, lock-free. */
__u64 tat = 0;
/* The agent's refreshed values (responder_proto.h) and which copy is current. */
__u32 user_slot = 0;
struct hl_xr_user user[2];

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_xr_stats);
	__uint(max_entries, 1);
} xr_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct hl_xr_lpm_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1); /* the allow list's length, set before load */
} allow SEC(".maps");

/* The other probes' maps: the agent hands in their fds before load. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, HL_COUNTERS_SIZE);
} stack_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct hl_softirq_state);
	__uint(max_entries, HL_SOFTIRQ_VECS);
} softirq_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} drops_total SEC(".maps");

struct sums {
	struct hl_xr_stats st;
	__u64 stack[HL_XR_STAGES]; /* wire order */
	__u64 drops, rx_runs, rx_ns;
};

static long sum_cpu(__u32 cpu, void *data)
{
	struct sums *s = data;
	struct hl_softirq_state *sq;
	struct hl_xr_stats *st;
	__u32 k = 0;
	__u64 *v;

	st = bpf_map_lookup_percpu_elem(&xr_stats, &k, cpu);
	if (!st)
		return 1;	      /* past the last possible CPU */
	s->st.packets += st->packets; /* and the results a reply carries: */
	s->st.results[HL_XR_ANSWERED] += st->results[HL_XR_ANSWERED];
	s->st.results[HL_XR_REFUSED] += st->results[HL_XR_REFUSED];
	s->st.results[HL_XR_LIMITED] += st->results[HL_XR_LIMITED];
	s->st.results[HL_XR_MALFORMED] += st->results[HL_XR_MALFORMED];
	if (have_drops) {
		v = bpf_map_lookup_percpu_elem(&drops_total, &k, cpu);
		if (v)
			s->drops += *v;
	}
	if (have_softirq) {
		k = HL_SOFTIRQ_NET_RX;
		sq = bpf_map_lookup_percpu_elem(&softirq_state, &k, cpu);
		if (sq) {
			s->rx_runs += sq->runs;
			s->rx_ns += sq->run_ns;
		}
	}
	if (have_stack) {
#pragma unroll
		for (int i = 0; i < HL_XR_STAGES; i++) {
			k = hl_xr_stage(i) * HL_CNT_PER_STAGE + HL_CNT_EVENTS;
			v = bpf_map_lookup_percpu_elem(&stack_counters, &k, cpu);
			if (v)
				s->stack[i] += *v;
		}
	}
	return 0;
}

/* One token of the global bucket, or false (also under heavy contention). */
static __always_inline bool take_token(void)
{
	__u64 now = bpf_ktime_get_ns(), old, t;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		old = *(volatile __u64 *)&tat;
		t = old > now ? old : now;
		if (t - now > burst_ns)
			return false;
		if (__sync_val_compare_and_swap(&tat, old, t + emission_ns) == old)
			return true;
	}
	return false;
}

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __always_inline void fill(struct hl_xr_msg *m, const struct sums *s,
				 const struct hl_xr_user *u, __u64 now)
{
	__u16 flags = 0;

	m->type = HL_XR_RESPONSE;
	m->mono_ns = bpf_cpu_to_be64(now);
	m->cpu = bpf_htonl(bpf_get_smp_processor_id());
	m->ncpus = bpf_htonl(nr_cpus);
	m->packets = bpf_cpu_to_be64(s->st.packets);
	m->answered = bpf_cpu_to_be64(s->st.results[HL_XR_ANSWERED]);
	m->refused = bpf_cpu_to_be64(s->st.results[HL_XR_REFUSED]);
	m->limited = bpf_cpu_to_be64(s->st.results[HL_XR_LIMITED]);
	m->malformed = bpf_cpu_to_be64(s->st.results[HL_XR_MALFORMED]);
	m->drops = bpf_cpu_to_be64(s->drops);
	m->net_rx_runs = bpf_cpu_to_be64(s->rx_runs);
	m->net_rx_ns = bpf_cpu_to_be64(s->rx_ns);
#pragma unroll
	for (int i = 0; i < HL_XR_STAGES; i++)
		m->stack_events[i] = bpf_cpu_to_be64(s->stack[i]);
	if (have_stack)
		flags |= HL_XR_F_STACK;
	if (have_softirq)
		flags |= HL_XR_F_SOFTIRQ;
	if (have_drops)
		flags |= HL_XR_F_DROPS;
	flags |= u->flags & (HL_XR_F_USER | HL_XR_F_PCT);
	m->flags = bpf_htons(flags);
	m->user_age_ns =
		bpf_cpu_to_be64(u->updated_ns && now > u->updated_ns ? now - u->updated_ns : 0);
	m->interval_ns = bpf_cpu_to_be64(u->interval_ns);
#pragma unroll
	for (int i = 0; i < 3; i++)
		m->load_milli[i] = bpf_htonl(u->load_milli[i]);
	m->pad = 0;
	m->mem_total_kb = bpf_cpu_to_be64(u->mem_total_kb);
	m->mem_available_kb = bpf_cpu_to_be64(u->mem_available_kb);
#pragma unroll
	for (int i = 0; i < HL_XR_STAGES; i++)
#pragma unroll
		for (int j = 0; j < HL_XR_PCTS; j++)
			m->stack_pct_ns[i][j] = bpf_cpu_to_be64(u->stack_pct_ns[i][j]);
}

static __always_inline void swap_mac(struct ethhdr *eth)
{
	unsigned char t[ETH_ALEN_];

	__builtin_memcpy(t, eth->h_dest, ETH_ALEN_);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN_);
	__builtin_memcpy(eth->h_source, t, ETH_ALEN_);
}

/* Count result r of a datagram to the port; returns verdict. */
static __always_inline int count(struct hl_xr_stats *st, int r, int verdict)
{
	if (r >= 0 && r < HL_XR_RESULTS)
		st->results[r]++;
	return verdict;
}

/* The copy of what the agent refreshes that is current. */
static __always_inline const struct hl_xr_user *user_now(void)
{
	return &user[*(volatile __u32 *)&user_slot & 1];
}

/* The frame's destination MAC: the interface's own, or the result why not. */
static __always_inline int check_mac(const struct ethhdr *eth, const struct hl_xr_local *l)
{
	const __be16 *d = (const void *)eth->h_dest;

	if (eth->h_dest[0] & 1)
		return HL_XR_NOT_UNICAST; /* the group bit: broadcast, multicast */
	if (d[0] != l->mac[0] || d[1] != l->mac[1] || d[2] != l->mac[2])
		return HL_XR_FOREIGN_MAC;
	return -1;
}

/* Is a one of the interface's addresses? (Bounded by the array, whatever n4 says.) */
static __always_inline bool local4(const struct hl_xr_local *l, __be32 a)
{
	__u32 n = l->n4;

	for (__u32 i = 0; i < HL_XR_LOCAL4 && i < n; i++)
		if (l->v4[i] == a)
			return true;
	return false;
}

static __always_inline bool local6(const struct hl_xr_local *l, const struct in6_addr *a)
{
	__be32 a0 = a->in6_u.u6_addr32[0], a1 = a->in6_u.u6_addr32[1], a2 = a->in6_u.u6_addr32[2],
	       a3 = a->in6_u.u6_addr32[3];
	__u32 n = l->n6;

	for (__u32 i = 0; i < HL_XR_LOCAL6 && i < n; i++)
		if (l->v6[i][0] == a0 && l->v6[i][1] == a1 && l->v6[i][2] == a2 &&
		    l->v6[i][3] == a3)
			return true;
	return false;
}

/* Sources the kernel itself refuses (martians): no reply may go there. */
static __always_inline bool bad_source4(__be32 a)
{
	__u8 b = bpf_ntohl(a) >> 24;

	return b == 0 || b == 127 || b >= 224; /* this network, loopback, multicast, class E */
}

static __always_inline bool bad_source6(const struct in6_addr *a)
{
	const __be32 *w = a->in6_u.u6_addr32;

	if (a->in6_u.u6_addr8[0] == 0xff)
		return true; /* multicast */
	if (w[0] || w[1])
		return false;
	/* v4-mapped (never on the wire: not matched against IPv4 allow entries), ::, ::1 */
	return w[2] == bpf_htonl(0xffff) || (!w[2] && (!w[3] || w[3] == bpf_htonl(1)));
}

/*
 * Is the UDP checksum (not 0) right? pseudo: the pseudo-header's sum. Over
 * veth, and on generic XDP, frames can come straight from a sender whose
 * kernel left the checksum to offload (CHECKSUM_PARTIAL: the field holds
 * the pseudo-header's sum) and the receiving kernel trusts them; XDP cannot
 * tell, so partial_csum_ok accepts that form there too. The request has a
 * fixed size: one bpf_csum_diff over it.
 */
static __always_inline bool udp_csum_ok(struct udphdr *udp, __u64 pseudo)
{
	__u64 sum = pseudo + (__u32)bpf_csum_diff(0, 0, (void *)udp,
						  sizeof(*udp) + sizeof(struct hl_xr_msg), 0);

	if (!csum_fold(sum))
		return true;
	return partial_csum_ok && udp->check == (__u16)~csum_fold(pseudo);
}

/* An IP length field, bounded for the verifier (it does not track byte swaps). */
static __always_inline __u32 len_of(__be16 v)
{
	__u32 n = bpf_ntohs(v);

	barrier_var(n);
	return n & 0xffff;
}

/*
 * Is the datagram on udp (its IP payload l3_len bytes long) a request?
 * XDP_PASS: not our protocol; XDP_DROP: ours but malformed (both counted
 * as malformed); XDP_TX: a valid request.
 */
static __always_inline int check_request(struct hl_xr_stats *st, struct udphdr *udp, void *end,
					 __u32 l3_len)
{
	struct hl_xr_msg *m = (void *)(udp + 1);
	bool ours;

	/* Bounds first (the verifier learns from "greater than", not from "not equal"). */
	if ((void *)(m + 1) > end) {
		ours = (void *)&m->version <= end && m->magic == bpf_htonl(HL_XR_MAGIC);
		/* truncated, or not our protocol */
		return count(st, HL_XR_MALFORMED, ours ? XDP_DROP : XDP_PASS);
	}
	if (m->magic != bpf_htonl(HL_XR_MAGIC))
		return count(st, HL_XR_MALFORMED, XDP_PASS); /* whoever else listens gets it */
	if ((void *)(m + 1) < end || bpf_ntohs(udp->len) != sizeof(*udp) + sizeof(*m) ||
	    l3_len != sizeof(*udp) + sizeof(*m) || m->version != HL_XR_VERSION ||
	    m->type != HL_XR_REQUEST)
		return count(st, HL_XR_MALFORMED, XDP_DROP);
	return XDP_TX;
}

/*
 * Turn the request after eth into the response, except the IP header and
 * the UDP checksum; returns the one's-complement sum of the UDP header
 * and payload (with the checksum field zero).
 */
static __always_inline __u64 respond(struct ethhdr *eth, struct udphdr *udp,
				     const struct hl_xr_user *u)
{
	struct hl_xr_msg *m = (void *)(udp + 1);
	__u64 now = bpf_ktime_get_ns();
	struct sums s = {};
	__be16 p;

	bpf_loop(nr_cpus, sum_cpu, &s, 0);
	fill(m, &s, u, now);
	swap_mac(eth);
	p = udp->source;
	udp->source = udp->dest;
	udp->dest = p;
	udp->check = 0;
	return (__u32)bpf_csum_diff(0, 0, (void *)udp, sizeof(*udp) + sizeof(*m), 0);
}

static __always_inline int udp_check(__u64 sum)
{
	__u16 c = csum_fold(sum);

	return c ? c : 0xffff;
}

/* Why an IPv4 datagram to the port is not for us, or -1. */
static __always_inline int classify4(const struct ethhdr *eth, struct iphdr *ip,
				     const struct udphdr *udp, void *end,
				     const struct hl_xr_local *l)
{
	__u32 tot = len_of(ip->tot_len);
	int r = check_mac(eth, l);

	if (r >= 0)
		return r;
	/* Version 4, no options, the lengths within the frame, no fragment, header sum. */
	if (ip->version != 4 || ip->ihl != 5 || (ip->frag_off & bpf_htons(IP_MF_)) ||
	    tot < sizeof(*ip) + sizeof(*udp) || (void *)ip + tot > end ||
	    csum_fold((__u32)bpf_csum_diff(0, 0, (void *)ip, sizeof(*ip), 0)))
		return HL_XR_BAD_HEADER;
	if (!local4(l, ip->daddr))
		return HL_XR_NOT_LOCAL;
	if ((eth->h_source[0] & 1) || bad_source4(ip->saddr))
		return HL_XR_BAD_SOURCE;
	if (!ip->ttl)
		return HL_XR_TTL_ZERO;
	if (!udp->source)
		return HL_XR_SOURCE_PORT_ZERO;
	return -1;
}

static __always_inline int handle4(struct hl_xr_stats *st, struct ethhdr *eth, void *end)
{
	struct hl_xr_lpm_key key = {.prefixlen = 128};
	struct iphdr *ip = (void *)(eth + 1);
	const struct hl_xr_user *u;
	struct udphdr *udp;
	__u32 ihl;
	__be32 a;
	__u64 sum;
	int r;

	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP ||
	    (ip->frag_off & bpf_htons(IP_OFFSET_)))
		return XDP_PASS; /* not UDP, or a later fragment: no UDP header */
	/* The UDP header where the header length puts it (so options count too). */
	ihl = ip->ihl < 5 ? 5 : ip->ihl;
	udp = (void *)ip + ihl * 4;
	if ((void *)(udp + 1) > end || udp->dest != port_be)
		return XDP_PASS;
	u = user_now();
	r = classify4(eth, ip, udp, end, &u->local);
	if (r >= 0)
		return count(st, r, XDP_PASS);
	udp = (void *)(ip + 1); /* ihl is 5 */
	r = check_request(st, udp, end, bpf_ntohs(ip->tot_len) - sizeof(*ip));
	if (r != XDP_TX)
		return r;
	key.addr[10] = 0xff;
	key.addr[11] = 0xff;
	__builtin_memcpy(&key.addr[12], &ip->saddr, 4);
	if (!bpf_map_lookup_elem(&allow, &key))
		return count(st, HL_XR_REFUSED, XDP_DROP);
	/* The pseudo-header, summed as it lies in memory like the rest. */
	sum = (__u64)ip->saddr + ip->daddr + bpf_htons(IPPROTO_UDP) + udp->len;
	if (udp->check && !udp_csum_ok(udp, sum)) /* 0: no checksum, allowed over IPv4 */
		return count(st, HL_XR_BAD_CHECKSUM, XDP_PASS);
	if (emission_ns && !take_token())
		return count(st, HL_XR_LIMITED, XDP_DROP);
	st->results[HL_XR_ANSWERED]++;

	sum = respond(eth, udp, u);
	a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	ip->ttl = REPLY_TTL;
	ip->check = 0;
	ip->check = csum_fold((__u32)bpf_csum_diff(0, 0, (void *)ip, sizeof(*ip), 0));
	sum += (__u64)ip->saddr + ip->daddr + bpf_htons(IPPROTO_UDP) + udp->len;
	udp->check = udp_check(sum);
	return XDP_TX;
}

/* Why an IPv6 datagram to the port is not for us, or -1. */
static __always_inline int classify6(const struct ethhdr *eth, struct ipv6hdr *ip,
				     const struct udphdr *udp, void *end,
				     const struct hl_xr_local *l)
{
	__u32 plen = len_of(ip->payload_len);
	int r = check_mac(eth, l);

	if (r >= 0)
		return r;
	if (ip->version != 6 || plen < sizeof(*udp) || (void *)(ip + 1) + plen > end)
		return HL_XR_BAD_HEADER;
	if (!local6(l, &ip->daddr))
		return HL_XR_NOT_LOCAL;
	if ((eth->h_source[0] & 1) || bad_source6(&ip->saddr))
		return HL_XR_BAD_SOURCE;
	if (!ip->hop_limit)
		return HL_XR_TTL_ZERO;
	if (!udp->source)
		return HL_XR_SOURCE_PORT_ZERO;
	return -1;
}

static __always_inline int handle6(struct hl_xr_stats *st, struct ethhdr *eth, void *end)
{
	struct hl_xr_lpm_key key = {.prefixlen = 128};
	struct ipv6hdr *ip = (void *)(eth + 1);
	const struct hl_xr_user *u;
	struct udphdr *udp = (void *)(ip + 1);
	struct in6_addr a;
	__u64 sum;
	int r;

	/* Extension headers (fragments among them) are not for us. */
	if ((void *)(udp + 1) > end || ip->nexthdr != IPPROTO_UDP || udp->dest != port_be)
		return XDP_PASS;
	u = user_now();
	r = classify6(eth, ip, udp, end, &u->local);
	if (r >= 0)
		return count(st, r, XDP_PASS);
	r = check_request(st, udp, end, bpf_ntohs(ip->payload_len));
	if (r != XDP_TX)
		return r;
	__builtin_memcpy(key.addr, &ip->saddr, 16);
	if (!bpf_map_lookup_elem(&allow, &key))
		return count(st, HL_XR_REFUSED, XDP_DROP);
	sum = (__u32)bpf_csum_diff(0, 0, (void *)&ip->saddr, 2 * sizeof(a), 0);
	sum += (__u64)bpf_htonl(sizeof(*udp) + sizeof(struct hl_xr_msg)) + bpf_htonl(IPPROTO_UDP);
	if (!udp->check || !udp_csum_ok(udp, sum)) /* IPv6 requires one */
		return count(st, HL_XR_BAD_CHECKSUM, XDP_PASS);
	if (emission_ns && !take_token())
		return count(st, HL_XR_LIMITED, XDP_DROP);
	st->results[HL_XR_ANSWERED]++;

	/* The addresses swap: the pseudo-header's sum stays. */
	sum += respond(eth, udp, u);
	a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	ip->hop_limit = REPLY_TTL;
	udp->check = udp_check(sum);
	return XDP_TX;
}

SEC("xdp")
int hl_xdp_responder(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct hl_xr_stats *st;
	__u32 zero = 0;

	st = bpf_map_lookup_elem(&xr_stats, &zero);
	if (!st)
		return XDP_PASS;
	st->packets++;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP_))
		return handle4(st, eth, end);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6_))
		return handle6(st, eth, end);
	return XDP_PASS;
}
