/* SPDX-License-Identifier: MIT */
/*
 * The traffic probe in user space (agent/probes/traffic.c and
 * traffic_store.c): the flow estimate, the burst rule, reading the slots
 * map, stored runs (write, read, retention, listing; hostile files: escape
 * sequences, negative numbers, FIFOs; store.dir checks); and the chart and CSV
 * of `hostlat traffic show` (agent/cmd/traffic.c). Histograms of plain
 * values: test_hist.c and test_statsd.c.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "cmd.h"
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
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	int ncpus = libbpf_num_possible_cpus();
	struct hl_traffic_rundata rd[RS_IFACES];
	int fd;

	CHECK(ncpus > 0, "possible CPUs: %d", ncpus);
	if (ncpus <= 0)
		return;
	CHECK(hl_traffic_slot_entries(ncpus, RS_IFACES, RS_SAMPLES) == (uint32_t)(ncpus * RS_KEYS),
	      "entries");
	CHECK(hl_traffic_slot_entries(2048, 16, 100000) == 0 &&
		      hl_traffic_slot_entries(1, 16, 100000) == 3200000,
	      "more than 2^32 slots is refused");
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, sizeof(struct hl_traffic_slot),
			    (uint32_t)ncpus * RS_KEYS, &opts);
	if (fd < 0) {
		/* Not a silent pass: make test runs as root, where this fails. */
		CHECK(0, "cannot create a BPF map: %s (run as root)", strerror(errno));
		return;
	}
	/* CPU c's block of the array: what the program writes there */
	for (int c = 0; c < ncpus; c++) {
		for (uint32_t key = 0; key < RS_KEYS; key++) {
			struct hl_traffic_slot v;
			__u32 k = (__u32)c * RS_KEYS + key;

			rs_slot(&v, key, c);
			CHECK(bpf_map_update_elem(fd, &k, &v, BPF_ANY) == 0, "update %u: %s", k,
			      strerror(errno));
		}
	}
	for (int i = 0; i < RS_IFACES; i++) {
		rd[i].samples[0] = calloc(RS_SAMPLES, sizeof(*rd[i].samples[0]));
		rd[i].samples[1] = calloc(RS_SAMPLES, sizeof(*rd[i].samples[1]));
	}
	/* Through the mapping, then one element at a time. */
	for (int one_by_one = 0; one_by_one <= 1; one_by_one++) {
		struct hl_traffic_slots s = {.fd = fd,
					     .ncpus = ncpus,
					     .n_ifaces = RS_IFACES,
					     .samples = RS_SAMPLES,
					     .no_mmap = one_by_one};
		int bad = 0;

		/* garbage where a slot that is not read would show */
		for (int i = 0; i < RS_IFACES; i++)
			for (int d = 0; d < HL_TRAFFIC_DIRS; d++)
				memset(rd[i].samples[d], 0xa5,
				       RS_SAMPLES * sizeof(*rd[i].samples[d]));
		hl_traffic_read_slots(&s, RS_RUN, rd);
		/* an mmapable array maps since Linux 5.5: no silent fallback */
		CHECK(s.no_mmap == one_by_one, "mapping the slots given up");
		for (uint32_t key = 0; key < RS_KEYS && bad < 3; key++) {
			struct hl_traffic_sample want = rs_want(key, ncpus);
			const struct hl_traffic_sample *got =
				&rd[key / RS_SAMPLES / HL_TRAFFIC_DIRS]
					 .samples[key / RS_SAMPLES % HL_TRAFFIC_DIRS]
						 [key % RS_SAMPLES];

			if (memcmp(got, &want, sizeof(want))) {
				bad++;
				CHECK(0,
				      "%s, key %u: bytes %llu packets %u ce %llu retrans "
				      "%u flows %u, want %llu %u %llu %u %u",
				      one_by_one ? "one by one" : "mapped", key,
				      (unsigned long long)got->bytes, got->packets,
				      (unsigned long long)got->ce_bytes, got->retrans, got->flows,
				      (unsigned long long)want.bytes, want.packets,
				      (unsigned long long)want.ce_bytes, want.retrans, want.flows);
			}
		}
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

/* ---- hostile run files -------------------------------------------------------------- */

/* A gzip file at path holding text. */
static void write_gz(const char *path, const char *text)
{
	gzFile gz = gzopen(path, "wb");

	CHECK(gz && gzputs(gz, text) >= 0 && gzclose(gz) == Z_OK, "write %s", path);
}

#define GOOD_HEADER                                                                                \
	"# hostlat traffic run\n# version: 1\n# interface: eth0\n# granularity_ns: 1000000\n"      \
	"# samples: 2\n# start_unix_ns: 1700000000000000000\n# link_speed_bps: 1000000000\n"       \
	"# burst_threshold_percent: 50\n"
#define COLUMNS                                                                                    \
	"sample,time_ns,rx_bytes,rx_packets,rx_ce_bytes,rx_flows,tx_bytes,tx_packets,"             \
	"tx_retransmits,tx_flows\n"
#define ROWS "0,0,100,1,0,1,200,2,0,1\n1,1000000,300,3,0,1,400,4,0,1\n"

/* Read text as a run file: 0 or -errno with the message in err. */
static int read_text(const char *dir, const char *text, struct hl_traffic_rundata *r, char *err,
		     size_t errlen)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/hostile.csv.gz", dir);
	write_gz(path, text);
	return hl_traffic_store_read(path, r, err, errlen);
}

