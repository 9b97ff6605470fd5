/* SPDX-License-Identifier: MIT */
/*
 * OTLP JSON encoding (histogram data points, whole requests) and the
 * otlp_http exporter's pure parts: splitting a batch below a size limit,
 * response bodies, Retry-After, the OTEL_EXPORTER_OTLP_HEADERS syntax,
 * endpoint resolution, and the precedence of config keys over
 * environment variables (through init).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "exporters.h"
#include "hist.h"
#include "http_transport.h"
#include "otlp_headers.h"
#include "otlp_json.h"
#include "otlp_settings.h"
#include "unit.h"

#define NS 1000000000ULL
#define N_HIST 12
#define N_CNT 9

/* ---- a batch built by hand ------------------------------------------------------------ */

static struct hl_hist cum[N_HIST], dlt[N_HIST];
static struct hl_point hist_points[N_HIST], cnt_points[N_CNT], gauge_points[2];
static struct hl_metric metrics[3];
static const struct hl_attr resource[] = {{"service.name", "hostlat"}, {"host.name", "h1"}};
static char stage_names[N_HIST][16];

static void make_batch(struct hl_batch *b)
{
	static struct hl_exph_table t;

	hl_exph_table_init(&t, 3);
	for (int i = 0; i < N_HIST; i++) {
		hl_hist_init(&cum[i], 160, 3);
		hl_hist_init(&dlt[i], 160, 3);
		/* point i has i * 7 values spread over many buckets; point 0 is empty */
		for (int k = 0; k < i * 7; k++) {
			uint64_t v = 1000ULL + (uint64_t)k * 7919ULL * (uint64_t)(i + 1);

			hl_hist_record(&cum[i], &t, v);
			if (k % 2)
				hl_hist_record(&dlt[i], &t, v);
		}
		snprintf(stage_names[i], sizeof(stage_names[i]), "stage-%d", i);
		hist_points[i] =
			(struct hl_point){.n_attrs = 1, .cumulative = &cum[i], .delta = &dlt[i]};
		hist_points[i].attrs[0] = (struct hl_attr){"stage", stage_names[i]};
	}
	for (int i = 0; i < N_CNT; i++) {
		cnt_points[i] = (struct hl_point){.n_attrs = 2,
						  .value = 1000000ULL * (uint64_t)i,
						  .value_delta = (uint64_t)i};
		cnt_points[i].attrs[0] = (struct hl_attr){"stage", stage_names[i]};
		cnt_points[i].attrs[1] = (struct hl_attr){"reason", "no_timestamp"};
	}
	gauge_points[0] = (struct hl_point){.n_attrs = 1, .gauge = 1};
	gauge_points[0].attrs[0] = (struct hl_attr){"hook", "tp_btf/x"};
	gauge_points[1] = (struct hl_point){.n_attrs = 1, .gauge = 0.5};
	gauge_points[1].attrs[0] = (struct hl_attr){"hook", "none"};
	metrics[0] = (struct hl_metric){"hostlat.stack.latency", "latency",   "s",
					HL_METRIC_EXPHIST,	 hist_points, N_HIST};
	metrics[1] = (struct hl_metric){"hostlat.probe.events", "events",   "{sample}",
					HL_METRIC_COUNTER,	cnt_points, N_CNT};
	metrics[2] = (struct hl_metric){"hostlat.probe.hook", NULL,	    "1",
					HL_METRIC_GAUGE,      gauge_points, 2};
	*b = (struct hl_batch){.start_unix_ns = 1700000000000000000ULL,
			       .prev_unix_ns = 1700000009000000000ULL,
			       .time_unix_ns = 1700000010000000000ULL,
			       .resource = resource,
			       .n_resource = 2,
			       .scope_name = "hostlat",
			       .scope_version = "0.1.0",
			       .metrics = metrics,
			       .n_metrics = 3};
}

static void free_batch(void)
{
	for (int i = 0; i < N_HIST; i++) {
		hl_hist_free(&cum[i]);
		hl_hist_free(&dlt[i]);
	}
}

/* ---- a histogram's data point ----------------------------------------------------------- */

static char *json_of(const struct hl_hist *h)
{
	cJSON *j = hl_otlp_hist_to_json(h);
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	return s;
}

static void expect_json(int line, const struct hl_hist *h, const char *want)
{
	char *s = json_of(h);

	CHECK(s && !strcmp(s, want), "line %d:\n  got  %s\n  want %s", line, s ? s : "NULL", want);
	cJSON_free(s);
}

static void test_hist_json(void)
{
	static struct hl_exph_table t0;
	struct hl_hist h;

	hl_exph_table_init(&t0, 0);
	hl_hist_init(&h, 160, 3);
	/* empty: no positive, no min/max */
	expect_json(__LINE__, &h, "{\"count\":\"0\",\"sum\":0,\"scale\":3,\"zeroCount\":\"0\"}");
	/* the quantile example: 0, 1 s, 1 s, 3 s at scale 0 (5e9 * 1e-9 == 5.0 exactly) */
	hl_hist_reset(&h, 0);
	hl_hist_record(&h, &t0, 0);
	hl_hist_record(&h, &t0, NS);
	hl_hist_record(&h, &t0, NS);
	hl_hist_record(&h, &t0, 3 * NS);
	expect_json(__LINE__, &h,
		    "{\"count\":\"4\",\"sum\":5,\"scale\":0,\"zeroCount\":\"1\","
		    "\"positive\":{\"offset\":-1,\"bucketCounts\":[\"2\",\"0\",\"1\"]},"
		    "\"min\":0,\"max\":3}");
	/* leading and trailing zero buckets are trimmed, offset follows */
	hl_hist_reset(&h, 2);
	h.offset = 7;
	h.len = 4;
	h.counts[1] = 5;
	h.counts[2] = 18446744073709551615ULL;
	h.count = 18446744073709551615ULL;
	h.zero_count = 1;
	expect_json(
		__LINE__, &h,
		"{\"count\":\"18446744073709551615\",\"sum\":0,\"scale\":2,\"zeroCount\":\"1\","
		"\"positive\":{\"offset\":8,\"bucketCounts\":[\"5\",\"18446744073709551615\"]}}");
	/* only zeros: no positive; sub-second min/max and a non-integral sum */
	hl_hist_reset(&h, -3);
	h.len = 2;
	h.count = 1;
	h.zero_count = 1;
	h.sum_ns = 1;
	h.min_ns = 500000000;
	h.has_min = true;
	h.max_ns = 18446744073709551615ULL;
	h.has_max = true;
	expect_json(__LINE__, &h,
		    "{\"count\":\"1\",\"sum\":1e-09,\"scale\":-3,\"zeroCount\":\"1\","
		    "\"min\":0.5,\"max\":18446744073.709553}");
	hl_hist_free(&h);
}

