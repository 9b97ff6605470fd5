/* SPDX-License-Identifier: MIT */
/*
 * OTLP/JSON mapping: lowerCamelCase keys, 64-bit integers as decimal
 * strings, enums as integers, no NaN or infinities, no empty envelopes.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "decimal.h"
#include "hist.h"
#include "otlp_json.h"

#define TEMPORALITY_DELTA 1
#define TEMPORALITY_CUMULATIVE 2

static cJSON *u64_string(uint64_t v)
{
	char buf[24];

	buf[hl_dec_u64(buf, v)] = 0;
	return cJSON_CreateString(buf);
}

/* ---- histogram data points ----------------------------------------------------------- */

/* Add v as a string member of o (or an element when o is an array and name NULL). */
static int add_u64_string(cJSON *o, const char *name, uint64_t v)
{
	cJSON *s = o ? u64_string(v) : NULL;

	if (s && (name ? cJSON_AddItemToObject(o, name, s) : cJSON_AddItemToArray(o, s)))
		return 0;
	cJSON_Delete(s);
	return -1;
}

/*
 * A double that reads back exactly: cJSON prints numbers with %.15g and
 * only falls back to %.17g when the result is more than an epsilon off,
 * which can lose the last bit (99.98910829200001 came out as
 * 99.989108292).  So the text is made here, in the shortest %g form that
 * round-trips, and stored as a raw item that still carries valuedouble.
 */
