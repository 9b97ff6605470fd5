/* SPDX-License-Identifier: MIT */
/*
 * The prometheus exporter's encoders: names, Accept negotiation, the text
 * format (exact page), the protobuf format read back by a protobuf reader
 * written here (wire types and field numbers of io.prometheus.client's
 * metrics.proto) and, when node and protobufjs are there, by protobufjs
 * (tests/tools/prom_decode.js); schemas above 8 merged down, below -4 sent
 * as classic buckets; the max_bytes cut; the exporter over loopback.
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

#include "hist.h"
#include "prometheus.h"

/* ---- a protobuf reader ------------------------------------------------------------------ */

struct rd {
	const unsigned char *p, *end;
	bool bad;
};

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		v |= (uint64_t)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

/* The next field: number, wire type; its value in *v (varint, fixed64) or sub (len). */
static bool rd_field(struct rd *r, unsigned int *num, int *wt, uint64_t *v, struct rd *sub)
{
	uint64_t key, n;

	if (r->p >= r->end || r->bad)
		return false;
	key = rd_varint(r);
	*num = (unsigned int)(key >> 3);
	*wt = (int)(key & 7);
	switch (*wt) {
	case 0:
		*v = rd_varint(r);
		break;
	case 1:
		if (r->end - r->p < 8) {
			r->bad = true;
			return false;
		}
		*v = 0;
		for (int i = 0; i < 8; i++)
			*v |= (uint64_t)r->p[i] << (8 * i);
		r->p += 8;
		break;
	case 2:
		n = rd_varint(r);
		if ((uint64_t)(r->end - r->p) < n) {
			r->bad = true;
			return false;
		}
		sub->p = r->p;
		sub->end = r->p + n;
		sub->bad = false;
		r->p += n;
		break;
	default:
		r->bad = true;
		return false;
	}
	return !r->bad;
}

