/* SPDX-License-Identifier: MIT */
/*
 * The export pipeline with a scripted in-process exporter: snapshots are
 * deep copies; a full queue drops the oldest batch and counts it; RETRY is
 * retried with backoff (Retry-After wins when longer); DROP is counted;
 * stopping drains within its deadline. A Retry-After beyond the batch's
 * retry time holds the exporter off; a stopping pipeline tells its
 * exporter when to cancel; one that does not return is abandoned, what
 * it held counted, and is never shut down; shutdown runs on the
 * pipeline's thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"
#include "pipeline.h"
#include "unit.h"

struct script {
	pthread_mutex_t lock;
	enum hl_export_result results[16];
	uint64_t retry_after_ns[16];
	int n_results; /* after these, OK */
	int calls;
	uint64_t call_ns[64];
	uint64_t first_time_unix; /* time_unix_ns of the batches seen, in order */
	uint64_t seen[64];
	int block_ms; /* each call sleeps this long */
};

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void *t_init(const void *conf, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return (void *)conf;
}

static enum hl_export_result t_export(void *state, const struct hl_batch *b,
				      struct hl_export_status *st)
{
	struct script *s = state;
	enum hl_export_result r = HL_EXPORT_OK;

	if (s->block_ms)
		usleep(s->block_ms * 1000);
	pthread_mutex_lock(&s->lock);
	if (s->calls < 64) {
		s->call_ns[s->calls] = mono();
		s->seen[s->calls] = b->time_unix_ns;
	}
	if (s->calls < s->n_results) {
		r = s->results[s->calls];
		st->retry_after_ns = s->retry_after_ns[s->calls];
		snprintf(st->message, sizeof(st->message), "scripted failure %d", s->calls);
	}
	s->calls++;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static void t_shutdown(void *state)
{
	(void)state;
}

static const struct hl_exporter_ops test_ops = {
	.abi_version = HL_EXPORTER_ABI_VERSION,
	.name = "test",
	.init = t_init,
	.export_batch = t_export,
	.shutdown = t_shutdown,
};

static struct hl_exporter_conf conf(uint32_t queue, uint64_t initial_ms, uint64_t max_ms,
				    uint64_t elapsed_ms)
{
	struct hl_exporter_conf ec = {0};

	ec.queue_size = queue;
	ec.retry_initial_ns = initial_ms * 1000000ULL;
	ec.retry_max_ns = max_ms * 1000000ULL;
	ec.retry_max_elapsed_ns = elapsed_ms * 1000000ULL;
	return ec;
}

static struct hl_snapshot *make_snapshot(uint64_t t)
{
	static uint64_t counts[3] = {1, 2, 3};
	struct hl_hist h = {.scale = 3,
			    .offset = -40,
			    .len = 3,
			    .max_size = 3,
			    .counts = counts,
			    .count = 6,
			    .sum_ns = 123,
			    .has_max = true,
			    .max_ns = 50};
	struct hl_point pt = {.n_attrs = 1, .cumulative = &h, .delta = &h};
	struct hl_metric m = {.name = "hostlat.test",
			      .unit = "s",
			      .kind = HL_METRIC_EXPHIST,
			      .points = &pt,
			      .n_points = 1};
	struct hl_attr res = {"service.name", "hostlat"};
	struct hl_batch b = {.time_unix_ns = t,
			     .resource = &res,
			     .n_resource = 1,
			     .scope_name = "hostlat",
			     .metrics = &m,
			     .n_metrics = 1};
	char key[16] = "stage", val[16] = "ip-start";
	struct hl_snapshot *s;