static int add_double(cJSON *o, const char *name, double v)
{
	char buf[40];
	cJSON *item;
	int prec;

	if (!o)
		return -1;
	if (!isfinite(v)) /* cannot happen for u64 ns, but never emit NaN/Inf */
		v = 0;
	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	item = cJSON_CreateRaw(buf);
	if (!item)
		return -1;
	item->valuedouble = v;
	if (!cJSON_AddItemToObject(o, name, item)) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

static int add_int(cJSON *o, const char *name, int64_t v)
{
	return o && cJSON_AddNumberToObject(o, name, (double)v) ? 0 : -1;
}

cJSON *hl_otlp_hist_to_json(const struct hl_hist *h)
{
	cJSON *o = cJSON_CreateObject();
	uint32_t first = 0, last = h->len, k;
	int err = 0;

	if (!o)
		return NULL;
	err |= add_u64_string(o, "count", h->count);
	err |= add_double(o, "sum", hl_hist_value(h, h->sum_ns));
	err |= add_int(o, "scale", h->scale);
	err |= add_u64_string(o, "zeroCount", h->zero_count);
	while (first < last && !h->counts[first])
		first++;
	while (last > first && !h->counts[last - 1])
		last--;
	if (first < last) {
		cJSON *pos = cJSON_AddObjectToObject(o, "positive");
		/*
		 * The counts as one raw item, ["3","0","12"], printed as an
		 * array of strings would be: one allocation instead of one
		 * per bucket (the agent's dearest part of an export).
		 */
		char *txt = malloc((size_t)(last - first) * 23 + 3), *t = txt;

		err |= add_int(pos, "offset", (int64_t)h->offset + first);
		if (txt) {
			*t++ = '[';
			for (k = first; k < last; k++) {
				*t++ = '"';
				t += hl_dec_u64(t, h->counts[k]);
				*t++ = '"';
				*t++ = k + 1 < last ? ',' : ']';
			}
			*t = 0;
		}
		if (!pos || !txt || !cJSON_AddRawToObject(pos, "bucketCounts", txt))
			err = -1;
		free(txt);
	}
	if (h->has_min)
		err |= add_double(o, "min", hl_hist_value(h, h->min_ns));
	if (h->has_max)
		err |= add_double(o, "max", hl_hist_value(h, h->max_ns));
	if (err) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- requests ---------------------------------------------------------------------------- */

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

/* The histogram's exemplar (the largest sample of the interval), as OTLP's Exemplar. */
static int add_exemplars(cJSON *dp, const struct hl_hist *h)
{
	const struct hl_exemplar *e = h->exemplar;
	cJSON *arr, *ex, *attrs;
	int err = 0;

	if (!e)
		return 0;
	arr = cJSON_AddArrayToObject(dp, "exemplars");
	ex = cJSON_CreateObject();
	if (!arr || !ex || !cJSON_AddItemToArray(arr, ex)) {
		cJSON_Delete(ex);
		return -1;
	}
	attrs = cJSON_AddArrayToObject(ex, "filteredAttributes");
	for (unsigned int i = 0; attrs && i < e->n_attrs && i < HL_EXEMPLAR_MAX_ATTRS; i++) {
		const struct hl_exemplar_attr *a = &e->attrs[i];
		cJSON *kv = cJSON_CreateObject(), *val = cJSON_CreateObject();

		if (!kv || !val || !cJSON_AddItemToArray(attrs, kv)) {
			cJSON_Delete(kv);
			cJSON_Delete(val);
			return -1;
		}
		cJSON_AddStringToObject(kv, "key", a->key);
		cJSON_AddItemToObject(kv, "value", val);
		/* int64 in the protobuf JSON mapping: a decimal string */
		if (!cJSON_AddStringToObject(val, a->is_int ? "intValue" : "stringValue", a->value))
			err = -1;
	}
	if (!attrs)
		err = -1;
	err |= add_u64_string(ex, "timeUnixNano", e->time_unix_ns);
	err |= add_double(ex, "asDouble", hl_hist_value(h, e->value_ns));
	return err;
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
	dp = hl_otlp_hist_to_json(h);
	if (!dp)
		return NULL;
	cJSON_AddItemToObject(dp, "attributes", attributes(p->attrs, p->n_attrs));
	add_times(dp, b, delta, true);
	if (add_exemplars(dp, h)) {
		cJSON_Delete(dp);
		return NULL;
	}
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

static cJSON *point(const struct hl_batch *b, const struct hl_metric *m, size_t i, bool delta)
{
	if (m->kind == HL_METRIC_EXPHIST)
		return exphist_point(b, &m->points[i], delta);
	return number_point(b, &m->points[i], m->kind, delta);
}

/* The metric without data points: its "dataPoints" array is returned in *points. */
static cJSON *metric_shell(const struct hl_metric *m, bool delta, cJSON **points)
{
	cJSON *obj = cJSON_CreateObject(), *data = cJSON_CreateObject();
	const char *kind_key;
	bool ok = obj && data;

	*points = NULL;
	ok = ok && cJSON_AddStringToObject(obj, "name", m->name);
	if (m->description)
		ok = ok && cJSON_AddStringToObject(obj, "description", m->description);
	if (m->unit)
		ok = ok && cJSON_AddStringToObject(obj, "unit", m->unit);
	switch (m->kind) {
	case HL_METRIC_EXPHIST:
		kind_key = "exponentialHistogram";
		break;
	case HL_METRIC_COUNTER:
		kind_key = "sum";
		ok = ok && cJSON_AddBoolToObject(data, "isMonotonic", 1);
		break;
	default:
		kind_key = "gauge";
		break;
	}
	if (m->kind != HL_METRIC_GAUGE)
		ok = ok &&
		     cJSON_AddNumberToObject(data, "aggregationTemporality",
					     delta ? TEMPORALITY_DELTA : TEMPORALITY_CUMULATIVE);
	ok = ok && (*points = cJSON_AddArrayToObject(data, "dataPoints"));
	if (ok && cJSON_AddItemToObject(obj, kind_key, data))
		return obj;
	cJSON_Delete(data);
	cJSON_Delete(obj);
	*points = NULL;
	return NULL;
}

static cJSON *metric(const struct hl_batch *b, const struct hl_metric *m, bool delta)
{
	cJSON *points, *obj = metric_shell(m, delta, &points);

	for (size_t i = 0; obj && i < m->n_points; i++) {
		cJSON *dp = point(b, m, i, delta);

		if (dp)
			cJSON_AddItemToArray(points, dp);
	}
	if (!obj || cJSON_GetArraySize(points) == 0) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/* The request without metrics: its "metrics" array is returned in *metrics. */
static cJSON *envelope(const struct hl_batch *batch, cJSON **metrics)
{
	cJSON *req = cJSON_CreateObject(), *rms, *rm, *res, *sms, *sm, *scope;

	*metrics = NULL;
	rms = cJSON_AddArrayToObject(req, "resourceMetrics");
	rm = cJSON_CreateObject();
	if (!rms || !rm || !cJSON_AddItemToArray(rms, rm)) {
		cJSON_Delete(rm);
		cJSON_Delete(req);
		return NULL;
	}
	res = cJSON_AddObjectToObject(rm, "resource");
	if (!res || !cJSON_AddItemToObject(res, "attributes",
					   attributes(batch->resource, batch->n_resource)))
		goto fail;
	sms = cJSON_AddArrayToObject(rm, "scopeMetrics");
	sm = cJSON_CreateObject();
	if (!sms || !sm || !cJSON_AddItemToArray(sms, sm)) {
		cJSON_Delete(sm);
		goto fail;
	}
	scope = cJSON_AddObjectToObject(sm, "scope");
	if (!scope || !cJSON_AddStringToObject(scope, "name",
					       batch->scope_name ? batch->scope_name : "hostlat"))
		goto fail;
	if (batch->scope_version &&
	    !cJSON_AddStringToObject(scope, "version", batch->scope_version))
		goto fail;
	*metrics = cJSON_AddArrayToObject(sm, "metrics");
	if (*metrics)
		return req;
fail:
	cJSON_Delete(req);
	return NULL;
}

cJSON *hl_otlp_encode(const struct hl_batch *batch, bool delta)
{
	cJSON *metrics, *req = envelope(batch, &metrics);

	for (size_t i = 0; req && i < batch->n_metrics; i++) {
		cJSON *m = metric(batch, &batch->metrics[i], delta);

		if (m)
			cJSON_AddItemToArray(metrics, m);
	}
	if (!req || cJSON_GetArraySize(metrics) == 0) {
		cJSON_Delete(req);
		return NULL;
	}
	return req;
}

/* ---- data points as text ------------------------------------------------------------ */

/*
 * The data points point() builds, written straight into a buffer:
 * building, printing and freeing a cJSON tree per point was most of an
 * export's CPU. The unit tests hold the two byte for byte equal
 * (hl_otlp_encode_split against cJSON_PrintUnformatted(hl_otlp_encode())).
 */
struct jbuf {
	char *p;
	size_t len, cap;
	bool nomem;
};

static void jb_raw(struct jbuf *b, const char *s, size_t n)
{
	if (b->nomem)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->nomem = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

#define jb_lit(b, s) jb_raw(b, s, sizeof(s) - 1)

/* A JSON string, escaped as cJSON escapes it. */
static void jb_str(struct jbuf *b, const char *s)
{
	const char *run = s;

	jb_lit(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c >= 32 && c != '"' && c != '\\')
			continue;
		jb_raw(b, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"':
			jb_lit(b, "\\\"");
			break;
		case '\\':
			jb_lit(b, "\\\\");
			break;
		case '\b':
			jb_lit(b, "\\b");
			break;
		case '\f':
			jb_lit(b, "\\f");
			break;
		case '\n':
			jb_lit(b, "\\n");
			break;
		case '\r':
			jb_lit(b, "\\r");
			break;
		case '\t':
			jb_lit(b, "\\t");
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jb_raw(b, esc, 6);
		}
	}
	jb_raw(b, run, (size_t)(s - run));
	jb_lit(b, "\"");
}

static void jb_u64s(struct jbuf *b, uint64_t v)
{
	char buf[24];
	size_t n;

	buf[0] = '"';
	n = 1 + hl_dec_u64(buf + 1, v);
	buf[n++] = '"';
	jb_raw(b, buf, n);
}

/* An integer as cJSON prints an integral number that fits an int. */
static void jb_int(struct jbuf *b, int64_t v)
{
	char buf[24];

	jb_raw(b, buf, (size_t)snprintf(buf, sizeof(buf), "%" PRId64, v));
}

/* A double as add_double() prints it: the shortest %g that reads back exactly. */
static void jb_double(struct jbuf *b, double v)
{
	char buf[40];
	int prec, n = 0;

	if (!isfinite(v))
		v = 0;
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	jb_raw(b, buf, (size_t)n);
}

/* A number as cJSON prints it (gauges): through cJSON itself. */
static void jb_cjson_number(struct jbuf *b, double v)
{
	cJSON *n = cJSON_CreateNumber(v);
	char *s = n ? cJSON_PrintUnformatted(n) : NULL;

	if (s)
		jb_raw(b, s, strlen(s));
	else
		b->nomem = true;
	cJSON_free(s);
	cJSON_Delete(n);
}

static void jb_attrs(struct jbuf *b, const struct hl_attr *attrs, size_t n)
{
	jb_lit(b, "\"attributes\":[");
	for (size_t i = 0; i < n; i++) {
		jb_raw(b, i ? ",{" : "{", i ? 2 : 1);
		if (attrs[i].key) {
			jb_lit(b, "\"key\":");
			jb_str(b, attrs[i].key);
			jb_lit(b, ",");
		}
		jb_lit(b, "\"value\":{\"stringValue\":");
		jb_str(b, attrs[i].value ? attrs[i].value : "");
		jb_lit(b, "}}");
	}
	jb_lit(b, "]");
}

static void jb_times(struct jbuf *b, const struct hl_batch *batch, bool delta, bool with_start)
{
	if (with_start) {
		jb_lit(b, ",\"startTimeUnixNano\":");
		jb_u64s(b, delta ? batch->prev_unix_ns : batch->start_unix_ns);
	}
	jb_lit(b, ",\"timeUnixNano\":");
	jb_u64s(b, batch->time_unix_ns);
}

static void jb_hist(struct jbuf *b, const struct hl_hist *h)
{
	uint32_t first = 0, last = h->len;

	jb_lit(b, "\"count\":");
	jb_u64s(b, h->count);
	jb_lit(b, ",\"sum\":");
	jb_double(b, hl_hist_value(h, h->sum_ns));
	jb_lit(b, ",\"scale\":");
	jb_int(b, h->scale);
	jb_lit(b, ",\"zeroCount\":");
	jb_u64s(b, h->zero_count);
	while (first < last && !h->counts[first])
		first++;
	while (last > first && !h->counts[last - 1])
		last--;
	if (first < last) {
		jb_lit(b, ",\"positive\":{\"offset\":");
		jb_int(b, (int64_t)h->offset + first);
		jb_lit(b, ",\"bucketCounts\":[");
		for (uint32_t k = first; k < last; k++) {
			if (k > first)
				jb_lit(b, ",");
			jb_u64s(b, h->counts[k]);
		}
		jb_lit(b, "]}");
	}
	if (h->has_min) {
		jb_lit(b, ",\"min\":");
		jb_double(b, hl_hist_value(h, h->min_ns));
	}
	if (h->has_max) {
		jb_lit(b, ",\"max\":");
		jb_double(b, hl_hist_value(h, h->max_ns));
	}
}

static void jb_exemplar(struct jbuf *b, const struct hl_hist *h)
{
	const struct hl_exemplar *e = h->exemplar;

	jb_lit(b, ",\"exemplars\":[{\"filteredAttributes\":[");
	for (unsigned int i = 0; i < e->n_attrs && i < HL_EXEMPLAR_MAX_ATTRS; i++) {
		const struct hl_exemplar_attr *a = &e->attrs[i];

		jb_raw(b, i ? ",{" : "{", i ? 2 : 1);
		jb_lit(b, "\"key\":");
		jb_str(b, a->key);
		jb_lit(b, ",\"value\":{");
		jb_str(b, a->is_int ? "intValue" : "stringValue");
		jb_lit(b, ":");
		jb_str(b, a->value);
		jb_lit(b, "}}");
	}
	jb_lit(b, "],\"timeUnixNano\":");
	jb_u64s(b, e->time_unix_ns);
	jb_lit(b, ",\"asDouble\":");
	jb_double(b, hl_hist_value(h, e->value_ns));
	jb_lit(b, "}]");
}

/* Point i of m as text in b (emptied first): 1, 0 when it has nothing to send, -1 on ENOMEM. */
static int point_text(const struct hl_batch *batch, const struct hl_metric *m, size_t i, bool delta,
		      struct jbuf *b)
{
	const struct hl_point *p = &m->points[i];

	b->len = 0;
	b->nomem = false;
	if (m->kind == HL_METRIC_EXPHIST) {
		const struct hl_hist *h = delta ? p->delta : p->cumulative;

		if (!h || (delta && h->count == 0))
			return 0;
		jb_lit(b, "{");
		jb_hist(b, h);
		jb_lit(b, ",");
		jb_attrs(b, p->attrs, p->n_attrs);
		jb_times(b, batch, delta, true);
		if (h->exemplar)
			jb_exemplar(b, h);
	} else if (m->kind == HL_METRIC_COUNTER) {
		jb_lit(b, "{");
		jb_attrs(b, p->attrs, p->n_attrs);
		jb_times(b, batch, delta, true);
		jb_lit(b, ",\"asInt\":");
		jb_u64s(b, delta ? p->value_delta : p->value);
	} else {
		jb_lit(b, "{");
		jb_attrs(b, p->attrs, p->n_attrs);
		jb_times(b, batch, delta, false);
		jb_lit(b, ",\"asDouble\":");
		jb_cjson_number(b, isfinite(p->gauge) ? p->gauge : 0);
	}
	jb_lit(b, "}");
	return b->nomem ? -1 : 1;
}

/* ---- splitting a batch into requests ------------------------------------------------ */

/*
 * A JSON text with one empty array, cut there: text[0..pre) opens the
 * array, text[pre..len) closes it. The envelope's (its metrics) and each
 * metric shell's (its dataPoints).
 */
struct frame {
	char *text;
	size_t len, pre;
};

/* The envelope, printed by cJSON once per split: its empty metrics array ends it. */
static int envelope_frame(const struct hl_batch *batch, struct frame *f)
{
	cJSON *metrics, *env = envelope(batch, &metrics);
	const char *tail;

	f->text = env ? cJSON_PrintUnformatted(env) : NULL;
	cJSON_Delete(env);
	if (!f->text)
		return -1;
	f->len = strlen(f->text);
	tail = "\"metrics\":[]}]}]}";
	if (f->len < strlen(tail) || strcmp(f->text + f->len - strlen(tail), tail))
		return -1;
	f->pre = f->len - strlen("]}]}]}");
	return 0;
}

/* The text metric_shell() prints, written directly (one per metric and split). */
static int shell_frame(const struct hl_metric *m, bool delta, struct jbuf *b, struct frame *f)
{
	b->len = 0;
	b->nomem = false;
	jb_lit(b, "{\"name\":");
	jb_str(b, m->name);
	if (m->description) {
		jb_lit(b, ",\"description\":");
		jb_str(b, m->description);
	}
	if (m->unit) {
		jb_lit(b, ",\"unit\":");
		jb_str(b, m->unit);
	}
	if (m->kind == HL_METRIC_EXPHIST)
		jb_lit(b, ",\"exponentialHistogram\":{");
	else if (m->kind == HL_METRIC_COUNTER)
		jb_lit(b, ",\"sum\":{\"isMonotonic\":true,");
	else
		jb_lit(b, ",\"gauge\":{");
	if (m->kind != HL_METRIC_GAUGE) {
		jb_lit(b, "\"aggregationTemporality\":");
		jb_int(b, delta ? TEMPORALITY_DELTA : TEMPORALITY_CUMULATIVE);
		jb_lit(b, ",");
	}
	jb_lit(b, "\"dataPoints\":[");
	f->pre = b->len;
	jb_lit(b, "]}}");
	f->text = b->p;
	f->len = b->len;
	return b->nomem ? -1 : 0;
}

/* The request being filled: its text so far, and the metric whose points it is taking. */
struct pending {
	struct jbuf text;
	bool open, metric_open;
	size_t metric; /* index in the batch of the metric added last */
	size_t size;   /* its length once closed */
	size_t n_points, n_metrics;
};

/* Close the open metric (its shell's end) in p. */
static void close_metric(struct pending *p, const struct frame *shell)
{
	if (p->metric_open)
		jb_raw(&p->text, shell->text + shell->pre, shell->len - shell->pre);
	p->metric_open = false;
}

static int flush_pending(struct pending *p, const struct frame *env, const struct frame *shell,
			 struct hl_otlp_split *out)
{
	struct hl_otlp_body *v, body;

	if (!p->open)
		return 0;
	close_metric(p, shell);
	jb_raw(&p->text, env->text + env->pre, env->len - env->pre);
	if (p->text.nomem)
		return -ENOMEM;
	v = realloc(out->v, (out->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	body.json = p->text.p;
	body.len = p->text.len;
	body.n_points = p->n_points;
	out->v = v;
	out->v[out->n++] = body;
	out->n_points += p->n_points;
	memset(p, 0, sizeof(*p));
	return 0;
}

static int encode_split(const struct hl_batch *batch, bool delta, size_t max_bytes,
			struct hl_otlp_split *out);

/*
 * The last batch encoded as one request, for the next exporter of the
 * same batch (stdout json and otlp_http print the same text): keyed by
 * the batch's serial, which no other batch has. Up to MEMO_MAX bytes.
 */
#define MEMO_MAX (1U << 20)

static struct {
	pthread_mutex_t lock;
	uint64_t serial; /* 0: empty */
	bool delta;
	char *json;
	size_t len, n_points;
} memo = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The memo as the whole split of batch when it fits max_bytes: true, or false. */
static bool memo_get(const struct hl_batch *batch, bool delta, size_t max_bytes,
		     struct hl_otlp_split *out)
{
	bool hit = false;

	if (!batch->serial)
		return false;
	pthread_mutex_lock(&memo.lock);
	if (memo.serial == batch->serial && memo.delta == delta && memo.len <= max_bytes) {
		struct hl_otlp_body *v = malloc(sizeof(*v));
		char *json = malloc(memo.len + 1);

		if (v && json) {
			memcpy(json, memo.json, memo.len + 1);
			*v = (struct hl_otlp_body){
				.json = json, .len = memo.len, .n_points = memo.n_points};
			*out = (struct hl_otlp_split){.v = v, .n = 1, .n_points = memo.n_points};
			hit = true;
		} else {
			free(v);
			free(json);
		}
	}
	pthread_mutex_unlock(&memo.lock);
	return hit;
}

/* Keep a split of batch that is its whole request. */
static void memo_put(const struct hl_batch *batch, bool delta, const struct hl_otlp_split *sp)
{
	char *json;

	if (!batch->serial || sp->n != 1 || sp->oversize_points || sp->v[0].len > MEMO_MAX)
		return;
	json = malloc(sp->v[0].len + 1);
	if (!json)
		return;
	memcpy(json, sp->v[0].json, sp->v[0].len + 1);
	pthread_mutex_lock(&memo.lock);
	free(memo.json);
	memo.serial = batch->serial;
	memo.delta = delta;
	memo.json = json;
	memo.len = sp->v[0].len;
	memo.n_points = sp->v[0].n_points;
	pthread_mutex_unlock(&memo.lock);
}

void hl_otlp_memo_clear(void)
{
	pthread_mutex_lock(&memo.lock);
	free(memo.json);
	memo.json = NULL;
	memo.serial = 0;
	memo.len = 0;
	pthread_mutex_unlock(&memo.lock);
}

int hl_otlp_encode_split(const struct hl_batch *batch, bool delta, size_t max_bytes,
			 struct hl_otlp_split *out)
{
	if (memo_get(batch, delta, max_bytes, out))
		return 0;
	if (encode_split(batch, delta, max_bytes, out))
		return -ENOMEM;
	memo_put(batch, delta, out);
	return 0;
}

static int encode_split(const struct hl_batch *batch, bool delta, size_t max_bytes,
			struct hl_otlp_split *out)
{
	struct pending p = {0};
	struct jbuf jb = {0};
	struct jbuf shell_text = {0};
	struct frame env = {0}, shell = {0};
	bool nomem = envelope_frame(batch, &env) != 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; !nomem && i < batch->n_metrics; i++) {
		const struct hl_metric *m = &batch->metrics[i];

		nomem |= shell_frame(m, delta, &shell_text, &shell) != 0;
		for (size_t j = 0; !nomem && j < m->n_points; j++) {
			int r = point_text(batch, m, j, delta, &jb);
			size_t add;

			if (r <= 0) {
				nomem |= r < 0;
				continue;
			}
			if (env.len + shell.len + jb.len > max_bytes) {
				out->oversize_points++;
				continue;
			}
			/* bytes this point adds: itself, its metric if new, separators */
			if (p.open && p.metric_open)
				add = jb.len + 1;
			else
				add = shell.len + jb.len + (p.n_metrics ? 1 : 0);
			if (p.open && p.size + add > max_bytes &&
			    flush_pending(&p, &env, &shell, out)) {
				nomem = true;
				break;
			}
			if (!p.open) {
				jb_raw(&p.text, env.text, env.pre);
				p.open = true;
				p.size = env.len;
				add = shell.len + jb.len;
			}
			if (!p.metric_open) {
				if (p.n_metrics)
					jb_lit(&p.text, ",");
				jb_raw(&p.text, shell.text, shell.pre);
				p.metric_open = true;
				p.metric = i;
				p.n_metrics++;
			} else {
				jb_lit(&p.text, ",");
			}
			jb_raw(&p.text, jb.p, jb.len);
			p.size += add;
			p.n_points++;
			nomem |= p.text.nomem;
		}
		close_metric(&p, &shell);
	}
	if (!nomem && flush_pending(&p, &env, &shell, out))
		nomem = true;
	free(p.text.p);
	free(jb.p);
	free(shell_text.p);
	cJSON_free(env.text);
	if (nomem) {
		hl_otlp_split_free(out);
		return -ENOMEM;
	}
	return 0;
}

/* The whole request as one body of a split without a size limit: the same text. */
char *hl_otlp_encode_string(const struct hl_batch *batch, bool delta)
{
	struct hl_otlp_split sp;
	char *s;

	if (hl_otlp_encode_split(batch, delta, SIZE_MAX, &sp) || sp.n != 1) {
		hl_otlp_split_free(&sp);
		return NULL;
	}
	s = sp.v[0].json;
	sp.v[0].json = NULL;
	hl_otlp_split_free(&sp);
	return s;
}

void hl_otlp_split_free(struct hl_otlp_split *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		cJSON_free(s->v[i].json);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- responses -------------------------------------------------------------------- */

/*
 * Printable ASCII of s[0..len) into out: runs of blanks and control
 * characters become one space, other bytes '?', at most max characters,
 * without leading or trailing spaces.
 */
static void printable(const char *s, size_t len, size_t max, char *out, size_t outlen)
{
	size_t o = 0;
	bool space = false;

	if (!outlen)
		return;
	if (max > outlen - 1)
		max = outlen - 1;
	for (size_t i = 0; i < len && o < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f) {
			space = o > 0;
			continue;
		}
		if (space && o + 1 < max)
			out[o++] = ' ';
		space = false;
		out[o++] = c < 0x7f ? (char)c : '?';
	}
	out[o] = 0;
}

static const cJSON *member(const cJSON *o, const char *camel, const char *snake)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, camel);

	return v ? v : cJSON_GetObjectItemCaseSensitive(o, snake);
}

void hl_otlp_parse_success(const char *body, size_t len, uint64_t *rejected, char *msg,
			   size_t msglen)
{
	cJSON *root;
	const cJSON *ps, *n, *em;

	*rejected = 0;
	if (msglen)
		msg[0] = 0;
	if (!body || !len)
		return;
	root = cJSON_ParseWithLength(body, len);
	ps = member(root, "partialSuccess", "partial_success");
	n = member(ps, "rejectedDataPoints", "rejected_data_points");
	if (cJSON_IsString(n) && n->valuestring[0] >= '0' && n->valuestring[0] <= '9') {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(n->valuestring, &end, 10);
		if (!*end && !errno)
			*rejected = v;
	} else if (cJSON_IsNumber(n) && n->valuedouble >= 1 && n->valuedouble < 1.8e19) {
		*rejected = (uint64_t)n->valuedouble;
	}
	em = member(ps, "errorMessage", "error_message");
	if (cJSON_IsString(em))
		printable(em->valuestring, strlen(em->valuestring), 200, msg, msglen);
	cJSON_Delete(root);
}

void hl_otlp_error_text(const char *body, size_t len, char *msg, size_t msglen)
{
	cJSON *root;
	const cJSON *m;

	if (msglen)
		msg[0] = 0;
	if (!body || !len)
		return;
	root = cJSON_ParseWithLength(body, len);
	m = cJSON_GetObjectItemCaseSensitive(root, "message");
	if (cJSON_IsString(m) && m->valuestring[0])
		printable(m->valuestring, strlen(m->valuestring), 200, msg, msglen);
	if (msglen && !msg[0]) /* no message, or nothing printable in it */
		printable(body, len, 200, msg, msglen);
	cJSON_Delete(root);
}
