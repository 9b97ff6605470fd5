/* SPDX-License-Identifier: MIT */
/*
 * The statsd exporter's encoding: names and their sanitizing, the line of
 * each metric kind, percentiles, bucket values with exact sample rates,
 * packing into datagrams; and the exporter over a loopback UDP socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"

#include "exporters.h"
#include "hist.h"

#define MAX_DGRAMS 256

struct capture {
	char *d[MAX_DGRAMS];
	size_t len[MAX_DGRAMS];
	size_t n;
};

static void capture_emit(void *arg, const char *dgram, size_t len)
{
	struct capture *c = arg;

	if (c->n < MAX_DGRAMS) {
		c->d[c->n] = strndup(dgram, len);
		c->len[c->n] = len;
		c->n++;
	}
}

static void capture_free(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->d[i]);
	memset(c, 0, sizeof(*c));
}

/* All datagrams joined by '\n' (one string to compare against). */
static char *capture_join(const struct capture *c)
{
	size_t n = 1;
	char *s;

	for (size_t i = 0; i < c->n; i++)
		n += c->len[i] + 1;
	s = calloc(1, n);
	for (size_t i = 0; s && i < c->n; i++) {
		if (i)
			strcat(s, "\n");
		strcat(s, c->d[i]);
	}
	return s;
}

static struct hl_statsd_conf conf(const char *prefix, int tags, int mode, uint32_t max)
{
	return (struct hl_statsd_conf){.address = "127.0.0.1:8125",
				       .prefix = (char *)prefix,
				       .max_packet_bytes = max,
				       .tags = tags,
				       .histogram_mode = mode};
}

static struct hl_batch one_metric(struct hl_metric *m)
{
	return (struct hl_batch){.metrics = m, .n_metrics = 1};
}

/* Encode and compare all lines (datagrams joined by '\n') with want. */
static void check_lines(const struct hl_statsd_conf *c, const struct hl_batch *b, const char *want,
			long want_dropped, const char *what)
{
	struct capture cap = {0};
	long dropped = hl_statsd_encode(c, b, capture_emit, &cap);
	char *got = capture_join(&cap);

	CHECK(dropped == want_dropped, "%s: dropped %ld, want %ld", what, dropped, want_dropped);
	CHECK(got && !strcmp(got, want), "%s:\n--- got\n%s\n--- want\n%s", what, got, want);
	free(got);
	capture_free(&cap);
}

static void test_names(void)
{
	struct hl_point pts[3] = {
		{.attrs = {{"stage", "tcp-socket-read"}}, .n_attrs = 1, .value_delta = 7},
		{.attrs = {{"network.interface.name", "eth0.100"}, {"cgroup.path", "/a b/c:d|e#f"}},
		 .n_attrs = 2,
		 .value_delta = 1},
		{.attrs = {{"stage", ""}}, .n_attrs = 1, .value_delta = 2},
	};
	struct hl_metric m = {.name = "hostlat.probe.events",
			      .kind = HL_METRIC_COUNTER,
			      .points = pts,
			      .n_points = 3};
	struct hl_metric other = {.name = "other/metric name",
				  .kind = HL_METRIC_COUNTER,
				  .points = pts,
				  .n_points = 1};
	struct hl_batch b = one_metric(&m);
	struct hl_statsd_conf c = conf("hostlat.", HL_STATSD_TAGS_NONE, 0, 1432);

	check_lines(&c, &b,
		    "hostlat.probe.events.stage.tcp-socket-read:7|c\n"
		    "hostlat.probe.events.network.interface.name.eth0_100.cgroup.path._a_b_c_d_e_f:"
		    "1|c\n"
		    "hostlat.probe.events.stage._:2|c",
		    0, "name segments");
	c.tags = HL_STATSD_TAGS_DOGSTATSD;
	check_lines(&c, &b,
		    "hostlat.probe.events:7|c|#stage:tcp-socket-read\n"
		    "hostlat.probe.events:1|c|#network.interface.name:eth0.100,"
		    "cgroup.path:_a_b_c_d_e_f\n"
		    "hostlat.probe.events:2|c|#stage:_",
		    0, "dogstatsd tags");
	c = conf("my app", HL_STATSD_TAGS_NONE, 0, 1432);
	b = one_metric(&other);
	check_lines(&c, &b, "my_app.other_metric_name.stage.tcp-socket-read:7|c", 0,
		    "prefix sanitized, dot added; foreign metric name kept");
	c = conf("", HL_STATSD_TAGS_NONE, 0, 1432);
	b = one_metric(&m);
	m.n_points = 1;
	check_lines(&c, &b, "probe.events.stage.tcp-socket-read:7|c", 0, "empty prefix");
}

