/* SPDX-License-Identifier: MIT */
/*
 * Exemplars: picking the interval's largest whole slot of the CPUs, the
 * epoch's wrap, the attributes built from a slot (IPv4, IPv6, task only),
 * the text next to max, the OTLP JSON Exemplar, the DogStatsD tags (none in
 * plain StatsD) and the deep copy a batch snapshot makes.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "unit.h"

#include "exemplar.h"
#include "exporters.h"
#include "hist.h"
#include "otlp_json.h"
#include "pipeline.h"

static struct hl_ex_slot slot(uint32_t epoch, uint64_t v, uint32_t seq)
{
	return (struct hl_ex_slot){.head = seq,
				   .tail = seq,
				   .rank = ((uint64_t)epoch << HL_EX_VALUE_BITS) | v,
				   .value_ns = v};
}

static void test_pick(void)
{
	struct hl_ex_slot cpus[4] = {slot(7, 500, 1), slot(8, 900, 2), slot(7, 800, 3),
				     slot(7, 2000, 4)};
	struct hl_ex_slot out;
	uint64_t torn = 0;

	cpus[3].tail = 5; /* a write in progress on CPU 3 */
	CHECK(hl_ex_pick(cpus, 4, 7, &out, &torn), "a slot of epoch 7");
	CHECK(out.value_ns == 800, "largest whole slot of epoch 7: %llu",
	      (unsigned long long)out.value_ns);
	CHECK(torn == 1, "torn copies counted: %llu", (unsigned long long)torn);
	CHECK(!hl_ex_pick(cpus, 4, 6, &out, &torn), "nothing of epoch 6");
	CHECK(hl_ex_pick(cpus, 4, 8, &out, &torn) && out.value_ns == 900, "epoch 8");
	CHECK(hl_ex_next_epoch(1) == 2 && hl_ex_next_epoch(HL_EX_EPOCH_MAX) == 2,
	      "the epoch wraps to 2 (0 is an empty slot's; the parity alternates on)");
	CHECK(HL_EX_EPOCH_MAX % 2 == 1, "the last epoch is odd");
	CHECK((((uint64_t)HL_EX_EPOCH_MAX << HL_EX_VALUE_BITS) >> HL_EX_VALUE_BITS) ==
		      HL_EX_EPOCH_MAX,
	      "the last epoch fits the rank");
}

static void test_build(void)
{
	struct hl_ex_slot s = slot(3, 48200000, 9);
	struct hl_exemplar e;
	char text[256];

	s.flags = HL_EX_TASK | HL_EX_INET;
	s.pid = 1234;
	memcpy(s.comm, "reader\0\0\0\0\0\0\0\0\0\0", 16);
	s.cgroup = 77;
	inet_pton(AF_INET, "198.18.0.1", s.peer_addr);
	s.peer_port = 40000;
	s.local_port = 5001;
	s.mono_ns = 1000;
	hl_exemplar_build(&e, &s, 1700000000000000000LL, "/system.slice/x.service");
	CHECK(e.value_ns == 48200000 && e.time_unix_ns == 1700000000000001000ULL, "value and time");
	CHECK(e.n_attrs == 6, "six attributes: %u", e.n_attrs);
	CHECK(!strcmp(hl_exemplar_attr(&e, "process.pid"), "1234") && e.attrs[0].is_int,
	      "pid, an integer");
	CHECK(!strcmp(hl_exemplar_attr(&e, "process.executable.name"), "reader"), "comm");
	CHECK(!strcmp(hl_exemplar_attr(&e, "cgroup"), "/system.slice/x.service"), "cgroup");
	CHECK(!strcmp(hl_exemplar_attr(&e, "network.peer.address"), "198.18.0.1"), "peer");
	CHECK(!strcmp(hl_exemplar_attr(&e, "network.peer.port"), "40000"), "peer port");
	CHECK(!strcmp(hl_exemplar_attr(&e, "network.local.port"), "5001"), "local port");
	hl_exemplar_describe(&e, text, sizeof(text));
	CHECK(!strcmp(text, "pid 1234 reader, 198.18.0.1:40000 -> :5001"), "text: %s", text);

	/* a 16-byte comm has no NUL in the slot */
	memcpy(s.comm, "0123456789abcdef", 16);
	hl_exemplar_build(&e, &s, 0, NULL);
	CHECK(!strcmp(hl_exemplar_attr(&e, "process.executable.name"), "0123456789abcdef"),
	      "full-length comm");
	CHECK(!strcmp(hl_exemplar_attr(&e, "cgroup"), "cgroup-id-77"), "unresolved cgroup");

	/* IPv6, enqueue stage: no task */
	s.flags = HL_EX_INET6;
	inet_pton(AF_INET6, "2001:db8::1", s.peer_addr);
	hl_exemplar_build(&e, &s, 0, NULL);
	CHECK(e.n_attrs == 3 && !hl_exemplar_attr(&e, "process.pid"), "connection only");
	hl_exemplar_describe(&e, text, sizeof(text));
	CHECK(!strcmp(text, "[2001:db8::1]:40000 -> :5001"), "IPv6 text: %s", text);

	/* run queue: task only */
	s.flags = HL_EX_TASK;
	hl_exemplar_build(&e, &s, 0, "/");
	hl_exemplar_describe(&e, text, sizeof(text));
	CHECK(e.n_attrs == 3 && !strcmp(text, "pid 1234 0123456789abcdef"), "task text: %s", text);
	/* truncated output stays a string */
	CHECK(hl_exemplar_describe(&e, text, 5) > 5 && strlen(text) == 4, "truncation");
}

