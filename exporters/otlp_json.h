/* SPDX-License-Identifier: MIT */
/* Encoding a batch as an OTLP/JSON ExportMetricsServiceRequest. */
#ifndef HOSTLAT_OTLP_JSON_H
#define HOSTLAT_OTLP_JSON_H

#include <stdbool.h>

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

#endif