	pt.attrs[0].key = key;
	pt.attrs[0].value = val;
	s = hl_snapshot_new(&b);
	/* The snapshot must not point into the source. */
	memset(key, 'x', sizeof(key) - 1);
	memset(val, 'y', sizeof(val) - 1);
	counts[0] = 1;
	return s;
}

static void test_snapshot(void)
{
	struct hl_snapshot *s = make_snapshot(42);
	const struct hl_batch *b = hl_snapshot_batch(s);
	const struct hl_hist *h = b->metrics[0].points[0].cumulative;

	CHECK(b->time_unix_ns == 42, "time");
	CHECK(!strcmp(b->metrics[0].name, "hostlat.test"), "name %s", b->metrics[0].name);
	CHECK(!strcmp(b->metrics[0].points[0].attrs[0].key, "stage"), "attr key copied");
	CHECK(!strcmp(b->metrics[0].points[0].attrs[0].value, "ip-start"), "attr value copied");
	CHECK(h->len == 3 && h->counts[2] == 3 && h->offset == -40 && h->count == 6, "hist");
	CHECK(!strcmp(b->resource[0].value, "hostlat"), "resource");
	hl_snapshot_unref(s);
}

static void test_retry_then_ok(void)
{
	struct script s = {.lock = PTHREAD_MUTEX_INITIALIZER,
			   .results = {HL_EXPORT_RETRY, HL_EXPORT_RETRY},
			   .retry_after_ns = {0, 300000000ULL},
			   .n_results = 2};
	struct hl_exporter_conf ec = conf(4, 50, 1000, 0);
	struct hl_pipeline *p = hl_pipeline_start("t", &test_ops, &s, &ec);
	struct hl_pipeline_stats st;
	struct hl_snapshot *snap = make_snapshot(1);

	hl_pipeline_push(p, snap);
	hl_snapshot_unref(snap);
	for (int i = 0; i < 300 && !hl_pipeline_ever_sent(p); i++)
		usleep(10000);
	hl_pipeline_get_stats(p, &st);
	CHECK(st.sent == 1 && st.failed == 2 && st.retries == 2 && st.dropped == 0,
	      "sent %llu failed %llu retries %llu dropped %llu", (unsigned long long)st.sent,
	      (unsigned long long)st.failed, (unsigned long long)st.retries,
	      (unsigned long long)st.dropped);
	/* First retry: backoff 50 ms +-20 %; second: Retry-After 300 ms wins. */
	CHECK(s.call_ns[1] - s.call_ns[0] >= 40000000ULL, "backoff %llu ns",
	      (unsigned long long)(s.call_ns[1] - s.call_ns[0]));
	CHECK(s.call_ns[2] - s.call_ns[1] >= 300000000ULL, "Retry-After honoured: %llu ns",
	      (unsigned long long)(s.call_ns[2] - s.call_ns[1]));
	hl_pipeline_stop(p, 1000000000ULL);
}

static void test_drop_and_queue_full(void)
{
	struct script s = {.lock = PTHREAD_MUTEX_INITIALIZER,
			   .results = {HL_EXPORT_DROP},
			   .n_results = 1,
			   .block_ms = 100};
	struct hl_exporter_conf ec = conf(2, 10, 10, 0);
	struct hl_pipeline *p = hl_pipeline_start("t", &test_ops, &s, &ec);

	/* 1 in flight (dropped by the exporter), 2 queued, 3 more push the oldest out. */
	for (uint64_t t = 1; t <= 6; t++) {
		struct hl_snapshot *snap = make_snapshot(t);

		hl_pipeline_push(p, snap);
		hl_snapshot_unref(snap);
		if (t == 1)
			usleep(20000); /* let the thread take the first */
	}
	hl_pipeline_stop(p, 2000000000ULL);
	CHECK(s.calls == 3, "calls %d (first, then the two newest)", s.calls);
	CHECK(s.seen[0] == 1 && s.seen[1] == 5 && s.seen[2] == 6, "order %llu %llu %llu",
	      (unsigned long long)s.seen[0], (unsigned long long)s.seen[1],
	      (unsigned long long)s.seen[2]);
}

static void test_stats_counts(void)
{
	struct script s = {.lock = PTHREAD_MUTEX_INITIALIZER,
			   .results = {HL_EXPORT_DROP},
			   .n_results = 1,
			   .block_ms = 100};
	struct hl_exporter_conf ec = conf(2, 10, 10, 0);
	struct hl_pipeline *p = hl_pipeline_start("t", &test_ops, &s, &ec);
	struct hl_pipeline_stats st;

	for (uint64_t t = 1; t <= 6; t++) {
		struct hl_snapshot *snap = make_snapshot(t);

		hl_pipeline_push(p, snap);
		hl_snapshot_unref(snap);
		if (t == 1)
			usleep(20000);
	}
	for (int i = 0; i < 200; i++) {
		hl_pipeline_get_stats(p, &st);
		if (st.sent == 2)
			break;
		usleep(10000);
	}
	CHECK(st.sent == 2 && st.dropped == 4 && st.failed == 1,
	      "sent %llu dropped %llu (1 refused + 3 queue) failed %llu",
	      (unsigned long long)st.sent, (unsigned long long)st.dropped,
	      (unsigned long long)st.failed);
	hl_pipeline_stop(p, 1000000000ULL);
}

static void test_stop_deadline(void)
{
	struct script s = {.lock = PTHREAD_MUTEX_INITIALIZER, .n_results = 16};
	struct hl_exporter_conf ec = conf(4, 100, 100, 0);
	struct hl_pipeline *p;
	uint64_t t0;

	for (int i = 0; i < 16; i++)
		s.results[i] = HL_EXPORT_RETRY;
	p = hl_pipeline_start("t", &test_ops, &s, &ec);
	for (uint64_t t = 1; t <= 3; t++) {
		struct hl_snapshot *snap = make_snapshot(t);

		hl_pipeline_push(p, snap);
		hl_snapshot_unref(snap);
	}
	usleep(50000);
	t0 = mono();
	hl_pipeline_stop(p, 300000000ULL);
	CHECK(mono() - t0 < 1000000000ULL, "stop took %llu ns with a 300 ms drain",
	      (unsigned long long)(mono() - t0));
}

static void test_hold_off(void)
{
	struct script s = {.lock = PTHREAD_MUTEX_INITIALIZER,
			   .results = {HL_EXPORT_RETRY},
			   .retry_after_ns = {10000000000ULL}, /* 10 s */
			   .n_results = 1};
	struct hl_exporter_conf ec = conf(4, 50, 100, 200);
	struct hl_pipeline *p = hl_pipeline_start("t", &test_ops, &s, &ec);
	struct hl_pipeline_stats st = {0};
	uint64_t t0;

	for (uint64_t t = 1; t <= 2; t++) {
		struct hl_snapshot *snap = make_snapshot(t);

		hl_pipeline_push(p, snap);
		hl_snapshot_unref(snap);
	}
	for (int i = 0; i < 300 && !st.throttled; i++) {
		usleep(10000);
		hl_pipeline_get_stats(p, &st);
	}
	usleep(500000);
	hl_pipeline_get_stats(p, &st);
	CHECK(st.throttled == 1 && st.dropped == 1 && st.sent == 0, "throttled %llu dropped %llu",
	      (unsigned long long)st.throttled, (unsigned long long)st.dropped);
	CHECK(s.calls == 1, "%d calls: the second batch was sent during the hold-off", s.calls);
	/* Stopping ends the hold-off at the drain deadline: the held batch is dropped. */
	t0 = mono();
	hl_pipeline_stop_begin(p, mono() + 100000000ULL);
	CHECK(hl_pipeline_wait(p, mono() + 2000000000ULL), "the held pipeline did not stop");
	CHECK(mono() - t0 < 1000000000ULL, "stop took %llu ns", (unsigned long long)(mono() - t0));
	hl_pipeline_get_stats(p, &st);
	CHECK(st.batches == 2 && st.dropped == 2 && s.calls == 1,
	      "batches %llu dropped %llu calls %d", (unsigned long long)st.batches,
	      (unsigned long long)st.dropped, s.calls);
	CHECK(hl_pipeline_release(p), "release");
}

/* An exporter that waits for a gate, or for the pipeline's cancellation when cooperative. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open, cooperative, in_call;
	uint64_t cancel_before, cancel_during; /* hl_pipeline_cancel_at() at entry, at return */
	atomic_int shutdowns;
	pthread_t shutdown_thread;
};

