/* SPDX-License-Identifier: MIT */
/*
 * The export pipeline: one thread and one bounded queue per exporter, so
 * that a slow, hung or dead receiver delays nothing else. The core owns
 * retries (exponential backoff with jitter and a cap, Retry-After wins
 * when longer) and counts everything it sends, retries and drops.
 */
#ifndef HOSTLAT_PIPELINE_H
#define HOSTLAT_PIPELINE_H

#include <stdint.h>

#include "config.h"
#include "hostlat_exporter.h"

/* An immutable, reference-counted deep copy of a batch. */
struct hl_snapshot;

struct hl_snapshot *hl_snapshot_new(const struct hl_batch *b); /* refs = 1; NULL on ENOMEM */
const struct hl_batch *hl_snapshot_batch(const struct hl_snapshot *s);
void hl_snapshot_unref(struct hl_snapshot *s); /* NULL-safe */

struct hl_pipeline_stats {
	uint64_t sent;	   /* batches accepted by the receiver */
	uint64_t failed;   /* export attempts that failed (each retry counts) */
	uint64_t retries;  /* attempts that were retries */
	uint64_t dropped;  /* batches given up: queue full, refused, or out of retry time */
	uint64_t rejected; /* data points the receiver refused in a partial success */
	uint64_t bytes;	   /* bytes sent */
};

struct hl_pipeline;

/*
 * Start the thread for an initialised exporter (ops, state). Takes
 * ownership of state (shutdown is called by hl_pipeline_stop).
 */
struct hl_pipeline *hl_pipeline_start(const char *name, const struct hl_exporter_ops *ops,
				      void *state, const struct hl_exporter_conf *ec);
/* Queue a snapshot (takes a reference); drops and counts the oldest when full. */
void hl_pipeline_push(struct hl_pipeline *p, struct hl_snapshot *s);
/*
 * Send what is queued within drain_ns (retrying as usual until then),
 * then stop the thread and shut the exporter down. NULL-safe.
 */
void hl_pipeline_stop(struct hl_pipeline *p, uint64_t drain_ns);
void hl_pipeline_get_stats(struct hl_pipeline *p, struct hl_pipeline_stats *out);
/* At least one batch was accepted since start. */
int hl_pipeline_ever_sent(struct hl_pipeline *p);
const char *hl_pipeline_name(const struct hl_pipeline *p);

#endif
