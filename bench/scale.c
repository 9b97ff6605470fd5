/* SPDX-License-Identifier: MIT */
/*
 * scale [KEYS...]: how collection time and export size grow with the
 * number of group-by keys (bench/scale.sh). For each KEYS (default 10 100
 * 1000 10000) it starts the real stack_latency probe grouped by cgroup
 * (the agent's own code, this process), fills its kernel maps with KEYS
 * simulated cgroups at tcp-socket-read, each with BUCKETS non-empty buckets
 * on every CPU, then times the probe's collect (what the agent does every
 * interval: read both per-CPU maps, sum the CPUs, build cumulative and
 * delta histograms) over ROUNDS collections in which every bucket changes,
 * the raw read of the bucket map alone, and the OTLP JSON the batch makes
 * (raw and gzip). One JSON line per KEYS on standard output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <zlib.h>

#include "config.h"
#include "hostlat.h"
#include "log.h"
#include "maputil.h"
#include "otlp_json.h"
#include "probes.h"
#include "stack_latency.h"

#define BUCKETS 24
#define ROUNDS 5
#define MAX_METRICS 64

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Our own fd of the map called name (this process holds only one probe's). */
static int find_map(const char *name, struct bpf_map_info *out)
{
	for (int fd = 3; fd < 4096; fd++) {
		struct bpf_map_info info = {0};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		if (!strcmp(info.name, name)) {
			*out = info;
			return fd;
		}
	}
	return -ENOENT;
}

/* Every bucket of every key on every CPU: grows by round + 1. */
static int fill(int series_fd, int hist_fd, unsigned int keys, int ncpus, unsigned int round)
{
	struct hl_series_val *sv = calloc((size_t)ncpus, sizeof(*sv));
	uint64_t *cnt = calloc((size_t)ncpus, sizeof(*cnt));
	int e = 0;

	if (!sv || !cnt) {
		e = -ENOMEM;
		goto out;
	}
	for (unsigned int k = 0; k < keys && !e; k++) {
		struct hl_series_key sk = {.cgroup = 1000000 + k, .stage = HL_STAGE_TCP_SOCK_READ};

		for (int c = 0; c < ncpus; c++) {
			sv[c].sum_ns = (uint64_t)(round + 1) * BUCKETS * 50000;
			sv[c].min_ns = 1000;
			sv[c].max_ns = 5000000;
			cnt[c] = round + 1;
		}
		if (bpf_map_update_elem(series_fd, &sk, sv, BPF_ANY)) {
			e = -errno;
			break;
		}
		for (unsigned int b = 0; b < BUCKETS; b++) {
			struct hl_hist_key hk = {.cgroup = sk.cgroup,
						 .stage = HL_STAGE_TCP_SOCK_READ,
						 .pos = (uint16_t)(80 + 4 * b)}; /* ~1 us .. 6 ms */

			if (bpf_map_update_elem(hist_fd, &hk, cnt, BPF_ANY)) {
				e = -errno;
				break;
			}
		}
	}
out:
	free(sv);
	free(cnt);
	return e;
}

