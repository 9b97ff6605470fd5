/* SPDX-License-Identifier: MIT */
/*
 * OTLP/JSON mapping: lowerCamelCase keys, 64-bit integers as decimal
 * strings, enums as integers, no NaN or infinities, no empty envelopes.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
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

/* ---- splitting a batch into requests ------------------------------------------------ */

static size_t printed_len(const cJSON *item, bool *nomem)
{
	char *s = cJSON_PrintUnformatted(item);
	size_t n;

	if (!s) {
		*nomem = true;
		return 0;
	}
	n = strlen(s);
	cJSON_free(s);
	return n;
}

/* item replaced by a raw item of its text (freed either way), and that text's length. */
static cJSON *printed(cJSON *item, size_t *len, bool *nomem)
{
	char *s = cJSON_PrintUnformatted(item);
	cJSON *raw = s ? cJSON_CreateRaw(s) : NULL;

	cJSON_Delete(item);
	*len = s ? strlen(s) : 0;
	cJSON_free(s);
	if (!raw)
		*nomem = true;
	return raw;
}

/* resourceMetrics[0].scopeMetrics[0].metrics of a request made by envelope(). */
static cJSON *request_metrics(cJSON *req)
{
	cJSON *rm = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(req, "resourceMetrics"), 0);
	cJSON *sm = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rm, "scopeMetrics"), 0);

	return cJSON_GetObjectItemCaseSensitive(sm, "metrics");
}

/* The dataPoints array of a metric made by metric_shell(). */
static cJSON *shell_points(cJSON *shell)
{
	cJSON *c;

	cJSON_ArrayForEach(c, shell) if (cJSON_IsObject(c)) return cJSON_GetObjectItemCaseSensitive(
		c, "dataPoints");
	return NULL;
}

/* The request being filled. */
struct pending {
	cJSON *req, *metrics, *points; /* points: of the metric added last */
	size_t metric;		       /* index in the batch of the metric added last */
	size_t size;		       /* printed length so far */
	size_t n_points, n_metrics, n_metric_points;
};

static int flush_pending(struct pending *p, struct hl_otlp_split *out)
{
	struct hl_otlp_body *v, body;

	if (!p->req)
		return 0;
	body.json = cJSON_PrintUnformatted(p->req);
	cJSON_Delete(p->req);
	if (!body.json)
		return -ENOMEM;
	body.len = strlen(body.json);
	body.n_points = p->n_points;
	v = realloc(out->v, (out->n + 1) * sizeof(*v));
	if (!v) {
		cJSON_free(body.json);
		return -ENOMEM;
	}
	out->v = v;
	out->v[out->n++] = body;
	out->n_points += p->n_points;
	memset(p, 0, sizeof(*p));
	return 0;
}

int hl_otlp_encode_split(const struct hl_batch *batch, bool delta, size_t max_bytes,
			 struct hl_otlp_split *out)
{
	struct pending p = {0};
	cJSON *env_metrics, *env = envelope(batch, &env_metrics);
	bool nomem = !env;
	size_t env_len;

	memset(out, 0, sizeof(*out));
	env_len = env ? printed_len(env, &nomem) : 0;
	for (size_t i = 0; !nomem && i < batch->n_metrics; i++) {
		const struct hl_metric *m = &batch->metrics[i];
		cJSON *shell_pts, *shell = metric_shell(m, delta, &shell_pts);
		size_t shell_len = shell ? printed_len(shell, &nomem) : 0;

		nomem |= !shell;
		for (size_t j = 0; !nomem && j < m->n_points; j++) {
			cJSON *dp = point(batch, m, j, delta);
			size_t dp_len, add;

			if (!dp)
				continue;
			/* printed once: measured, then added as its text */
			dp = printed(dp, &dp_len, &nomem);
			if (!dp)
				break;
			if (env_len + shell_len + dp_len > max_bytes) {
				out->oversize_points++;
				cJSON_Delete(dp);
				continue;
			}
			/* bytes this point adds: itself, its metric if new, separators */
			if (p.req && p.metric == i)
				add = dp_len + 1;
			else
				add = shell_len + dp_len + (p.n_metrics ? 1 : 0);
			if (p.req && p.size + add > max_bytes) {
				if (flush_pending(&p, out)) {
					nomem = true;
					cJSON_Delete(dp);
					break;
				}
			}
			if (!p.req) {
				p.req = cJSON_Duplicate(env, true);
				p.metrics = request_metrics(p.req);
				p.size = env_len;
				add = shell_len + dp_len;
			}
			if (p.req && (p.n_metrics == 0 || p.metric != i)) {
				cJSON *copy = cJSON_Duplicate(shell, true);

				p.points = shell_points(copy);
				if (!copy || !p.points || !cJSON_AddItemToArray(p.metrics, copy)) {
					cJSON_Delete(copy);
					p.points = NULL;
				}
				p.metric = i;
				p.n_metrics++;
				p.n_metric_points = 0;
			}
			if (!p.points || !cJSON_AddItemToArray(p.points, dp)) {
				cJSON_Delete(dp);
				nomem = true;
				break;
			}
			p.size += add;
			p.n_points++;
			p.n_metric_points++;
		}
		cJSON_Delete(shell);
	}
	if (!nomem && flush_pending(&p, out))
		nomem = true;
	cJSON_Delete(p.req);
	cJSON_Delete(env);
	if (nomem) {
		hl_otlp_split_free(out);
		return -ENOMEM;
	}
	return 0;
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
