/* SPDX-License-Identifier: MIT */
/* The conntrack stage's planning and netfilter links (stack_conntrack.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "kernel.h"
#include "log.h"
#include "nflink.h"
#include "stack_conntrack.h"

#define CT_FUNC "nf_conntrack_in"
#define CT_PRIORITY (HL_NF_IP_PRI_CONNTRACK + 1)

/* Connection tracking is in this kernel: built in, or its module is loaded. */
static bool conntrack_present(void)
{
	return hl_kernel_has_func(CT_FUNC) || access("/sys/module/nf_conntrack", F_OK) == 0;
}

/*
 * The namespace file the netfilter hook goes in for the filter value
 * spec: NULL for the agent's own (host, all), the path, or for an inode
 * number its file under /var/run/netns. false with why when there is none.
 */
static bool netns_file_of(const char *spec, char *path, size_t len, char *why, size_t whylen)
{
	unsigned long long ino;
	struct dirent *de;
	char *end;
	DIR *d;

	path[0] = 0;
	if (!spec || !strcmp(spec, "host") || !strcmp(spec, "all"))
		return true;
	ino = strtoull(spec, &end, 10);
	if (*end || !ino) {
		snprintf(path, len, "%s", spec);
		return true;
	}
	d = opendir("/var/run/netns");
	while (d && (de = readdir(d))) {
		struct stat st;
		char f[288];

		snprintf(f, sizeof(f), "/var/run/netns/%s", de->d_name);
		if (de->d_name[0] != '.' && stat(f, &st) == 0 && st.st_ino == ino) {
			snprintf(path, len, "%s", f);
			break;
		}
	}
	if (d)
		closedir(d);
	if (path[0])
		return true;
	snprintf(why, whylen,
		 "netfilter: no file under /var/run/netns for network namespace %llu to link "
		 "the hook in (give the filter as a namespace file)",
		 ino);
	return false;
}

static void add_why(struct hl_stage_plan *p, const char *reason)
{
	size_t n = strlen(p->why);

	snprintf(p->why + n, sizeof(p->why) - n, "%s%s", n ? "; " : "", reason);
}

void hl_ct_plan(struct hl_stage_plan *p, const char *netns)
{
	char path[288], why[300], reason[340];

	if (p->available)
		return;
	if (!conntrack_present()) {
		snprintf(p->why, sizeof(p->why),
			 "nf_conntrack is not loaded (no connection tracking on this host): a "
			 "firewall or NAT rule that tracks connections loads it; the agent looks "
			 "again when it starts");
		return;
	}
	/* The probe links a hook for a moment: not for a stage that is off. */
	if (!p->wanted) {
		add_why(p, "netfilter: not tried (the stage is not enabled)");
		return;
	}
	if (!netns_file_of(netns, path, sizeof(path), why, sizeof(why))) {
		add_why(p, why);
		return;
	}
	if (hl_nf_probe(path[0] ? path : NULL, why, sizeof(why))) {
		snprintf(reason, sizeof(reason), "netfilter: %s", why);
		add_why(p, reason);
		return;
	}
	p->available = true;
	p->hook = "netfilter";
	snprintf(p->detail, sizeof(p->detail), "netfilter/prerouting in %s%.100s",
		 path[0] ? "netns " : "the agent's netns", path);
}

static bool chose_netfilter(const struct hl_stage_plan *p)
{
	return p->wanted && p->available && !strcmp(p->hook, "netfilter");
}

int hl_ct_prepare(struct bpf_object *obj, const struct hl_stage_plan *p)
{
	struct bpf_program *prog;

	if (!chose_netfilter(p))
		return 0;
	prog = bpf_object__find_program_by_name(obj, HL_CT_NF_PROG);
	return prog ? hl_nf_set_type(prog) : -ENOENT;
}

int hl_ct_attach(struct bpf_object *obj, struct hl_stage_plan *p, const char *netns, int links[2])
{
	static const int pfs[2] = {HL_NFPROTO_IPV4, HL_NFPROTO_IPV6};
	struct bpf_program *prog;
	char path[288] = "", why[300] = "";
	int n = 0;

	if (!chose_netfilter(p))
		return 0;
	prog = bpf_object__find_program_by_name(obj, HL_CT_NF_PROG);
	if (!prog || bpf_program__fd(prog) < 0)
		snprintf(why, sizeof(why), "the netfilter program is not loaded");
	else if (netns_file_of(netns, path, sizeof(path), why, sizeof(why)))
		for (int i = 0; i < 2; i++) {
			int fd = hl_nf_link(bpf_program__fd(prog), pfs[i], HL_NF_INET_PRE_ROUTING,
					    CT_PRIORITY, path[0] ? path : NULL, why, sizeof(why));

			if (fd < 0) {
				/* A kernel without IPv6 refuses its hook: IPv4 still counts. */
				hl_warn("stack", "stage conntrack: no %s hook: %s",
					i ? "IPv6" : "IPv4", why);
				continue;
			}
			links[i] = fd;
			n++;
		}
	if (!n) {
		p->available = false;
		p->hook = "none";
		p->detail[0] = 0;
		snprintf(p->why, sizeof(p->why), "netfilter: %s", why);
		hl_warn("stack", "stage conntrack unavailable: %s", p->why);
		return 0;
	}
	if (!path[0] && netns && !strcmp(netns, "all"))
		hl_info("stack", "stage conntrack: the netfilter hook sees the agent's own network "
				 "namespace only (filters.network_namespace is all)");
	return n;
}

void hl_ct_detach(int links[2])
{
	for (int i = 0; i < 2; i++) {
		if (links[i] >= 0)
			close(links[i]);
		links[i] = -1;
	}
}
