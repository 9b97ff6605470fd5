/* SPDX-License-Identifier: MIT */
/*
 * The traffic probe in user space (agent/probes/traffic.c and
 * traffic_store.c): the flow estimate, the burst rule, reading the slots
 * map, stored runs (write, read, retention, listing); and the chart and CSV
 * of `hostlat traffic show` (agent/cmd/traffic.c). Histograms of plain
 * values: test_hist.c and test_statsd.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <zlib.h>

#include "unit.h"

#include "traffic.h"
#include "traffic_types.h"

/* ---- flows and bursts --------------------------------------------------------------- */

static void test_flow_estimate(void)
{
	uint64_t w[4] = {0};

	CHECK(hl_traffic_flow_estimate(w, 256) == 0, "empty sketch");
	/* k distinct bits: exactly k while k <= 16 */
	for (unsigned int k = 1; k <= 16; k++) {
		w[(k - 1) / 64] |= 1ULL << ((k - 1) % 64);
		CHECK(hl_traffic_flow_estimate(w, 256) == k, "%u bits: %u", k,
		      hl_traffic_flow_estimate(w, 256));
	}
	/* half the bits: n = ln(1/2) / ln(255/256) = 177.1 */
	memset(w, 0, sizeof(w));
	w[0] = w[1] = UINT64_MAX;
	CHECK(hl_traffic_flow_estimate(w, 256) == 177, "128 bits: %u",
	      hl_traffic_flow_estimate(w, 256));
	/* all bits: saturates like 255 set */
	w[2] = w[3] = UINT64_MAX;
	CHECK(hl_traffic_flow_estimate(w, 256) == 1417, "saturated: %u",
	      hl_traffic_flow_estimate(w, 256));
	w[3] &= ~1ULL;
	CHECK(hl_traffic_flow_estimate(w, 256) == 1417, "255 bits: %u",
	      hl_traffic_flow_estimate(w, 256));
}

static void test_bursts(void)
{
	/* 10 Gbit/s, 50 %: 5 Gbit/s = 625000 bytes per 1 ms */
	CHECK(!hl_traffic_is_burst(625000, 1000000, 10000000000ULL, 50), "at the threshold");
	CHECK(hl_traffic_is_burst(625001, 1000000, 10000000000ULL, 50), "above it");
	CHECK(hl_traffic_is_burst(62501, 100000, 10000000000ULL, 50), "100us");
	CHECK(!hl_traffic_is_burst(UINT64_MAX, 1000000, 0, 50), "speed unknown");
	CHECK(hl_traffic_is_burst(UINT64_MAX, 10000000000ULL, 4000000000000ULL, 100),
	      "no overflow");
}

/* ---- reading the slots map ----------------------------------------------------------- */

#define RS_IFACES 2
#define RS_SAMPLES 7
#define RS_KEYS (RS_IFACES * HL_TRAFFIC_DIRS * RS_SAMPLES)
#define RS_RUN 5

/* What CPU c holds in slot key: some slots and CPUs of an older run (4), some
 * never touched (run 0); the sketch bits of run RS_RUN never collide. */
static void rs_slot(struct hl_traffic_slot *v, uint32_t key, int c)
{
	memset(v, 0, sizeof(*v));
	if (key % 9 == 8)
		return;
	v->run = key % 7 == 3 || (key % 5 == 0 && c == 0) ? RS_RUN - 1 : RS_RUN;
	v->bytes = 1000000ULL * (key + 1) + (uint64_t)c + 1;
	v->ce_bytes = key + 3;
	v->packets = key + 10;
	v->retrans = (uint32_t)c + 1;
	v->flows[0] = 1ULL << (c % 15);
	v->flows[3] = 1ULL << (key % 64);
}

/* The sum over the CPUs of run RS_RUN. */
static struct hl_traffic_sample rs_want(uint32_t key, int ncpus)
{
	struct hl_traffic_sample w = {0};
	uint32_t low = 0;

