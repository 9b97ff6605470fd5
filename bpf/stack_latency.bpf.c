// SPDX-License-Identifier: GPL-2.0
/*
 * Network-stack latency: for each stage a packet reaches, record
 * now - (the skb's RX software timestamp) into an exponential histogram
 * on the OTel seconds grid (see exphist.h). Every stage has a preferred
 * fentry/fexit hook and, for kernels where BPF trampolines cannot hook
 * it, a kprobe variant and/or a tp_btf substitute; user space picks one per
 * stage before load, in that order (all programs here start with autoload
 * off).
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
#include "exemplar.h"

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
/* Count samples recorded (HL_CNT_EVENTS): only the XDP responder needs them. */
const volatile bool count_events = false;

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

/*
 * Reading the kernel's objects. fentry, fexit and tp_btf programs get typed
 * (BTF) pointers and load fields directly; kprobe programs get plain
 * addresses and must copy through CO-RE probe reads. The accessors below
 * take `kp` (true in kprobes) and the per-packet logic after them is
 * written once over them; kp is a constant in every program, so each keeps
 * only its own kind of read: the trampoline and tracepoint programs are
 * the direct loads they always were, with no probe-read calls added.
 */
static __always_inline const struct net_device *skb_dev(const struct sk_buff *skb, bool kp)
{
	return kp ? BPF_CORE_READ(skb, dev) : skb->dev;
}

static __always_inline __u32 skb_iif(const struct sk_buff *skb, bool kp)
{
	return kp ? BPF_CORE_READ(skb, skb_iif) : skb->skb_iif;
}

static __always_inline __u64 skb_tstamp(const struct sk_buff *skb, bool kp)
{
	return kp ? BPF_CORE_READ(skb, tstamp) : skb->tstamp;
}

static __always_inline int dev_ifindex(const struct net_device *dev, bool kp)
{
	return kp ? BPF_CORE_READ(dev, ifindex) : dev->ifindex;
}

static __always_inline const struct net *dev_net_of(const struct net_device *dev, bool kp)
{
	return kp ? BPF_CORE_READ(dev, nd_net.net) : dev->nd_net.net;
}

static __always_inline const struct net *sk_net_of(const struct sock *sk, bool kp)
{
	return kp ? BPF_CORE_READ(sk, __sk_common.skc_net.net) : sk->__sk_common.skc_net.net;
}

static __always_inline __u32 net_inum(const struct net *net, bool kp)
{
	return kp ? BPF_CORE_READ(net, ns.inum) : net->ns.inum;
}

static __always_inline __u32 sk_qlen(const struct sock *sk, bool kp)
{
	return kp ? BPF_CORE_READ(sk, sk_receive_queue.qlen) : sk->sk_receive_queue.qlen;
}

static __always_inline __u32 sk_rx_ifindex(const struct sock *sk, bool kp)
{
	return kp ? BPF_CORE_READ(sk, sk_rx_dst_ifindex) : sk->sk_rx_dst_ifindex;
}

/* True when skb->tstamp holds a transmit delivery time, not an RX stamp. */
static __always_inline bool tstamp_is_tx(const struct sk_buff *skb, bool kp)
{
	const struct sk_buff___old *old = (const void *)skb;

	if (bpf_core_field_exists(skb->tstamp_type))
		return (kp ? BPF_CORE_READ_BITFIELD_PROBED(skb, tstamp_type)
			   : BPF_CORE_READ_BITFIELD(skb, tstamp_type)) != 0;
	if (bpf_core_field_exists(old->mono_delivery_time))
		return kp ? BPF_CORE_READ_BITFIELD_PROBED(old, mono_delivery_time)
			  : BPF_CORE_READ_BITFIELD(old, mono_delivery_time);
	return false;
}

static __always_inline bool netns_match(const struct net *net, bool kp)
{
	if (!netns_ino)
		return true;
	return net && net_inum(net, kp) == netns_ino;
}

static __always_inline bool skb_netns_match(const struct sk_buff *skb, bool kp)
{
	const struct net_device *dev;

	if (!netns_ino)
		return true;
	dev = skb_dev(skb, kp);
	if (!dev)
		return false;
	return netns_match(dev_net_of(dev, kp), kp);
}