/* ---- splitting ---------------------------------------------------------------------------- */

/* Every point of a request, as "metric name\tprinted point", appended to out. */
static size_t collect_points(const cJSON *req, char **out, size_t n, size_t cap)
{
	const cJSON *rm = cJSON_GetArrayItem(cJSON_GetObjectItem(req, "resourceMetrics"), 0);
	const cJSON *sm = cJSON_GetArrayItem(cJSON_GetObjectItem(rm, "scopeMetrics"), 0);
	const cJSON *m;

	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(req, "resourceMetrics")) == 1,
	      "one resourceMetrics");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(sm, "metrics")) > 0, "no empty metrics");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(rm, "resource")->child) == 2,
	      "resource attributes in every request");
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(sm, "metrics"))
	{
		const char *name = cJSON_GetObjectItem(m, "name")->valuestring;
		const cJSON *data = cJSON_GetObjectItem(m, "exponentialHistogram"), *dp;

		if (!data)
			data = cJSON_GetObjectItem(m, "sum");
		if (!data)
			data = cJSON_GetObjectItem(m, "gauge");
		CHECK(data && cJSON_GetArraySize(cJSON_GetObjectItem(data, "dataPoints")) > 0,
		      "%s: no empty dataPoints", name);
		if (!data)
			continue;
		cJSON_ArrayForEach(dp, cJSON_GetObjectItem(data, "dataPoints"))
		{
			char *s = cJSON_PrintUnformatted(dp);

			if (n < cap && s && asprintf(&out[n], "%s\t%s", name, s) > 0)
				n++;
			free(s);
		}
	}
	return n;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

/*
 * serial 0: every split encoded; else the whole request is kept between
 * calls (hl_otlp_memo_clear) and must split the same.
 */
static void split_batch(uint64_t serial)
{
	static const size_t limits[] = {1500, 2000, 2500, 3000, 4096, 8192, 100000, 4 << 20};
	struct hl_batch b;
	struct hl_otlp_split sp, sp2;
	char *whole, *want[64], *got[64];
	cJSON *req;
	size_t n_want;

	make_batch(&b);
	b.serial = serial;
	for (int delta = 0; delta <= 1; delta++) {
		whole = hl_otlp_encode_string(&b, delta);
		req = cJSON_Parse(whole);
		n_want = collect_points(req, want, 0, 64);
		cJSON_Delete(req);
		/* delta: the empty histogram point 0 is left out */
		CHECK(n_want == (size_t)(N_HIST + N_CNT + 2 - delta), "%zu points (delta %d)",
		      n_want, delta);

		for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
			size_t n_got = 0;

			CHECK(hl_otlp_encode_split(&b, delta, limits[l], &sp) == 0, "split");
			CHECK(sp.oversize_points == 0, "limit %zu: %llu oversize", limits[l],
			      (unsigned long long)sp.oversize_points);
			CHECK(sp.n_points == n_want, "limit %zu: %zu points", limits[l],
			      sp.n_points);
			if (limits[l] >= strlen(whole)) {
				CHECK(sp.n == 1 && !strcmp(sp.v[0].json, whole),
				      "limit %zu: one request, same as hl_otlp_encode", limits[l]);
			} else {
				CHECK(sp.n > 1, "limit %zu: split", limits[l]);
			}
			for (size_t i = 0; i < sp.n; i++) {
				size_t before = n_got;

				CHECK(sp.v[i].len == strlen(sp.v[i].json), "len");
				CHECK(sp.v[i].len <= limits[l],
				      "limit %zu: request %zu has %zu bytes", limits[l], i,
				      sp.v[i].len);
				req = cJSON_Parse(sp.v[i].json);
				CHECK(req, "request %zu parses", i);
				n_got = collect_points(req, got, n_got, 64);
				CHECK(n_got - before == sp.v[i].n_points, "n_points of request %zu",
				      i);
				cJSON_Delete(req);
			}
			/* the same points, in the same order, under the same metrics */
			CHECK(n_got == n_want, "limit %zu: %zu points, want %zu", limits[l], n_got,
			      n_want);
			for (size_t i = 0; i < n_got && i < n_want; i++)
				CHECK(!strcmp(got[i], want[i]), "limit %zu: point %zu differs",
				      limits[l], i);
			free_strs(got, n_got);
			/* deterministic */
			CHECK(hl_otlp_encode_split(&b, delta, limits[l], &sp2) == 0, "split again");
			CHECK(sp2.n == sp.n, "same number of requests");
			for (size_t i = 0; i < sp.n && i < sp2.n; i++)
				CHECK(!strcmp(sp.v[i].json, sp2.v[i].json), "same request %zu", i);
			hl_otlp_split_free(&sp2);
			hl_otlp_split_free(&sp);
			hl_otlp_split_free(&sp); /* idempotent */
		}
		free_strs(want, n_want);
		free(whole);
	}

	/* A limit below the smallest request: everything is oversize, nothing sent. */
	CHECK(hl_otlp_encode_split(&b, false, 200, &sp) == 0, "split");
	CHECK(sp.n == 0 && sp.oversize_points == N_HIST + N_CNT + 2, "all oversize: %zu, %llu",
	      sp.n, (unsigned long long)sp.oversize_points);
	hl_otlp_split_free(&sp);

	/* A limit that fits small points but not the big histograms. */
	CHECK(hl_otlp_encode_split(&b, false, 900, &sp) == 0, "split");
	CHECK(sp.oversize_points > 0 && sp.n > 0 && sp.n_points + sp.oversize_points == 23,
	      "some oversize: %zu requests, %zu points, %llu oversize", sp.n, sp.n_points,
	      (unsigned long long)sp.oversize_points);
	for (size_t i = 0; i < sp.n; i++)
		CHECK(sp.v[i].len <= 900 && sp.v[i].n_points > 0, "request %zu", i);
	hl_otlp_split_free(&sp);

	/* Nothing to send: no request at all. */
	b.n_metrics = 0;
	CHECK(hl_otlp_encode_split(&b, false, 4096, &sp) == 0 && sp.n == 0 && !sp.oversize_points,
	      "empty batch");
	CHECK(hl_otlp_encode(&b, false) == NULL, "no empty envelope");
	hl_otlp_split_free(&sp);
	free_batch();
	hl_otlp_memo_clear();
}

