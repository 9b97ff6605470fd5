/* SPDX-License-Identifier: MIT */
/* BPF netfilter programs and links by raw syscalls (nflink.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel.h"
#include "nflink.h"

static char disabled_why[160];

void hl_nf_disable(const char *why)
{
	snprintf(disabled_why, sizeof(disabled_why), "%s", why);
}

/* union bpf_attr's link_create with the netfilter options (6.4 uapi). */
struct nf_link_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u32 pf;
	__u32 hooknum;
	__s32 priority;
	__u32 nf_flags;
};

struct link_job {
	const struct nf_link_attr *attr;
	int nsfd; /* -1: stay in the agent's namespace */
	int fd;	  /* the link or -errno */
	int setns_err;
};

/* On a thread of its own: setns only moves the calling thread, which then ends. */
static void *link_thread(void *arg)
{
	struct link_job *j = arg;

	if (j->nsfd >= 0 && setns(j->nsfd, CLONE_NEWNET) < 0) {
		j->setns_err = -errno;
		j->fd = -errno;
		return NULL;
	}
	j->fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, j->attr, sizeof(*j->attr));
	if (j->fd < 0)
		j->fd = -errno;
	return NULL;
}

int hl_nf_link(int prog_fd, int pf, int hooknum, int priority, const char *netns, char *why,
	       size_t whylen)
{
	struct nf_link_attr attr = {
		.prog_fd = (__u32)prog_fd,
		.attach_type = HL_BPF_NETFILTER,
		.pf = (__u32)pf,
		.hooknum = (__u32)hooknum,
		.priority = priority,
	};
	struct link_job j = {.attr = &attr, .nsfd = -1};
	pthread_t t;
	int e;

	if (netns) {
		j.nsfd = open(netns, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (j.nsfd < 0) {
			e = -errno;
			snprintf(why, whylen, "cannot open network namespace %s: %s", netns,
				 strerror(errno));
			return e;
		}
	}
	e = pthread_create(&t, NULL, link_thread, &j);
	if (e) {
		snprintf(why, whylen, "cannot start a thread to create the link: %s", strerror(e));
		if (j.nsfd >= 0)
			close(j.nsfd);
		return -e;
	}
	pthread_join(t, NULL);
	if (j.nsfd >= 0)
		close(j.nsfd);
	if (j.setns_err) {
		snprintf(why, whylen, "cannot enter network namespace %s: %s", netns,
			 strerror(-j.setns_err));
		return j.setns_err;
	}
	if (j.fd >= 0)
		return j.fd;
	switch (-j.fd) {
	case EINVAL:
	case EOPNOTSUPP:
		snprintf(why, whylen,
			 "the kernel refused a BPF netfilter link (%s): it needs "
			 "CONFIG_NETFILTER_BPF_LINK",
			 strerror(-j.fd));
		break;
	default:
		snprintf(why, whylen, "the kernel refused a BPF netfilter link (%s)",
			 strerror(-j.fd));
	}
	return j.fd;
}

int hl_nf_set_type(struct bpf_program *prog)
{
	int e = bpf_program__set_type(prog, (enum bpf_prog_type)HL_BPF_PROG_TYPE_NETFILTER);

	if (!e)
		e = bpf_program__set_expected_attach_type(prog,
							  (enum bpf_attach_type)HL_BPF_NETFILTER);
	return e;
}

int hl_nf_probe(const char *netns, char *why, size_t whylen)
{
	/* r0 = NF_ACCEPT; exit */
	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = (enum bpf_attach_type)HL_BPF_NETFILTER);
	int prog, link;

	if (disabled_why[0]) {
		snprintf(why, whylen, "%s", disabled_why);
		return -EPERM;
	}
	if (!hl_kernel_has_enum_value("bpf_prog_type", "BPF_PROG_TYPE_NETFILTER")) {
		snprintf(why, whylen,
			 "this kernel has no BPF netfilter programs (they came in 6.4)");
		return -EOPNOTSUPP;
	}
	prog = bpf_prog_load((enum bpf_prog_type)HL_BPF_PROG_TYPE_NETFILTER, "hl_nf_probe", "GPL",
			     insns, sizeof(insns) / sizeof(insns[0]), &opts);
	if (prog < 0) {
		snprintf(why, whylen, "the kernel refused a BPF netfilter program (%s)",
			 strerror(-prog));
		return prog;
	}
	link = hl_nf_link(prog, HL_NFPROTO_IPV4, HL_NF_INET_PRE_ROUTING, HL_NF_IP_PRI_CONNTRACK + 1,
			  netns, why, whylen);
	close(prog);
	if (link < 0)
		return link;
	close(link);
	return 0;
}
