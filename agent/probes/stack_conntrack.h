/* SPDX-License-Identifier: MIT */
/*
 * The conntrack stage of probes.stack_latency: what its fentry and kprobe
 * tiers (stack_latency.c's generic planning) cannot say, and its last
 * tier, a BPF netfilter program linked in one network namespace.
 */
#ifndef HOSTLAT_STACK_CONNTRACK_H
#define HOSTLAT_STACK_CONNTRACK_H

#include <stdbool.h>

#include "stack_latency.h"

struct bpf_object;

#define HL_CT_NF_PROG "hl_ct_netfilter" /* bpf/stack_conntrack.h */

/*
 * After the generic tiers planned p: when none works, the reason is that
 * nf_conntrack is not loaded, or the netfilter tier (in the namespace of
 * the config value netns) takes over when it can.
 */
void hl_ct_plan(struct hl_stage_plan *p, const char *netns);
/* Before load: the netfilter program gets its type (when p chose it). */
int hl_ct_prepare(struct bpf_object *obj, const struct hl_stage_plan *p);
/*
 * After load: link the netfilter program (when p chose it) for IPv4 and
 * IPv6 into links[2]. Returns the links made; when none, p becomes
 * unavailable with the reason (warned), the rest of the probe runs on.
 */
int hl_ct_attach(struct bpf_object *obj, struct hl_stage_plan *p, const char *netns, int links[2]);
void hl_ct_detach(int links[2]); /* idempotent, links at -1 */

#endif