static void test_counters_gauges(void)
{
	struct hl_point cp[2] = {
		{.attrs = {{"stage", "a"}}, .n_attrs = 1, .value = 5, .value_delta = 0},
		{.attrs = {{"stage", "b"}}, .n_attrs = 1, .value = 9, .value_delta = 4},
	};
	struct hl_point gp[6] = {
		{.gauge = 1},	 {.gauge = -2.5}, {.gauge = 1e-7},
		{.gauge = 1e20}, {.gauge = NAN},  {.gauge = 0.1},
	};
	struct hl_metric ms[2] = {
		{.name = "hostlat.c", .kind = HL_METRIC_COUNTER, .points = cp, .n_points = 2},
		{.name = "hostlat.g", .kind = HL_METRIC_GAUGE, .points = gp, .n_points = 6},
	};
	struct hl_batch b = {.metrics = ms, .n_metrics = 2};
	struct hl_statsd_conf c = conf("hostlat.", HL_STATSD_TAGS_NONE, 0, 1432);
	struct capture cap = {0};

	check_lines(&c, &b,
		    "hostlat.c.stage.b:4|c\n"
		    "hostlat.g:1|g\n"
		    "hostlat.g:0|g\nhostlat.g:-2.5|g\n"
		    "hostlat.g:0.0000001|g\n"
		    "hostlat.g:100000000000000000000|g\n"
		    "hostlat.g:0.1|g",
		    1, "zero delta skipped, negative gauge reset first, no exponents, NaN dropped");

	/* The two lines of a negative gauge share a datagram even when packing is tight. */
	c.max_packet_bytes = 40;
	gp[0].gauge = -1;
	b = one_metric(&ms[1]);
	ms[1].n_points = 2;
	hl_statsd_encode(&c, &b, capture_emit, &cap);
	CHECK(cap.n == 2 && !strcmp(cap.d[0], "hostlat.g:0|g\nhostlat.g:-1|g") &&
		      !strcmp(cap.d[1], "hostlat.g:0|g\nhostlat.g:-2.5|g"),
	      "negative gauges: %zu datagrams, first '%s'", cap.n, cap.n ? cap.d[0] : "");
	capture_free(&cap);
}

/*
 * Scale 0: bucket i holds (2^i, 2^(i+1)] s. 50 values in bucket -10
 * (0.977 ms, 1.953 ms], 40 in -9 (.., 3.906 ms], 10 in -7 (7.8 ms, 15.6 ms],
 * max 12 ms, min 1 ms, plus 3 zeros.
 */
static uint64_t counts[4] = {50, 40, 0, 10};

static struct hl_hist sample_hist(void)
{
	return (struct hl_hist){.scale = 0,
				.offset = -10,
				.len = 4,
				.max_size = 4,
				.counts = counts,
				.count = 103,
				.zero_count = 3,
				.sum_ns = 123456789,
				.min_ns = 1000000,
				.max_ns = 12000000,
				.has_min = true,
				.has_max = true};
}

static void test_percentiles(void)
{
	struct hl_hist d = sample_hist(), empty = {.scale = 0};
	struct hl_point pts[2] = {
		{.attrs = {{"stage", "tcp-socket-read"}},
		 .n_attrs = 1,
		 .delta = &d,
		 .cumulative = &d},
		{.attrs = {{"stage", "idle"}}, .n_attrs = 1, .delta = &empty, .cumulative = &d},
	};
	struct hl_metric m = {.name = "hostlat.stack.latency",
			      .kind = HL_METRIC_EXPHIST,
			      .points = pts,
			      .n_points = 2};
	struct hl_batch b = one_metric(&m);
	struct hl_statsd_conf c =
		conf("hostlat.", HL_STATSD_TAGS_NONE, HL_STATSD_HIST_PERCENTILES, 1432);

	/* ranks: p50 -> 52nd value (bucket -10), p90 -> 93rd (-9), p99 -> 102nd (-7,
	 * upper bound 15.625 ms clamped to the max) */
	check_lines(&c, &b,
		    "hostlat.stack.latency.stage.tcp-socket-read.count:103|c\n"
		    "hostlat.stack.latency.stage.tcp-socket-read.sum:123.456789|c\n"
		    "hostlat.stack.latency.stage.tcp-socket-read.p50:1.953125|g\n"
		    "hostlat.stack.latency.stage.tcp-socket-read.p90:3.90625|g\n"
		    "hostlat.stack.latency.stage.tcp-socket-read.p99:12|g\n"
		    "hostlat.stack.latency.stage.tcp-socket-read.max:12|g",
		    0, "percentiles (zero-count point skipped)");
	d.has_max = false;
	c.tags = HL_STATSD_TAGS_DOGSTATSD;
	check_lines(&c, &b,
		    "hostlat.stack.latency.count:103|c|#stage:tcp-socket-read\n"
		    "hostlat.stack.latency.sum:123.456789|c|#stage:tcp-socket-read\n"
		    "hostlat.stack.latency.p50:1.953125|g|#stage:tcp-socket-read\n"
		    "hostlat.stack.latency.p90:3.90625|g|#stage:tcp-socket-read\n"
		    "hostlat.stack.latency.p99:15.625|g|#stage:tcp-socket-read",
		    0, "percentiles, dogstatsd, max unknown");
}

