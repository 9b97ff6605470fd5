/* SPDX-License-Identifier: MIT */
/*
 * Synchronized traffic runs: the alignment arithmetic of the scheduler
 * (agent/probes/traffic.c), the version 2 fields of stored runs and the
 * reading of version 1 files (traffic_store.c), and `hostlat traffic
 * merge` (agent/cmd/traffic_merge.c): rates, refusals, sums, simultaneous
 * bursts and the incast no host shows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>

#include <zlib.h>

#include "unit.h"

#include "traffic.h"
#include "traffic_types.h"

#define MS 1000000ULL
#define T0 1796217392000000000ULL /* a multiple of 2 s */

/* ---- alignment ------------------------------------------------------------------------ */

static void test_align(void)
{
	CHECK(hl_traffic_align_up(0, MS) == 0, "0");
	CHECK(hl_traffic_align_up(T0, 2000 * MS) == T0, "on the grid stays");
	CHECK(hl_traffic_align_up(T0 + 1, 2000 * MS) == T0 + 2000 * MS, "just past: next");
	CHECK(hl_traffic_align_up(T0 - 1, 100000) == T0, "just before");
	CHECK(hl_traffic_align_up(T0 + 3 * MS + 7, 3 * MS) % (3 * MS) == 0, "3ms");
	/* planned far enough ahead: kept */
	CHECK(hl_traffic_arm_start(T0, T0 - 20 * MS, MS, 50000) == T0, "ahead");
	CHECK(hl_traffic_arm_start(T0, T0 - 50000, MS, 50000) == T0, "exactly the margin");
	/* too close, or past: the next slot boundary at least margin away, never between */
	CHECK(hl_traffic_arm_start(T0, T0 - 49999, MS, 50000) == T0 + MS, "too close");
	CHECK(hl_traffic_arm_start(T0, T0 + 10, MS, 50000) == T0 + MS, "10 ns late");
	CHECK(hl_traffic_arm_start(T0, T0 + 7 * MS + 1, MS, 50000) == T0 + 8 * MS, "7 ms late");
	CHECK(hl_traffic_arm_start(T0, T0 + 7 * MS - 60000, MS, 50000) == T0 + 7 * MS,
	      "late, room before the next boundary");
	CHECK(hl_traffic_arm_start(T0, T0 + 250, 100000, 50000) == T0 + 100000, "100us");
	for (uint64_t late = 0; late < 5 * MS; late += 12345) {
		uint64_t s = hl_traffic_arm_start(T0, T0 + late, 100000, 50000);

		CHECK(s % 100000 == 0 && s >= T0 + late + 50000 && s < T0 + late + 150000,
		      "late %llu: %llu", (unsigned long long)late, (unsigned long long)(s - T0));
	}
}

/* ---- stored runs, version 2 and 1 --------------------------------------------------------- */

static void make_run(struct hl_traffic_rundata *r, const char *host, const char *ifn,
		     uint64_t start, uint32_t n, uint64_t gran)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->ifname, sizeof(r->ifname), "%s", ifn);
	snprintf(r->host, sizeof(r->host), "%s", host);
	r->gran_ns = gran;
	r->n = n;
	r->start_unix_ns = start;
	r->link_bps = 10000000000ULL; /* 10 Gbit/s, 50 %: a burst is > 625000 bytes per ms */
	r->burst_pct = 50;
	r->aligned = true;
	r->clock_known = true;
	r->clock = (struct hl_clock_state){
		.synchronized = true, .max_error_ns = 400000, .est_error_ns = 20000};
	r->samples[0] = calloc(n, sizeof(*r->samples[0]));
	r->samples[1] = calloc(n, sizeof(*r->samples[1]));
}

