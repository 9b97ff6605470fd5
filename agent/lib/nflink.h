/* SPDX-License-Identifier: MIT */
/*
 * BPF netfilter programs and links (kernel 6.4+) without library support:
 * libbpf 1.1 and the 6.1 uapi headers know neither the program type nor
 * the link's options, so the numbers are ours and the link is created by
 * a raw BPF_LINK_CREATE. A netfilter hook lives in one network namespace,
 * the one of the task that creates the link.
 */
#ifndef HOSTLAT_NFLINK_H
#define HOSTLAT_NFLINK_H

#include <stddef.h>

struct bpf_program;

#define HL_BPF_PROG_TYPE_NETFILTER 32 /* enum bpf_prog_type, 6.4+ */
#define HL_BPF_NETFILTER 45	      /* enum bpf_attach_type, 6.4+ */
#define HL_NFPROTO_IPV4 2
#define HL_NFPROTO_IPV6 10
#define HL_NF_INET_PRE_ROUTING 0
#define HL_NF_IP_PRI_CONNTRACK (-200)

/* HOSTLAT_DISABLE_HOOKS=netfilter: every later probe fails with why. */
void hl_nf_disable(const char *why);
/*
 * Whether a BPF netfilter program can be linked at PRE_ROUTING of the
 * network namespace netns (a namespace file, NULL for the agent's own):
 * loads an empty one and links it there for a moment. 0, or -errno with
 * a sentence in why.
 */
int hl_nf_probe(const char *netns, char *why, size_t whylen);
/* Give prog (autoloaded, not yet loaded) the netfilter type before load. */
int hl_nf_set_type(struct bpf_program *prog);
/*
 * Link prog_fd at (pf, hooknum, priority) in network namespace netns
 * (NULL: the agent's own). The link fd, or -errno with why.
 */
int hl_nf_link(int prog_fd, int pf, int hooknum, int priority, const char *netns, char *why,
	       size_t whylen);

#endif