static void test_hostile_runs(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		/* a sign is not part of a count: -1 is not 2^64 - 1 */
		{"# hostlat traffic run\n# samples: -1\n", "bad header: samples '-1' is negative"},
		{GOOD_HEADER "# link_speed_bps: -1\n" COLUMNS ROWS,
		 "bad header: link_speed_bps '-1' is negative; a count is expected"},
		{GOOD_HEADER "# start_unix_ns: -1\n" COLUMNS ROWS,
		 "bad header: start_unix_ns '-1' is negative"},
		{GOOD_HEADER "# granularity_ns: -1000\n" COLUMNS ROWS,
		 "bad header: granularity_ns '-1000' is negative"},
		{GOOD_HEADER "# samples: 99999999999999999999999\n" COLUMNS ROWS,
		 "bad header: samples '99999999999999999999999' is out of range (1..10000000)"},
		{GOOD_HEADER "# samples: 0\n" COLUMNS ROWS, "samples '0' is out of range"},
		{GOOD_HEADER "# burst_threshold_percent: 101\n" COLUMNS ROWS,
		 "burst_threshold_percent '101' is out of range (0..100)"},
		{GOOD_HEADER "# samples: 2x\n" COLUMNS ROWS, "samples '2x' is not a count"},
		{GOOD_HEADER "# samples: +2\n" COLUMNS ROWS, "samples '+2' is signed"},
		{GOOD_HEADER COLUMNS "0,0,-1,1,0,1,200,2,0,1\n1,1000000,300,3,0,1,400,4,0,1\n",
		 "bad row 1: rx_bytes '-1' is negative; a count is expected"},
		{GOOD_HEADER COLUMNS "0,0,100,1,0,1,200,2,0,1\n1,1000000,300,3,0,1,400,-4,0,1\n",
		 "bad row 2: tx_packets '-4' is negative"},
		{GOOD_HEADER COLUMNS "0,0,100,4294967296,0,1,200,2,0,1\n",
		 "bad row 1: rx_packets '4294967296' is out of range (0..4294967295)"},
		{GOOD_HEADER COLUMNS "0,0,100,1,0,1,200\n", "bad row 1: 7 columns, not 10"},
		{GOOD_HEADER COLUMNS "0,0,100,1,0,1,200,2,0,1\n1,1000000,300,3,0,1,400,4,0,1\n"
				     "2,2000000,1,1,0,1,1,1,0,1\n",
		 "bad row 3: more rows than the 2 samples of the header"},
	};
	char dir[] = "/tmp/hostlat-unit-hostile.XXXXXX", path[4200], err[512];
	struct hl_traffic_rundata r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int e;

	CHECK(mkdtemp(dir), "mkdtemp");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		e = read_text(dir, bad[i].text, &r, err, sizeof(err));
		CHECK(e == -EINVAL && strstr(err, bad[i].want), "case %zu: %d '%s', want '%s'", i,
		      e, err, bad[i].want);
		CHECK(!r.samples[0] && !r.samples[1], "case %zu: samples freed", i);
	}
	/* The largest values that are counts still are. */
	e = read_text(dir,
		      GOOD_HEADER "# link_speed_bps: 18446744073709551615\n" COLUMNS
				  "0,0,18446744073709551615,4294967295,0,1,200,2,0,1\n"
				  "1,1000000,300,3,0,1,400,4,0,1\n",
		      &r, err, sizeof(err));
	CHECK(e == 0 && r.link_bps == UINT64_MAX && r.samples[0][0].bytes == UINT64_MAX &&
		      r.samples[0][0].packets == UINT32_MAX,
	      "largest counts: %d %s", e, err);
	hl_traffic_rundata_free(&r);

	/* An interface name with escape sequences is printed escaped, never raw. */
	e = read_text(dir,
		      "# hostlat traffic run\n# interface: \x1b]0;pwn\x07\x1b[2J\\x\n"
		      "# granularity_ns: 1000000\n# samples: 2\n" COLUMNS ROWS,
		      &r, err, sizeof(err));
	CHECK(e == 0, "escape sequences in the header: %d %s", e, err);
	f = open_memstream(&buf, &len);
	if (!e)
		hl_traffic_print_chart(f, &r, 80, 5);
	fclose(f);
	CHECK(buf && !strchr(buf, '\x1b') && !strchr(buf, '\x07'), "a control byte printed:\n%s",
	      buf);
	CHECK(buf && !strncmp(buf, "\\x1b]0;pwn\\x07\\x1b[2J\\\\x: 2 samples of 1ms from ",
			      strlen("\\x1b]0;pwn\\x07\\x1b[2J\\\\x: 2 samples of 1ms from ")),
	      "title: %.60s", buf ? buf : "");
	free(buf);
	hl_traffic_rundata_free(&r);
	snprintf(path, sizeof(path), "%s/hostile.csv.gz", dir);
	unlink(path);
	rmdir(dir);
}