static __always_inline bool sk_netns_match(const struct sock *sk, bool kp)
{
	if (!netns_ino)
		return true;
	return netns_match(sk_net_of(sk, kp), kp);
}

static __always_inline __u32 dev_netns(const struct net_device *dev, bool kp)
{
	return dev ? net_inum(dev_net_of(dev, kp), kp) : 0;
}

static __always_inline __u32 sk_netns(const struct sock *sk, bool kp)
{
	return net_inum(sk_net_of(sk, kp), kp);
}

/* Remember the device's name for group-by interface (first sighting only). */
static __always_inline void note_ifname(const struct net_device *dev, __u32 ifindex, __u32 netns,
					bool kp)
{
	struct hl_ifname_key k = {.netns = netns, .ifindex = ifindex};
	char name[HL_IFNAMSIZ];

	if (!(group_by & HL_GROUP_IFACE) || !dev || dev_ifindex(dev, kp) != (int)ifindex)
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

static __always_inline __u32 skb_ifindex(const struct sk_buff *skb, bool kp)
{
	__u32 ifindex = skb_iif(skb, kp);

	if (!ifindex && skb_dev(skb, kp))
		ifindex = dev_ifindex(skb_dev(skb, kp), kp);
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

static __always_inline bool queue_match(const struct sock *sk, bool kp)
{
	if (!min_queue_len)
		return true;
	return sk_qlen(sk, kp) >= min_queue_len;
}

/*
 * A new maximum of the interval: its exemplar, with the connection of sk
 * (when not NULL) and the current task (when in_task: a read).
 */
static __always_inline void note_exemplar(const struct hl_series_key *skey, __u64 v,
					  const struct sock *sk, bool in_task, bool kp)
{
	struct hl_ex_slot *sl;
	__u64 rank;
	__u32 seq;

	sl = hl_ex_better(skey, v, &rank);
	if (!sl)
		return;
	seq = hl_ex_begin(sl, rank, v);
	if (in_task)
		hl_ex_task(sl, (const struct task_struct *)bpf_get_current_task(),
			   bpf_get_current_cgroup_id(), true);
	if (sk)
		hl_ex_sock(sl, sk, kp);
	hl_ex_end(sl, seq);
}

/*
 * Record one sample of stage: now - tstamp. cgroup is 0 unless the caller
 * runs in the reading task's context. sk and in_task: the exemplar's
 * context (note_exemplar).
 */
static __always_inline void record(__u32 stage, __u64 tstamp, __u32 ifindex, __u32 netns,
				   __u64 cgroup, const struct sock *sk, bool in_task, bool kp)
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
	/* User space sums the series' counts; the XDP responder reads these. */
	if (count_events)
		count(stage, HL_CNT_EVENTS);
	note_exemplar(&skey, v, sk, in_task, kp);
}

/* A stage fed by an skb in softirq context (no task filters apply). */
static __always_inline void record_skb(__u32 stage, const struct sk_buff *skb, bool kp)
{
	__u32 ifindex;

	if (!(stage_enabled & (1U << stage)))
		return;
	if (!skb_netns_match(skb, kp))
		return;
	ifindex = skb_ifindex(skb, kp);
	if (!iface_match(ifindex))
		return;
	if (tstamp_is_tx(skb, kp)) {
		count(stage, HL_CNT_DROP0 + HL_DROP_TX_TSTAMP);
		return;
	}
	note_ifname(skb_dev(skb, kp), ifindex, dev_netns(skb_dev(skb, kp), kp), kp);
	record(stage, skb_tstamp(skb, kp), ifindex, dev_netns(skb_dev(skb, kp), kp), 0, 0, false,
	       kp);
}

/* A socket stage with a known skb (enqueue). */
static __always_inline void record_sk_skb(__u32 stage, const struct sock *sk,
					  const struct sk_buff *skb, bool kp)
{
	__u32 ifindex;

	if (!(stage_enabled & (1U << stage)))
		return;
	if (!sk_netns_match(sk, kp) || !queue_match(sk, kp))
		return;
	ifindex = skb_ifindex(skb, kp);
	if (!iface_match(ifindex))
		return;
	if (tstamp_is_tx(skb, kp)) {
		count(stage, HL_CNT_DROP0 + HL_DROP_TX_TSTAMP);
		return;
	}
	note_ifname(skb_dev(skb, kp), ifindex, sk_netns(sk, kp), kp);
	record(stage, skb_tstamp(skb, kp), ifindex, sk_netns(sk, kp), 0, sk, false, kp);
}

#include "sockstate.h" /* per-socket state: HOL-blocked reads, standing queues */

/* A socket read, in the reading task's context. */
static __always_inline void record_read(__u32 stage, const struct sock *sk, __u64 tstamp,
					__u32 ifindex, bool kp)
{
	__u64 cgroup = 0;

	if (!(stage_enabled & (1U << stage)))
		return;
	if (!sk_netns_match(sk, kp) || !queue_match(sk, kp) || !task_match())
		return;
	if (!ifindex)
		ifindex = sk_rx_ifindex(sk, kp);
	if (!iface_match(ifindex))
		return;
	if (stage == HL_STAGE_TCP_SOCK_READ && hl_hol_blocked(sk, kp)) {
		count(stage, HL_CNT_DROP0 + HL_DROP_HOL_BLOCKED);
		return;
	}
	if (group_by & HL_GROUP_CGROUP)
		cgroup = bpf_get_current_cgroup_id();
	record(stage, tstamp, ifindex, sk_netns(sk, kp), cgroup, sk, true, kp);
	hl_standing_queue(stage, sk, tstamp, cgroup, kp);
}

/* The UDP read: skb_consume_udp(sk, skb, len) after a datagram was copied. */
static __always_inline void record_udp_read(const struct sock *sk, const struct sk_buff *skb,
					    int len, bool kp)
{
	if (len < 0 || tstamp_is_tx(skb, kp))
		return;
	record_read(HL_STAGE_UDP_SOCK_READ, sk, skb_tstamp(skb, kp), skb_ifindex(skb, kp), kp);
}

/* The TCP read: tcp_recv_timestamp(msg, sk, tss), once per read. */
static __always_inline void record_tcp_read(const struct sock *sk,
					    const struct scm_timestamping_internal *tss, bool kp)
{
	__u64 ts;

	if (kp)
		ts = BPF_CORE_READ(tss, ts[0].tv_sec) * 1000000000ULL +
		     BPF_CORE_READ(tss, ts[0].tv_nsec);
	else
		ts = tss->ts[0].tv_sec * 1000000000ULL + tss->ts[0].tv_nsec;
	record_read(HL_STAGE_TCP_SOCK_READ, sk, ts, 0, kp);
}

/* ---- ip-start ---------------------------------------------------------- */

SEC("fentry/ip_rcv_core")
int BPF_PROG(hl_ip4_rcv_core, struct sk_buff *skb)
{
	record_skb(HL_STAGE_IP_START, skb, false);
	return 0;
}

SEC("fentry/ip6_rcv_core")
int BPF_PROG(hl_ip6_rcv_core, struct sk_buff *skb)
{
	record_skb(HL_STAGE_IP_START, skb, false);
	return 0;
}

SEC("kprobe/ip_rcv_core")
int BPF_KPROBE(hl_kp_ip4_rcv_core, struct sk_buff *skb)
{
	record_skb(HL_STAGE_IP_START, skb, true);
	return 0;
}

SEC("kprobe/ip6_rcv_core")
int BPF_KPROBE(hl_kp_ip6_rcv_core, struct sk_buff *skb)
{
	record_skb(HL_STAGE_IP_START, skb, true);
	return 0;
}

/* Earlier than ip_rcv_core (before tc ingress / generic XDP), once per device. */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(hl_tp_netif_receive_skb, struct sk_buff *skb)
{
	__u16 proto = skb->protocol;

	if (proto == bpf_htons(ETH_P_IP) || proto == bpf_htons(ETH_P_IPV6))
		record_skb(HL_STAGE_IP_START, skb, false);
	return 0;
}

/* ---- tcp-start / udp-start --------------------------------------------- */

SEC("fentry/tcp_v4_rcv")
int BPF_PROG(hl_tcp_v4_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_TCP_START, skb, false);
	return 0;
}

