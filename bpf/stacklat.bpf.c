// SPDX-License-Identifier: GPL-2.0
/*
 * Network-stack latency: for each stage a packet reaches, record
 * now - (the skb's RX software timestamp) into an exponential histogram
 * on the OTel seconds grid (see exphist.h). Every stage has a preferred
 * fentry/fexit hook and, where one exists, a tp_btf substitute for kernels
 * that refuse BPF trampolines; user space picks one per stage before load
 * (all programs here start with autoload off).
 *
 * Everything is per-CPU and monotonic: user space reads and sums, never
 * deletes. Nothing is sent per packet.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "hostlat.h"
#include "exphist.h"
#include "maphelp.h"
#include "lathist.h" /* the maps hist and series, and the bucketing rodata */
#include "taskfilter.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

/* Written by user space between open and load (read-only afterwards). */
const volatile __u32 stage_enabled = 0; /* bit per enum hl_stage */
const volatile __u32 group_by = 0;	/* HL_GROUP_* */
const volatile __u64 netns_ino = 0;	/* 0: every network namespace */
const volatile bool filter_ifaces = false;
const volatile __u32 min_queue_len = 0;

/*
 * CLOCK_REALTIME = base clock + clock_offset, base being TAI where the
 * kernel has bpf_ktime_get_tai_ns (6.1+), boot time otherwise. Refreshed
 * by user space every interval (leap seconds, NTP steps).
 */
volatile __s64 clock_offset_ns;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, HL_COUNTERS_SIZE);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, 256);
} iface_filter SEC(".maps");

/* (netns, ifindex) -> device name, filled while grouping by interface. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct hl_ifname_key);
	__type(value, char[HL_IFNAMSIZ]);
	__uint(max_entries, 1024);
} ifnames SEC(".maps");

/* tp_btf socket-read path: stamp of the last skb copied in this syscall. */
struct pending_read {
	__u64 tstamp;
	__u32 ifindex;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending_read);
} pending SEC(".maps");

/* Kernels 5.18-6.10 flagged transmit delivery times with this bit. */
struct sk_buff___old {
	__u8 mono_delivery_time : 1;
} __attribute__((preserve_access_index));

static __always_inline void count(__u32 stage, __u32 slot)
{
	hl_count(&counters, stage * HL_CNT_PER_STAGE + slot);
}

static __always_inline __u64 now_realtime(void)
{
	__u64 base;

	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_tai_ns))
		base = bpf_ktime_get_tai_ns();
	else
		base = bpf_ktime_get_boot_ns();
	return base + clock_offset_ns;
}

/* True when skb->tstamp holds a transmit delivery time, not an RX stamp. */
static __always_inline bool tstamp_is_tx(const struct sk_buff *skb)
{
	if (bpf_core_field_exists(skb->tstamp_type))
		return BPF_CORE_READ_BITFIELD(skb, tstamp_type) != 0;
	if (bpf_core_field_exists(((struct sk_buff___old *)skb)->mono_delivery_time))
		return BPF_CORE_READ_BITFIELD((struct sk_buff___old *)skb, mono_delivery_time);
	return false;
}

static __always_inline bool netns_match(const struct net *net)
{
	if (!netns_ino)
		return true;
	return net && net->ns.inum == netns_ino;
}

static __always_inline bool skb_netns_match(const struct sk_buff *skb)
{
	if (!netns_ino)
		return true;
	if (!skb->dev)
		return false;
	return netns_match(skb->dev->nd_net.net);
}

static __always_inline bool sk_netns_match(const struct sock *sk)
{
	if (!netns_ino)
		return true;
	return netns_match(sk->__sk_common.skc_net.net);
}

static __always_inline __u32 dev_netns(const struct net_device *dev)
{
	return dev ? dev->nd_net.net->ns.inum : 0;
}

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return sk->__sk_common.skc_net.net->ns.inum;
}

/* Remember the device's name for group-by interface (first sighting only). */
static __always_inline void note_ifname(const struct net_device *dev, __u32 ifindex, __u32 netns)
{
	struct hl_ifname_key k = {.netns = netns, .ifindex = ifindex};
	char name[HL_IFNAMSIZ];

	if (!(group_by & HL_GROUP_IFACE) || !dev || dev->ifindex != (int)ifindex)
		return;
	if (bpf_map_lookup_elem(&ifnames, &k))
		return;
	if (bpf_probe_read_kernel(name, sizeof(name), dev->name))
		return;
	bpf_map_update_elem(&ifnames, &k, name, BPF_NOEXIST);
}

static __always_inline bool iface_match(__u32 ifindex)
{
	if (!filter_ifaces)
		return true;
	return bpf_map_lookup_elem(&iface_filter, &ifindex) != NULL;
}