/* Parse "name:value|ms[|@rate]"; the weight is 1/rate. */
static bool parse_timer(const char *line, double *value, double *weight, bool *exponent)
{
	const char *colon = strchr(line, ':'), *bar, *at;

	if (!colon)
		return false;
	*value = strtod(colon + 1, NULL);
	bar = strchr(colon, '|');
	if (!bar || strncmp(bar, "|ms", 3))
		return false;
	at = strstr(bar, "|@");
	*weight = at ? 1 / strtod(at + 2, NULL) : 1;
	*exponent = strpbrk(colon, "eE") != NULL;
	return true;
}

static void test_buckets(void)
{
	struct hl_hist d = sample_hist();
	struct hl_point pt = {.delta = &d, .cumulative = &d};
	struct hl_metric m = {.name = "hostlat.stack.latency",
			      .kind = HL_METRIC_EXPHIST,
			      .points = &pt,
			      .n_points = 1};
	struct hl_batch b = one_metric(&m);
	struct hl_statsd_conf c =
		conf("hostlat.", HL_STATSD_TAGS_NONE, HL_STATSD_HIST_BUCKETS, 1432);
	uint64_t big[1] = {(1ULL << 40) + 1};
	struct hl_hist h = {
		.scale = 3, .offset = -50, .len = 1, .max_size = 1, .counts = big, .count = big[0]};
	struct capture cap = {0};
	char *all, *save = NULL;
	double total = 0;

	/* 3 = 1 + 2; 50 = 2 + 16 + 32; 40 = 8 + 32; 10 = 2 + 8. Midpoints 2^-9.5 s,
	 * 2^-8.5 s, 2^-6.5 s (11.05 ms, below the max). */
	check_lines(&c, &b,
		    "hostlat.stack.latency:0|ms\n"
		    "hostlat.stack.latency:0|ms|@0.5\n"
		    "hostlat.stack.latency:1.381068|ms|@0.5\n"
		    "hostlat.stack.latency:1.381068|ms|@0.0625\n"
		    "hostlat.stack.latency:1.381068|ms|@0.03125\n"
		    "hostlat.stack.latency:2.762136|ms|@0.125\n"
		    "hostlat.stack.latency:2.762136|ms|@0.03125\n"
		    "hostlat.stack.latency:11.048543|ms|@0.5\n"
		    "hostlat.stack.latency:11.048543|ms|@0.125",
		    0, "buckets");

	/* Midpoints outside [min, max] are clamped. */
	d.max_ns = 10000000;
	d.min_ns = 1500000;
	d.zero_count = 0;
	d.count = 100;
	check_lines(&c, &b,
		    "hostlat.stack.latency:1.5|ms|@0.5\n"
		    "hostlat.stack.latency:1.5|ms|@0.0625\n"
		    "hostlat.stack.latency:1.5|ms|@0.03125\n"
		    "hostlat.stack.latency:2.762136|ms|@0.125\n"
		    "hostlat.stack.latency:2.762136|ms|@0.03125\n"
		    "hostlat.stack.latency:10|ms|@0.5\n"
		    "hostlat.stack.latency:10|ms|@0.125",
		    0, "buckets clamped to [min, max]");

	/* A huge count: rates written out in full, weights add up exactly. */
	pt.delta = &h;
	hl_statsd_encode(&c, &b, capture_emit, &cap);
	all = capture_join(&cap);
	CHECK(all && strstr(all, "|ms|@0.0000000000009094947017729282379150390625"),
	      "2^-40 not written exactly: %s", all);
	for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		double v, w;
		bool e;

		CHECK(parse_timer(l, &v, &w, &e), "bad timer line '%s'", l);
		CHECK(!e, "exponent in '%s'", l);
		total += w;
	}
	CHECK(total == (double)big[0], "weights add up to %.17g, want %llu", total,
	      (unsigned long long)big[0]);
	free(all);
	capture_free(&cap);
}