static enum hl_export_result g_export(void *state, const struct hl_batch *b,
				      struct hl_export_status *st)
{
	struct gate *g = state;

	(void)b;
	pthread_mutex_lock(&g->lock);
	g->cancel_before = hl_pipeline_cancel_at();
	g->in_call = true;
	pthread_cond_broadcast(&g->cond);
	while (!g->open && !(g->cooperative && mono() >= hl_pipeline_cancel_at())) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
	}
	g->cancel_during = hl_pipeline_cancel_at();
	pthread_mutex_unlock(&g->lock);
	snprintf(st->message, sizeof(st->message), "cancelled");
	return HL_EXPORT_RETRY;
}

static void g_shutdown(void *state)
{
	struct gate *g = state;

	g->shutdown_thread = pthread_self();
	atomic_fetch_add(&g->shutdowns, 1);
}

static const struct hl_exporter_ops gate_ops = {
	.abi_version = HL_EXPORTER_ABI_VERSION,
	.name = "gate",
	.init = t_init,
	.export_batch = g_export,
	.shutdown = g_shutdown,
};

static struct hl_pipeline *gate_pipeline(struct gate *g, int queued)
{
	struct hl_exporter_conf ec = conf(4, 10, 10, 0);
	struct hl_pipeline *p = hl_pipeline_start("gate", &gate_ops, g, &ec);

