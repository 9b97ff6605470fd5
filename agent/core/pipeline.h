/* SPDX-License-Identifier: MIT */
/*
 * The export pipeline: one thread and one bounded queue per exporter, so
 * that a slow, hung or dead receiver delays nothing else. The core owns
 * retries (exponential backoff with jitter and a cap, Retry-After wins
 * when longer; one that outlasts a batch's retry time holds the exporter
 * off) and counts everything it sends, retries and drops. Stopping has
 * deadlines that hold whatever the exporter does.
 */
#ifndef HOSTLAT_PIPELINE_H
#define HOSTLAT_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "hostlat_exporter.h"

/* An immutable, reference-counted deep copy of a batch. */
struct hl_snapshot;

struct hl_snapshot *hl_snapshot_new(const struct hl_batch *b); /* refs = 1; NULL on ENOMEM */
const struct hl_batch *hl_snapshot_batch(const struct hl_snapshot *s);
void hl_snapshot_unref(struct hl_snapshot *s); /* NULL-safe */

struct hl_pipeline_stats {
	uint64_t batches;   /* batches queued for this exporter since start */
	uint64_t sent;	    /* batches accepted by the receiver */
	uint64_t failed;    /* export attempts that failed (each retry counts) */
	uint64_t retries;   /* attempts that were retries */
	uint64_t dropped;   /* batches given up: queue full, refused, or out of retry time */
	uint64_t rejected;  /* data points the receiver refused in a partial success */
	uint64_t throttled; /* hold-offs: a Retry-After outlasted a batch's retry time */
	uint64_t bytes;	    /* bytes sent */
};

struct hl_pipeline;

/* The longest a receiver's Retry-After can stop an exporter once its batch was dropped. */
#define HL_PIPELINE_HOLD_OFF_MAX_NS (3600ULL * 1000000000ULL)

/*
 * Start the thread for an initialised exporter (ops, state). Takes
 * ownership of state: the thread calls shutdown when it ends (on failure
 * here, the caller's thread does).
 */
struct hl_pipeline *hl_pipeline_start(const char *name, const struct hl_exporter_ops *ops,
				      void *state, const struct hl_exporter_conf *ec);
/* Queue a snapshot (takes a reference); drops and counts the oldest when full. */
void hl_pipeline_push(struct hl_pipeline *p, struct hl_snapshot *s);
/*
 * Stopping, in three steps that never wait longer than asked:
 * hl_pipeline_stop_begin returns at once: the thread sends what is queued
 * (retrying as usual) until drain_at (CLOCK_MONOTONIC ns; a second call
 * can only move it earlier); then a request in flight is cancelled
 * (built-in exporters, hl_pipeline_cancel_at), what is left is dropped
 * and counted, and the thread shuts the exporter down and ends.
 * hl_pipeline_wait waits for that until deadline (0: only looks); true
 * once the thread has ended. hl_pipeline_release then frees the pipeline
 * and returns true; or, when the thread has not ended, abandons it: the
 * batches it holds are counted as dropped, the thread is detached and
 * left running, the pipeline and its exporter are never freed, and it
 * returns false: the exporter's module must then stay loaded.
 * All three are NULL-safe (release(NULL) is true).
 */
void hl_pipeline_stop_begin(struct hl_pipeline *p, uint64_t drain_at);
bool hl_pipeline_wait(struct hl_pipeline *p, uint64_t deadline);
bool hl_pipeline_release(struct hl_pipeline *p);
/* The three at once, waiting as long as the thread takes (the unit tests). */
void hl_pipeline_stop(struct hl_pipeline *p, uint64_t drain_ns);
void hl_pipeline_get_stats(struct hl_pipeline *p, struct hl_pipeline_stats *out);
/* At least one batch was accepted since start. */
int hl_pipeline_ever_sent(struct hl_pipeline *p);
const char *hl_pipeline_name(const struct hl_pipeline *p);
/*
 * For a built-in exporter's export_batch: when (CLOCK_MONOTONIC ns) to
 * give up what it waits for, because its pipeline is stopping; UINT64_MAX
 * while it is not, and on any thread that is not a pipeline's.
 */
uint64_t hl_pipeline_cancel_at(void);

#endif