	for (int c = 0; c < ncpus; c++) {
		struct hl_traffic_slot v;

		rs_slot(&v, key, c);
		if (v.run != RS_RUN)
			continue;
		w.bytes += v.bytes;
		w.ce_bytes += v.ce_bytes;
		w.packets += v.packets;
		w.retrans += v.retrans;
		low |= 1U << (c % 15);
	}
	/* distinct bits, at most 16: the estimate is exact */
	w.flows = low ? (uint32_t)__builtin_popcount(low) + 1 : 0;
	return w;
}

static void test_read_slots(void)
{
	static const size_t chunks[] = {1, 2, 3, 5, 13, RS_KEYS - 1, RS_KEYS, 1000};
	int ncpus = libbpf_num_possible_cpus();
	struct hl_traffic_rundata rd[RS_IFACES];
	struct hl_traffic_slot *vals;
	int fd;

	CHECK(ncpus > 0, "possible CPUs: %d", ncpus);
	if (ncpus <= 0)
		return;
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, NULL, 4, sizeof(struct hl_traffic_slot),
			    RS_KEYS, NULL);
	if (fd < 0) {
		/* Not a silent pass: make test runs as root, where this fails. */
		CHECK(0, "cannot create a BPF map: %s (run as root)", strerror(errno));
		return;
	}
	vals = calloc((size_t)ncpus, sizeof(*vals));
	for (uint32_t key = 0; key < RS_KEYS; key++) {
		for (int c = 0; c < ncpus; c++)
			rs_slot(&vals[c], key, c);
		CHECK(bpf_map_update_elem(fd, &key, vals, BPF_ANY) == 0, "update %u: %s", key,
		      strerror(errno));
	}
	free(vals);
	for (int i = 0; i < RS_IFACES; i++) {
		rd[i].samples[0] = calloc(RS_SAMPLES, sizeof(*rd[i].samples[0]));
		rd[i].samples[1] = calloc(RS_SAMPLES, sizeof(*rd[i].samples[1]));
	}
	/* Every chunk size, through batch lookups, then one key at a time. */
	for (size_t k = 0; k < 2 * sizeof(chunks) / sizeof(chunks[0]); k++) {
		size_t chunk = chunks[k % (sizeof(chunks) / sizeof(chunks[0]))];
		bool one_by_one = k >= sizeof(chunks) / sizeof(chunks[0]);
		struct hl_traffic_slots s = {
			.fd = fd, .ncpus = ncpus, .n_ifaces = RS_IFACES, .samples = RS_SAMPLES};
		int bad = 0;

		CHECK(hl_traffic_slots_init(&s, chunk * ncpus * sizeof(struct hl_traffic_slot)) ==
			      0,
		      "init");
		CHECK(s.chunk == (chunk < RS_KEYS ? chunk : RS_KEYS), "chunk %zu for %zu", s.chunk,
		      chunk);
		s.no_batch = one_by_one;
		/* garbage where a slot that is not read would show */
		for (int i = 0; i < RS_IFACES; i++)
			for (int d = 0; d < HL_TRAFFIC_DIRS; d++)
				memset(rd[i].samples[d], 0xa5,
				       RS_SAMPLES * sizeof(*rd[i].samples[d]));
		hl_traffic_read_slots(&s, RS_RUN, rd);
		/* batch lookups of an array work since Linux 5.6: no silent fallback */
		CHECK(s.no_batch == one_by_one, "chunk %zu: batch lookups given up", chunk);
		for (uint32_t key = 0; key < RS_KEYS && bad < 3; key++) {
			struct hl_traffic_sample want = rs_want(key, ncpus);
			const struct hl_traffic_sample *got =
				&rd[key / RS_SAMPLES / HL_TRAFFIC_DIRS]
					 .samples[key / RS_SAMPLES % HL_TRAFFIC_DIRS]
						 [key % RS_SAMPLES];

			if (memcmp(got, &want, sizeof(want))) {
				bad++;
				CHECK(0,
				      "chunk %zu%s, key %u: bytes %llu packets %u ce %llu retrans "
				      "%u flows %u, want %llu %u %llu %u %u",
				      chunk, one_by_one ? " (one by one)" : "", key,
				      (unsigned long long)got->bytes, got->packets,
				      (unsigned long long)got->ce_bytes, got->retrans, got->flows,
				      (unsigned long long)want.bytes, want.packets,
				      (unsigned long long)want.ce_bytes, want.retrans, want.flows);
			}
		}
		hl_traffic_slots_free(&s);
	}
	/* Sanity of the data itself: stale, untouched and mixed slots are there. */
	CHECK(rs_want(3, ncpus).bytes == 0 && rs_want(8, ncpus).bytes == 0 &&
		      rs_want(5, ncpus).bytes ==
			      (ncpus > 1 ? 6000000ULL * (ncpus - 1) +
						   (uint64_t)ncpus * (ncpus + 1) / 2 - 1
					 : 0),
	      "test data");
	for (int i = 0; i < RS_IFACES; i++)
		hl_traffic_rundata_free(&rd[i]);
	close(fd);
}

