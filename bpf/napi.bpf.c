// SPDX-License-Identifier: GPL-2.0
/*
 * NAPI polls per device: napi/napi_poll reports the work a poll did and
 * its budget; a poll that did its whole budget leaves packets behind and
 * makes net_rx_action poll again (or give up and re-raise NET_RX). Counted
 * per (namespace, device) in a per-CPU hash; the per-CPU backlog (packets
 * from netif_rx, e.g. veth without GRO, loopback) has no device.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "hostlat.h"
#include "stall.h"
#include "maphelp.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 netns_ino = 0; /* 0: every namespace; the backlog always counts */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct hl_napi_key);
	__type(value, struct hl_napi_val);
	__uint(max_entries, 256); /* set by user space before load */
} napi_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} overflow SEC(".maps");

SEC("tp_btf/napi_poll")
int BPF_PROG(hl_napi_poll, struct napi_struct *napi, int work, int budget)
{
	/* The tracepoint's arguments are BTF pointers: plain (relocated)
	 * loads, no bpf_probe_read_kernel call each (bench/kernel-cost.sh). */
	struct net_device *dev = napi->dev;
	struct hl_napi_key key = {};
	struct hl_napi_val *v, zero = {};

	if (dev) {
		key.netns = dev->nd_net.net->ns.inum;
		if (netns_ino && key.netns != netns_ino)
			return 0;
		key.ifindex = dev->ifindex;
		bpf_probe_read_kernel_str(key.name, sizeof(key.name), dev->name);
	}
	v = hl_lookup_or_init(&napi_stats, &key, &zero);
	if (!v) {
		hl_count(&overflow, 0);
		return 0;
	}
	v->polls++;
	if (work > 0)
		v->packets += work;
	if (budget > 0) {
		v->budget += budget;
		if (work >= budget)
			v->exhausted++;
	}
	return 0;
}