/* ---- hostlat traffic show|list ----------------------------------------------------------- */

static char *slurp(FILE *f)
{
	long n;
	char *buf;

	fflush(f);
	n = ftell(f);
	buf = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
	rewind(f);
	if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = 0;
	return buf;
}

/* `hostlat traffic ARGV...` with its stdout and stderr in out[0], out[1] (malloc'ed). */
static int run_cli(char *out[2], char **argv)
{
	FILE *o = tmpfile(), *e = tmpfile();
	int so = dup(1), se = dup(2), argc = 0, rc;

	while (argv[argc])
		argc++;
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	alarm(20); /* a command that blocks (on a FIFO) fails the test, not hangs it */
	rc = hl_traffic_cli(argc, argv);
	alarm(0);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	out[0] = slurp(o);
	out[1] = slurp(e);
	fclose(o);
	fclose(e);
	return rc;
}

static void free_out(char *out[2])
{
	free(out[0]);
	free(out[1]);
	out[0] = out[1] = NULL;
}

static void test_cli(void)
{
	char dir[] = "/tmp/hostlat-unit-cli.XXXXXX", good[4200], newest[4200], fifo[4200],
	     odd[4200], conf[4200];
	char *out[2] = {NULL, NULL};
	struct hl_traffic_rundata r;
	int rc;

	CHECK(mkdtemp(dir), "mkdtemp");
	make_run(&r, 100);
	CHECK(hl_traffic_store_write(dir, &r, good, sizeof(good)) == 0, "write");
	/* The newest run is cut off (a full disk, a crash): show skips it. */
	r.start_unix_ns += 1000000000ULL;
	CHECK(hl_traffic_store_write(dir, &r, newest, sizeof(newest)) == 0, "write newest");
	CHECK(truncate(newest, file_size(newest) / 2) == 0, "truncate %s", newest);
	rc = run_cli(out, (char *[]){"traffic", "show", "--dir", dir, "--width", "60", NULL});
	CHECK(rc == 0 && strstr(out[0], "eth-7: 100 samples of 1ms from 2023-11-14 22:13:20.123"),
	      "corrupt newest: %d\n%s\n%s", rc, out[0], out[1]);
	CHECK(strstr(out[1], "hostlat: warning: skipping an unreadable run: ") &&
		      strstr(out[1], strrchr(newest, '/') + 1) && strstr(out[1], "truncated"),
	      "no warning about the corrupt newest run: %s", out[1]);
	free_out(out);
	/* Named explicitly, the corrupt run is an error. */
	rc = run_cli(out, (char *[]){"traffic", "show", newest, NULL});
	CHECK(rc == 1 && strstr(out[1], "truncated or corrupt"), "corrupt FILE: %d %s", rc, out[1]);
	free_out(out);
	/* Nothing readable at all. */
	CHECK(truncate(good, 10) == 0, "truncate %s", good);
	rc = run_cli(out, (char *[]){"traffic", "show", "--dir", dir, NULL});
	CHECK(rc == 1 && strstr(out[1], "none of the 2 stored traffic runs in ") && !out[0][0],
	      "nothing readable: %d %s", rc, out[1]);
	free_out(out);
	unlink(good);
	unlink(newest);

	/* FIFOs: as FILE, as the newest run and as --config, refused without waiting. */
	snprintf(fifo, sizeof(fifo), "%s/hostlat-traffic-20300101T000000.000Z-x-1ms.csv.gz", dir);
	CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
	rc = run_cli(out, (char *[]){"traffic", "show", fifo, NULL});
	CHECK(rc == 1 && strstr(out[1], "not a regular file"), "FIFO as FILE: %d %s", rc, out[1]);
	free_out(out);
	snprintf(conf, sizeof(conf), "%s/conf.yaml", dir);
	CHECK(mkfifo(conf, 0600) == 0, "mkfifo");
	rc = run_cli(out, (char *[]){"traffic", "list", "--config", conf, NULL});
	CHECK(rc == 2 && strstr(out[1], "conf.yaml: not a regular file"), "FIFO as --config: %d %s",
	      rc, out[1]);
	free_out(out);
	unlink(conf);
	unlink(fifo);

	/* A run file named with escape sequences: listed and reported escaped. */
	snprintf(odd, sizeof(odd), "%s/hostlat-traffic-\x1b[2J.csv.gz", dir);
	write_gz(odd, "not a run\n");
	rc = run_cli(out, (char *[]){"traffic", "list", "--dir", dir, NULL});
	CHECK(rc == 0 && strstr(out[0], "/hostlat-traffic-\\x1b[2J.csv.gz\n") &&
		      !strchr(out[0], '\x1b'),
	      "list: %d %s", rc, out[0]);
	free_out(out);
	rc = run_cli(out, (char *[]){"traffic", "show", "--dir", dir, NULL});
	CHECK(rc == 1 &&
		      strstr(out[1],
			     "hostlat-traffic-\\x1b[2J.csv.gz: not a hostlat traffic run") &&
		      !strchr(out[1], '\x1b'),
	      "show: %d %s", rc, out[1]);
	free_out(out);
	unlink(odd);
	rmdir(dir);
	hl_traffic_rundata_free(&r);
}