static double as_double(uint64_t v)
{
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* What the reader found in one Histogram message. */
struct phist {
	uint64_t count, zero_count;
	double sum, zero_threshold;
	int64_t schema;
	bool has_schema;
	int n_spans;
	int64_t span_off[16];
	uint64_t span_len[16];
	int n_deltas;
	int64_t deltas[64];
	int n_buckets; /* classic */
	double le[64];
	uint64_t cum[64];
	bool bad;
};

static void read_hist(struct rd *r, struct phist *h)
{
	unsigned int num;
	uint64_t v;
	struct rd sub, s2;
	int wt;

	memset(h, 0, sizeof(*h));
	while (rd_field(r, &num, &wt, &v, &sub)) {
		switch (num) {
		case 1:
			h->count = v;
			break;
		case 2:
			h->sum = as_double(v);
			break;
		case 3: /* Bucket {cumulative_count = 1, upper_bound = 2} */
			while (h->n_buckets < 64 && rd_field(&sub, &num, &wt, &v, &s2)) {
				if (num == 1)
					h->cum[h->n_buckets] = v;
				else if (num == 2)
					h->le[h->n_buckets] = as_double(v);
			}
			h->n_buckets++;
			break;
		case 5:
			h->schema = unzigzag(v);
			h->has_schema = true;
			break;
		case 6:
			h->zero_threshold = as_double(v);
			break;
		case 7:
			h->zero_count = v;
			break;
		case 12: /* BucketSpan {offset = 1 sint32, length = 2} */
			if (h->n_spans >= 16)
				break;
			h->span_off[h->n_spans] = 0;
			h->span_len[h->n_spans] = 0;
			while (rd_field(&sub, &num, &wt, &v, &s2)) {
				if (num == 1)
					h->span_off[h->n_spans] = unzigzag(v);
				else if (num == 2)
					h->span_len[h->n_spans] = v;
			}
			h->n_spans++;
			break;
		case 13: /* packed sint64 */
			if (wt != 2) {
				h->bad = true;
				break;
			}
			while (sub.p < sub.end && h->n_deltas < 64)
				h->deltas[h->n_deltas++] = unzigzag(rd_varint(&sub));
			break;
		default:
			h->bad = true;
		}
	}
	h->bad |= r->bad;
}

/* Bucket counts by Prometheus index from spans and deltas: idx[], cnt[]; returns n. */
static int native_buckets(const struct phist *h, int64_t *idx, int64_t *cnt, int max)
{
	int64_t at = 0, c = 0;
	int k = 0, n = 0;

	for (int s = 0; s < h->n_spans; s++) {
		at += h->span_off[s];
		for (uint64_t i = 0; i < h->span_len[s]; i++, at++, k++) {
			if (k >= h->n_deltas)
				return -1;
			c += h->deltas[k];
			if (c && n < max) {
				idx[n] = at;
				cnt[n++] = c;
			}
		}
	}
	return k == h->n_deltas ? n : -1;
}

/* One family: name, type, metrics (labels "k=v,..." and the first histogram). */
struct pfam {
	char name[128];
	uint64_t type;
	int n_metrics;
	char labels[8][256];
	double value[8]; /* counter or gauge */
	struct phist hist[8];
};

static bool read_family(struct rd *r, struct pfam *f)
{
	unsigned int num;
	uint64_t v;
	struct rd sub, m, s3;
	int wt;

	memset(f, 0, sizeof(*f));
	while (rd_field(r, &num, &wt, &v, &sub)) {
		if (num == 1)
			snprintf(f->name, sizeof(f->name), "%.*s", (int)(sub.end - sub.p), sub.p);
		else if (num == 3)
			f->type = v;
		else if (num == 4 && f->n_metrics < 8) {
			int i = f->n_metrics++;

			while (rd_field(&sub, &num, &wt, &v, &m)) {
				if (num == 1) { /* LabelPair */
					char kv[2][128] = {"", ""};

					while (rd_field(&m, &num, &wt, &v, &s3))
						if (num == 1 || num == 2)
							snprintf(kv[num - 1], sizeof(kv[0]), "%.*s",
								 (int)(s3.end - s3.p), s3.p);
					snprintf(f->labels[i] + strlen(f->labels[i]),
						 sizeof(f->labels[i]) - strlen(f->labels[i]),
						 "%s%s=%s", f->labels[i][0] ? "," : "", kv[0],
						 kv[1]);
				} else if (num == 2 || num == 3) { /* Gauge, Counter {value = 1} */
					while (rd_field(&m, &num, &wt, &v, &s3))
						if (num == 1)
							f->value[i] = as_double(v);
				} else if (num == 7) {
					read_hist(&m, &f->hist[i]);
				}
			}
		}
	}
	return !r->bad;
}

/* The families of a delimited page. */
static int read_page(const char *p, size_t len, struct pfam *out, int max)
{
	struct rd r = {(const unsigned char *)p, (const unsigned char *)p + len, false};
	int n = 0;

	while (r.p < r.end && n < max) {
		uint64_t l = rd_varint(&r);
		struct rd sub = {r.p, r.p + l, false};

		if (r.bad || (uint64_t)(r.end - r.p) < l)
			return -1;
		if (!read_family(&sub, &out[n++]))
			return -1;
		r.p += l;
	}
	return n;
}

/* ---- batches ---------------------------------------------------------------------------- */

static uint64_t lat_counts[] = {2, 0, 0, 5, 1, 0, 0, 0, 3};

static struct hl_hist lat = {
	.scale = 3,
	.offset = -80,
	.len = 9,
	.max_size = 9,
	.counts = lat_counts,
	.count = 12,
	.zero_count = 1,
	.sum_ns = 1500000,
};

static struct hl_point lat_points[] = {
	{.attrs = {{"stage", "tcp-socket-read"}}, .n_attrs = 1, .cumulative = &lat, .delta = &lat},
};
static struct hl_point ev_points[] = {
	{.attrs = {{"stage", "a\"b\\c\nd"}, {"9lives", "x"}}, .n_attrs = 2, .value = 42},
};
static struct hl_point g_points[] = {
	{.attrs = {{"network.interface.name", "eth\xff"}}, .n_attrs = 1, .gauge = 2.5},
};
static struct hl_metric metrics[] = {
	{.name = "hostlat.stack.latency",
	 .description = "Latency",
	 .unit = "s",
	 .kind = HL_METRIC_EXPHIST,
	 .points = lat_points,
	 .n_points = 1},
	{.name = "hostlat.probe.events",
	 .description = "Samples\nrecorded",
	 .unit = "{sample}",
	 .kind = HL_METRIC_COUNTER,
	 .points = ev_points,
	 .n_points = 1},
	{.name = "hostlat.traffic.peak.rate",
	 .unit = "By/s",
	 .kind = HL_METRIC_GAUGE,
	 .points = g_points,
	 .n_points = 1},
};
static const struct hl_attr resource[] = {
	{"service.name", "hostlat"},
	{"service.instance.id", "node-1"},
	{"host.name", "node-1"},
};
static struct hl_batch batch = {
	.time_unix_ns = 1000,
	.resource = resource,
	.n_resource = 3,
	.metrics = metrics,
	.n_metrics = 3,
};

static void test_names(void)
{
	static const struct {
		const char *name, *unit;
		enum hl_metric_kind kind;
		const char *want;
	} cases[] = {
		{"hostlat.stack.latency", "s", HL_METRIC_EXPHIST, "hostlat_stack_latency_seconds"},
		{"hostlat.probe.events", "{sample}", HL_METRIC_COUNTER,
		 "hostlat_probe_events_total"},
		{"hostlat.traffic.sample.bytes", "By", HL_METRIC_EXPHIST,
		 "hostlat_traffic_sample_bytes"},
		{"hostlat.traffic.ecn.ce.bytes", "By", HL_METRIC_COUNTER,
		 "hostlat_traffic_ecn_ce_bytes_total"},
		{"hostlat.traffic.peak.rate", "By/s", HL_METRIC_GAUGE,
		 "hostlat_traffic_peak_rate_bytes_per_second"},
		{"hostlat.probe.hook", "1", HL_METRIC_GAUGE, "hostlat_probe_hook"},
		{"hostlat.napi.budget", "{packet}", HL_METRIC_GAUGE, "hostlat_napi_budget"},
		{"a..b--c", "ms", HL_METRIC_GAUGE, "a_b_c_milliseconds"},
		{"1st", NULL, HL_METRIC_COUNTER, "_1st_total"},
		{"x.total", NULL, HL_METRIC_COUNTER, "x_total"},
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hl_prom_metric_name(cases[i].name, cases[i].unit, cases[i].kind, out, sizeof(out));
		CHECK(!strcmp(out, cases[i].want), "%s [%s] -> %s, want %s", cases[i].name,
		      cases[i].unit ? cases[i].unit : "", out, cases[i].want);
	}
}

static void test_accept(void)
{
	CHECK(hl_prom_wants_proto("application/vnd.google.protobuf;proto=io.prometheus.client."
				  "MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;"
				  "q=0.3,*/*;q=0.1"),
	      "Prometheus's native-histogram Accept");
	CHECK(!hl_prom_wants_proto("text/plain;version=0.0.4;q=1,*/*;q=0.1"), "text only");
	CHECK(!hl_prom_wants_proto(""), "no Accept");
	CHECK(!hl_prom_wants_proto("*/*"), "curl");
	CHECK(!hl_prom_wants_proto("application/vnd.google.protobuf;proto=io.prometheus.client."
				   "MetricFamily;encoding=text"),
	      "text encoding of protobuf");
	CHECK(!hl_prom_wants_proto("application/vnd.google.protobuf;proto=io.prometheus.client."
				   "MetricFamily;encoding=delimited;q=0.2,text/plain;q=0.5"),
	      "text preferred");
	CHECK(hl_prom_wants_proto("application/vnd.google.protobuf; proto=io.prometheus.client."
				  "MetricFamily; encoding=delimited"),
	      "blanks between parameters");
}

static const char want_text[] =
	"# HELP target_info Target metadata\n"
	"# TYPE target_info gauge\n"
	"target_info{job=\"hostlat\",instance=\"node-1\",host_name=\"node-1\"} 1\n"
	"# HELP hostlat_stack_latency_seconds Latency\n"
	"# TYPE hostlat_stack_latency_seconds histogram\n"
	/* buckets -80..-72 at scale 3: 2^-10 .. 2^-9 (lower edge of -80 is 2^-10) */
	"hostlat_stack_latency_seconds_bucket{stage=\"tcp-socket-read\",le=\"0.0009765625\"} 1\n"
	"hostlat_stack_latency_seconds_bucket{stage=\"tcp-socket-read\",le=\"0.001953125\"} 9\n"
	"hostlat_stack_latency_seconds_bucket{stage=\"tcp-socket-read\",le=\"0.00390625\"} 12\n"
	"hostlat_stack_latency_seconds_bucket{stage=\"tcp-socket-read\",le=\"+Inf\"} 12\n"
	"hostlat_stack_latency_seconds_sum{stage=\"tcp-socket-read\"} 0.0015\n"
	"hostlat_stack_latency_seconds_count{stage=\"tcp-socket-read\"} 12\n"
	"# HELP hostlat_probe_events_total Samples\\nrecorded\n"
	"# TYPE hostlat_probe_events_total counter\n"
	"hostlat_probe_events_total{stage=\"a\\\"b\\\\c\\nd\",key_9lives=\"x\"} 42\n"
	"# TYPE hostlat_traffic_peak_rate_bytes_per_second gauge\n"
	"hostlat_traffic_peak_rate_bytes_per_second{network_interface_name=\"eth\xef\xbf\xbd\"} "
	"2.5\n";

static void test_text(void)
{
	struct hl_prom_buf b = {.max = 1 << 20};
	double bounds[] = {0.001, 0.002, 1};

	CHECK(!hl_prom_encode_text(&b, &batch, NULL, 0), "encode");
	CHECK(b.len == strlen(want_text) && !memcmp(b.p, want_text, b.len), "text page:\n%.*s",
	      (int)b.len, b.p);
	CHECK(b.dropped == 0, "dropped %llu", (unsigned long long)b.dropped);

	/* configured bounds: a bucket counts under a bound its upper edge does not pass */
	CHECK(!hl_prom_encode_text(&b, &batch, bounds, 3), "encode with bounds");
	/* bucket -80 ends at 2^(-79/8) = 1.065e-3: above 0.001, only the zero bucket is under */
	CHECK(b.p && memmem(b.p, b.len, "le=\"0.001\"} 1\n", 14), "0.001");
	CHECK(b.p && memmem(b.p, b.len, "le=\"0.002\"} 9\n", 14), "0.002");
	CHECK(b.p && memmem(b.p, b.len, "le=\"1\"} 12\n", 11), "1");

	/* a page too small for the histogram keeps the others and counts the point */
	b.max = 400;
	CHECK(!hl_prom_encode_text(&b, &batch, NULL, 0), "small page");
	CHECK(b.len <= 400 && b.dropped >= 1, "len %zu dropped %llu", b.len,
	      (unsigned long long)b.dropped);
	CHECK(b.p && !memmem(b.p, b.len, "latency", 7), "the histogram left out whole");
	CHECK(b.p && memmem(b.p, b.len, "target_info", 11), "target_info kept");
	hl_prom_buf_free(&b);
}

static void test_proto(void)
{
	struct hl_prom_buf b = {.max = 1 << 20};
	struct pfam f[8];
	int64_t idx[16], cnt[16];
	int n;

	CHECK(!hl_prom_encode_proto(&b, &batch), "encode");
	n = read_page(b.p, b.len, f, 8);
	CHECK(n == 4, "%d families", n);
	if (n != 4)
		goto out;
	CHECK(!strcmp(f[0].name, "target_info") && f[0].type == 1 && f[0].value[0] == 1 &&
		      !strcmp(f[0].labels[0], "job=hostlat,instance=node-1,host_name=node-1"),
	      "target_info %s %s", f[0].name, f[0].labels[0]);
	CHECK(!strcmp(f[1].name, "hostlat_stack_latency_seconds") && f[1].type == 4 &&
		      f[1].n_metrics == 1,
	      "histogram family %s type %llu", f[1].name, (unsigned long long)f[1].type);
	CHECK(!f[1].hist[0].bad && f[1].hist[0].has_schema && f[1].hist[0].schema == 3, "schema");
	CHECK(f[1].hist[0].count == 12 && f[1].hist[0].zero_count == 1 &&
		      fabs(f[1].hist[0].sum - 0.0015) < 1e-15 &&
		      f[1].hist[0].zero_threshold == ldexp(1, -128),
	      "count, zero count, sum, zero threshold");
	/* OTel -80 (2), -77 (5), -76 (1), -72 (3): Prometheus -79, -76, -75, -71 */
	n = native_buckets(&f[1].hist[0], idx, cnt, 16);
	CHECK(n == 4 && idx[0] == -79 && cnt[0] == 2 && idx[1] == -76 && cnt[1] == 5 &&
		      idx[2] == -75 && cnt[2] == 1 && idx[3] == -71 && cnt[3] == 3,
	      "native buckets (%d)", n);
	/* the gap of 2 is bridged, the gap of 3 opens a span */
	CHECK(f[1].hist[0].n_spans == 2 && f[1].hist[0].span_off[0] == -79 &&
		      f[1].hist[0].span_len[0] == 5 && f[1].hist[0].span_off[1] == 3 &&
		      f[1].hist[0].span_len[1] == 1,
	      "spans %d", f[1].hist[0].n_spans);
	CHECK(!strcmp(f[2].name, "hostlat_probe_events_total") && f[2].type == 0 &&
		      f[2].value[0] == 42 &&
		      !strcmp(f[2].labels[0], "stage=a\"b\\c\nd,key_9lives=x"),
	      "counter %s %s", f[2].name, f[2].labels[0]);
	CHECK(!strcmp(f[3].labels[0], "network_interface_name=eth\xef\xbf\xbd") &&
		      f[3].value[0] == 2.5,
	      "gauge label %s", f[3].labels[0]);
out:
	hl_prom_buf_free(&b);
}

/* Scale 10 is merged down to schema 8; scale -5 goes out as classic buckets; empty: a no-op span. */
static void test_schemas(void)
{
	uint64_t c_hi[] = {1, 2, 3, 4, 5};
	struct hl_hist hi = {.scale = 10,
			     .offset = 6,
			     .len = 5,
			     .max_size = 5,
			     .counts = c_hi,
			     .count = 15,
			     .sum_ns = 1};
	uint64_t c_lo[] = {4, 6};
	struct hl_hist lo = {.scale = -5,
			     .offset = -1,
			     .len = 2,
			     .max_size = 2,
			     .counts = c_lo,
			     .count = 10,
			     .sum_ns = 1};
	struct hl_hist empty = {.scale = 3, .max_size = 0};
	struct hl_point p[3] = {{.cumulative = &hi}, {.cumulative = &lo}, {.cumulative = &empty}};
	struct hl_metric m = {
		.name = "h", .unit = "s", .kind = HL_METRIC_EXPHIST, .points = p, .n_points = 3};
	struct hl_batch bt = {.metrics = &m, .n_metrics = 1};
	struct hl_prom_buf b = {.max = 1 << 20};
	struct pfam f[2];
	int64_t idx[8], cnt[8];
	int n;

	CHECK(!hl_prom_encode_proto(&b, &bt), "encode");
	CHECK(read_page(b.p, b.len, f, 2) == 1 && f[0].n_metrics == 3, "one family of 3");
	/* OTel 6..10 at scale 10 -> 1 (6, 7), 2 (8..10) at scale 8; Prometheus 2, 3 */
	n = native_buckets(&f[0].hist[0], idx, cnt, 8);
	CHECK(f[0].hist[0].schema == 8 && n == 2 && idx[0] == 2 && cnt[0] == 3 && idx[1] == 3 &&
		      cnt[1] == 12,
	      "downscaled to 8: %d buckets", n);
	/* scale -5: bucket -1 is (2^-32, 1], 0 is (1, 2^32] */
	CHECK(!f[0].hist[1].has_schema && f[0].hist[1].n_buckets == 3 &&
		      f[0].hist[1].le[0] == ldexp(1, -32) && f[0].hist[1].cum[0] == 0 &&
		      f[0].hist[1].le[1] == 1 && f[0].hist[1].cum[1] == 4 &&
		      f[0].hist[1].le[2] == ldexp(1, 32) && f[0].hist[1].cum[2] == 10,
	      "classic fallback: %d buckets", f[0].hist[1].n_buckets);
	CHECK(f[0].hist[2].has_schema && f[0].hist[2].n_spans == 1 &&
		      f[0].hist[2].span_len[0] == 0 && f[0].hist[2].n_deltas == 0,
	      "empty histogram: a no-op span");
	hl_prom_buf_free(&b);
}

/* protobufjs (tests/node_modules), decoding a page we wrote: an independent decoder. */
static void test_protobufjs(void)
{
	char path[] = "/tmp/hostlat-prom-XXXXXX", cmd[512], out[8192];
	struct hl_prom_buf b = {.max = 1 << 20};
	size_t n = 0;
	FILE *p;
	int fd;

	if (access("tests/node_modules/protobufjs/index.js", R_OK) ||
	    system("node --version >/dev/null 2>&1")) {
		printf("%s: protobufjs or node missing: not decoded by protobufjs\n", __FILE__);
		return;
	}
	CHECK(!hl_prom_encode_proto(&b, &batch), "encode");
	fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, b.p, b.len) == (ssize_t)b.len, "temp file");
	if (fd >= 0)
		close(fd);
	snprintf(cmd, sizeof(cmd), "node tests/tools/prom_decode.js %s", path);
	p = popen(cmd, "r");
	if (p) {
		n = fread(out, 1, sizeof(out) - 1, p);
		CHECK(pclose(p) == 0, "prom_decode.js failed");
	}
	out[n] = 0;
	CHECK(strstr(out, "\"name\":\"hostlat_stack_latency_seconds\"") &&
		      strstr(out, "\"type\":\"HISTOGRAM\"") && strstr(out, "\"schema\":3") &&
		      strstr(out, "\"buckets\":{\"-79\":2,\"-76\":5,\"-75\":1,\"-71\":3}") &&
		      strstr(out, "\"sample_count\":\"12\"") &&
		      strstr(out, "\"zero_count\":\"1\"") &&
		      strstr(out, "\"counter\":{\"value\":42}"),
	      "protobufjs read: %s", out);
	unlink(path);
	hl_prom_buf_free(&b);
}