static void test_split(void)
{
	split_batch(0);
	split_batch(42);
}

/*
 * The memo: a batch with a serial is encoded once for every exporter of
 * it (a change made behind its back shows that the copy was taken), a
 * new serial or a cleared memo encodes it again.
 */
static void test_memo(void)
{
	struct hl_batch b;
	char *first, *again, *other;

	make_batch(&b);
	b.serial = 7;
	first = hl_otlp_encode_string(&b, false);
	cnt_points[3].value = 424242424242ULL;
	again = hl_otlp_encode_string(&b, false);
	CHECK(first && again && !strcmp(first, again), "serial 7 encoded once");
	free(again);
	other = hl_otlp_encode_string(&b, true);
	b.serial = 0;
	again = hl_otlp_encode_string(&b, true);
	CHECK(other && again && !strcmp(other, again), "the delta request is not the memo");
	free(other);
	free(again);
	b.serial = 8;
	again = hl_otlp_encode_string(&b, false);
	CHECK(again && strcmp(first, again) && strstr(again, "\"424242424242\""),
	      "serial 8 encoded anew");
	free(again);
	hl_otlp_memo_clear();
	cnt_points[3].value = 5;
	again = hl_otlp_encode_string(&b, false);
	CHECK(again && !strstr(again, "424242424242"), "encoded anew after hl_otlp_memo_clear");
	free(again);
	free(first);
	free_batch();
	hl_otlp_memo_clear();
}

/* The mapping details of one request. */
static void test_mapping(void)
{
	struct hl_batch b;
	char *s;

	make_batch(&b);
	s = hl_otlp_encode_string(&b, false);
	CHECK(s && strstr(s, "\"timeUnixNano\":\"1700000010000000000\""), "time as a string");
	CHECK(s && strstr(s, "\"startTimeUnixNano\":\"1700000000000000000\""),
	      "start (cumulative)");
	CHECK(s && strstr(s, "\"aggregationTemporality\":2"), "cumulative = 2");
	CHECK(s && strstr(s, "\"asInt\":\"8000000\""), "asInt as a string");
	CHECK(s && strstr(s, "\"isMonotonic\":true"), "monotonic sum");
	CHECK(s && strstr(s, "\"asDouble\":0.5"), "gauge");
	CHECK(s && !strstr(s, "_\":"), "no snake_case keys");
	free(s);
	s = hl_otlp_encode_string(&b, true);
	CHECK(s && strstr(s, "\"aggregationTemporality\":1"), "delta = 1");
	CHECK(s && strstr(s, "\"startTimeUnixNano\":\"1700000009000000000\""), "start (delta)");
	CHECK(s && strstr(s, "\"asInt\":\"8\""), "delta counter");
	free(s);
	free_batch();
}

/* ---- responses ---------------------------------------------------------------------------- */

static void test_responses(void)
{
	static const struct {
		const char *body;
		uint64_t rejected;
		const char *msg;
	} ok[] = {
		{"", 0, ""},
		{"{}", 0, ""},
		{"not json", 0, ""},
		{"{\"partialSuccess\":{}}", 0, ""},
		{"{\"partialSuccess\":{\"rejectedDataPoints\":\"5\",\"errorMessage\":\"bad "
		 "points\"}}",
		 5, "bad points"},
		{"{\"partialSuccess\":{\"rejectedDataPoints\":7}}", 7, ""},
		{"{\"partial_success\":{\"rejected_data_points\":\"3\",\"error_message\":\"x\"}}",
		 3, "x"},
		{"{\"partialSuccess\":{\"rejectedDataPoints\":\"-1\"}}", 0, ""},
		{"{\"partialSuccess\":{\"errorMessage\":\"a\\nb\\u0001\\tc\"}}", 0, "a b c"},
		{"{\"partialSuccess\":{\"rejectedDataPoints\":\"18446744073709551615\"}}",
		 UINT64_MAX, ""},
	};
	static const struct {
		const char *body;
		const char *msg;
	} errs[] = {
		{"", ""},
		{"{\"code\":3,\"message\":\"invalid metric name\"}", "invalid metric name"},
		{"{\"code\":3}", "{\"code\":3}"},
		{"Bad Request\r\n\r\nsomething\x01 else", "Bad Request something else"},
		{"caf\xc3\xa9", "caf??"},
		/* found by fuzzing: a message with nothing printable falls back to the body */
		{"{\"code\":3,\"message\":\"\x16\x16\"}", "{\"code\":3,\"message\":\" \"}"},
	};
	uint64_t rejected;
	char msg[256], big[600];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		hl_otlp_parse_success(ok[i].body, strlen(ok[i].body), &rejected, msg, sizeof(msg));
		CHECK(rejected == ok[i].rejected, "%s: rejected %llu", ok[i].body,
		      (unsigned long long)rejected);
		CHECK(!strcmp(msg, ok[i].msg), "%s: message '%s'", ok[i].body, msg);
	}
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		hl_otlp_error_text(errs[i].body, strlen(errs[i].body), msg, sizeof(msg));
		CHECK(!strcmp(msg, errs[i].msg), "%s: message '%s'", errs[i].body, msg);
	}
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	hl_otlp_error_text(big, strlen(big), msg, sizeof(msg));
	CHECK(strlen(msg) == 200, "first 200 bytes: %zu", strlen(msg));
	hl_otlp_error_text(big, strlen(big), msg, 50);
	CHECK(strlen(msg) == 49, "fits the buffer: %zu", strlen(msg));
}

