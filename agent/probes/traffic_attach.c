/* SPDX-License-Identifier: MIT */
/*
 * The traffic sampler's tc hooks on one interface.
 *
 * tcx (Linux 6.6+): one BPF link per direction, appended after whatever is
 * attached already. A link lives as long as its file descriptor: when the
 * agent exits, even by SIGKILL, the kernel removes it.
 *
 * Classic tc (older kernels, or `attach: tc`): a direct-action cls_bpf
 * filter with our own priority and handle on the clsact qdisc. The qdisc is
 * created only when the interface has none, and removed on exit only when
 * we created it and no other filter was added to it meanwhile; an existing
 * qdisc and other filters are never touched. A filter left behind by a
 * killed agent has our priority and handle: the next start replaces it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "traffic.h"

/* enum bpf_attach_type values of Linux 6.6 (older uapi headers lack them). */
#define HL_BPF_TCX_INGRESS 46
#define HL_BPF_TCX_EGRESS 47

/* Our classic tc filter: priority and handle nobody else is likely to use. */
#define HL_TC_PRIORITY 0xc0de
#define HL_TC_HANDLE 0x686c

static const char *const dir_name[2] = {"ingress", "egress"};

static int tcx_attach(struct hl_tc_attachment *a, const int prog_fd[2], char *err, size_t errlen)
{
	static const int types[2] = {HL_BPF_TCX_INGRESS, HL_BPF_TCX_EGRESS};

	for (int d = 0; d < 2; d++) {
		LIBBPF_OPTS(bpf_link_create_opts, opts);
		int fd = bpf_link_create(prog_fd[d], a->ifindex, (enum bpf_attach_type)types[d],
					 &opts);

		if (fd < 0) {
			int e = errno ? -errno : fd;

			snprintf(err, errlen, "tcx %s link: %s", dir_name[d], strerror(-e));
			return e;
		}
		a->link_fd[d] = fd;
	}
	a->tcx = true;
	return 0;
}

static void tc_hook_init(struct bpf_tc_hook *hook, int ifindex, int dir)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = dir ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}

static int tc_attach(struct hl_tc_attachment *a, const int prog_fd[2], char *err, size_t errlen)
{
	struct bpf_tc_hook hook;
	int e;

	tc_hook_init(&hook, a->ifindex, 0);
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS; /* clsact */
	e = bpf_tc_hook_create(&hook);
	if (e && e != -EEXIST) {
		snprintf(err, errlen, "cannot create a clsact qdisc: %s", strerror(-e));
		return e;
	}
	a->created_clsact = e == 0;
	for (int d = 0; d < 2; d++) {
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd[d], .handle = HL_TC_HANDLE,
			    .priority = HL_TC_PRIORITY);
		LIBBPF_OPTS(bpf_tc_opts, query, .handle = HL_TC_HANDLE, .priority = HL_TC_PRIORITY);

		tc_hook_init(&hook, a->ifindex, d);
		/* Left behind by an agent that was killed: ours, replace it. */
		if (bpf_tc_query(&hook, &query) == 0) {
			struct bpf_prog_info info = {0};
			__u32 len = sizeof(info);
			int pfd = bpf_prog_get_fd_by_id(query.prog_id);

			if (pfd >= 0 && !bpf_obj_get_info_by_fd(pfd, &info, &len) &&
			    !strncmp(info.name, "hl_traffic_", 11)) {
				hl_info("traffic",
					"ifindex %d %s: replacing a stale hostlat filter",
					a->ifindex, dir_name[d]);
				opts.flags = BPF_TC_F_REPLACE;
			}
			if (pfd >= 0)
				close(pfd);
		}
		e = bpf_tc_attach(&hook, &opts);
		if (e) {
			snprintf(err, errlen,
				 "cannot attach the tc %s filter (priority %#x, handle %#x): %s%s",
				 dir_name[d], HL_TC_PRIORITY, HL_TC_HANDLE, strerror(-e),
				 e == -EEXIST	     ? " (someone else's filter has them)"
				 : e == -EINVAL && d ? " (an ingress qdisc instead of clsact?)"
						     : "");
			return e;
		}
		a->filter[d] = true;
	}
	return 0;
}

int hl_tc_attach(struct hl_tc_attachment *a, int ifindex, const int prog_fd[2], int mode, char *err,
		 size_t errlen)
{
	char why[256] = "";
	int e;

	memset(a, 0, sizeof(*a));
	a->ifindex = ifindex;
	a->link_fd[0] = a->link_fd[1] = -1;
	if (mode != HL_TRAFFIC_ATTACH_TC) {
		e = tcx_attach(a, prog_fd, why, sizeof(why));
		if (!e)
			return 0;
		hl_tc_detach(a);
		a->ifindex = ifindex;
		if (mode == HL_TRAFFIC_ATTACH_TCX) {
			snprintf(err, errlen, "%s", why);
			return e;
		}
		hl_debug("traffic", "ifindex %d: %s; using a classic tc filter", ifindex, why);
	}
	e = tc_attach(a, prog_fd, err, errlen);
	if (e) {
		hl_tc_detach(a);
		if (why[0]) {
			size_t n = strlen(err);

			snprintf(err + n, errlen - n, " (and %s)", why);
		}
	}
	return e;
}

void hl_tc_detach(struct hl_tc_attachment *a)
{
	struct bpf_tc_hook hook;

	if (!a || !a->ifindex)
		return;
	for (int d = 0; d < 2; d++) {
		if (a->link_fd[d] >= 0)
			close(a->link_fd[d]);
		a->link_fd[d] = -1;
		if (a->filter[d]) {
			LIBBPF_OPTS(bpf_tc_opts, opts, .handle = HL_TC_HANDLE,
				    .priority = HL_TC_PRIORITY);
			int e;

			tc_hook_init(&hook, a->ifindex, d);
			e = bpf_tc_detach(&hook, &opts);
			if (e && e != -ENOENT)
				hl_warn("traffic", "ifindex %d: cannot remove the tc %s filter: %s",
					a->ifindex, dir_name[d], strerror(-e));
			a->filter[d] = false;
		}
	}
	if (a->created_clsact) {
		int in = hl_tc_count_filters(a->ifindex, 0),
		    out = hl_tc_count_filters(a->ifindex, 1);

		if (in == 0 && out == 0) {
			tc_hook_init(&hook, a->ifindex, 0);
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		} else {
			hl_info("traffic",
				"ifindex %d: leaving the clsact qdisc hostlat created: other "
				"filters "
				"were added to it",
				a->ifindex);
		}
		a->created_clsact = false;
	}
	a->ifindex = 0;
}

int hl_tc_count_filters(int ifindex, int dir)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg t;
	} req = {
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
		.nh.nlmsg_type = RTM_GETTFILTER,
		.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.nh.nlmsg_seq = 1,
		.t.tcm_family = AF_UNSPEC,
		.t.tcm_ifindex = ifindex,
		.t.tcm_parent = TC_H_MAKE(TC_H_CLSACT, dir ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS),
	};
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	int fd, count = 0, e = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		e = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = -errno;
			goto out;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *me = NLMSG_DATA(nh);

				e = me->error;
				goto out;
			}
			if (nh->nlmsg_type == RTM_NEWTFILTER)
				count++;
		}
	}
out:
	close(fd);
	return e ? e : count;
}