/* A histogram of plain values (bytes): the same lines, in bytes, not ms. */
static void test_raw_values(void)
{
	uint64_t rc[2] = {2, 1};
	struct hl_hist h = {.scale = 0,
			    .offset = 5, /* (32, 64] and (64, 128] bytes */
			    .len = 2,
			    .max_size = 2,
			    .counts = rc,
			    .count = 3,
			    .sum_ns = 200,
			    .min_ns = 40,
			    .max_ns = 100,
			    .has_min = true,
			    .has_max = true,
			    .raw_values = true};
	struct hl_point pt = {.delta = &h, .cumulative = &h};
	struct hl_metric m = {.name = "hostlat.traffic.sample.bytes",
			      .kind = HL_METRIC_EXPHIST,
			      .points = &pt,
			      .n_points = 1};
	struct hl_batch b = one_metric(&m);
	struct hl_statsd_conf c =
		conf("hostlat.", HL_STATSD_TAGS_NONE, HL_STATSD_HIST_PERCENTILES, 1432);

	/* p50: upper bound 64; p90, p99: 128 clamped to the max 100 */
	check_lines(&c, &b,
		    "hostlat.traffic.sample.bytes.count:3|c\n"
		    "hostlat.traffic.sample.bytes.sum:200|c\n"
		    "hostlat.traffic.sample.bytes.p50:64|g\n"
		    "hostlat.traffic.sample.bytes.p90:100|g\n"
		    "hostlat.traffic.sample.bytes.p99:100|g\n"
		    "hostlat.traffic.sample.bytes.max:100|g",
		    0, "raw values, percentiles");
	/* Midpoints 2^5.5 = 45.25 bytes (twice) and 2^6.5 = 90.51 bytes, in full. */
	c.histogram_mode = HL_STATSD_HIST_BUCKETS;
	check_lines(&c, &b,
		    "hostlat.traffic.sample.bytes:45.254833995939|ms|@0.5\n"
		    "hostlat.traffic.sample.bytes:90.5096679918781|ms",
		    0, "raw values, buckets");

	/* Large values keep every digit, with no exponent (not 1.25e+06). */
	rc[0] = 1;
	h = (struct hl_hist){.scale = 0,
			     .offset = 20, /* (2^20, 2^21] */
			     .len = 1,
			     .max_size = 1,
			     .counts = rc,
			     .count = 1,
			     .sum_ns = 1250001,
			     .min_ns = 1250001,
			     .max_ns = 1250001,
			     .has_min = true,
			     .has_max = true,
			     .raw_values = true};
	c.histogram_mode = HL_STATSD_HIST_PERCENTILES;
	check_lines(&c, &b,
		    "hostlat.traffic.sample.bytes.count:1|c\n"
		    "hostlat.traffic.sample.bytes.sum:1250001|c\n"
		    "hostlat.traffic.sample.bytes.p50:1250001|g\n"
		    "hostlat.traffic.sample.bytes.p90:1250001|g\n"
		    "hostlat.traffic.sample.bytes.p99:1250001|g\n"
		    "hostlat.traffic.sample.bytes.max:1250001|g",
		    0, "large raw values, percentiles");
	c.histogram_mode = HL_STATSD_HIST_BUCKETS;
	check_lines(&c, &b, "hostlat.traffic.sample.bytes:1250001|ms", 0,
		    "large raw values, buckets");
}