static void test_store_v2(void)
{
	char dir[] = "/tmp/hostlat-unit-sync.XXXXXX", path[4200], err[256];
	struct hl_traffic_rundata r, b;
	gzFile gz;
	int e;

	CHECK(mkdtemp(dir), "mkdtemp");
	make_run(&r, "node-7\nx", "eth0", T0, 20, MS);
	r.samples[0][3].bytes = 12345;
	e = hl_traffic_store_write(dir, &r, path, sizeof(path));
	CHECK(e == 0, "write %d", e);
	e = hl_traffic_store_read(path, &b, err, sizeof(err));
	CHECK(e == 0, "read: %s", err);
	if (!e) {
		CHECK(b.version == 2, "version %u", b.version);
		CHECK(!strcmp(b.host, "node-7?x"), "host on one line: '%s'", b.host);
		CHECK(b.aligned && b.clock_known && b.clock.synchronized, "aligned, clock");
		CHECK(b.clock.max_error_ns == 400000 && b.clock.est_error_ns == 20000, "errors");
		CHECK(b.start_unix_ns == T0 && b.samples[0][3].bytes == 12345, "samples");
		hl_traffic_rundata_free(&b);
	}
	unlink(path);
	/* unsynchronized, align start */
	r.clock.synchronized = false;
	r.aligned = false;
	e = hl_traffic_store_write(dir, &r, path, sizeof(path));
	e = e ? e : hl_traffic_store_read(path, &b, err, sizeof(err));
	CHECK(e == 0 && b.clock_known && !b.clock.synchronized && !b.aligned, "unsync: %d", e);
	if (!e)
		hl_traffic_rundata_free(&b);
	unlink(path);
	hl_traffic_rundata_free(&r);

	/* A version 1 file: read as before, without host and clock. */
	snprintf(path, sizeof(path), "%s/v1.csv.gz", dir);
	gz = gzopen(path, "wb");
	gzputs(gz,
	       "# hostlat traffic run\n# version: 1\n# interface: eth0\n"
	       "# granularity_ns: 1000000\n# samples: 2\n# start_unix_ns: 1700000000123456789\n"
	       "# link_speed_bps: 1000000000\n# burst_threshold_percent: 50\n"
	       "sample,time_ns,rx_bytes,rx_packets,rx_ce_bytes,rx_flows,tx_bytes,tx_packets,"
	       "tx_retransmits,tx_flows\n0,0,100,1,0,1,200,2,0,1\n1,1000000,300,3,0,1,400,4,0,1\n");
	gzclose(gz);
	e = hl_traffic_store_read(path, &b, err, sizeof(err));
	CHECK(e == 0, "v1: %s", err);
	if (!e) {
		CHECK(b.version == 1 && !b.host[0] && !b.clock_known && !b.aligned, "v1 fields");
		CHECK(b.samples[0][1].bytes == 300, "v1 samples");
		hl_traffic_rundata_free(&b);
	}
	unlink(path);
	rmdir(dir);
}

/* ---- rates ------------------------------------------------------------------------------- */

static void test_rates(void)
{
	static const struct {
		const char *s;
		uint64_t bps;
	} good[] = {
		{"10Gbit", 10000000000ULL},	   {"10Gbit/s", 10000000000ULL},
		{"400Mbit", 400000000ULL},	   {"400Mbit/s", 400000000ULL},
		{"1.25GB/s", 10000000000ULL},	   {"1250000000bytes/s", 10000000000ULL},
		{"1250000000B/s", 10000000000ULL}, {"100kbit", 100000ULL},
		{"2.5Tbit", 2500000000000ULL},	   {"9600bit/s", 9600ULL},
	};
	static const char *const bad[] = {"10",	       "10 Gbit",  "-5Gbit",  "0Gbit", "Gbit",
					  "10gigabit", "0x10Gbit", "nanGbit", "",      "1e30Gbit"};
	char why[256];
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int e = hl_traffic_parse_rate(good[i].s, &v, why, sizeof(why));

		CHECK(e == 0 && v == good[i].bps, "%s: %d %llu %s", good[i].s, e,
		      (unsigned long long)v, e ? why : "");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		CHECK(hl_traffic_parse_rate(bad[i], &v, why, sizeof(why)) == -EINVAL && why[0],
		      "'%s' accepted", bad[i]);
	}
	hl_traffic_parse_rate("10", &v, why, sizeof(why));
	CHECK(strstr(why, "no unit"), "no unit: %s", why);
}

