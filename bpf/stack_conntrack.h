/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The conntrack stage of stack_latency.bpf.c (included at its end, after
 * record_skb): the time from the RX stamp to the packet's meeting with
 * connection tracking in PREROUTING. Three hooks, user space picks one:
 *
 *  - fentry/nf_conntrack_in (nf_conntrack may be a module: libbpf finds
 *    the function in the module's BTF), at conntrack's entry;
 *  - kprobe/nf_conntrack_in, the same point without trampolines;
 *  - a BPF netfilter program (kernel 6.4+) that user space links at
 *    NF_INET_PRE_ROUTING, IPv4 and IPv6, one priority after conntrack's
 *    (NF_IP_PRI_CONNTRACK + 1), in one network namespace.
 *
 * None of them records when conntrack is idle: nf_conntrack_in only runs
 * where conntrack's hooks are registered, and the netfilter program
 * records only packets conntrack attached an entry to.
 */
#ifndef HOSTLAT_STACK_CONNTRACK_H
#define HOSTLAT_STACK_CONNTRACK_H

#define HL_NF_ACCEPT 1
#define HL_NF_INET_PRE_ROUTING 0
/* skb->_nfct: the entry's address | its ctinfo in the low 3 bits (NFCT_INFOMASK). */
#define HL_NFCT_INFOMASK 7UL
#define HL_IP_CT_UNTRACKED 7UL /* ctinfo of a packet a notrack rule exempted (no entry) */

static __always_inline unsigned long skb_nfct(const struct sk_buff *skb, bool kp)
{
	if (!bpf_core_field_exists(skb->_nfct))
		return 0; /* a kernel without conntrack */
	return kp ? BPF_CORE_READ(skb, _nfct) : skb->_nfct;
}

/*
 * At nf_conntrack_in's entry: a packet arriving in PREROUTING (not a
 * locally sent one at LOCAL_OUT, which has no RX stamp) that conntrack
 * will look at (not one a notrack rule exempted: untracked, no entry). A
 * template there (a zone or helper set by a raw-table rule) is replaced by
 * the real entry right after: the packet counts.
 */
static __always_inline bool ct_arrival(const struct sk_buff *skb, const struct nf_hook_state *state,
				       bool kp)
{
	__u8 hook = kp ? BPF_CORE_READ(state, hook) : state->hook;

	return hook == HL_NF_INET_PRE_ROUTING &&
	       (skb_nfct(skb, kp) & HL_NFCT_INFOMASK) != HL_IP_CT_UNTRACKED;
}

SEC("fentry/nf_conntrack_in")
int BPF_PROG(hl_nf_conntrack_in, struct sk_buff *skb, const struct nf_hook_state *state)
{
	if (ct_arrival(skb, state, false))
		record_skb(HL_STAGE_CONNTRACK, skb, false);
	return 0;
}

SEC("kprobe/nf_conntrack_in")
int BPF_KPROBE(hl_kp_nf_conntrack_in, struct sk_buff *skb, const struct nf_hook_state *state)
{
	if (ct_arrival(skb, state, true))
		record_skb(HL_STAGE_CONNTRACK, skb, true);
	return 0;
}

/*
 * Right after conntrack (priority NF_IP_PRI_CONNTRACK + 1). The packet
 * counts when it carries an entry: _nfct without its ctinfo bits is the
 * entry's address. 0 means conntrack is idle here (its hook is not
 * registered in this namespace) or found the packet invalid; untracked
 * packets carry no address (IP_CT_UNTRACKED alone). A template cannot be
 * left at this point: nf_conntrack_in replaces or clears it. libbpf 1.1
 * does not know this section: user space sets the program type.
 */
SEC("netfilter")
int hl_ct_netfilter(struct bpf_nf_ctx *ctx)
{
	const struct sk_buff *skb = ctx->skb;

	if (skb && (skb_nfct(skb, false) & ~HL_NFCT_INFOMASK))
		record_skb(HL_STAGE_CONNTRACK, skb, false);
	return HL_NF_ACCEPT;
}

#endif /* HOSTLAT_STACK_CONNTRACK_H */
