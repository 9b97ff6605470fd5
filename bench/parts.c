/* SPDX-License-Identifier: MIT */
/*
 * parts PROGRAM: load one program of bench/parts.bpf.c (p0_empty ...
 * p5_bucket), with the bucketing tables of scale 3 and the dense layout
 * sized for the softirq probe's series as the agent sizes them, measuring
 * the vectors the softirq probe measures by default (net_tx, net_rx);
 * attach it, print "running", hold it until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "hist.h"
#include "hostlat.h"
#include "series.h"
#include "stall.h"
#include "bench/parts.skel.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	static struct hl_exph_table t;
	struct bpf_program *prog, *chosen = NULL;
	struct parts_bpf *skel;
	uint32_t stride;
	sigset_t mask;
	int sig;

	if (argc != 2) {
		fprintf(stderr, "usage: parts PROGRAM (p0_empty, p1_state, ... p5_bucket)\n");
		return 2;
	}
	libbpf_set_print(quiet);
	skel = parts_bpf__open();
	if (!skel || hl_exph_table_init(&t, 3)) {
		fprintf(stderr, "parts: cannot open the object: %s\n", strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, skel->obj)
	{
		bool is = !strcmp(bpf_program__name(prog), argv[1]);

		bpf_program__set_autoload(prog, is);
		if (is)
			chosen = prog;
	}
	if (!chosen) {
		fprintf(stderr, "parts: no program %s\n", argv[1]);
		return 2;
	}
	stride = hl_dense_stride(&t);
	memcpy((void *)skel->rodata->exph_bounds, t.bounds, sizeof(t.bounds));
	memcpy((void *)skel->rodata->exph_octave_first, t.octave_first, sizeof(t.octave_first));
	skel->rodata->hist_scale = (__u32)t.scale;
	skel->rodata->dense_stride = stride;
	skel->rodata->vec_mask = 1U << 2 | 1U << HL_SOFTIRQ_NET_RX; /* NET_TX, NET_RX */
	bpf_map__set_max_entries(skel->maps.dense, HL_SOFTIRQ_KINDS * HL_SOFTIRQ_VECS * stride);
	bpf_map__set_max_entries(skel->maps.hist, 1);
	bpf_map__set_max_entries(skel->maps.series, 1);
	if (parts_bpf__load(skel) || !bpf_program__attach(chosen)) {
		fprintf(stderr, "parts: cannot load or attach %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	printf("running: %s\n", argv[1]);
	fflush(stdout);
	sigwait(&mask, &sig);
	parts_bpf__destroy(skel);
	return 0;
}
