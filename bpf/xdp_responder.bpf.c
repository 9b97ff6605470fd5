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
 * Everything else passes untouched; datagrams to the port that carry the
 * magic but are not a valid request are dropped, never answered.
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
#define IP_MF_OFFSET 0x3fff /* more-fragments flag and fragment offset */
#define REPLY_TTL 64
#define ETH_ALEN_ 6

/* Written by user space before load. */
const volatile __u16 port_be = 0;     /* UDP port, network byte order */
const volatile __u32 nr_cpus = 1;     /* possible CPUs */
const volatile __u64 emission_ns = 0; /* token bucket: one token per this; 0: no limit */
const volatile __u64 burst_ns = 0;    /* (capacity - 1) * emission_ns */
const volatile bool have_stack = false, have_softirq = false, have_drops = false;

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
	__u64 stack[HL_STAGE_COUNT];
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
		return 1; /* past the last possible CPU */
	s->st.packets += st->packets;
	s->st.answered += st->answered;
	s->st.refused += st->refused;
	s->st.limited += st->limited;
	s->st.malformed += st->malformed;
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
		for (int i = 0; i < HL_STAGE_COUNT; i++) {
			k = i * HL_CNT_PER_STAGE + HL_CNT_EVENTS;
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

static __always_inline void fill(struct hl_xr_msg *m, const struct sums *s, __u64 now)
{
	const struct hl_xr_user *u;
	__u16 flags = 0;
	__u32 slot = *(volatile __u32 *)&user_slot & 1;

	u = &user[slot];
	m->type = HL_XR_RESPONSE;
	m->mono_ns = bpf_cpu_to_be64(now);
	m->cpu = bpf_htonl(bpf_get_smp_processor_id());
	m->ncpus = bpf_htonl(nr_cpus);
	m->packets = bpf_cpu_to_be64(s->st.packets);
	m->answered = bpf_cpu_to_be64(s->st.answered);
	m->refused = bpf_cpu_to_be64(s->st.refused);
	m->limited = bpf_cpu_to_be64(s->st.limited);
	m->malformed = bpf_cpu_to_be64(s->st.malformed);
	m->drops = bpf_cpu_to_be64(s->drops);
	m->net_rx_runs = bpf_cpu_to_be64(s->rx_runs);
	m->net_rx_ns = bpf_cpu_to_be64(s->rx_ns);
#pragma unroll
	for (int i = 0; i < HL_STAGE_COUNT; i++)
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
		st->malformed++;
		return ours ? XDP_DROP : XDP_PASS; /* truncated, or not our protocol */
	}
	if (m->magic != bpf_htonl(HL_XR_MAGIC)) {
		st->malformed++;
		return XDP_PASS; /* not our protocol: whoever else listens gets it */
	}
	if ((void *)(m + 1) < end || bpf_ntohs(udp->len) != sizeof(*udp) + sizeof(*m) ||
	    l3_len != sizeof(*udp) + sizeof(*m) || m->version != HL_XR_VERSION ||
	    m->type != HL_XR_REQUEST) {
		st->malformed++;
		return XDP_DROP;
	}
	return XDP_TX;
}

/* The allow list and the rate limit. */
static __always_inline bool admit(struct hl_xr_stats *st, const struct hl_xr_lpm_key *key)
{
	if (!bpf_map_lookup_elem(&allow, key)) {
		st->refused++;
		return false;
	}
	if (emission_ns && !take_token()) {
		st->limited++;
		return false;
	}
	st->answered++;
	return true;
}

/*
 * Turn the request after eth into the response, except the IP header and
 * the UDP checksum; returns the one's-complement sum of the UDP header
 * and payload (with the checksum field zero).
 */
static __always_inline __u64 respond(struct ethhdr *eth, struct udphdr *udp)
{
	struct hl_xr_msg *m = (void *)(udp + 1);
	__u64 now = bpf_ktime_get_ns();
	struct sums s = {};
	__be16 p;

	bpf_loop(nr_cpus, sum_cpu, &s, 0);
	fill(m, &s, now);
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

static __always_inline int handle4(struct hl_xr_stats *st, struct ethhdr *eth, void *end)
{
	struct hl_xr_lpm_key key = {.prefixlen = 128};
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__be32 a;
	__u64 sum;
	int verdict;

	if ((void *)(udp + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
	    (ip->frag_off & bpf_htons(IP_MF_OFFSET)) || udp->dest != port_be)
		return XDP_PASS;
	verdict = check_request(st, udp, end, bpf_ntohs(ip->tot_len) - sizeof(*ip));
	if (verdict != XDP_TX)
		return verdict;
	key.addr[10] = 0xff;
	key.addr[11] = 0xff;
	__builtin_memcpy(&key.addr[12], &ip->saddr, 4);
	if (!admit(st, &key))
		return XDP_DROP;

	sum = respond(eth, udp);
	a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	ip->ttl = REPLY_TTL;
	ip->check = 0;
	ip->check = csum_fold((__u32)bpf_csum_diff(0, 0, (void *)ip, sizeof(*ip), 0));
	/* The pseudo-header, summed as it lies in memory like the rest. */
	sum += (__u64)ip->saddr + ip->daddr + bpf_htons(IPPROTO_UDP) + udp->len;
	udp->check = udp_check(sum);
	return XDP_TX;
}

static __always_inline int handle6(struct hl_xr_stats *st, struct ethhdr *eth, void *end)
{
	struct hl_xr_lpm_key key = {.prefixlen = 128};
	struct ipv6hdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct in6_addr a;
	__u64 sum;
	int verdict;

	/* Extension headers (fragments among them) are not for us. */
	if ((void *)(udp + 1) > end || ip->nexthdr != IPPROTO_UDP || udp->dest != port_be)
		return XDP_PASS;
	verdict = check_request(st, udp, end, bpf_ntohs(ip->payload_len));
	if (verdict != XDP_TX)
		return verdict;
	__builtin_memcpy(key.addr, &ip->saddr, 16);
	if (!admit(st, &key))
		return XDP_DROP;

	sum = respond(eth, udp);
	a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	ip->hop_limit = REPLY_TTL;
	sum += (__u32)bpf_csum_diff(0, 0, (void *)&ip->saddr, 2 * sizeof(a), 0);
	sum += (__u64)bpf_htonl(sizeof(*udp) + sizeof(struct hl_xr_msg)) + bpf_htonl(IPPROTO_UDP);
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