static __always_inline __u32 skb_ifindex(const struct sk_buff *skb)
{
	__u32 ifindex = skb->skb_iif;

	if (!ifindex && skb->dev)
		ifindex = skb->dev->ifindex;
	return ifindex;
}

static __always_inline __u32 sk_protocol(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD(sk, sk_protocol);
}

/* Process-context filters (pids, cgroups); only meaningful for reads. */
static __always_inline bool task_match(void)
{
	return (!filter_pids || hl_pid_listed(bpf_get_current_pid_tgid() >> 32)) &&
	       (!filter_cgroups || hl_cgroup_listed(bpf_get_current_cgroup_id()));
}

static __always_inline bool queue_match(const struct sock *sk)
{
	if (!min_queue_len)
		return true;
	return sk->sk_receive_queue.qlen >= min_queue_len;
}

/*
 * Record one sample of stage: now - tstamp. cgroup is 0 unless the caller
 * runs in the reading task's context.
 */
static __always_inline void record(__u32 stage, __u64 tstamp, __u32 ifindex, __u32 netns,
				   __u64 cgroup)
{
	struct hl_series_key skey = {.stage = stage};
	__u64 now, v;

	if (!tstamp) {
		count(stage, HL_CNT_DROP0 + HL_DROP_NO_TSTAMP);
		return;
	}
	now = now_realtime();
	if (tstamp > now) {
		count(stage, HL_CNT_DROP0 + HL_DROP_FUTURE);
		return;
	}
	v = now - tstamp;

	if (group_by & HL_GROUP_IFACE) {
		skey.ifindex = ifindex;
		skey.netns = netns;
	}
	if (group_by & HL_GROUP_CGROUP)
		skey.cgroup = cgroup;

	if (hl_lathist_add(&skey, v)) {
		count(stage, HL_CNT_DROP0 + HL_DROP_MAP_FULL);
		return;
	}
	count(stage, HL_CNT_EVENTS);
}

/* A stage fed by an skb in softirq context (no task filters apply). */
static __always_inline void record_skb(__u32 stage, const struct sk_buff *skb)
{
	__u32 ifindex;

	if (!(stage_enabled & (1U << stage)))
		return;
	if (!skb_netns_match(skb))
		return;
	ifindex = skb_ifindex(skb);
	if (!iface_match(ifindex))
		return;
	if (tstamp_is_tx(skb)) {
		count(stage, HL_CNT_DROP0 + HL_DROP_TX_TSTAMP);
		return;
	}
	note_ifname(skb->dev, ifindex, dev_netns(skb->dev));
	record(stage, skb->tstamp, ifindex, dev_netns(skb->dev), 0);
}

/* A socket stage with a known skb (enqueue). */
static __always_inline void record_sk_skb(__u32 stage, const struct sock *sk,
					  const struct sk_buff *skb)
{
	__u32 ifindex;

	if (!(stage_enabled & (1U << stage)))
		return;
	if (!sk_netns_match(sk) || !queue_match(sk))
		return;
	ifindex = skb_ifindex(skb);
	if (!iface_match(ifindex))
		return;
	if (tstamp_is_tx(skb)) {
		count(stage, HL_CNT_DROP0 + HL_DROP_TX_TSTAMP);
		return;
	}
	note_ifname(skb->dev, ifindex, sk_netns(sk));
	record(stage, skb->tstamp, ifindex, sk_netns(sk), 0);
}

/* A socket read, in the reading task's context. */
static __always_inline void record_read(__u32 stage, const struct sock *sk, __u64 tstamp,
					__u32 ifindex)
{
	__u64 cgroup = 0;

	if (!(stage_enabled & (1U << stage)))
		return;
	if (!sk_netns_match(sk) || !queue_match(sk) || !task_match())
		return;
	if (!ifindex)
		ifindex = sk->sk_rx_dst_ifindex;
	if (!iface_match(ifindex))
		return;
	if (group_by & HL_GROUP_CGROUP)
		cgroup = bpf_get_current_cgroup_id();
	record(stage, tstamp, ifindex, sk_netns(sk), cgroup);
}

/* ---- ip-start ---------------------------------------------------------- */

SEC("fentry/ip_rcv_core")
int BPF_PROG(hl_ip4_rcv_core, struct sk_buff *skb)
{
	record_skb(HL_STAGE_IP_START, skb);
	return 0;
}

SEC("fentry/ip6_rcv_core")
int BPF_PROG(hl_ip6_rcv_core, struct sk_buff *skb)
{
	record_skb(HL_STAGE_IP_START, skb);
	return 0;
}