/* The exporter: a page served over loopback, 404 elsewhere, 401 without credentials. */
static void test_exporter(void)
{
	char pwfile[] = "/tmp/hostlat-prom-pw-XXXXXX", listen_at[64], req[256], resp[8192];
	char pwval[64];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	struct hl_export_status status = {0};
	struct hl_prometheus_conf c = {0};
	int s, fd, pfd = mkstemp(pwfile);
	void *st, *st2;
	char err[256] = "";
	size_t got;
	ssize_t n;

	/* a free port */
	s = socket(AF_INET, SOCK_STREAM, 0);
	bind(s, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(s, (struct sockaddr *)&sa, &sl);
	close(s);
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", ntohs(sa.sin_port));
	CHECK(pfd >= 0 && write(pfd, "pw\n", 3) == 3, "password file");
	close(pfd);
	c.listen = listen_at;
	c.path = "/metrics";
	c.max_bytes = 1 << 20;
	c.max_connections = 2;
	c.timeout_ns = 2000000000ULL;
	c.username = "u";
	snprintf(pwval, sizeof(pwval), "@file:%s", pwfile);
	c.password = pwval;
	st = hl_prometheus_exporter.init(&c, err, sizeof(err));
	CHECK(st, "init: %s", err);
	if (!st)
		goto out;
	CHECK(hl_prometheus_exporter.export_batch(st, &batch, &status) == HL_EXPORT_OK, "export");
	for (int k = 0; k < 3; k++) {
		static const char *const reqs[] = {
			"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpwdw==\r\n\r\n",
			"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET /other HTTP/1.1\r\nAuthorization: Basic dTpwdw==\r\n\r\n",
		};
		static const char *const want[] = {"HTTP/1.1 200 OK", "HTTP/1.1 401",
						   "HTTP/1.1 404"};

		fd = socket(AF_INET, SOCK_STREAM, 0);
		CHECK(!connect(fd, (struct sockaddr *)&sa, sizeof(sa)), "connect");
		snprintf(req, sizeof(req), "%s", reqs[k]);
		CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req), "send");
		got = 0;
		while (got < sizeof(resp) - 1 &&
		       (n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
			got += (size_t)n;
		resp[got] = 0;
		close(fd);
		CHECK(!strncmp(resp, want[k], strlen(want[k])), "request %d: %.60s", k, resp);
		if (k == 2)
			CHECK(strstr(resp, "\r\n\r\nnot found: the metrics are at /metrics\n"),
			      "the 404 body: %s", resp);
		if (k == 0)
			CHECK(strstr(resp, "X-Hostlat-Collected-Unix-Nano: 1000\r\n") &&
				      strstr(resp, want_text),
			      "the text page: %s", resp);
	}
	/* a reload: a second exporter on the address shares the socket and serves the page
	 * of the first until its own first collection, also once the first has stopped */
	st2 = hl_prometheus_exporter.init(&c, err, sizeof(err));
	CHECK(st2, "init on the same address: %s", err);
	hl_prometheus_exporter.shutdown(st);
	if (st2) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		CHECK(!connect(fd, (struct sockaddr *)&sa, sizeof(sa)), "connect");
		snprintf(req, sizeof(req),
			 "GET /metrics HTTP/1.0\r\nAuthorization: Basic dTpwdw==\r\n\r\n");
		CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req), "send");
		got = 0;
		while (got < sizeof(resp) - 1 &&
		       (n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
			got += (size_t)n;
		resp[got] = 0;
		close(fd);
		CHECK(strstr(resp, "X-Hostlat-Collected-Unix-Nano: 1000\r\n") &&
			      strstr(resp, want_text),
		      "the inherited page: %.200s", resp);
	}
	st = st2;
	hl_prometheus_exporter.shutdown(st);
	/* the port is free again */
	st = hl_prometheus_exporter.init(&c, err, sizeof(err));
	CHECK(st, "init again: %s", err);
	hl_prometheus_exporter.shutdown(st);
out:
	unlink(pwfile);
}

