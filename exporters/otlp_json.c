/* SPDX-License-Identifier: MIT */
/*
 * OTLP/JSON mapping: lowerCamelCase keys, 64-bit integers as decimal
 * strings, enums as integers, no NaN or infinities, no empty envelopes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "hist.h"
#include "otlp_json.h"

#define TEMPORALITY_DELTA 1
#define TEMPORALITY_CUMULATIVE 2

static cJSON *u64_string(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_CreateString(buf);
}

static cJSON *attributes(const struct hl_attr *attrs, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < n; i++) {
		cJSON *kv = cJSON_CreateObject(), *val = cJSON_CreateObject();

		cJSON_AddStringToObject(val, "stringValue", attrs[i].value ? attrs[i].value : "");
		cJSON_AddStringToObject(kv, "key", attrs[i].key);
		cJSON_AddItemToObject(kv, "value", val);
		cJSON_AddItemToArray(arr, kv);
	}
	return arr;
}

static void add_times(cJSON *dp, const struct hl_batch *b, bool delta, bool with_start)
{
	if (with_start)
		cJSON_AddItemToObject(dp, "startTimeUnixNano",
				      u64_string(delta ? b->prev_unix_ns : b->start_unix_ns));
	cJSON_AddItemToObject(dp, "timeUnixNano", u64_string(b->time_unix_ns));
}

static cJSON *exphist_point(const struct hl_batch *b, const struct hl_point *p, bool delta)
{
	const struct hl_hist *h = delta ? p->delta : p->cumulative;
	cJSON *dp;

	if (!h || (delta && h->count == 0))
		return NULL;
	dp = hl_hist_to_json(h);
	if (!dp)
		return NULL;
	cJSON_AddItemToObject(dp, "attributes", attributes(p->attrs, p->n_attrs));
	add_times(dp, b, delta, true);
	return dp;
}

static cJSON *number_point(const struct hl_batch *b, const struct hl_point *p,
			   enum hl_metric_kind kind, bool delta)
{
	cJSON *dp = cJSON_CreateObject();

	cJSON_AddItemToObject(dp, "attributes", attributes(p->attrs, p->n_attrs));
	if (kind == HL_METRIC_COUNTER) {
		add_times(dp, b, delta, true);
		cJSON_AddItemToObject(dp, "asInt", u64_string(delta ? p->value_delta : p->value));
	} else {
		add_times(dp, b, delta, false);
		cJSON_AddNumberToObject(dp, "asDouble", isfinite(p->gauge) ? p->gauge : 0);
	}
	return dp;
}

static cJSON *metric(const struct hl_batch *b, const struct hl_metric *m, bool delta)
{
	cJSON *obj, *data, *points = cJSON_CreateArray();
	const char *kind_key;

	for (size_t i = 0; points && i < m->n_points; i++) {
		cJSON *dp = m->kind == HL_METRIC_EXPHIST
				    ? exphist_point(b, &m->points[i], delta)
				    : number_point(b, &m->points[i], m->kind, delta);
		if (dp)
			cJSON_AddItemToArray(points, dp);
	}
	if (!points || cJSON_GetArraySize(points) == 0) {
		cJSON_Delete(points);
		return NULL;
	}
	obj = cJSON_CreateObject();
	data = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "name", m->name);
	if (m->description)
		cJSON_AddStringToObject(obj, "description", m->description);
	if (m->unit)
		cJSON_AddStringToObject(obj, "unit", m->unit);
	switch (m->kind) {
	case HL_METRIC_EXPHIST:
		kind_key = "exponentialHistogram";
		break;
	case HL_METRIC_COUNTER:
		kind_key = "sum";
		cJSON_AddBoolToObject(data, "isMonotonic", 1);
		break;
	default:
		kind_key = "gauge";
		break;
	}
	if (m->kind != HL_METRIC_GAUGE)
		cJSON_AddNumberToObject(data, "aggregationTemporality",
					delta ? TEMPORALITY_DELTA : TEMPORALITY_CUMULATIVE);
	cJSON_AddItemToObject(data, "dataPoints", points);
	cJSON_AddItemToObject(obj, kind_key, data);
	return obj;
}

cJSON *hl_otlp_encode(const struct hl_batch *batch, bool delta)
{
	cJSON *req, *rms, *rm, *res, *sms, *sm, *scope, *metrics = cJSON_CreateArray();

	for (size_t i = 0; metrics && i < batch->n_metrics; i++) {
		cJSON *m = metric(batch, &batch->metrics[i], delta);

		if (m)
			cJSON_AddItemToArray(metrics, m);
	}
	if (!metrics || cJSON_GetArraySize(metrics) == 0) {
		cJSON_Delete(metrics);
		return NULL;
	}
	req = cJSON_CreateObject();
	rms = cJSON_AddArrayToObject(req, "resourceMetrics");
	rm = cJSON_CreateObject();
	cJSON_AddItemToArray(rms, rm);
	res = cJSON_AddObjectToObject(rm, "resource");
	cJSON_AddItemToObject(res, "attributes", attributes(batch->resource, batch->n_resource));
	sms = cJSON_AddArrayToObject(rm, "scopeMetrics");
	sm = cJSON_CreateObject();
	cJSON_AddItemToArray(sms, sm);
	scope = cJSON_AddObjectToObject(sm, "scope");
	cJSON_AddStringToObject(scope, "name", batch->scope_name ? batch->scope_name : "hostlat");
	if (batch->scope_version)
		cJSON_AddStringToObject(scope, "version", batch->scope_version);
	cJSON_AddItemToObject(sm, "metrics", metrics);
	return req;
}

char *hl_otlp_encode_string(const struct hl_batch *batch, bool delta)
{
	cJSON *req = hl_otlp_encode(batch, delta);
	char *s;

	if (!req)
		return NULL;
	s = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	return s;
}