/* ---- stored runs ------------------------------------------------------------------------- */

static void make_run(struct hl_traffic_rundata *r, uint32_t n)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->ifname, sizeof(r->ifname), "eth-7");
	r->gran_ns = 1000000;
	r->n = n;
	r->start_unix_ns = 1700000000123456789ULL;
	r->link_bps = 10000000000ULL;
	r->burst_pct = 50;
	r->samples[0] = calloc(n, sizeof(*r->samples[0]));
	r->samples[1] = calloc(n, sizeof(*r->samples[1]));
	for (uint32_t i = 0; i < n; i++) {
		r->samples[0][i] = (struct hl_traffic_sample){
			.bytes = i * 1000, .ce_bytes = i, .packets = i, .flows = i % 7};
		r->samples[1][i] = (struct hl_traffic_sample){.bytes = i == n / 2 ? 900000 : 5,
							      .packets = 1,
							      .retrans = i % 3,
							      .flows = 1};
	}
}

static bool same_run(const struct hl_traffic_rundata *a, const struct hl_traffic_rundata *b)
{
	if (strcmp(a->ifname, b->ifname) || a->gran_ns != b->gran_ns || a->n != b->n ||
	    a->start_unix_ns != b->start_unix_ns || a->link_bps != b->link_bps ||
	    a->burst_pct != b->burst_pct)
		return false;
	for (int d = 0; d < 2; d++)
		if (memcmp(a->samples[d], b->samples[d], a->n * sizeof(*a->samples[d])))
			return false;
	return true;
}

static off_t file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) ? -1 : st.st_size;
}

/* The first n bytes of file from into a new file to; 0 or -1. */
static int copy_bytes(const char *from, const char *to, off_t n)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char *buf = malloc(n > 0 ? (size_t)n : 1);
	int e = in && out && buf && fread(buf, 1, (size_t)n, in) == (size_t)n &&
				fwrite(buf, 1, (size_t)n, out) == (size_t)n
			? 0
			: -1;

	if (in)
		fclose(in);
	if (out && fclose(out))
		e = -1;
	free(buf);
	return e;
}

