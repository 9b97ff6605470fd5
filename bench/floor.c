/* SPDX-License-Identifier: MIT */
/*
 * floor OBJ [IFNAME...]: load the empty programs of bench/floor.bpf.c,
 * attach each tp_btf one to its tracepoint and the two tc ones as tcx
 * links (ingress, egress) on every IFNAME, print "running", and hold them
 * until SIGINT or SIGTERM. Hooks the running kernel lacks are skipped
 * (and named). Everything is a link owned by this process: nothing stays
 * behind when it exits, however it exits.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define TCX_INGRESS 46 /* enum bpf_attach_type of Linux 6.6 */
#define TCX_EGRESS 47

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct btf *vmlinux;
	sigset_t mask;
	int n = 0, sig;

	if (argc < 2) {
		fprintf(stderr, "usage: floor OBJ [IFNAME...]\n");
		return 2;
	}
	libbpf_set_print(quiet);
	vmlinux = btf__load_vmlinux_btf();
	obj = bpf_object__open_file(argv[1], NULL);
	if (!vmlinux || !obj) {
		fprintf(stderr, "floor: cannot open %s or the kernel's BTF: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
	{
		const char *sec = bpf_program__section_name(prog);
		char tp[128];

		if (strncmp(sec, "tp_btf/", 7))
			continue;
		snprintf(tp, sizeof(tp), "btf_trace_%s", sec + 7);
		if (btf__find_by_name_kind(vmlinux, tp, BTF_KIND_TYPEDEF) < 0) {
			fprintf(stderr, "floor: no tracepoint %s here: skipped\n", sec + 7);
			bpf_program__set_autoload(prog, false);
		}
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "floor: load failed: %s\n", strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
	{
		const char *sec = bpf_program__section_name(prog);

		if (!bpf_program__autoload(prog))
			continue;
		if (!strcmp(sec, "tc")) {
			int type = strstr(bpf_program__name(prog), "ingress") ? TCX_INGRESS
									      : TCX_EGRESS;

			for (int i = 2; i < argc; i++) {
				LIBBPF_OPTS(bpf_link_create_opts, opts);
				unsigned int ifindex = if_nametoindex(argv[i]);

				if (!ifindex ||
				    bpf_link_create(bpf_program__fd(prog), (int)ifindex,
						    (enum bpf_attach_type)type, &opts) < 0) {
					fprintf(stderr, "floor: tcx on %s: %s\n", argv[i],
						strerror(errno));
					return 1;
				}
				n++;
			}
			continue;
		}
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "floor: attach %s: %s\n", sec, strerror(errno));
			return 1;
		}
		n++;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	printf("running: %d links\n", n);
	fflush(stdout);
	sigwait(&mask, &sig);
	/* Links and programs go with the process. */
	return 0;
}