/* A batch of one histogram point with exemplar e. */
struct fixture {
	uint64_t counts[2];
	struct hl_hist h;
	struct hl_point p;
	struct hl_metric m;
	struct hl_batch b;
	struct hl_exemplar e;
};

static void fixture_init(struct fixture *f)
{
	struct hl_ex_slot s = slot(1, 48200000, 1);

	memset(f, 0, sizeof(*f));
	s.flags = HL_EX_TASK | HL_EX_INET;
	s.pid = 1234;
	memcpy(s.comm, "reader", 7);
	inet_pton(AF_INET, "198.18.0.1", s.peer_addr);
	s.peer_port = 40000;
	s.local_port = 5001;
	s.mono_ns = 5;
	hl_exemplar_build(&f->e, &s, 1700000000000000000LL, "/");
	f->counts[0] = 2;
	f->counts[1] = 1;
	f->h = (struct hl_hist){.scale = 0,
				.offset = -5,
				.len = 2,
				.max_size = 2,
				.counts = f->counts,
				.count = 3,
				.sum_ns = 90000000,
				.max_ns = 48200000,
				.has_max = true,
				.exemplar = &f->e};
	f->p = (struct hl_point){.attrs = {{"stage", "tcp-socket-read"}},
				 .n_attrs = 1,
				 .cumulative = &f->h,
				 .delta = &f->h};
	f->m = (struct hl_metric){.name = "hostlat.stack.latency",
				  .unit = "s",
				  .kind = HL_METRIC_EXPHIST,
				  .points = &f->p,
				  .n_points = 1};
	f->b = (struct hl_batch){.metrics = &f->m, .n_metrics = 1, .time_unix_ns = 1};
}

static const cJSON *first_point(const cJSON *req)
{
	const cJSON *m = cJSON_GetArrayItem(
		cJSON_GetObjectItem(
			cJSON_GetArrayItem(
				cJSON_GetObjectItem(
					cJSON_GetArrayItem(
						cJSON_GetObjectItem(req, "resourceMetrics"), 0),
					"scopeMetrics"),
				0),
			"metrics"),
		0);

	return cJSON_GetArrayItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(m, "exponentialHistogram"), "dataPoints"),
		0);
}