/* Earlier than ip_rcv_core (before tc ingress / generic XDP), once per device. */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(hl_tp_netif_receive_skb, struct sk_buff *skb)
{
	__u16 proto = skb->protocol;

	if (proto == bpf_htons(ETH_P_IP) || proto == bpf_htons(ETH_P_IPV6))
		record_skb(HL_STAGE_IP_START, skb);
	return 0;
}

/* ---- tcp-start / udp-start --------------------------------------------- */

SEC("fentry/tcp_v4_rcv")
int BPF_PROG(hl_tcp_v4_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_TCP_START, skb);
	return 0;
}

SEC("fentry/tcp_v6_rcv")
int BPF_PROG(hl_tcp_v6_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_TCP_START, skb);
	return 0;
}

/* Established sockets only (tcp_rcv_established). */
SEC("tp_btf/tcp_probe")
int BPF_PROG(hl_tp_tcp_probe, struct sock *sk, const struct sk_buff *skb)
{
	record_sk_skb(HL_STAGE_TCP_START, sk, skb);
	return 0;
}

SEC("fentry/udp_rcv")
int BPF_PROG(hl_udp_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_UDP_START, skb);
	return 0;
}

SEC("fentry/udpv6_rcv")
int BPF_PROG(hl_udpv6_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_UDP_START, skb);
	return 0;
}

/* ---- socket enqueue ------------------------------------------------------ */

SEC("fexit/tcp_queue_rcv")
int BPF_PROG(hl_tcp_queue_rcv, struct sock *sk, struct sk_buff *skb, bool *fragstolen, int ret)
{
	record_sk_skb(HL_STAGE_TCP_SOCK_ENQUEUED, sk, skb);
	return 0;
}

SEC("fexit/__udp_enqueue_schedule_skb")
int BPF_PROG(hl_udp_enqueue, struct sock *sk, struct sk_buff *skb, int ret)
{
	if (ret == 0)
		record_sk_skb(HL_STAGE_UDP_SOCK_ENQUEUED, sk, skb);
	return 0;
}

/* Per wakeup: the newest skb at the tail of the receive queue. */
SEC("tp_btf/sk_data_ready")
int BPF_PROG(hl_tp_sk_data_ready, const struct sock *sk)
{
	const struct sk_buff *skb = sk->sk_receive_queue.prev;
	__u32 proto = sk_protocol(sk);

	if (!skb || (const void *)skb == (const void *)&sk->sk_receive_queue)
		return 0;
	if (proto == IPPROTO_TCP_)
		record_sk_skb(HL_STAGE_TCP_SOCK_ENQUEUED, sk, skb);
	else if (proto == IPPROTO_UDP_)
		record_sk_skb(HL_STAGE_UDP_SOCK_ENQUEUED, sk, skb);
	return 0;
}

/* ---- socket read ------------------------------------------------------------ */

SEC("fentry/tcp_recv_timestamp")
int BPF_PROG(hl_tcp_recv_timestamp, struct msghdr *msg, struct sock *sk,
	     struct scm_timestamping_internal *tss)
{
	__u64 ts = tss->ts[0].tv_sec * 1000000000ULL + tss->ts[0].tv_nsec;

	record_read(HL_STAGE_TCP_SOCK_READ, sk, ts, 0);
	return 0;
}

SEC("fentry/skb_consume_udp")
int BPF_PROG(hl_skb_consume_udp, struct sock *sk, struct sk_buff *skb, int len)
{
	if (len < 0 || tstamp_is_tx(skb))
		return 0;
	record_read(HL_STAGE_UDP_SOCK_READ, sk, skb->tstamp, skb_ifindex(skb));
	return 0;
}

/*
 * Without trampolines: remember the stamp of the last skb copied to user
 * space in this task, and record it when the read returns on a TCP socket
 * (sock_recv_length), like tcp_recv_timestamp does once per read.
 */
SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(hl_tp_skb_copy, const struct sk_buff *skb, int len)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pending_read *p;

	if (!skb->tstamp || tstamp_is_tx(skb))
		return 0;
	p = bpf_task_storage_get(&pending, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!p)
		return 0;
	p->tstamp = skb->tstamp;
	p->ifindex = skb_ifindex(skb);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(hl_tp_sock_recv_length, struct sock *sk, int ret, int flags)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pending_read *p;
	__u64 ts;

	p = bpf_task_storage_get(&pending, task, 0, 0);
	if (!p || !p->tstamp)
		return 0;
	ts = p->tstamp;
	p->tstamp = 0;
	if (ret > 0 && sk_protocol(sk) == IPPROTO_TCP_)
		record_read(HL_STAGE_TCP_SOCK_READ, sk, ts, p->ifindex);
	return 0;
}