SEC("fentry/tcp_v6_rcv")
int BPF_PROG(hl_tcp_v6_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_TCP_START, skb, false);
	return 0;
}

SEC("kprobe/tcp_v4_rcv")
int BPF_KPROBE(hl_kp_tcp_v4_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_TCP_START, skb, true);
	return 0;
}

SEC("kprobe/tcp_v6_rcv")
int BPF_KPROBE(hl_kp_tcp_v6_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_TCP_START, skb, true);
	return 0;
}

/* Established sockets only (tcp_rcv_established). */
SEC("tp_btf/tcp_probe")
int BPF_PROG(hl_tp_tcp_probe, struct sock *sk, const struct sk_buff *skb)
{
	record_sk_skb(HL_STAGE_TCP_START, sk, skb, false);
	return 0;
}

SEC("fentry/udp_rcv")
int BPF_PROG(hl_udp_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_UDP_START, skb, false);
	return 0;
}

SEC("fentry/udpv6_rcv")
int BPF_PROG(hl_udpv6_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_UDP_START, skb, false);
	return 0;
}

SEC("kprobe/udp_rcv")
int BPF_KPROBE(hl_kp_udp_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_UDP_START, skb, true);
	return 0;
}

SEC("kprobe/udpv6_rcv")
int BPF_KPROBE(hl_kp_udpv6_rcv, struct sk_buff *skb)
{
	record_skb(HL_STAGE_UDP_START, skb, true);
	return 0;
}

