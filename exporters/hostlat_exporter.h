/* SPDX-License-Identifier: MIT */
/*
 * The hostlat exporter interface, version HL_EXPORTER_ABI_VERSION.
 *
 * Built-in exporters (stdout, otlp_http, statsd) and external modules
 * loaded with dlopen (`type: plugin`) use the same structure: a name, a
 * config description, and init / export_batch / shutdown callbacks.
 *
 * The agent core owns the schedule, the per-exporter queue and thread,
 * and retries: export_batch is called from the exporter's own thread,
 * one batch at a time, and returns OK, RETRY (optionally with a delay) or
 * DROP. It must not keep pointers into the batch after it returns. After
 * RETRY the next call brings the same batch again, unless the core gave
 * up on it; an exporter may resume a partly sent batch (docs/plugins.md,
 * "Resuming a partly sent batch").
 *
 * A module is a shared object exporting one function,
 *     const struct hl_exporter_ops *hostlat_exporter_module(void);
 * whose result has abi_version == HL_EXPORTER_ABI_VERSION and options ==
 * NULL: its init then receives a `const struct hl_module_params *` with
 * the item's `config:` keys as strings.
 */
#ifndef HOSTLAT_EXPORTER_H
#define HOSTLAT_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_EXPORTER_ABI_VERSION 2

/*
 * An exponential histogram with OTel semantics: bucket i (at `scale`)
 * holds values in (2^(i/2^scale), 2^((i+1)/2^scale)] seconds; counts[k]
 * is bucket offset + k. Values are durations measured in nanoseconds,
 * unless raw_values is set: then the values, bucket bounds, sum_ns, min_ns
 * and max_ns are plain numbers in the metric's unit (bytes, flows...), not
 * nanoseconds, and nothing is scaled by 1e-9.
 */
struct hl_hist {
	int scale;
	int32_t offset;	   /* bucket index of counts[0] */
	uint32_t len;	   /* buckets in use, <= max_size */
	uint32_t max_size; /* capacity of counts */
	uint64_t *counts;
	uint64_t count;	     /* zero_count + sum of counts */
	uint64_t zero_count; /* values of exactly 0 */
	uint64_t sum_ns;
	uint64_t min_ns, max_ns;
	bool has_min, has_max; /* set only when known exactly */
	bool raw_values;       /* plain values, not ns (see above) */
	/*
	 * The largest sample of the last interval with its context, or NULL
	 * (the same on a point's cumulative and delta histograms). Not part
	 * of the module ABI: an agent of the same ABI version may end the
	 * structure before it, so modules must not read it.
	 */
	const struct hl_exemplar *exemplar;
};

/* An exemplar attribute: key, value as text; is_int: an integer (intValue in OTLP). */
struct hl_exemplar_attr {
	const char *key; /* a string constant */
	char value[256];
	bool is_int;
};

#define HL_EXEMPLAR_MAX_ATTRS 6

/* One sample of a histogram, as in OTLP's Exemplar (self-contained: copied as is). */
struct hl_exemplar {
	uint64_t value_ns; /* in the histogram's values (ns unless raw_values) */
	uint64_t time_unix_ns;
	unsigned int n_attrs;
	struct hl_exemplar_attr attrs[HL_EXEMPLAR_MAX_ATTRS];
};

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
	/*
	 * Set by the agent: a number no other batch of this process has
	 * (the same batch retried keeps it), 0 when unknown. Lets the
	 * built-in exporters share one encoding of a batch. Not part of
	 * the module ABI: a plugin must not read it (an older agent of the
	 * same ABI version has no such field).
	 */
	uint64_t serial;
};

enum hl_export_result {
	HL_EXPORT_OK = 0,
	HL_EXPORT_RETRY, /* transient: try again later */
	HL_EXPORT_DROP,	 /* permanent: drop this batch */
};

struct hl_option; /* agent/core/config.h: built-ins only */

/* What a module's init receives: the `config:` map of its item. */
struct hl_module_params {
	size_t n;
	const char *const *keys;
	const char *const *values;
};

/* Filled by export_batch beyond its return value (zeroed by the core). */
struct hl_export_status {
	uint64_t retry_after_ns;  /* RETRY: wait at least this long (0: core backoff) */
	uint64_t rejected_points; /* OK: points the receiver refused (partial success) */
	uint64_t bytes;		  /* bytes sent, for self-metrics */
	char message[256];	  /* why it failed, for the log; never secrets */
};

#define HL_EXPORTER_MODULE_SYMBOL "hostlat_exporter_module"

struct hl_exporter_ops {
	uint32_t abi_version; /* HL_EXPORTER_ABI_VERSION */
	const char *name;
	const struct hl_option *options; /* built-ins: keys besides the common ones */
	size_t config_size;
	const char *help;
	/*
	 * Built-ins: conf is config_size bytes filled from options. Modules
	 * (options == NULL): conf is a const struct hl_module_params *.
	 * Returns the exporter's state, or NULL with a message in err.
	 */
	void *(*init)(const void *conf, char *err, size_t errlen);
	enum hl_export_result (*export_batch)(void *state, const struct hl_batch *batch,
					      struct hl_export_status *status);
	void (*shutdown)(void *state); /* NULL-safe */
};

#endif /* HOSTLAT_EXPORTER_H */