/* Every resource attribute reaches target_info, however many. */
static void test_resource(void)
{
	static const char *const keys[] = {"service.name", "a0", "a1", "a2", "a3",	    "a4",
					   "a5",	   "a6", "a7", "a8", "k8s.pod.name"};
	struct hl_attr res[sizeof(keys) / sizeof(keys[0])];
	struct hl_batch bt = {.resource = res, .n_resource = sizeof(res) / sizeof(res[0])};
	struct hl_prom_buf b = {.max = 1 << 20};

	for (size_t i = 0; i < bt.n_resource; i++)
		res[i] = (struct hl_attr){keys[i], "v"};
	CHECK(!hl_prom_encode_text(&b, &bt, NULL, 0), "encode");
	CHECK(b.p && memmem(b.p, b.len,
			    "target_info{job=\"v\",a0=\"v\",a1=\"v\",a2=\"v\",a3=\"v\",a4=\"v\","
			    "a5=\"v\",a6=\"v\",a7=\"v\",a8=\"v\",k8s_pod_name=\"v\"} 1\n",
			    strlen("target_info{job=\"v\",a0=\"v\",a1=\"v\",a2=\"v\",a3=\"v\","
				   "a4=\"v\",a5=\"v\",a6=\"v\",a7=\"v\",a8=\"v\",k8s_pod_name="
				   "\"v\"} 1\n")),
	      "target_info: %.*s", (int)b.len, b.p);
	hl_prom_buf_free(&b);
}

int main(void)
{
	test_resource();
	test_names();
	test_accept();
	test_text();
	test_proto();
	test_schemas();
	test_protobufjs();
	test_exporter();
	return UNIT_DONE();
}