/* A histogram of plain values recorded as the traffic probe records them. */
static void test_raw_recorded(void)
{
	static const uint64_t vals[] = {0, 0, 1500, 1500, 3000, 64000};
	struct hl_hist h;
	struct hl_point p = {.attrs = {{"network.io.direction", "receive"}}, .n_attrs = 1};
	struct hl_metric m = {.name = "hostlat.traffic.sample.bytes",
			      .kind = HL_METRIC_EXPHIST,
			      .points = &p,
			      .n_points = 1};
	struct hl_batch b = one_metric(&m);
	struct hl_statsd_conf c =
		conf("hostlat.", HL_STATSD_TAGS_DOGSTATSD, HL_STATSD_HIST_PERCENTILES, 1432);
	struct capture cap = {0};
	long dropped;
	char *buf;

	/* exact bucket, count, sum, min and max */
	hl_hist_init(&h, 160, 3);
	h.raw_values = true;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		hl_hist_record_int(&h, 3, vals[i]);
	p.delta = p.cumulative = &h;
	dropped = hl_statsd_encode(&c, &b, capture_emit, &cap);
	buf = capture_join(&cap);
	capture_free(&cap);
	CHECK(dropped == 0, "dropped %ld", dropped);
	/* plain values, no milliseconds: p50 is 1500's bucket bound 2^(85/8) */
	CHECK(buf &&
		      strstr(buf, "hostlat.traffic.sample.bytes.count:6|c|#network.io.direction:"
				  "receive") &&
		      strstr(buf, "hostlat.traffic.sample.bytes.sum:70000|c|") &&
		      strstr(buf, "hostlat.traffic.sample.bytes.p50:1579.22388521773|g|") &&
		      strstr(buf, "hostlat.traffic.sample.bytes.max:64000|g|"),
	      "statsd lines:\n%s", buf);
	free(buf);
	c.histogram_mode = HL_STATSD_HIST_BUCKETS;
	hl_statsd_encode(&c, &b, capture_emit, &cap);
	buf = capture_join(&cap);
	capture_free(&cap);
	/* bucket midpoints as timers, in bytes: 0 twice (rate 0.5), ..., 64000 in (2^(127/8), 2^16] */
	CHECK(buf && strstr(buf, "hostlat.traffic.sample.bytes:0|ms|@0.5|") &&
		      strstr(buf, "hostlat.traffic.sample.bytes:62757.4886038617|ms|#"),
	      "statsd buckets:\n%s", buf);
	free(buf);
	hl_hist_free(&h);
}

static void test_packing(void)
{
	enum { N = 40 };
	struct hl_point pts[N + 1];
	static char values[N + 1][80];
	struct hl_metric m = {.name = "hostlat.probe.events",
			      .kind = HL_METRIC_COUNTER,
			      .points = pts,
			      .n_points = N + 1};
	struct hl_batch b = one_metric(&m);
	struct hl_statsd_conf c = conf("hostlat.", HL_STATSD_TAGS_NONE, 0, 100);
	struct capture cap = {0};
	size_t lines = 0;
	long dropped;

	memset(pts, 0, sizeof(pts));
	for (int i = 0; i <= N; i++) {
		if (i == N / 2) /* a line longer than 100 bytes: dropped */
			snprintf(values[i], sizeof(values[i]), "%075d", 0);
		else
			snprintf(values[i], sizeof(values[i]), "s%d", i);
		pts[i].attrs[0] = (struct hl_attr){"stage", values[i]};
		pts[i].n_attrs = 1;
		pts[i].value_delta = (uint64_t)i + 1;
	}
	dropped = hl_statsd_encode(&c, &b, capture_emit, &cap);
	CHECK(dropped == 1, "dropped %ld lines, want 1", dropped);
	CHECK(cap.n > 1, "only %zu datagrams", cap.n);
	for (size_t d = 0; d < cap.n; d++) {
		char *save = NULL, *s = strdup(cap.d[d]);

		CHECK(cap.len[d] <= 100, "datagram %zu has %zu bytes", d, cap.len[d]);
		CHECK(cap.d[d][0] != '\n' && cap.d[d][cap.len[d] - 1] != '\n',
		      "datagram %zu starts or ends with a newline", d);
		for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char want[128];
			int i = (int)lines < N / 2 ? (int)lines : (int)lines + 1;

			snprintf(want, sizeof(want), "hostlat.probe.events.stage.s%d:%d|c", i,
				 i + 1);
			CHECK(!strcmp(l, want), "line %zu is '%s', want '%s'", lines, l, want);
			lines++;
		}
		/* Full: the next datagram's first line would not have fitted. */
		if (d + 1 < cap.n)
			CHECK(cap.len[d] + 1 + strcspn(cap.d[d + 1], "\n") > 100,
			      "datagram %zu (%zu bytes) not filled", d, cap.len[d]);
		free(s);
	}
	CHECK(lines == N, "%zu lines, want %d", lines, N);
	capture_free(&cap);
}