static size_t gzip_size(const char *in, size_t len)
{
	uLongf cap = compressBound((uLong)len);
	unsigned char *buf = malloc(cap);
	z_stream z = {0};
	size_t out = 0;

	if (!buf || deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(buf);
		return 0;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) == Z_STREAM_END)
		out = z.total_out;
	deflateEnd(&z);
	free(buf);
	return out;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int run(unsigned int keys)
{
	static struct hl_metric metrics[MAX_METRICS];
	uint64_t collect_ns[ROUNDS], read_ns[ROUNDS];
	struct hl_map_dump dump = {0};
	struct bpf_map_info si, hi;
	struct hl_otlp_split sp = {0};
	struct hl_config cfg;
	char text[1024], err[1024];
	size_t raw = 0, gz = 0, points = 0;
	int ncpus = libbpf_num_possible_cpus(), sfd, hfd, n = 0, e;
	void *st;

	snprintf(text, sizeof(text),
		 "probes:\n"
		 "  stack_latency:\n"
		 "    stages: [tcp-socket-read]\n"
		 "    group_by: [cgroup]\n"
		 "    max_series: %u\n"
		 "    max_bucket_entries: %u\n"
		 "  traffic: { enabled: false }\n"
		 "  softirq: { enabled: false }\n"
		 "  napi: { enabled: false }\n"
		 "  function_latency: { enabled: false }\n"
		 "  drops: { enabled: false }\n"
		 "  runqueue: { enabled: false }\n",
		 keys + 64, keys * BUCKETS + 4096);
	if (hl_config_load_string(&cfg, text, strlen(text), "scale", err, sizeof(err))) {
		fprintf(stderr, "scale: config: %s\n", err);
		return 1;
	}
	st = hl_stack_latency_probe.start(&cfg, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "scale: stack probe: %s\n", err);
		hl_config_free(&cfg);
		return 1;
	}
	sfd = find_map("series", &si);
	hfd = find_map("hist", &hi);
	if (sfd < 0 || hfd < 0) {
		fprintf(stderr, "scale: the probe's maps are not found\n");
		e = 1;
		goto out;
	}
	for (int r = 0; r <= ROUNDS; r++) {
		uint64_t t0, t1, t2;

		e = fill(sfd, hfd, keys, ncpus, (unsigned int)r);
		if (e) {
			fprintf(stderr, "scale: filling the maps: %s\n", strerror(-e));
			goto out;
		}
		t0 = mono_ns();
		n = hl_stack_latency_probe.collect(st, metrics, MAX_METRICS);
		t1 = mono_ns();
		/* per-CPU: the whole value is the rounded per-CPU size times the CPUs */
		if (hl_map_dump_read(&dump, hfd, hi.key_size,
				     (size_t)((hi.value_size + 7) / 8 * 8) * (size_t)ncpus,
				     hi.max_entries)) {
			fprintf(stderr, "scale: reading the map failed\n");
			e = 1;
			goto out;
		}
		t2 = mono_ns();
		if (n < 0) {
			fprintf(stderr, "scale: collect: %s\n", strerror(-n));
			e = 1;
			goto out;
		}
		if (r == 0) /* the first collection also resolves the cgroups once */
			continue;
		collect_ns[r - 1] = t1 - t0;
		read_ns[r - 1] = t2 - t1;
	}
	{
		struct hl_batch b = {.start_unix_ns = 1,
				     .prev_unix_ns = 2,
				     .time_unix_ns = 3,
				     .scope_name = "hostlat",
				     .scope_version = HOSTLAT_VERSION,
				     .metrics = metrics,
				     .n_metrics = (size_t)n};

		for (int i = 0; i < n; i++)
			points += metrics[i].n_points;
		if (hl_otlp_encode_split(&b, false, (size_t)1 << 30, &sp) || sp.n != 1) {
			fprintf(stderr, "scale: OTLP encoding failed\n");
			e = 1;
			goto out;
		}
		raw = sp.v[0].len;
		gz = gzip_size(sp.v[0].json, sp.v[0].len);
	}
	qsort(collect_ns, ROUNDS, sizeof(uint64_t), cmp_u64);
	qsort(read_ns, ROUNDS, sizeof(uint64_t), cmp_u64);
	printf("{\"keys\": %u, \"cpus\": %d, \"buckets_per_key\": %d, \"hist_entries\": %zu, "
	       "\"points\": %zu, \"collect_ms\": %.3f, \"collect_ms_max\": %.3f, "
	       "\"hist_read_ms\": %.3f, \"otlp_bytes\": %zu, \"otlp_gzip_bytes\": %zu}\n",
	       keys, ncpus, BUCKETS, dump.n, points, collect_ns[ROUNDS / 2] / 1e6,
	       collect_ns[ROUNDS - 1] / 1e6, read_ns[ROUNDS / 2] / 1e6, raw, gz);
	fflush(stdout);
	e = 0;
out:
	hl_otlp_split_free(&sp);
	hl_map_dump_free(&dump);
	hl_stack_latency_probe.stop(st);
	hl_config_free(&cfg);
	return e;
}

int main(int argc, char **argv)
{
	static const unsigned int def[] = {10, 100, 1000, 10000};
	int rc = 0;

	hl_log_level = HL_LOG_WARN;
	hl_log_setup_libbpf(); /* libbpf's messages through the agent's log */
	if (argc < 2) {
		for (size_t i = 0; i < sizeof(def) / sizeof(def[0]) && !rc; i++)
			rc = run(def[i]);
		return rc;
	}
	for (int i = 1; i < argc && !rc; i++)
		rc = run((unsigned int)strtoul(argv[i], NULL, 10));
	return rc;
}