	for (int i = 0; i < queued; i++) {
		struct hl_snapshot *snap = make_snapshot((uint64_t)i + 1);

		hl_pipeline_push(p, snap);
		hl_snapshot_unref(snap);
	}
	pthread_mutex_lock(&g->lock);
	while (!g->in_call)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	return p;
}

static void test_cancel(void)
{
	struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER,
			 .cond = PTHREAD_COND_INITIALIZER,
			 .cooperative = true};
	struct hl_pipeline *p = gate_pipeline(&g, 2);
	struct hl_pipeline_stats st;
	uint64_t t0 = mono(), drain_at = t0 + 200000000ULL;

	CHECK(hl_pipeline_cancel_at() == UINT64_MAX, "cancel_at off a pipeline's thread");
	hl_pipeline_stop_begin(p, drain_at);
	CHECK(hl_pipeline_wait(p, t0 + 3000000000ULL), "a cooperative exporter did not stop");
	CHECK(mono() - t0 < 1000000000ULL, "stop took %llu ns", (unsigned long long)(mono() - t0));
	CHECK(g.cancel_before == UINT64_MAX && g.cancel_during == drain_at,
	      "cancel_at %llu before the stop, %llu after", (unsigned long long)g.cancel_before,
	      (unsigned long long)g.cancel_during);
	hl_pipeline_get_stats(p, &st);
	CHECK(st.batches == 2 && st.dropped == 2 && st.sent == 0,
	      "batches %llu dropped %llu (in flight + queued)", (unsigned long long)st.batches,
	      (unsigned long long)st.dropped);
	CHECK(atomic_load(&g.shutdowns) == 1 && !pthread_equal(g.shutdown_thread, pthread_self()),
	      "shutdown: %d calls, on the pipeline's thread", atomic_load(&g.shutdowns));
	CHECK(hl_pipeline_release(p), "release after the thread ended");
}

static void test_abandon(void)
{
	/* static: the abandoned thread may use it after this returns */
	static struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER,
				.cond = PTHREAD_COND_INITIALIZER};
	struct hl_pipeline *p = gate_pipeline(&g, 3);
	uint64_t t0 = mono();

	hl_pipeline_stop_begin(p, t0 + 100000000ULL);
	CHECK(!hl_pipeline_wait(p, t0 + 300000000ULL), "a blocked exporter stopped");
	CHECK(mono() - t0 < 1000000000ULL, "wait took %llu ns", (unsigned long long)(mono() - t0));
	CHECK(!hl_pipeline_release(p), "a blocked exporter was not abandoned");
	/* Let it return: the abandoned thread ends without shutting it down. */
	pthread_mutex_lock(&g.lock);
	g.open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	usleep(200000);
	CHECK(atomic_load(&g.shutdowns) == 0, "an abandoned exporter was shut down");
}

int main(void)
{
	test_snapshot();
	test_retry_then_ok();
	test_drop_and_queue_full();
	test_stats_counts();
	test_stop_deadline();
	test_hold_off();
	test_cancel();
	test_abandon();
	return UNIT_DONE();
}