static void test_init_errors(void)
{
	static const char *const bad[] = {
		"",	  "::1:8125",	"[::1]x",   "[::1",	"[]:8125",    ":8125", "host:",
		"host:0", "host:65536", "host:+12", "host:12x", "1.2.3.4:-1", NULL,
	};
	static const char *const good[] = {"127.0.0.1:9", "[::1]:9", "127.0.0.1", "localhost:9",
					   NULL};
	char err[256];

	for (int i = 0; bad[i]; i++) {
		struct hl_statsd_conf c = conf("x", 0, 0, 1432);
		void *st;

		c.address = (char *)bad[i];
		err[0] = 0;
		st = hl_statsd_exporter.init(&c, err, sizeof(err));
		CHECK(!st && err[0], "address '%s' accepted", bad[i]);
		hl_statsd_exporter.shutdown(st);
	}
	for (int i = 0; good[i]; i++) {
		struct hl_statsd_conf c = conf("x", 0, 0, 1432);
		void *st;

		c.address = (char *)good[i];
		err[0] = 0;
		st = hl_statsd_exporter.init(&c, err, sizeof(err));
		CHECK(st, "address '%s' refused: %s", good[i], err);
		hl_statsd_exporter.shutdown(st);
	}
}

static int udp_listener(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(*port)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 2};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*port = ntohs(a.sin_port);
	return fd;
}

/* The exporter sends what hl_statsd_encode produces; a dead peer is a DROP, not a stall. */
static void test_exporter_udp(void)
{
	struct hl_point pts[30];
	struct hl_metric m = {.name = "hostlat.probe.events",
			      .kind = HL_METRIC_COUNTER,
			      .points = pts,
			      .n_points = 30};
	struct hl_batch b = one_metric(&m);
	struct hl_statsd_conf c = conf("t", 0, 0, 200);
	struct hl_export_status status = {0};
	struct capture want = {0};
	char addr[64], err[256] = "", buf[70000];
	uint16_t port = 0;
	int fd = udp_listener(&port), drops = 0;
	uint64_t total = 0;
	void *st;

	CHECK(fd >= 0, "cannot bind a UDP socket: %s", strerror(errno));
	if (fd < 0)
		return;
	memset(pts, 0, sizeof(pts));
	for (int i = 0; i < 30; i++) {
		pts[i].attrs[0] = (struct hl_attr){"stage", "tcp-socket-read"};
		pts[i].n_attrs = 1;
		pts[i].value_delta = 1000 + (uint64_t)i;
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	c.address = addr;
	st = hl_statsd_exporter.init(&c, err, sizeof(err));
	CHECK(st, "init: %s", err);
	if (!st) {
		close(fd);
		return;
	}
	hl_statsd_encode(&c, &b, capture_emit, &want);
	CHECK(hl_statsd_exporter.export_batch(st, &b, &status) == HL_EXPORT_OK, "export: %s",
	      status.message);
	for (size_t i = 0; i < want.n; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		CHECK(n == (ssize_t)want.len[i] && !memcmp(buf, want.d[i], want.len[i]),
		      "datagram %zu differs (%zd bytes)", i, n);
		total += want.len[i];
	}
	CHECK(want.n > 1 && status.bytes == total, "status.bytes %llu, want %llu in %zu datagrams",
	      (unsigned long long)status.bytes, (unsigned long long)total, want.n);

	/* Nobody listening: port unreachable comes back as ECONNREFUSED. */
	close(fd);
	for (int i = 0; i < 3; i++) {
		memset(&status, 0, sizeof(status));
		if (hl_statsd_exporter.export_batch(st, &b, &status) == HL_EXPORT_DROP) {
			drops++;
			CHECK(strstr(status.message, "not sent"), "message '%s'", status.message);
		}
	}
	CHECK(drops > 0, "no send failure reported without a listener");

	/* Listening again on the same port: the socket is reopened and works. */
	fd = udp_listener(&port);
	CHECK(fd >= 0, "cannot bind port %u again", port);
	if (fd >= 0) {
		memset(&status, 0, sizeof(status));
		CHECK(hl_statsd_exporter.export_batch(st, &b, &status) == HL_EXPORT_OK,
		      "export after the listener came back: %s", status.message);
		CHECK(recv(fd, buf, sizeof(buf), 0) == (ssize_t)want.len[0],
		      "nothing received after the listener came back");
		close(fd);
	}
	hl_statsd_exporter.shutdown(st);
	capture_free(&want);
}

int main(void)
{
	test_names();
	test_counters_gauges();
	test_percentiles();
	test_buckets();
	test_raw_values();
	test_raw_recorded();
	test_packing();
	test_init_errors();
	test_exporter_udp();
	return UNIT_DONE();
}