static void test_retry_after(void)
{
	/* Wed, 21 Oct 2015 07:28:00 GMT */
	const time_t t0 = 1445412480;
	uint64_t ns = 42;

	CHECK(hl_http_retry_after("2", t0, &ns) == 0 && ns == 2000000000ULL, "2 s: %llu",
	      (unsigned long long)ns);
	CHECK(hl_http_retry_after(" 120 ", t0, &ns) == 0 && ns == 120000000000ULL, "120 s");
	CHECK(hl_http_retry_after("0", t0, &ns) == 0 && ns == 0, "0 s");
	CHECK(hl_http_retry_after("99999999999999999999999", t0, &ns) == 0 &&
		      ns == 86400ULL * 1000000000ULL,
	      "capped at a day");
	CHECK(hl_http_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", t0, &ns) == 0 &&
		      ns == 10000000000ULL,
	      "IMF-fixdate: %llu", (unsigned long long)ns);
	CHECK(hl_http_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", t0, &ns) == 0 &&
		      ns == 60000000000ULL,
	      "RFC 850: %llu", (unsigned long long)ns);
	CHECK(hl_http_retry_after("Wed Oct 21 07:28:05 2015", t0, &ns) == 0 && ns == 5000000000ULL,
	      "asctime: %llu", (unsigned long long)ns);
	CHECK(hl_http_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", t0, &ns) == 0 && ns == 0,
	      "a date in the past: 0");
	CHECK(hl_http_retry_after("soon", t0, &ns) == -EINVAL, "garbage");
	CHECK(hl_http_retry_after("2s", t0, &ns) == -EINVAL, "unit");
	CHECK(hl_http_retry_after("-1", t0, &ns) == -EINVAL, "negative");
	CHECK(hl_http_retry_after("", t0, &ns) == -EINVAL, "empty");
}

static void test_header_list(void)
{
	struct hl_otlp_header_list h = {0};
	char err[128];

	CHECK(hl_otlp_parse_header_list("a=b,X-Tenant = t%201 , c=%3D%2C", &h, err, sizeof(err)) ==
		      0,
	      "valid: %s", err);
	CHECK(h.n == 3, "3 headers");
	if (h.n == 3) {
		CHECK(!strcmp(h.v[0].name, "a") && !strcmp(h.v[0].value, "b"), "a=b");
		CHECK(!strcmp(h.v[1].name, "X-Tenant") && !strcmp(h.v[1].value, "t 1"),
		      "trimmed and decoded: '%s'='%s'", h.v[1].name, h.v[1].value);
		CHECK(!strcmp(h.v[2].value, "=,"), "decoded = and ,");
	}
	hl_otlp_header_list_free(&h);
	CHECK(hl_otlp_parse_header_list("a=1,,b=2,", &h, err, sizeof(err)) == 0 && h.n == 2,
	      "empty entries skipped");
	hl_otlp_header_list_free(&h);
	CHECK(hl_otlp_parse_header_list("k=", &h, err, sizeof(err)) == 0 && h.n == 1 &&
		      !strcmp(h.v[0].value, ""),
	      "empty value");
	hl_otlp_header_list_free(&h);
	CHECK(hl_otlp_parse_header_list("a=b,novalue", &h, err, sizeof(err)) == -EINVAL &&
		      strstr(err, "entry 2"),
	      "no '=': %s", err);
	hl_otlp_header_list_free(&h);
	CHECK(hl_otlp_parse_header_list("a=%zzsecret", &h, err, sizeof(err)) == -EINVAL &&
		      !strstr(err, "secret"),
	      "bad escape, value not in the message: %s", err);
	hl_otlp_header_list_free(&h);
	CHECK(hl_otlp_parse_header_list("a=%4", &h, err, sizeof(err)) == -EINVAL, "short escape");
	hl_otlp_header_list_free(&h);
	CHECK(hl_otlp_parse_header_list("a=x%0d%0aInjected: 1", &h, err, sizeof(err)) == -EINVAL,
	      "CR LF in a value");
	hl_otlp_header_list_free(&h);
	CHECK(hl_otlp_parse_header_list("bad name=1", &h, err, sizeof(err)) == -EINVAL,
	      "space in a name");
	hl_otlp_header_list_free(&h);
	CHECK(hl_otlp_parse_header_list("a=%00", &h, err, sizeof(err)) == -EINVAL, "NUL");
	hl_otlp_header_list_free(&h);
}

static void test_endpoint(void)
{
	static const struct {
		const char *config, *metrics, *base, *want, *source;
	} cases[] = {
		{NULL, NULL, NULL, "http://localhost:4318/v1/metrics", "default"},
		{"http://c:4318", NULL, NULL, "http://c:4318/v1/metrics", "config"},
		{"http://c:4318/", "http://m/x", "http://b", "http://c:4318/v1/metrics", "config"},
		{"https://c/otlp/v1/metrics", NULL, NULL, "https://c/otlp/v1/metrics", "config"},
		{"HTTP://c:1/custom", NULL, NULL, "http://c:1/custom", "config"},
		{NULL, "http://m:4318/custom", "http://b:4318", "http://m:4318/custom",
		 "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"},
		{NULL, "http://m:4318", NULL, "http://m:4318/",
		 "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"},
		{NULL, NULL, "http://b:4318", "http://b:4318/v1/metrics",
		 "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{NULL, NULL, "http://b:4318/prefix", "http://b:4318/prefix/v1/metrics",
		 "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{NULL, NULL, "https://b:4318/prefix/", "https://b:4318/prefix/v1/metrics",
		 "OTEL_EXPORTER_OTLP_ENDPOINT"},
	};
	static const char *const bad[] = {"ftp://x/", "localhost:4318", "not a url", "http://"};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *url = NULL;
		const char *src = NULL;
		int e = hl_otlp_resolve_endpoint(cases[i].config, cases[i].metrics, cases[i].base,
						 &url, &src, err, sizeof(err));

		CHECK(e == 0 && url && !strcmp(url, cases[i].want), "case %zu: %d %s", i, e,
		      url ? url : err);
		CHECK(src && !strcmp(src, cases[i].source), "case %zu: source %s", i, src);
		free(url);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *url = NULL;
		const char *src;

		CHECK(hl_otlp_resolve_endpoint(bad[i], NULL, NULL, &url, &src, err, sizeof(err)) ==
				      -EINVAL &&
			      strstr(err, "http:// or https://"),
		      "%s: %s", bad[i], err);
		free(url);
	}
}

