/* SPDX-License-Identifier: MIT */
/*
 * Encoding a histogram as an OTLP/JSON data point and a batch as an
 * ExportMetricsServiceRequest, splitting a batch into requests below a
 * size limit, and reading OTLP/HTTP responses.
 */
#ifndef HOSTLAT_OTLP_JSON_H
#define HOSTLAT_OTLP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostlat_exporter.h"

struct cJSON;

/*
 * OTLP JSON ExponentialHistogramDataPoint fields of h (without attributes
 * and times): count, sum, scale, zeroCount, positive{offset,bucketCounts},
 * min, max (when known). Seconds (plain units when raw_values); 64-bit
 * integers as strings. sum, min and max are raw number items printed to
 * round-trip exactly (so cJSON_IsNumber is false for them). NULL on ENOMEM.
 */
struct cJSON *hl_otlp_hist_to_json(const struct hl_hist *h);

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
 * The split of a batch with a serial that is its whole request is kept
 * until the next one (another exporter of that batch takes a copy instead
 * of encoding it again); this frees it.
 */
void hl_otlp_memo_clear(void);

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

#endif