static void test_store(void)
{
	char dir[] = "/tmp/hostlat-unit-traffic.XXXXXX", path[4096], other[4200], err[256];
	struct hl_traffic_rundata r, back;
	char **names = NULL;
	size_t n = 0;
	off_t size;
	int e;

	CHECK(mkdtemp(dir), "mkdtemp");
	make_run(&r, 1000);
	e = hl_traffic_store_write(dir, &r, path, sizeof(path));
	CHECK(e == 0, "write: %d", e);
	CHECK(strstr(path, "/hostlat-traffic-20231114T221320.123Z-eth-7-1ms.csv.gz"), "name %s",
	      path);
	e = hl_traffic_store_read(path, &back, err, sizeof(err));
	CHECK(e == 0, "read: %s", err);
	CHECK(!e && same_run(&r, &back), "round trip");
	hl_traffic_rundata_free(&back);
	size = file_size(path);
	CHECK(size > 0 && size < 20000, "compressed size %lld", (long long)size);

	/* A cut-off file, and a whole gzip stream with samples missing, fail. */
	{
		char cut[4200];
		gzFile gz;

		snprintf(cut, sizeof(cut), "%s/cut.csv.gz", dir);
		CHECK(copy_bytes(path, cut, size / 2) == 0, "copy half of %s", path);
		e = hl_traffic_store_read(cut, &back, err, sizeof(err));
		CHECK(e == -EINVAL && strstr(err, "cut.csv.gz: truncated or corrupt after ") &&
			      strstr(err, " samples: unexpected end of file"),
		      "half a file: %d %s", e, err);
		/* every row there, the gzip trailer (CRC, length) not */
		CHECK(copy_bytes(path, cut, size - 4) == 0, "copy of %s", path);
		e = hl_traffic_store_read(cut, &back, err, sizeof(err));
		CHECK(e == -EINVAL && strstr(err, "truncated or corrupt after 1000 samples"),
		      "no trailer: %d %s", e, err);
		gz = gzopen(cut, "wb");
		gzprintf(gz, "# hostlat traffic run\n# interface: x\n# granularity_ns: 1000\n"
			     "# samples: 3\nsample,time_ns\n0,0,1,1,0,1,1,1,0,1\n"
			     "1,1000,1,1,0,1,1,1,0,1\n");
		gzclose(gz);
		e = hl_traffic_store_read(cut, &back, err, sizeof(err));
		CHECK(e == -EINVAL && strstr(err, "cut.csv.gz: truncated: 2 of 3 samples"),
		      "rows missing: %d %s", e, err);
		gz = gzopen(cut, "wb");
		gzprintf(gz, "# hostlat traffic run\n# interface: x\n# granularity_ns: 1000\n"
			     "# samples: 3\nsample,time_ns\n0,0,1,1,0,1,1,1,0,1\n"
			     "0,0,1,1,0,1,1,1,0,1\n2,2000,1,1,0,1,1,1,0,1\n");
		gzclose(gz);
		e = hl_traffic_store_read(cut, &back, err, sizeof(err));
		CHECK(e == -EINVAL && strstr(err, "cut.csv.gz: bad row 2"), "a row twice: %d %s", e,
		      err);
		unlink(cut);
	}

	/* A file not named like a run, and a second run one second later. */
	snprintf(other, sizeof(other), "%s/notes.txt", dir);
	fclose(fopen(other, "w"));
	r.start_unix_ns += 1000000000ULL;
	CHECK(hl_traffic_store_write(dir, &r, NULL, 0) == 0, "second write");
	e = hl_traffic_store_list(dir, &names, &n);
	CHECK(e == 0 && n == 2 && strstr(names[0], "221320.123Z") &&
		      strstr(names[1], "221321.123Z"),
	      "list: %d %zu", e, n);
	hl_traffic_store_list_free(names, n);

	/* size: the oldest goes first */
	CHECK(hl_traffic_store_prune(dir, (uint64_t)size + 10, 3600000000000ULL) == 1,
	      "prune by size");
	CHECK(file_size(path) < 0, "the oldest run was deleted");
	e = hl_traffic_store_list(dir, &names, &n);
	CHECK(e == 0 && n == 1, "one run left");
	hl_traffic_store_list_free(names, n);
	/* age: files older than max_age */
	{
		struct timeval old[2] = {{.tv_sec = time(NULL) - 7200},
					 {.tv_sec = time(NULL) - 7200}};

		e = hl_traffic_store_list(dir, &names, &n);
		snprintf(path, sizeof(path), "%s/%s", dir, n ? names[0] : "x");
		hl_traffic_store_list_free(names, n);
		utimes(path, old);
		utimes(other, old);
	}
	CHECK(hl_traffic_store_prune(dir, UINT32_MAX, 3600000000000ULL) == 1, "prune by age");
	CHECK(file_size(other) == 0, "a file not named like a run is never deleted");

	/*
	 * A symlink planted where the next run's dot file goes is removed, not
	 * written through; a FIFO named like a run is refused, not waited on.
	 */
	{
		char victim[4200], link[4200], fifo[4200], buf[8] = "";
		FILE *f;

		r.start_unix_ns += 1000000000ULL;
		CHECK(hl_traffic_store_write(dir, &r, path, sizeof(path)) == 0, "third write");
		unlink(path);
		snprintf(victim, sizeof(victim), "%s/victim", dir);
		snprintf(link, sizeof(link), "%s/.%s", dir, strrchr(path, '/') + 1);
		f = fopen(victim, "w");
		fputs("keep", f);
		fclose(f);
		CHECK(symlink(victim, link) == 0, "symlink %s", link);
		CHECK(hl_traffic_store_write(dir, &r, NULL, 0) == 0, "write past a planted link");
		f = fopen(victim, "r");
		CHECK(f && fread(buf, 1, sizeof(buf) - 1, f) == 4 && !strcmp(buf, "keep"),
		      "the link's target was written: '%s'", buf);
		if (f)
			fclose(f);
		CHECK(access(link, F_OK) < 0 && file_size(path) > 0,
		      "the run is a file of its own");
		unlink(path);
		unlink(victim);
		snprintf(fifo, sizeof(fifo), "%s/hostlat-traffic-fifo.csv.gz", dir);
		CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
		e = hl_traffic_store_read(fifo, &back, err, sizeof(err));
		CHECK(e == -EINVAL && strstr(err, "not a regular file"), "fifo: %d %s", e, err);
		unlink(fifo);
	}

	/* not a run; missing file */
	e = hl_traffic_store_read(other, &back, err, sizeof(err));
	CHECK(e == -EINVAL && strstr(err, "not a hostlat traffic run"), "non-run: %d %s", e, err);
	e = hl_traffic_store_read("/nonexistent/x.csv.gz", &back, err, sizeof(err));
	CHECK(e < 0 && strstr(err, "cannot open"), "missing: %d %s", e, err);
	CHECK(hl_traffic_store_prune("/nonexistent", 1, 1) < 0, "prune of a missing dir");

	unlink(other);
	rmdir(dir);
	hl_traffic_rundata_free(&r);
}