/* ---- init: config keys, environment, precedence -------------------------------------------- */

static const char *const env_vars[] = {
	"OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
	"OTEL_EXPORTER_OTLP_HEADERS",
	"OTEL_EXPORTER_OTLP_METRICS_HEADERS",
	"OTEL_EXPORTER_OTLP_COMPRESSION",
	"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TIMEOUT",
	"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
	"OTEL_EXPORTER_OTLP_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_CLIENT_KEY",
	"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
	"HL_TEST_TOKEN",
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
}

/*
 * Load "exporters: [ITEM]", init the exporter; returns its state (NULL
 * with the message in err) and the config in cfg.
 */
static void *init_item(const char *item, struct hl_config *cfg, char *err, size_t errlen)
{
	char text[1024];
	void *st;

	snprintf(text, sizeof(text), "exporters:\n  - %s\n", item);
	err[0] = 0;
	if (hl_config_load_string(cfg, text, strlen(text), "t.yaml", err, errlen)) {
		memset(cfg, 0, sizeof(*cfg));
		return NULL;
	}
	st = hl_otlp_http_exporter.init(cfg->exporters.v[0].conf, err, errlen);
	return st;
}

static void expect_desc(const char *item, const char *const *want, const char *const *unwanted)
{
	struct hl_config cfg;
	char err[256];
	void *st = init_item(item, &cfg, err, sizeof(err));
	const char *d = hl_otlp_http_describe(st);

	CHECK(st, "%s: init failed: %s", item, err);
	for (size_t i = 0; st && want[i]; i++)
		CHECK(strstr(d, want[i]), "%s: '%s' not in '%s'", item, want[i], d);
	for (size_t i = 0; st && unwanted && unwanted[i]; i++)
		CHECK(!strstr(d, unwanted[i]), "%s: '%s' in '%s'", item, unwanted[i], d);
	hl_otlp_http_exporter.shutdown(st);
	hl_config_free(&cfg);
}

static void expect_init_error(const char *item, const char *want)
{
	struct hl_config cfg;
	char err[256];
	void *st = init_item(item, &cfg, err, sizeof(err));

	CHECK(!st && strstr(err, want), "%s: want error '%s', got '%s'", item, want, err);
	hl_otlp_http_exporter.shutdown(st);
	hl_config_free(&cfg);
}

