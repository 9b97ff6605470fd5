// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of the per-event cost bench: an empty program on every hook
 * hostlat uses. Its run_time_ns / run_cnt is what the kernel charges to
 * any program on that hook (entry, context set-up, return), so hostlat's
 * figure minus this one is the cost of hostlat's own work.
 *
 * Names are f_<hook>; the bench maps them to hooks by their SEC().
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define EMPTY(hook)                                                                                \
	SEC("tp_btf/" #hook)                                                                       \
	int f_##hook(void *ctx)                                                                    \
	{                                                                                          \
		return 0;                                                                          \
	}

EMPTY(netif_receive_skb)
EMPTY(tcp_probe)
EMPTY(sk_data_ready)
EMPTY(skb_copy_datagram_iovec)
EMPTY(sock_recv_length)
EMPTY(softirq_raise)
EMPTY(softirq_entry)
EMPTY(softirq_exit)
EMPTY(napi_poll)
EMPTY(kfree_skb)
EMPTY(sock_rcvqueue_full)
EMPTY(sock_exceed_buf_limit)
EMPTY(sched_wakeup)
EMPTY(sched_wakeup_new)
EMPTY(sched_switch)
EMPTY(tcp_retransmit_skb)

/* tc: "next / continue", like hostlat's traffic programs. */
SEC("tc")
int f_tc_ingress(struct __sk_buff *skb)
{
	return -1; /* TC_ACT_UNSPEC */
}

SEC("tc")
int f_tc_egress(struct __sk_buff *skb)
{
	return -1;
}