/* ---- socket enqueue ------------------------------------------------------ */

/*
 * No kprobe variants: both hooks are fexit (the skb is queued, the UDP
 * result known), which a kretprobe cannot see without an entry probe
 * keeping the arguments; sk_data_ready is the fallback.
 */
SEC("fexit/tcp_queue_rcv")
int BPF_PROG(hl_tcp_queue_rcv, struct sock *sk, struct sk_buff *skb, bool *fragstolen, int ret)
{
	record_sk_skb(HL_STAGE_TCP_SOCK_ENQUEUED, sk, skb, false);
	return 0;
}

SEC("fexit/__udp_enqueue_schedule_skb")
int BPF_PROG(hl_udp_enqueue, struct sock *sk, struct sk_buff *skb, int ret)
{
	if (ret == 0)
		record_sk_skb(HL_STAGE_UDP_SOCK_ENQUEUED, sk, skb, false);
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
		record_sk_skb(HL_STAGE_TCP_SOCK_ENQUEUED, sk, skb, false);
	else if (proto == IPPROTO_UDP_)
		record_sk_skb(HL_STAGE_UDP_SOCK_ENQUEUED, sk, skb, false);
	return 0;
}

/* ---- socket read ------------------------------------------------------------ */

SEC("fentry/tcp_recv_timestamp")
int BPF_PROG(hl_tcp_recv_timestamp, struct msghdr *msg, struct sock *sk,
	     struct scm_timestamping_internal *tss)
{
	record_tcp_read(sk, tss, false);
	return 0;
}

SEC("kprobe/tcp_recv_timestamp")
int BPF_KPROBE(hl_kp_tcp_recv_timestamp, struct msghdr *msg, struct sock *sk,
	       struct scm_timestamping_internal *tss)
{
	record_tcp_read(sk, tss, true);
	return 0;
}

SEC("fentry/skb_consume_udp")
int BPF_PROG(hl_skb_consume_udp, struct sock *sk, struct sk_buff *skb, int len)
{
	record_udp_read(sk, skb, len, false);
	return 0;
}

SEC("kprobe/skb_consume_udp")
int BPF_KPROBE(hl_kp_skb_consume_udp, struct sock *sk, struct sk_buff *skb, int len)
{
	record_udp_read(sk, skb, len, true);
	return 0;
}

/*
 * Without trampolines or kprobes: remember the stamp of the last skb
 * copied to user space in this task, and record it when the read returns
 * on a TCP socket (sock_recv_length), like tcp_recv_timestamp does once per
 * read.
 */
SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(hl_tp_skb_copy, const struct sk_buff *skb, int len)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pending_read *p;

	if (!skb->tstamp || tstamp_is_tx(skb, false))
		return 0;
	p = bpf_task_storage_get(&pending, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!p)
		return 0;
	p->tstamp = skb->tstamp;
	p->ifindex = skb_ifindex(skb, false);
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
		record_read(HL_STAGE_TCP_SOCK_READ, sk, ts, p->ifindex, false);
	return 0;
}

/* ---- conntrack ---------------------------------------------------------------- */

#include "stack_conntrack.h"