static void test_init(void)
{
	char path[] = "/tmp/hostlat-test-otlp-XXXXXX";
	int fd;

	clear_env();
	expect_desc("{type: otlp_http}",
		    (const char *const[]){"endpoint http://localhost:4318/v1/metrics (default)",
					  "compression gzip", "temporality cumulative",
					  "timeout 10s (default)", NULL},
		    (const char *const[]){"headers", NULL});

	/* environment only */
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "none", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1500", 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20generic-secret", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "LowMemory", 1);
	expect_desc("{type: otlp_http}",
		    (const char *const[]){
			    "http://base:4318/v1/metrics (OTEL_EXPORTER_OTLP_ENDPOINT)",
			    "compression none", "temporality delta",
			    "timeout 1500ms (OTEL_EXPORTER_OTLP_TIMEOUT)",
			    "headers from OTEL_EXPORTER_OTLP_HEADERS: Authorization", NULL},
		    (const char *const[]){"secret", NULL});

	/* per-signal variables win over generic ones */
	setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://sig:1234/custom", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2000", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-sig=1", 1);
	expect_desc("{type: otlp_http}",
		    (const char *const[]){"http://sig:1234/custom (OTEL_EXPORTER_OTLP_METRICS_"
					  "ENDPOINT)",
					  "compression gzip",
					  "timeout 2s (OTEL_EXPORTER_OTLP_METRICS_"
					  "TIMEOUT)",
					  "headers from OTEL_EXPORTER_OTLP_METRICS_HEADERS: x-sig",
					  NULL},
		    (const char *const[]){"Authorization", NULL});

	/* config keys win over both */
	setenv("HL_TEST_TOKEN", "Bearer env-secret", 1);
	expect_desc("{type: otlp_http, endpoint: \"http://cfg:4318\", compression: gzip, "
		    "timeout: 3s, temporality: cumulative, headers: {authorization: "
		    "\"@env:HL_TEST_TOKEN\", x-at: \"@@literal\"}}",
		    (const char *const[]){"http://cfg:4318/v1/metrics (config)", "compression gzip",
					  "temporality cumulative", "timeout 3s (config)",
					  "headers from config: authorization x-at", NULL},
		    (const char *const[]){"secret", "x-sig", "literal", NULL});

	/* invalid variables are ignored (with a warning) */
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "ten seconds", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "a=1,broken", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sometimes", 1);
	expect_desc("{type: otlp_http}",
		    (const char *const[]){"timeout 10s (default)", "compression gzip",
					  "temporality cumulative", NULL},
		    (const char *const[]){"headers", NULL});
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "localhost:4318", 1);
	expect_init_error("{type: otlp_http}",
			  "http:// or https:// URL in OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
	clear_env();

	/* user info and query stay out of the log line */
	expect_desc("{type: otlp_http, endpoint: \"https://user:pw@h/v1/metrics?key=k3y\"}",
		    (const char *const[]){"https://h/v1/metrics?<query hidden>", NULL},
		    (const char *const[]){"pw", "k3y", "user", NULL});

	/* @file: headers */
	fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	if (fd >= 0) {
		char item[256];

		CHECK(write(fd, "Bearer file-secret\n", 19) == 19, "write");
		close(fd);
		snprintf(item, sizeof(item),
			 "{type: otlp_http, headers: {authorization: \"@file:%s\"}}", path);
		expect_desc(
			item,
			(const char *const[]){"headers from config: authorization (file)", NULL},
			(const char *const[]){"secret", NULL});
		unlink(path);
		expect_init_error(item, "cannot read");
	}

	/* A FIFO as a secret or TLS file is refused, never waited on (alarm: no hang). */
	if (mkfifo(path, 0600) == 0) {
		char item[256];

		alarm(20);
		snprintf(item, sizeof(item),
			 "{type: otlp_http, headers: {authorization: \"@file:%s\"}}", path);
		expect_init_error(item, "header 'authorization': cannot read '");
		expect_init_error(item, "': not a regular file (a FIFO)");
		snprintf(item, sizeof(item), "{type: otlp_http, ca_file: %s}", path);
		expect_init_error(item, "': not a regular file (a FIFO)");
		alarm(0);
		unlink(path);
	} else {
		CHECK(0, "mkfifo %s", path);
	}

	expect_init_error("{type: otlp_http, headers: {a: \"@env:HL_TEST_TOKEN\"}}",
			  "environment variable 'HL_TEST_TOKEN' is not set");
	expect_init_error("{type: otlp_http, headers: {a: \"@flie:/x\"}}", "@file:PATH");
	expect_init_error("{type: otlp_http, headers: {Content-Type: text/plain}}",
			  "set by the exporter");
	expect_init_error("{type: otlp_http, headers: {\"a b\": x}}", "not a valid header name");
	expect_init_error("{type: otlp_http, headers: {a: x, A: y}}", "given twice");
	expect_init_error("{type: otlp_http, endpoint: \"ftp://x\"}", "http:// or https://");
	expect_init_error("{type: otlp_http, ca_file: /nonexistent/ca.pem}",
			  "ca_file '/nonexistent/ca.pem': No such file");

	/* TLS files from the variables; the config's win */
	setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/env-ca.pem", 1);
	expect_init_error("{type: otlp_http}", "ca_file '/nonexistent/env-ca.pem' from "
					       "OTEL_EXPORTER_OTLP_CERTIFICATE: No such file");
	setenv("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "/dev/null", 1);
	setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/dev/zero", 1);
	expect_desc(
		"{type: otlp_http}",
		(const char *const[]){"CA file /dev/null", "client certificate /dev/zero", NULL},
		NULL);
	expect_desc("{type: otlp_http, ca_file: /dev/full}",
		    (const char *const[]){"CA file /dev/full", NULL}, NULL);
	clear_env();
}

/* A secret file replaced by a FIFO: the re-read before an export keeps the old value. */
static void test_refresh_fifo(void)
{
	char path[] = "/tmp/hostlat-test-secret-XXXXXX", value[300];
	struct hl_otlp_header_set set = {0};
	struct hl_kv kv = {.key = "authorization", .value = value};
	struct hl_kvlist conf = {.v = &kv, .n = 1};
	char err[256];
	int fd = mkstemp(path);

	CHECK(fd >= 0, "mkstemp");
	if (fd < 0)
		return;
	CHECK(write(fd, "Bearer one\n", 11) == 11, "write");
	close(fd);
	snprintf(value, sizeof(value), "@file:%s", path);
	CHECK(hl_otlp_headers_from_config(&set, &conf, err, sizeof(err)) == 0 && set.n == 1 &&
		      !strcmp(set.v[0].value, "Bearer one"),
	      "from config: %s", err);
	unlink(path);
	CHECK(mkfifo(path, 0600) == 0, "mkfifo");
	alarm(20);
	hl_otlp_headers_refresh(&set);
	alarm(0);
	CHECK(set.n == 1 && !strcmp(set.v[0].value, "Bearer one") && set.v[0].warned,
	      "refresh from a FIFO changed the value or did not warn");
	hl_otlp_header_set_free(&set);
	unlink(path);
}

/* Export to a closed port: RETRY, and no header value in the message. */
static void test_export_refused(void)
{
	struct hl_config cfg;
	struct hl_batch b;
	struct hl_export_status status = {0};
	char err[256];
	void *st;

	clear_env();
	make_batch(&b);
	st = init_item("{type: otlp_http, endpoint: \"http://127.0.0.1:1\", timeout: 2s, headers: "
		       "{authorization: \"Bearer refused-secret\"}}",
		       &cfg, err, sizeof(err));
	CHECK(st, "init: %s", err);
	if (st) {
		enum hl_export_result r = hl_otlp_http_exporter.export_batch(st, &b, &status);

		CHECK(r == HL_EXPORT_RETRY, "connection refused: RETRY, got %d (%s)", r,
		      status.message);
		CHECK(status.message[0] && !strstr(status.message, "refused-secret"), "message: %s",
		      status.message);
	}
	hl_otlp_http_exporter.shutdown(st);
	hl_config_free(&cfg);
	free_batch();
}

/* ---- resuming a split batch, against a scripted receiver -------------------------------- */

#define MAX_SEEN 64

/* A receiver on 127.0.0.1 that answers each request with the next scripted status. */
static struct {
	int fd, port;
	pthread_t thread;
	pthread_mutex_t lock;
	const int *script; /* statuses, 0-terminated; 200 after the end */
	size_t next;
	char *seen[MAX_SEEN]; /* request bodies, in order */
	size_t n_seen;
} rcv = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* One request on fd: headers, then Content-Length bytes of body (malloc'ed), or NULL. */
static char *read_request(int fd)
{
	size_t cap = 1 << 16, len = 0, want = 0;
	char *buf = malloc(cap + 1), *end = NULL;
	ssize_t n;

	while (buf && (!end || len < (size_t)(end - buf) + 4 + want)) {
		if (len == cap || (n = read(fd, buf + len, cap - len)) <= 0) {
			free(buf);
			return NULL;
		}
		len += (size_t)n;
		buf[len] = 0;
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");

			want = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
		}
	}
	if (!buf)
		return NULL;
	memmove(buf, end + 4, want);
	buf[want] = 0;
	return buf;
}

static void *receiver(void *arg)
{
	int c;

	(void)arg;
	while ((c = accept(rcv.fd, NULL, NULL)) >= 0) {
		char *body = read_request(c), resp[160];
		int status;

		pthread_mutex_lock(&rcv.lock);
		status = rcv.script[rcv.next] ? rcv.script[rcv.next++] : 200;
		if (body && rcv.n_seen < MAX_SEEN)
			rcv.seen[rcv.n_seen++] = body;
		else
			free(body);
		pthread_mutex_unlock(&rcv.lock);
		snprintf(resp, sizeof(resp),
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
			 "Connection: close\r\n\r\n{}",
			 status);
		CHECK(write(c, resp, strlen(resp)) == (ssize_t)strlen(resp), "receiver write");
		close(c);
	}
	return NULL;
}

static int receiver_start(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	rcv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rcv.fd < 0 || bind(rcv.fd, (struct sockaddr *)&a, sizeof(a)) || listen(rcv.fd, 16) ||
	    getsockname(rcv.fd, (struct sockaddr *)&a, &alen) ||
	    pthread_create(&rcv.thread, NULL, receiver, NULL))
		return -1;
	rcv.port = ntohs(a.sin_port);
	return 0;
}