/* ---- chart and CSV ---------------------------------------------------------------------- */

static void test_show(void)
{
	struct hl_traffic_rundata r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	make_run(&r, 1000);
	f = open_memstream(&buf, &len);
	hl_traffic_print_chart(f, &r, 80, 10);
	fclose(f);
	CHECK(buf && strstr(buf, "eth-7: 1000 samples of 1ms from 2023-11-14 22:13:20.123 UTC; "
				 "link 10Gbit/s, bursts above 50%"),
	      "title:\n%s", buf);
	CHECK(buf && strstr(buf, "\ntransmit: ") && strstr(buf, "1 burst (> 5Gbit/s)") &&
		      strstr(buf, "  bursts  ") && strchr(buf, '^'),
	      "bursts:\n%s", buf);
	CHECK(buf && strstr(buf,
			    "\nreceive: 500MB in 1s (499500 packets), peak 7.99Gbit/s at 999ms"),
	      "receive summary:\n%s", buf);
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	hl_traffic_print_csv(f, &r);
	fclose(f);
	CHECK(buf && !strncmp(buf, "sample,time_ns,rx_bytes,", 24), "csv header");
	CHECK(buf && strstr(buf, "\n500,500000000,500000,500,500,3,900000,1,2,1,4000000000,"
				 "7200000000,0,1\n"),
	      "csv row 500");
	free(buf);
	hl_traffic_rundata_free(&r);
}

int main(void)
{
	test_flow_estimate();
	test_bursts();
	test_read_slots();
	test_store();
	test_show();
	return UNIT_DONE();
}
