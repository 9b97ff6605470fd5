/* SPDX-License-Identifier: MIT */
/*
 * Encoding a batch as an OTLP/JSON ExportMetricsServiceRequest, splitting
 * it into requests below a size limit, and reading OTLP/HTTP responses.
 */
#ifndef HOSTLAT_OTLP_JSON_H
#define HOSTLAT_OTLP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hostlat_exporter.h"

struct cJSON;

/*
 * The whole request for batch, with the given temporality (true: delta).
 * Metrics with no points to send are left out; NULL when nothing is left
 * (never an empty envelope) or on allocation failure.
 */
struct cJSON *hl_otlp_encode(const struct hl_batch *batch, bool delta);
/* Same, printed unformatted; caller frees. */
char *hl_otlp_encode_string(const struct hl_batch *batch, bool delta);

/* One request body of a split batch. */
struct hl_otlp_body {
	char *json;	 /* unformatted, NUL-terminated */
	size_t len;	 /* strlen(json) */
	size_t n_points; /* data points it carries */
};

struct hl_otlp_split {
	struct hl_otlp_body *v;
	size_t n;
	size_t n_points;	  /* data points in all bodies */
	uint64_t oversize_points; /* points that alone exceed max_bytes: left out */
};

/*
 * The batch as requests of at most max_bytes bytes of JSON each: the
 * metrics in batch order, each metric's points in order, a metric's points
 * spread over consecutive requests when they do not fit in one. Every
 * request carries the resource and scope and at least one point; a point
 * whose smallest request would exceed max_bytes is counted in
 * oversize_points and left out. The split depends only on the batch's
 * content. 0 (out->n == 0 when there is nothing to send) or -ENOMEM.
 */
int hl_otlp_encode_split(const struct hl_batch *batch, bool delta, size_t max_bytes,
			 struct hl_otlp_split *out);
void hl_otlp_split_free(struct hl_otlp_split *s); /* NULL-safe, idempotent */

/*
 * A 2xx response body: ExportMetricsServiceResponse's partialSuccess
 * {rejectedDataPoints (string or number), errorMessage}. Sets *rejected
 * (0 when absent) and msg (printable ASCII, "" when absent); an empty or
 * unparsable body counts as a full success.
 */
void hl_otlp_parse_success(const char *body, size_t len, uint64_t *rejected, char *msg,
			   size_t msglen);
/*
 * What an error response says: the `message` of a JSON body (google.rpc
 * Status), else (also when the message has nothing printable) the body's
 * first 200 printable bytes; "" for an empty body.
 * Non-printable bytes become spaces.
 */
void hl_otlp_error_text(const char *body, size_t len, char *msg, size_t msglen);

/*
 * Helpers of the otlp_http exporter (exporters/otlp_http.c), exposed for
 * the unit tests.
 */

/* Retry-After: delay-seconds or an HTTP-date (relative to now). 0 or -EINVAL. */
int hl_otlp_retry_after(const char *value, time_t now, uint64_t *ns);

struct hl_otlp_header {
	char *name;
	char *value;
};

struct hl_otlp_headers {
	struct hl_otlp_header *v;
	size_t n;
};

/*
 * OTEL_EXPORTER_OTLP_HEADERS syntax: "k1=v1,k2=v2", keys and values
 * percent-decoded, blanks around them trimmed. Appends to out. 0, -EINVAL
 * (err says which entry, never its value) or -ENOMEM.
 */
int hl_otlp_parse_header_list(const char *s, struct hl_otlp_headers *out, char *err, size_t errlen);
void hl_otlp_headers_free(struct hl_otlp_headers *h); /* NULL-safe, idempotent */

/*
 * The URL to POST to: the config's endpoint (a URL without a path gets
 * /v1/metrics), else metrics_env as is, else base_env + /v1/metrics, else
 * http://localhost:4318/v1/metrics. *source names where it came from.
 * 0, -EINVAL (err says why) or -ENOMEM; caller frees *url.
 */
int hl_otlp_resolve_endpoint(const char *config, const char *metrics_env, const char *base_env,
			     char **url, const char **source, char *err, size_t errlen);

/* The exporter's effective settings in one line (no secrets), for the log. */
const char *hl_otlp_http_describe(const void *state);

#endif