static void receiver_stop(void)
{
	shutdown(rcv.fd, SHUT_RDWR); /* accept() fails: the thread ends */
	pthread_join(rcv.thread, NULL);
	close(rcv.fd);
}

/* Script the next answers and forget the requests seen so far. */
static void receiver_script(const int *script)
{
	pthread_mutex_lock(&rcv.lock);
	for (size_t i = 0; i < rcv.n_seen; i++)
		free(rcv.seen[i]);
	rcv.n_seen = 0;
	rcv.script = script;
	rcv.next = 0;
	pthread_mutex_unlock(&rcv.lock);
}

/* The requests seen since the last script are bodies [from, from + n) of sp. */
static void expect_seen(int line, const struct hl_otlp_split *sp, size_t from, size_t n)
{
	pthread_mutex_lock(&rcv.lock);
	CHECK(rcv.n_seen == n, "line %d: %zu requests, want %zu", line, rcv.n_seen, n);
	for (size_t i = 0; i < rcv.n_seen && i < n && from + i < sp->n; i++)
		CHECK(!strcmp(rcv.seen[i], sp->v[from + i].json),
		      "line %d: request %zu is not body %zu", line, i, from + i);
	pthread_mutex_unlock(&rcv.lock);
}

static enum hl_export_result export_once(void *st, const struct hl_batch *b)
{
	struct hl_export_status status = {0};

	return hl_otlp_http_exporter.export_batch(st, b, &status);
}

/*
 * What docs/plugins.md promises about a split batch: a RETRY after some
 * requests were accepted resumes, for the same batch, at the request that
 * failed; a different batch (the core gave up on the first) and a batch
 * after OK start at the first request.
 */
