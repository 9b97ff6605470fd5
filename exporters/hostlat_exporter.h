/* SPDX-License-Identifier: MIT */
/*
 * The hostlat exporter interface. Built-in exporters (stdout, ...) and
 * external modules use the same structure: a name, a config table, and
 * init / export / shutdown callbacks. The agent core owns the batch, the
 * schedule and (later) retries; an exporter only turns a batch into bytes
 * and sends them.
 */
#ifndef HOSTLAT_EXPORTER_H
#define HOSTLAT_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_EXPORTER_ABI_VERSION 1

struct hl_hist;

enum hl_metric_kind {
	HL_METRIC_EXPHIST, /* exponential histogram (struct hl_hist) */
	HL_METRIC_COUNTER, /* monotonic sum, integer */
	HL_METRIC_GAUGE,   /* gauge, double */
};

struct hl_attr {
	const char *key;
	const char *value; /* string attributes only */
};

#define HL_MAX_ATTRS 4

/* One time series point. Both temporalities are provided: exporters pick. */
struct hl_point {
	struct hl_attr attrs[HL_MAX_ATTRS];
	unsigned int n_attrs;
	const struct hl_hist *cumulative; /* HL_METRIC_EXPHIST */
	const struct hl_hist *delta;	  /* HL_METRIC_EXPHIST */
	uint64_t value;			  /* HL_METRIC_COUNTER: cumulative */
	uint64_t value_delta;		  /* HL_METRIC_COUNTER: since last export */
	double gauge;			  /* HL_METRIC_GAUGE */
};

struct hl_metric {
	const char *name;
	const char *description;
	const char *unit;
	enum hl_metric_kind kind;
	struct hl_point *points;
	size_t n_points;
};

struct hl_batch {
	uint64_t start_unix_ns;		/* start of the cumulative streams */
	uint64_t prev_unix_ns;		/* start of this delta interval */
	uint64_t time_unix_ns;		/* collection time */
	const struct hl_attr *resource; /* resource attributes */
	size_t n_resource;
	const char *scope_name, *scope_version;
	struct hl_metric *metrics;
	size_t n_metrics;
	bool final; /* last batch before shutdown */
};

enum hl_export_result {
	HL_EXPORT_OK = 0,
	HL_EXPORT_RETRY, /* transient: try again later */
	HL_EXPORT_DROP,	 /* permanent: drop this batch */
};

struct hl_option; /* agent/config.h */

struct hl_exporter_ops {
	uint32_t abi_version; /* HL_EXPORTER_ABI_VERSION */
	const char *name;
	const struct hl_option *options; /* keys besides `type` */
	size_t config_size;
	const char *help;
	/* conf: config_size bytes filled from options. Return NULL + errno on error. */
	void *(*init)(const void *conf, char *err, size_t errlen);
	enum hl_export_result (*export_batch)(void *state, const struct hl_batch *batch);
	void (*shutdown)(void *state); /* NULL-safe */
};

#endif /* HOSTLAT_EXPORTER_H */
