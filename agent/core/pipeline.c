/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "pipeline.h"

/* ---- snapshots ---------------------------------------------------------------------- */

struct hl_snapshot {
	atomic_int refs;
	struct hl_batch batch;
	/* the arena with every copied array and string follows */
};

/*
 * A bump allocator run twice: once with base == NULL to measure, once to
 * copy into one allocation. Alignment 8 for everything.
 */
struct arena {
	char *base;
	size_t used;
};

static void *arena_get(struct arena *a, size_t n)
{
	void *p = a->base ? a->base + a->used : NULL;

	a->used += (n + 7) & ~(size_t)7;
	return p;
}

static const char *arena_str(struct arena *a, const char *s)
{
	size_t n = s ? strlen(s) + 1 : 0;
	char *p;

	if (!s)
		return NULL;
	p = arena_get(a, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static const struct hl_hist *arena_hist(struct arena *a, const struct hl_hist *h)
{
	struct hl_exemplar *ex = NULL;
	struct hl_hist *c;
	uint64_t *counts;

	if (!h)
		return NULL;
	c = arena_get(a, sizeof(*c));
	counts = arena_get(a, (h->len ? h->len : 1) * sizeof(uint64_t));
	if (h->exemplar)
		ex = arena_get(a, sizeof(*ex));
	if (c) {
		*c = *h;
		c->exemplar = ex;
		if (ex)
			*ex = *h->exemplar;
		c->counts = counts;
		c->max_size = h->len;
		if (h->len)
			memcpy(counts, h->counts, h->len * sizeof(uint64_t));
	}
	return c;
}

static void copy_attrs(struct arena *a, struct hl_attr *dst, const struct hl_attr *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *k = arena_str(a, src[i].key), *v = arena_str(a, src[i].value);

		if (dst) {
			dst[i].key = k;
			dst[i].value = v;
		}
	}
}

static void copy_batch(struct arena *a, struct hl_batch *dst, const struct hl_batch *src)
{
	struct hl_attr *res = arena_get(a, src->n_resource * sizeof(*res));
	struct hl_metric *ms = arena_get(a, src->n_metrics * sizeof(*ms));

	if (dst) {
		*dst = *src;
		dst->resource = res;
		dst->metrics = ms;
	}
	copy_attrs(a, res, src->resource, src->n_resource);
	if (dst) {
		dst->scope_name = arena_str(a, src->scope_name);
		dst->scope_version = arena_str(a, src->scope_version);
	} else {
		arena_str(a, src->scope_name);
		arena_str(a, src->scope_version);
	}
	for (size_t i = 0; i < src->n_metrics; i++) {
		const struct hl_metric *sm = &src->metrics[i];
		struct hl_point *pts = arena_get(a, sm->n_points * sizeof(*pts));
		const char *name = arena_str(a, sm->name), *desc = arena_str(a, sm->description),
			   *unit = arena_str(a, sm->unit);

		if (ms) {
			ms[i] = *sm;
			ms[i].name = name;
			ms[i].description = desc;
			ms[i].unit = unit;
			ms[i].points = pts;
		}
		for (size_t j = 0; j < sm->n_points; j++) {
			const struct hl_point *sp = &sm->points[j];
			const struct hl_hist *cum = arena_hist(a, sp->cumulative);
			const struct hl_hist *delta = arena_hist(a, sp->delta);

			if (pts) {
				pts[j] = *sp;
				pts[j].cumulative = cum;
				pts[j].delta = delta;
			}
			copy_attrs(a, pts ? pts[j].attrs : NULL, sp->attrs, sp->n_attrs);
		}
	}
}

/* struct hl_batch.serial of the last snapshot made */
static atomic_uint_fast64_t serials;

struct hl_snapshot *hl_snapshot_new(const struct hl_batch *b)
{
	struct arena measure = {0}, a;
	struct hl_snapshot *s;

	copy_batch(&measure, NULL, b);
	s = malloc(sizeof(*s) + measure.used);
	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	a.base = (char *)(s + 1);
	a.used = 0;
	copy_batch(&a, &s->batch, b);
	s->batch.serial = atomic_fetch_add(&serials, 1) + 1;
	return s;
}

const struct hl_batch *hl_snapshot_batch(const struct hl_snapshot *s)
{
	return &s->batch;
}

static struct hl_snapshot *snapshot_ref(struct hl_snapshot *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void hl_snapshot_unref(struct hl_snapshot *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		free(s);
}

/* ---- pipelines ------------------------------------------------------------------------- */

struct hl_pipeline {
	char name[64];
	const struct hl_exporter_ops *ops;
	void *state;
	uint64_t retry_initial, retry_max, retry_max_elapsed;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;	    /* the thread waits on it: a batch, stopping */
	pthread_cond_t done_cond;   /* hl_pipeline_wait waits on it: the thread ended */
	struct hl_snapshot **queue; /* ring of capacity cap */
	uint32_t cap, head, n;
	bool stopping;
	bool busy;		    /* the thread holds a batch (in export_batch or its backoff) */
	bool done;		    /* the thread has shut the exporter down and is ending */
	bool abandoned;		    /* given up on: the thread counts nothing more and ends */
	uint64_t drain_deadline;    /* CLOCK_MONOTONIC ns, when stopping */
	uint64_t hold_until;	    /* no export before (a Retry-After that outlasted a batch) */
	_Atomic uint64_t cancel_at; /* drain_deadline once stopping, read without the lock */

	struct hl_pipeline_stats stats; /* under lock */
	uint64_t last_log_ns;
	unsigned int suppressed;
	uint64_t rng;
	struct hl_pipeline *next_abandoned;
};

/* The pipeline whose thread this is (hl_pipeline_cancel_at). */
static _Thread_local struct hl_pipeline *self;

/* Abandoned pipelines: never freed, kept reachable for the leak checker. */
static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hl_pipeline *abandoned;

/* Log a failure at most once every 30 s per exporter, saying how many were not logged. */
static void log_failure(struct hl_pipeline *p, const char *what, const char *msg)
{
	uint64_t now = hl_mono_ns();

	if (p->last_log_ns && now - p->last_log_ns < 30000000000ULL) {
		p->suppressed++;
		return;
	}
	if (p->suppressed)
		hl_warn("exporter", "%s: %s: %s (and %u similar since the last message)", p->name,
			what, msg[0] ? msg : "no detail", p->suppressed);
	else
		hl_warn("exporter", "%s: %s: %s", p->name, what, msg[0] ? msg : "no detail");
	p->last_log_ns = now;
	p->suppressed = 0;
}

static uint64_t backoff(struct hl_pipeline *p, unsigned int attempt)
{
	uint64_t d = p->retry_initial, jitter;

	for (unsigned int i = 1; i < attempt && d < p->retry_max; i++)
		d *= 2;
	if (d > p->retry_max)
		d = p->retry_max;
	/* +-20 % jitter (xorshift; quality does not matter here) */
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	jitter = d / 5;
	if (jitter)
		d = d - jitter + p->rng % (2 * jitter + 1);
	return d;
}

/* Stopping and past the drain deadline; lock held. */
static bool out_of_time(struct hl_pipeline *p)
{
	return p->stopping && hl_mono_ns() >= p->drain_deadline;
}

/* Stopping, and held off past the drain deadline: nothing can leave any more; lock held. */
static bool held_to_the_end(struct hl_pipeline *p)
{
	return p->stopping && p->hold_until >= p->drain_deadline;
}

/* Sleep until deadline (monotonic ns), or the drain deadline once stopping; lock held. */
static void wait_until(struct hl_pipeline *p, uint64_t deadline)
{
	while (!p->abandoned) {
		uint64_t d = deadline;
		struct timespec ts;

		if (p->stopping && p->drain_deadline < d)
			d = p->drain_deadline;
		if (hl_mono_ns() >= d)
			return;
		ts.tv_sec = (time_t)(d / 1000000000ULL);
		ts.tv_nsec = (long)(d % 1000000000ULL);
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
	}
}

/*
 * The receiver asked for no request for ns, longer than the batch it
 * answered could be retried: that batch is dropped (by the caller), and
 * nothing is sent until then, at most HL_PIPELINE_HOLD_OFF_MAX_NS; lock held.
 */
static void hold_off(struct hl_pipeline *p, uint64_t now, uint64_t ns, const char *msg)
{
	char d[32], what[128];

	if (ns > HL_PIPELINE_HOLD_OFF_MAX_NS)
		ns = HL_PIPELINE_HOLD_OFF_MAX_NS;
	if (now + ns > p->hold_until)
		p->hold_until = now + ns;
	p->stats.throttled++;
	hl_format_duration(ns, d, sizeof(d));
	snprintf(what, sizeof(what),
		 "Retry-After beyond the batch's retry time: batch dropped, nothing sent for %s",
		 d);
	log_failure(p, what, msg);
}

/* Export one snapshot with retries; returns with lock held. */
static void deliver(struct hl_pipeline *p, struct hl_snapshot *s)
{
	uint64_t first = hl_mono_ns();
	unsigned int attempt = 0;

	for (;;) {
		struct hl_export_status st = {0};
		enum hl_export_result r;
		uint64_t delay, now;
		bool late;

		pthread_mutex_unlock(&p->lock);
		r = p->ops->export_batch(p->state, hl_snapshot_batch(s), &st);
		st.message[sizeof(st.message) - 1] = 0;
		pthread_mutex_lock(&p->lock);
		if (p->abandoned)
			return; /* counted as dropped when it was abandoned */
		p->stats.bytes += st.bytes;
		if (r == HL_EXPORT_OK) {
			p->stats.sent++;
			if (st.rejected_points) {
				p->stats.rejected += st.rejected_points;
				log_failure(p, "the receiver rejected data points", st.message);
			}
			return;
		}
		p->stats.failed++;
		if (r != HL_EXPORT_RETRY) {
			p->stats.dropped++;
			log_failure(p, "batch dropped", st.message);
			return;
		}
		attempt++;
		now = hl_mono_ns();
		delay = backoff(p, attempt);
		if (st.retry_after_ns > delay)
			delay = st.retry_after_ns;
		late = p->stopping && now + delay > p->drain_deadline;
		if (late || (p->retry_max_elapsed && now + delay - first > p->retry_max_elapsed)) {
			p->stats.dropped++;
			/* A receiver that asked for quiet gets it, also for the next batch. */
			if (st.retry_after_ns &&
			    (late || now + st.retry_after_ns - first > p->retry_max_elapsed))
				hold_off(p, now, st.retry_after_ns, st.message);
			else if (late)
				log_failure(p, "batch dropped: the agent is stopping", st.message);
			else
				log_failure(p, "batch dropped after retries", st.message);
			return;
		}
		log_failure(p, "export failed, will retry", st.message);
		wait_until(p, now + delay);
		if (p->abandoned)
			return;
		if (out_of_time(p)) {
			p->stats.dropped++;
			return;
		}
		p->stats.retries++;
	}
}

/* Drop and count what is queued; lock held. */
static void drop_queued(struct hl_pipeline *p)
{
	while (p->n) {
		hl_snapshot_unref(p->queue[p->head]);
		p->head = (p->head + 1) % p->cap;
		p->n--;
		p->stats.dropped++;
	}
}

static void *pipeline_thread(void *arg)
{
	struct hl_pipeline *p = arg;

	self = p;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct hl_snapshot *s;

		while (!p->n && !p->stopping && !p->abandoned)
			pthread_cond_wait(&p->cond, &p->lock);
		/* Held off by a Retry-After: the queue waits (and overflows, counted). */
		while (p->n && !p->abandoned && p->hold_until > hl_mono_ns() && !out_of_time(p) &&
		       !held_to_the_end(p))
			wait_until(p, p->hold_until);
		if (p->abandoned || !p->n)
			break; /* stopping and drained */
		if (out_of_time(p) || held_to_the_end(p)) {
			drop_queued(p); /* out of time: what is left is dropped, and counted */
			break;
		}
		s = p->queue[p->head];
		p->head = (p->head + 1) % p->cap;
		p->n--;
		p->busy = true;
		deliver(p, s);
		p->busy = false;
		pthread_mutex_unlock(&p->lock);
		hl_snapshot_unref(s);
		pthread_mutex_lock(&p->lock);
	}
	if (p->abandoned) {
		/* Too late: the agent went on without it; its exporter is left as it is. */
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	pthread_mutex_unlock(&p->lock);
	/* Here, not on the stopping thread: a shutdown that blocks is bounded too. */
	p->ops->shutdown(p->state);
	pthread_mutex_lock(&p->lock);
	p->done = true;
	pthread_cond_broadcast(&p->done_cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct hl_pipeline *hl_pipeline_start(const char *name, const struct hl_exporter_ops *ops,
				      void *state, const struct hl_exporter_conf *ec)
{
	struct hl_pipeline *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;

	if (!p)
		goto fail;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->ops = ops;
	p->state = state;
	p->cap = ec->queue_size ? ec->queue_size : 16;
	p->retry_initial = ec->retry_initial_ns ? ec->retry_initial_ns : 1000000000ULL;
	p->retry_max = ec->retry_max_ns > p->retry_initial ? ec->retry_max_ns : p->retry_initial;
	p->retry_max_elapsed = ec->retry_max_elapsed_ns;
	p->rng = hl_mono_ns() | 1;
	atomic_init(&p->cancel_at, UINT64_MAX);
	p->queue = calloc(p->cap, sizeof(*p->queue));
	if (!p->queue)
		goto fail;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_cond_init(&p->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&p->thread, NULL, pipeline_thread, p)) {
		pthread_cond_destroy(&p->done_cond);
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		goto fail;
	}
	return p;
fail:
	if (p)
		free(p->queue);
	free(p);
	ops->shutdown(state);
	return NULL;
}

void hl_pipeline_push(struct hl_pipeline *p, struct hl_snapshot *s)
{
	pthread_mutex_lock(&p->lock);
	p->stats.batches++;
	if (p->n == p->cap) {
		/* Full: the oldest waiting batch makes room, and is counted. */
		hl_snapshot_unref(p->queue[p->head]);
		p->head = (p->head + 1) % p->cap;
		p->n--;
		p->stats.dropped++;
		log_failure(p, "queue full", "the oldest waiting batch was dropped");
	}
	p->queue[(p->head + p->n) % p->cap] = snapshot_ref(s);
	p->n++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void hl_pipeline_stop_begin(struct hl_pipeline *p, uint64_t drain_at)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	if (!p->stopping || drain_at < p->drain_deadline)
		p->drain_deadline = drain_at;
	p->stopping = true;
	atomic_store(&p->cancel_at, p->drain_deadline);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

bool hl_pipeline_wait(struct hl_pipeline *p, uint64_t deadline)
{
	bool done;

	if (!p)
		return true;
	pthread_mutex_lock(&p->lock);
	while (!p->done && hl_mono_ns() < deadline) {
		struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ULL),
				      .tv_nsec = (long)(deadline % 1000000000ULL)};

		pthread_cond_timedwait(&p->done_cond, &p->lock, &ts);
	}
	done = p->done;
	pthread_mutex_unlock(&p->lock);
	return done;
}

static void log_stopped(const struct hl_pipeline *p, const struct hl_pipeline_stats *st,
			const char *how)
{
	hl_info("exporter", "%s: %s: %llu batches, %llu sent, %llu dropped", p->name, how,
		(unsigned long long)st->batches, (unsigned long long)st->sent,
		(unsigned long long)st->dropped);
}

bool hl_pipeline_release(struct hl_pipeline *p)
{
	struct hl_pipeline_stats st;
	unsigned int held;

	if (!p)
		return true;
	pthread_mutex_lock(&p->lock);
	if (!p->done) {
		/* Still inside the exporter: what it holds will never be sent. */
		held = p->n + (p->busy ? 1 : 0);
		p->stats.dropped += p->busy ? 1 : 0;
		drop_queued(p);
		p->abandoned = true;
		pthread_cond_broadcast(&p->cond);
		st = p->stats;
		pthread_mutex_unlock(&p->lock);
		pthread_detach(p->thread);
		pthread_mutex_lock(&abandoned_lock);
		p->next_abandoned = abandoned;
		abandoned = p;
		pthread_mutex_unlock(&abandoned_lock);
		hl_warn("exporter",
			"%s: did not stop in time (inside export_batch or shutdown): its thread is "
			"abandoned, the %u batch%s it held dropped",
			p->name, held, held == 1 ? "" : "es");
		log_stopped(p, &st, "abandoned");
		return false;
	}
	st = p->stats;
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	log_stopped(p, &st, "stopped");
	pthread_cond_destroy(&p->done_cond);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->queue);
	free(p);
	return true;
}

void hl_pipeline_stop(struct hl_pipeline *p, uint64_t drain_ns)
{
	hl_pipeline_stop_begin(p, hl_mono_ns() + drain_ns);
	hl_pipeline_wait(p, UINT64_MAX);
	hl_pipeline_release(p);
}

void hl_pipeline_get_stats(struct hl_pipeline *p, struct hl_pipeline_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->stats;
	pthread_mutex_unlock(&p->lock);
}

int hl_pipeline_ever_sent(struct hl_pipeline *p)
{
	struct hl_pipeline_stats st;

	hl_pipeline_get_stats(p, &st);
	return st.sent > 0;
}

const char *hl_pipeline_name(const struct hl_pipeline *p)
{
	return p->name;
}

uint64_t hl_pipeline_cancel_at(void)
{
	return self ? atomic_load(&self->cancel_at) : UINT64_MAX;
}