/* ---- store.dir ------------------------------------------------------------------------- */

static void test_store_dir(void)
{
	char base[] = "/tmp/hostlat-unit-dir.XXXXXX", d[1024], p[1024], err[1024], warn[1024],
	     want[4400];
	struct stat st;
	int e;

	CHECK(mkdtemp(base), "mkdtemp");
	snprintf(d, sizeof(d), "%s/a/store", base);
	e = hl_traffic_store_check_dir(d, false, err, sizeof(err), warn, sizeof(warn));
	CHECK(e == -ENOENT, "missing, not created: %d %s", e, err);
	/* Created, with its parents, writable by its owner only. */
	e = hl_traffic_store_check_dir(d, true, err, sizeof(err), warn, sizeof(warn));
	CHECK(e == 0 && !warn[0] && stat(d, &st) == 0 && S_ISDIR(st.st_mode) &&
		      !(st.st_mode & (S_IWGRP | S_IWOTH)),
	      "created: %d %s %s", e, err, warn);
	e = hl_traffic_store_check_dir(d, true, err, sizeof(err), warn, sizeof(warn));
	CHECK(e == 0 && !warn[0], "existing: %d %s", e, err);

	/* Not a directory: a file, a FIFO, links to nothing and to a file. */
	snprintf(p, sizeof(p), "%s/file", base);
	fclose(fopen(p, "w"));
	e = hl_traffic_store_check_dir(p, true, err, sizeof(err), warn, sizeof(warn));
	snprintf(want, sizeof(want), "%s is a regular file, not a directory", p);
	CHECK(e == -ENOTDIR && !strcmp(err, want), "file: %d %s", e, err);
	snprintf(p, sizeof(p), "%s/link-file", base);
	snprintf(want, sizeof(want), "%s/file", base);
	CHECK(symlink(want, p) == 0, "symlink");
	e = hl_traffic_store_check_dir(p, true, err, sizeof(err), warn, sizeof(warn));
	snprintf(want, sizeof(want), "%s is a symbolic link to a regular file, not to a directory",
		 p);
	CHECK(e == -ENOTDIR && !strcmp(err, want), "link to a file: %d %s", e, err);
	snprintf(p, sizeof(p), "%s/dangling", base);
	CHECK(symlink("/nonexistent/hostlat", p) == 0, "symlink");
	e = hl_traffic_store_check_dir(p, true, err, sizeof(err), warn, sizeof(warn));
	snprintf(want, sizeof(want), "%s is a dangling symbolic link", p);
	CHECK(e == -ENOTDIR && !strcmp(err, want), "dangling link: %d %s", e, err);
	CHECK(access("/nonexistent/hostlat", F_OK) < 0, "a dangling link's target was created");
	snprintf(p, sizeof(p), "%s/fifo", base);
	CHECK(mkfifo(p, 0600) == 0, "mkfifo");
	e = hl_traffic_store_check_dir(p, true, err, sizeof(err), warn, sizeof(warn));
	CHECK(e == -ENOTDIR && strstr(err, "fifo is a FIFO, not a directory"), "fifo: %d %s", e,
	      err);
	/* A link to a safe directory is fine. */
	snprintf(p, sizeof(p), "%s/link-dir", base);
	CHECK(symlink(d, p) == 0, "symlink");
	e = hl_traffic_store_check_dir(p, true, err, sizeof(err), warn, sizeof(warn));
	CHECK(e == 0 && !warn[0], "link to a directory: %d %s %s", e, err, warn);

	/* Others can write it: refused, sticky or not. */
	chmod(d, 0777);
	e = hl_traffic_store_check_dir(d, true, err, sizeof(err), warn, sizeof(warn));
	snprintf(want, sizeof(want),
		 "%s: users other than root can change it: directory %s is writable by everyone "
		 "(mode 0777)",
		 d, d);
	CHECK(e == -EPERM && !strcmp(err, want), "world-writable: %d %s", e, err);
	e = hl_traffic_store_check_dir(p, true, err, sizeof(err), warn, sizeof(warn));
	CHECK(e == -EPERM && strstr(err, "is writable by everyone (mode 0777)"),
	      "world-writable behind a link: %d %s", e, err);
	chmod(d, 01777);
	e = hl_traffic_store_check_dir(d, true, err, sizeof(err), warn, sizeof(warn));
	CHECK(e == -EPERM && strstr(err, "is writable by everyone (mode 1777)"), "sticky: %d %s", e,
	      err);
	if (geteuid() == 0) {
		char a[1100];

		chmod(d, 0775);
		CHECK(chown(d, 0, 65534) == 0, "chgrp");
		e = hl_traffic_store_check_dir(d, true, err, sizeof(err), warn, sizeof(warn));
		CHECK(e == -EPERM && strstr(err, "is writable by group 65534 (mode 0775)"),
		      "group-writable: %d %s", e, err);
		/* Handed to another user (chown by root): a warning, not a refusal. */
		chmod(d, 0755);
		CHECK(chown(d, 65534, 65534) == 0, "chown");
		e = hl_traffic_store_check_dir(d, true, err, sizeof(err), warn, sizeof(warn));
		snprintf(want, sizeof(want),
			 "%s: users other than root can change it: directory %s is owned by uid "
			 "65534",
			 d, d);
		CHECK(e == 0 && !strcmp(warn, want), "owned by another user: %d %s %s", e, err,
		      warn);
		/* but a directory above it of another user could swap it: refused */
		CHECK(chown(d, 0, 0) == 0, "chown");
		snprintf(a, sizeof(a), "%s/a", base);
		CHECK(chown(a, 65534, 65534) == 0, "chown");
		e = hl_traffic_store_check_dir(d, true, err, sizeof(err), warn, sizeof(warn));
		CHECK(e == -EPERM && strstr(err, "is owned by uid 65534") && strstr(err, a),
		      "a parent of another user: %d %s", e, err);
		CHECK(chown(a, 0, 0) == 0, "chown");
	}
	chmod(d, 0755);
	unlink(p);
	snprintf(p, sizeof(p), "%s/fifo", base);
	unlink(p);
	snprintf(p, sizeof(p), "%s/dangling", base);
	unlink(p);
	snprintf(p, sizeof(p), "%s/link-file", base);
	unlink(p);
	snprintf(p, sizeof(p), "%s/file", base);
	unlink(p);
	rmdir(d);
	snprintf(p, sizeof(p), "%s/a", base);
	rmdir(p);
	rmdir(base);
}

int main(void)
{
	test_flow_estimate();
	test_bursts();
	test_read_slots();
	test_store();
	test_show();
	test_hostile_runs();
	test_cli();
	test_store_dir();
	return UNIT_DONE();
}