static void test_otlp(void)
{
	struct fixture f;

	fixture_init(&f);
	for (int delta = 0; delta < 2; delta++) {
		cJSON *req = hl_otlp_encode(&f.b, delta);
		const cJSON *dp = first_point(req), *exs = cJSON_GetObjectItem(dp, "exemplars");
		const cJSON *ex = cJSON_GetArrayItem(exs, 0), *attrs, *a;
		char *txt;

		CHECK(cJSON_GetArraySize(exs) == 1, "one exemplar (delta %d)", delta);
		CHECK(cJSON_GetObjectItem(ex, "asDouble")->valuedouble == 0.0482, "asDouble in s");
		CHECK(!strcmp(cJSON_GetObjectItem(ex, "timeUnixNano")->valuestring,
			      "1700000000000000005"),
		      "timeUnixNano, a string");
		attrs = cJSON_GetObjectItem(ex, "filteredAttributes");
		CHECK(cJSON_GetArraySize(attrs) == 6, "filteredAttributes");
		a = cJSON_GetArrayItem(attrs, 0);
		CHECK(!strcmp(cJSON_GetObjectItem(a, "key")->valuestring, "process.pid") &&
			      !strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "value"),
							  "intValue")
					      ->valuestring,
				      "1234"),
		      "pid as intValue");
		a = cJSON_GetArrayItem(attrs, 1);
		CHECK(!strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "value"), "stringValue")
				      ->valuestring,
			      "reader"),
		      "comm as stringValue");
		txt = cJSON_PrintUnformatted(ex);
		CHECK(txt && strstr(txt, "\"asDouble\":0.0482"), "printed: %s", txt);
		free(txt);
		cJSON_Delete(req);
	}
	f.h.exemplar = NULL;
	{
		cJSON *req = hl_otlp_encode(&f.b, true);

		CHECK(!cJSON_GetObjectItem(first_point(req), "exemplars"), "none without one");
		cJSON_Delete(req);
	}
}

struct capture {
	char buf[4096];
	size_t len;
};

static void capture_emit(void *arg, const char *d, size_t len)
{
	struct capture *c = arg;

	if (c->len + len + 2 < sizeof(c->buf)) {
		memcpy(c->buf + c->len, d, len);
		c->len += len;
		c->buf[c->len++] = '\n';
		c->buf[c->len] = 0;
	}
}

static void test_statsd(void)
{
	struct hl_statsd_conf c = {.address = "127.0.0.1:8125",
				   .prefix = "hostlat.",
				   .max_packet_bytes = 1432,
				   .tags = HL_STATSD_TAGS_DOGSTATSD,
				   .histogram_mode = HL_STATSD_HIST_PERCENTILES};
	struct capture cap = {0};
	struct fixture f;

	fixture_init(&f);
	hl_statsd_encode(&c, &f.b, capture_emit, &cap);
	CHECK(strstr(cap.buf, "hostlat.stack.latency.max:48.2|g|#stage:tcp-socket-read,"
			      "process.pid:1234,process.executable.name:reader,cgroup:_,"
			      "network.peer.address:198.18.0.1,network.peer.port:40000,"
			      "network.local.port:5001\n"),
	      "dogstatsd max line with the exemplar's tags:\n%s", cap.buf);
	CHECK(strstr(cap.buf, "hostlat.stack.latency.p99:48.2|g|#stage:tcp-socket-read\n"),
	      "the tags only on the max line");
	/* unknown max: the exemplar's value is the interval's max */
	f.h.has_max = false;
	memset(&cap, 0, sizeof(cap));
	hl_statsd_encode(&c, &f.b, capture_emit, &cap);
	CHECK(strstr(cap.buf, ".max:48.2|g|#stage:tcp-socket-read,process.pid:1234"), "%s",
	      cap.buf);
	/* plain statsd: nothing new */
	f.h.has_max = true;
	c.tags = HL_STATSD_TAGS_NONE;
	memset(&cap, 0, sizeof(cap));
	hl_statsd_encode(&c, &f.b, capture_emit, &cap);
	CHECK(strstr(cap.buf, "hostlat.stack.latency.stage.tcp-socket-read.max:48.2|g\n") &&
		      !strstr(cap.buf, "1234"),
	      "plain statsd:\n%s", cap.buf);
}

static void test_snapshot(void)
{
	struct hl_snapshot *s;
	const struct hl_batch *b;
	struct fixture f;

	fixture_init(&f);
	s = hl_snapshot_new(&f.b);
	CHECK(s, "snapshot");
	if (!s)
		return;
	f.e.value_ns = 1; /* the probe's next interval overwrites its own copy */
	snprintf(f.e.attrs[0].value, sizeof(f.e.attrs[0].value), "99");
	b = hl_snapshot_batch(s);
	CHECK(b->metrics[0].points[0].delta->exemplar != &f.e, "copied");
	CHECK(b->metrics[0].points[0].delta->exemplar->value_ns == 48200000 &&
		      !strcmp(b->metrics[0].points[0].delta->exemplar->attrs[0].value, "1234"),
	      "the copy keeps the interval's exemplar");
	hl_snapshot_unref(s);
}

int main(void)
{
	test_pick();
	test_build();
	test_otlp();
	test_statsd();
	test_snapshot();
	return UNIT_DONE();
}