static void test_export_resume(void)
{
	static const int fail_2nd[] = {200, 503, 0}, fail_3rd[] = {200, 200, 503, 0}, ok[] = {0};
	static const char *const proxies[] = {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"};
	struct hl_config cfg;
	struct hl_batch a, b;
	struct hl_otlp_split sa, sb;
	char err[256], item[256];
	void *st = NULL;

	clear_env();
	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		unsetenv(proxies[i]);
	make_batch(&a);
	b = a;
	b.prev_unix_ns = a.time_unix_ns;
	b.time_unix_ns = a.time_unix_ns + 1000000000ULL;
	CHECK(hl_otlp_encode_split(&a, false, 1024, &sa) == 0 &&
		      hl_otlp_encode_split(&b, false, 1024, &sb) == 0,
	      "split");
	CHECK(sa.n >= 3 && sb.n == sa.n, "%zu requests", sa.n);
	CHECK(receiver_start() == 0, "receiver: %s", strerror(errno));
	snprintf(item, sizeof(item),
		 "{type: otlp_http, endpoint: \"http://127.0.0.1:%d\", compression: none, "
		 "max_request_bytes: 1024, timeout: 5s}",
		 rcv.port);
	if (sa.n >= 3 && rcv.port)
		st = init_item(item, &cfg, err, sizeof(err));
	CHECK(st, "init: %s", err);
	if (st) {
		/* the 2nd request fails: RETRY; the same batch resumes at it */
		receiver_script(fail_2nd);
		CHECK(export_once(st, &a) == HL_EXPORT_RETRY, "503: RETRY");
		expect_seen(__LINE__, &sa, 0, 2);
		receiver_script(ok);
		CHECK(export_once(st, &a) == HL_EXPORT_OK, "resumed: OK");
		expect_seen(__LINE__, &sa, 1, sa.n - 1);
		/* after OK the record is gone: the same batch again starts at 0 */
		receiver_script(ok);
		CHECK(export_once(st, &a) == HL_EXPORT_OK, "again: OK");
		expect_seen(__LINE__, &sa, 0, sa.n);
		/* a different batch after a RETRY starts at its first request */
		receiver_script(fail_3rd);
		CHECK(export_once(st, &a) == HL_EXPORT_RETRY, "503: RETRY");
		expect_seen(__LINE__, &sa, 0, 3);
		receiver_script(ok);
		CHECK(export_once(st, &b) == HL_EXPORT_OK, "another batch: OK");
		expect_seen(__LINE__, &sb, 0, sb.n);
		/* and the first batch's record went with that call */
		receiver_script(ok);
		CHECK(export_once(st, &a) == HL_EXPORT_OK, "first batch again: OK");
		expect_seen(__LINE__, &sa, 0, sa.n);
		hl_otlp_http_exporter.shutdown(st);
		hl_config_free(&cfg);
	}
	if (rcv.port)
		receiver_stop();
	receiver_script(ok);
	hl_otlp_split_free(&sa);
	hl_otlp_split_free(&sb);
	free_batch();
}

/* A histogram of plain values (bytes, flows) is encoded as numbers, not seconds. */
static void test_raw_hist_json(void)
{
	static const uint64_t vals[] = {0, 0, 1500, 1500, 3000, 64000};
	struct hl_hist h;
	cJSON *j;
	char *txt;

	hl_hist_init(&h, 160, 3);
	h.raw_values = true;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		hl_hist_record_int(&h, 3, vals[i]);
	j = hl_otlp_hist_to_json(&h);
	txt = j ? cJSON_PrintUnformatted(j) : NULL;
	CHECK(txt && strstr(txt, "\"sum\":70000,") && strstr(txt, "\"max\":64000") &&
		      strstr(txt, "\"min\":0") && strstr(txt, "\"zeroCount\":\"2\""),
	      "raw JSON: %s", txt);
	free(txt);
	cJSON_Delete(j);
	hl_hist_free(&h);
}

/*
 * The requests are written as text without a cJSON tree per point: they
 * must be byte for byte what the tree (hl_otlp_encode, the reference)
 * prints, also for strings that need escaping, awkward doubles, min and max
 * known or not, and exemplars.
 */
static void expect_same_as_tree(int line, const struct hl_batch *b)
{
	for (int delta = 0; delta <= 1; delta++) {
		cJSON *req = hl_otlp_encode(b, delta);
		char *tree = req ? cJSON_PrintUnformatted(req) : NULL;
		char *text = hl_otlp_encode_string(b, delta);

		CHECK(tree && text && !strcmp(tree, text),
		      "line %d, delta %d: text and tree differ:\n%s\n%s", line, delta,
		      text ? text : "(null)", tree ? tree : "(null)");
		free(tree);
		free(text);
		cJSON_Delete(req);
	}
}

static void test_text_as_tree(void)
{
	static const double gauges[] = {
		0,	   -0.0,	  0.1,		1.0 / 3,       1e300,
		-2.5e-310, 12345678901.0, 2147483648.0, -2147483649.0, 1e21,
		NAN,	   INFINITY};
	static struct hl_point gp[sizeof(gauges) / sizeof(gauges[0])], hp[3], cp[1];
	static struct hl_hist h[3];
	static struct hl_exemplar ex;
	static const struct hl_attr res[] = {
		{"service.name", "a \"quoted\" \\ name"},
		{"host.name", "tab\there\nnew\x01\x1f\x7f caf\xc3\xa9"}};
	struct hl_metric m[3];
	struct hl_exph_table t;
	struct hl_batch b;

	make_batch(&b);
	expect_same_as_tree(__LINE__, &b);
	free_batch();

	hl_exph_table_init(&t, 3);
	for (int i = 0; i < 3; i++)
		hl_hist_init(&h[i], 160, 3 - i);
	hl_hist_record(&h[0], &t, 1);
	hl_hist_record(&h[0], &t, 999999999999ULL);
	hl_hist_record(&h[1], &t, 0); /* zeros only */
	h[2].count = 3;		      /* min and max unknown, one bucket */
	h[2].len = 1;
	h[2].counts[0] = 3;
	h[2].offset = -2147483;
	h[2].sum_ns = 7;
	h[0].has_min = h[0].has_max = false;
	h[1].has_min = h[1].has_max = true;
	ex = (struct hl_exemplar){.value_ns = 123456789, .time_unix_ns = 17, .n_attrs = 2};
	ex.attrs[0] = (struct hl_exemplar_attr){.key = "process.pid", .is_int = true};
	snprintf(ex.attrs[0].value, sizeof(ex.attrs[0].value), "4321");
	ex.attrs[1] = (struct hl_exemplar_attr){.key = "process.executable.name"};
	snprintf(ex.attrs[1].value, sizeof(ex.attrs[1].value), "we\"ird\\comm\n");
	h[0].exemplar = &ex;
	for (int i = 0; i < 3; i++) {
		hp[i] = (struct hl_point){
			.n_attrs = (unsigned int)i, .cumulative = &h[i], .delta = &h[i]};
		for (int a = 0; a < i; a++)
			hp[i].attrs[a] = (struct hl_attr){"k\"ey", a ? NULL : res[1].value};
	}
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		gp[i] = (struct hl_point){.gauge = gauges[i]};
	cp[0] = (struct hl_point){.value = UINT64_MAX, .value_delta = 0};
	m[0] = (struct hl_metric){"x.hist", "d\"esc", "s", HL_METRIC_EXPHIST, hp, 3};
	m[1] = (struct hl_metric){"x.gauge",	   NULL, NULL,
				  HL_METRIC_GAUGE, gp,	 sizeof(gauges) / sizeof(gauges[0])};
	m[2] = (struct hl_metric){"x.count", NULL, "1", HL_METRIC_COUNTER, cp, 1};
	b = (struct hl_batch){.start_unix_ns = 1,
			      .prev_unix_ns = 2,
			      .time_unix_ns = UINT64_MAX,
			      .resource = res,
			      .n_resource = 2,
			      .scope_name = "s\\c",
			      .metrics = m,
			      .n_metrics = 3};
	expect_same_as_tree(__LINE__, &b);
	for (int i = 0; i < 3; i++)
		hl_hist_free(&h[i]);
}

int main(void)
{
	test_hist_json();
	test_text_as_tree();
	test_split();
	test_memo();
	test_mapping();
	test_responses();
	test_retry_after();
	test_header_list();
	test_endpoint();
	test_init();
	test_refresh_fifo();
	test_export_refused();
	test_export_resume();
	test_raw_hist_json();
	return UNIT_DONE();
}