/* ---- merge --------------------------------------------------------------------------------- */

#define NR 8

static void free_runs(struct hl_traffic_rundata *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hl_traffic_rundata_free(&r[i]);
}

static void test_merge(void)
{
	struct hl_traffic_rundata r[NR];
	const char *names[NR] = {"a/one.csv.gz",   "b/two.csv.gz",  "c/three.csv.gz",
				 "d/four.csv.gz",  "e/five.csv.gz", "f/six.csv.gz",
				 "g/seven.csv.gz", "h/eight.csv.gz"};
	struct hl_traffic_merge_opts o = {.dir = HL_TRAFFIC_RX, .capacity_bps = 10000000000ULL};
	struct hl_traffic_merge m;
	char why[NR][256];
	int e;

	/* node-1 and node-2 from T0, node-3 one slot later; 100 slots of 1 ms */
	make_run(&r[0], "node-1", "eth0", T0, 100, MS);
	make_run(&r[1], "node-2", "eth0", T0, 100, MS);
	make_run(&r[2], "node-3", "eth0", T0 + MS, 100, MS);
	/* slot 10: all three burst (700 kB each); slot 20: 500 kB each, no burst but
	 * 1.5 MB = 12 Gbit/s > 10 Gbit/s; slot 30: only node-1 bursts */
	for (int k = 0; k < 3; k++) {
		uint32_t off = k == 2 ? 1 : 0; /* node-3's sample of slot s is s - 1 */

		r[k].samples[0][10 - off].bytes = 700000;
		r[k].samples[0][20 - off].bytes = 500000;
	}
	r[0].samples[0][30].bytes = 900000;
	/* refused: unaligned, other granularity, no overlap, unsynchronized,
	 * clock error above a slot */
	make_run(&r[3], "node-4", "eth0", T0 + 123457, 100, MS);
	make_run(&r[4], "node-5", "eth0", T0, 1000, 100000);
	make_run(&r[5], "node-6", "eth0", T0 + 1000 * MS, 100, MS);
	make_run(&r[6], "node-7", "eth0", T0, 100, MS);
	r[6].clock.synchronized = false;
	make_run(&r[7], "node-8", "eth0", T0, 100, MS);
	r[7].clock.est_error_ns = 2 * MS;

	e = hl_traffic_merge(&m, r, names, NR, &o, why);
	CHECK(e == 0, "merge: %d", e);
	CHECK(!why[0][0] && !why[1][0] && !why[2][0], "accepted: '%s' '%s' '%s'", why[0], why[1],
	      why[2]);
	CHECK(strstr(why[3], "start is not aligned to its granularity (123457ns past"), "3: %s",
	      why[3]);
	CHECK(strstr(why[4], "granularity is 100us, not the 1ms"), "4: %s", why[4]);
	CHECK(strstr(why[5], "does not overlap the other runs"), "5: %s", why[5]);
	CHECK(strstr(why[6], "clock was not synchronized"), "6: %s", why[6]);
	CHECK(strstr(why[7], "estimated clock error (2ms) is larger than 1ms, one slot"), "7: %s",
	      why[7]);
	if (!e) {
		CHECK(m.n_runs == 3 && m.gran_ns == MS, "%zu runs", m.n_runs);
		CHECK(m.start_unix_ns == T0 + MS && m.n == 99, "window %llu, %u",
		      (unsigned long long)(m.start_unix_ns - T0), m.n);
		CHECK(m.first[0] == 1 && m.first[1] == 1 && m.first[2] == 0, "offsets");
		CHECK(!strcmp(m.label[0], "node-1") && !strcmp(m.label[2], "node-3"), "labels");
		/* merged slot s is time slot s + 1 */
		CHECK(m.sum[9] == 2100000 && m.bursting[9] == 3 && m.over[9], "slot 10: %u",
		      m.bursting[9]);
		CHECK(m.sum[19] == 1500000 && m.bursting[19] == 0 && m.over[19],
		      "slot 20: hidden incast");
		CHECK(m.sum[29] == 900000 && m.bursting[29] == 1 && !m.over[29], "slot 30");
		CHECK(m.run_bursts[0] == 2 && m.run_bursts[1] == 1 && m.run_bursts[2] == 1,
		      "per run bursts %u %u %u", m.run_bursts[0], m.run_bursts[1], m.run_bursts[2]);
		{
			char *buf = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);

			hl_traffic_merge_csv(f, &m, r, &o);
			hl_traffic_merge_chart(f, &m, r, &o, 100, 8);
			fclose(f);
			CHECK(strstr(buf, "slot,time_unix_ns,sum_bytes,sum_bps,hosts_bursting,"
					  "over_capacity,hidden_incast,node-1_bytes,node-2_bytes,"
					  "node-3_bytes\n"),
			      "CSV header");
			CHECK(strstr(buf, "\n19,1796217392020000000,1500000,12000000000,0,1,1,"
					  "500000,500000,500000\n"),
			      "CSV row of slot 20");
			CHECK(strstr(buf, "simultaneous bursts: 1 slots with 2 or more hosts "
					  "bursting at once (at most 3"),
			      "chart summary");
			CHECK(strstr(buf, "2 slots above it, 1 of them with no host bursting"),
			      "capacity summary");
			CHECK(strstr(buf, "  slot 19 (+19ms): 12Gbit/s\n"), "incast list");
			free(buf);
		}
		hl_traffic_merge_free(&m);
	}

	/* --trust-clocks takes node-7 and node-8; --max-clock-error node-8 alone */
	o.trust_clocks = true;
	e = hl_traffic_merge(&m, r, names, NR, &o, why);
	CHECK(e == 0 && m.n_runs == 5 && !why[6][0] && !why[7][0], "trust: %zu", m.n_runs);
	if (!e)
		hl_traffic_merge_free(&m);
	o.trust_clocks = false;
	o.max_clock_error_ns = 3 * MS;
	e = hl_traffic_merge(&m, r, names, NR, &o, why);
	CHECK(e == 0 && m.n_runs == 4 && why[6][0] && !why[7][0], "max error: %zu", m.n_runs);
	if (!e)
		hl_traffic_merge_free(&m);
	o.max_clock_error_ns = 0;

	/* --granularity 100us: only node-5 */
	o.gran_ns = 100000;
	e = hl_traffic_merge(&m, r, names, NR, &o, why);
	CHECK(e == 0 && m.n_runs == 1 && !why[4][0] && strstr(why[0], "(--granularity)"),
	      "granularity: %zu %s", m.n_runs, why[0]);
	if (!e)
		hl_traffic_merge_free(&m);
	o.gran_ns = 0;

	/* the same host and interface twice: the second refused; another
	 * interface of a host: both, labelled HOST/IF; no host: the file name */
	snprintf(r[1].host, sizeof(r[1].host), "node-1");
	e = hl_traffic_merge(&m, r, names, 3, &o, why);
	CHECK(e == 0 && m.n_runs == 2 &&
		      strstr(why[1], "host and interface are those of "
				     "a/one.csv.gz"),
	      "duplicate: %s", why[1]);
	if (!e)
		hl_traffic_merge_free(&m);
	snprintf(r[1].ifname, sizeof(r[1].ifname), "eth1");
	r[2].host[0] = 0;
	e = hl_traffic_merge(&m, r, names, 3, &o, why);
	CHECK(e == 0 && m.n_runs == 3, "two interfaces: %zu", m.n_runs);
	if (!e) {
		CHECK(!strcmp(m.label[0], "node-1/eth0") && !strcmp(m.label[1], "node-1/eth1") &&
			      !strcmp(m.label[2], "three"),
		      "labels %s %s %s", m.label[0], m.label[1], m.label[2]);
		hl_traffic_merge_free(&m);
	}
	/* nothing to merge */
	e = hl_traffic_merge(&m, r + 3, names + 3, 1, &o, why);
	CHECK(e == -ENOENT && why[0][0], "none: %d", e);
	free_runs(r, NR);
}

int main(void)
{
	test_align();
	test_store_v2();
	test_rates();
	test_merge();
	return UNIT_DONE();
}
