/* SPDX-License-Identifier: MIT */
/*
 * The prometheus exporter's encoders (exporters/prometheus.h): names and
 * labels, the text format with classic buckets, and the delimited
 * protobuf format (io.prometheus.client.MetricFamily) with native
 * histograms, written by hand: varints, zigzag, length-delimited fields.
 *
 * Native histograms: Prometheus's schema is OTel's scale and its bucket
 * index is OTel's plus one (Prometheus bucket i holds (2^((i-1)/2^s),
 * 2^(i/2^s)], OTel's (2^(i/2^s), 2^((i+1)/2^s)]). A scale above 8 is
 * downscaled exactly (buckets merged) to 8; a scale below -4, which
 * Prometheus has no schema for and which cannot be split exactly, is sent
 * as a classic histogram (its own bucket bounds, all powers of 2).
 * Values of exactly 0 are the zero bucket, whose threshold is 2^-128 (far
 * below any bucket: 1 ns is 2^-29.9 s).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "prometheus.h"

#define ZERO_THRESHOLD_EXP (-128)
#define MAX_NAME 256
#define MAX_SCHEMA 8
#define MIN_SCHEMA (-4)
/* Empty buckets a span may bridge (cheaper than a new span). */
#define SPAN_GAP 2

/* ---- buffers -------------------------------------------------------------------------- */

struct gbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static bool gb_reserve(struct gbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (n <= b->cap - b->len)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void gb_putn(struct gbuf *b, const void *s, size_t n)
{
	if (!n || !gb_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void gb_puts(struct gbuf *b, const char *s)
{
	gb_putn(b, s, strlen(s));
}

static void gb_putc(struct gbuf *b, char c)
{
	gb_putn(b, &c, 1);
}

static void gb_free(struct gbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* The page: a gbuf that never grows past max. */
static bool page_append(struct hl_prom_buf *pg, const char *s, size_t n)
{
	struct gbuf g = {pg->p, pg->len, pg->cap, pg->failed};
	bool ok;

	if (pg->len + n > pg->max)
		return false;
	gb_putn(&g, s, n);
	ok = !g.failed;
	pg->p = g.p;
	pg->len = g.len;
	pg->cap = g.cap;
	pg->failed = g.failed;
	return ok;
}

void hl_prom_buf_free(struct hl_prom_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- names ------------------------------------------------------------------------------ */

static bool name_char(unsigned char c, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (colon && c == ':');
}

/* s sanitised into out: other characters as '_', runs of '_' as one. */
static void sanitize(const char *s, bool colon, char *out, size_t len)
{
	size_t o = 0;

	for (; s && *s && o + 1 < len; s++) {
		char c = name_char((unsigned char)*s, colon) ? *s : '_';

		if (c == '_' && o && out[o - 1] == '_')
			continue;
		out[o++] = c;
	}
	out[o] = 0;
}

/* The word for a unit without annotations, or NULL: s -> seconds... */
static const char *unit_word(const char *u, bool per)
{
	static const struct {
		const char *unit, *word, *per;
	} map[] = {
		{"d", "days", "day"},
		{"h", "hours", "hour"},
		{"min", "minutes", "minute"},
		{"s", "seconds", "second"},
		{"ms", "milliseconds", "millisecond"},
		{"us", "microseconds", "microsecond"},
		{"ns", "nanoseconds", "nanosecond"},
		{"By", "bytes", "byte"},
		{"KiBy", "kibibytes", "kibibyte"},
		{"MiBy", "mebibytes", "mebibyte"},
		{"GiBy", "gibibytes", "gibibyte"},
		{"KBy", "kilobytes", "kilobyte"},
		{"MBy", "megabytes", "megabyte"},
		{"GBy", "gigabytes", "gigabyte"},
		{"bit", "bits", "bit"},
		{"m", "meters", "meter"},
		{"V", "volts", "volt"},
		{"A", "amperes", "ampere"},
		{"J", "joules", "joule"},
		{"W", "watts", "watt"},
		{"g", "grams", "gram"},
		{"Cel", "celsius", "celsius"},
		{"Hz", "hertz", "hertz"},
		{"%", "percent", "percent"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(u, map[i].unit))
			return per ? map[i].per : map[i].word;
	return NULL;
}

/* A unit part ("By", "{packet}", "s") as its word; "" for none. */
static void unit_part(const char *u, size_t n, bool per, char *out, size_t len)
{
	char buf[64];
	const char *w;
	size_t o = 0;
	int depth = 0;

	/* annotations {...} removed */
	for (size_t i = 0; i < n && o + 1 < sizeof(buf); i++) {
		if (u[i] == '{')
			depth++;
		else if (u[i] == '}' && depth)
			depth--;
		else if (!depth)
			buf[o++] = u[i];
	}
	buf[o] = 0;
	if (!buf[0] || !strcmp(buf, "1")) {
		out[0] = 0;
		return;
	}
	w = unit_word(buf, per);
	sanitize(w ? w : buf, false, out, len);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return m <= n && !strcmp(s + n - m, suffix);
}

static void append_suffix(char *out, size_t len, const char *word)
{
	char suf[96];
	size_t n = strlen(out);

	if (!word[0])
		return;
	snprintf(suf, sizeof(suf), "_%s", word);
	if (ends_with(out, suf) || !strcmp(out, word))
		return;
	if (n && out[n - 1] == '_')
		snprintf(suf, sizeof(suf), "%s", word);
	snprintf(out + n, len - n, "%s", suf);
}

void hl_prom_metric_name(const char *name, const char *unit, enum hl_metric_kind kind, char *out,
			 size_t len)
{
	char word[96] = "", per[64] = "";
	const char *slash = unit ? strchr(unit, '/') : NULL;

	if (len < 2) {
		if (len)
			out[0] = 0;
		return;
	}
	if (name && (name[0] >= '0' && name[0] <= '9')) {
		out[0] = '_';
		sanitize(name, true, out + 1, len - 1);
	} else {
		sanitize(name && *name ? name : "unnamed", true, out, len);
	}
	if (unit) {
		unit_part(unit, slash ? (size_t)(slash - unit) : strlen(unit), false, word,
			  sizeof(word));
		if (slash) {
			unit_part(slash + 1, strlen(slash + 1), true, per, sizeof(per));
			if (per[0]) {
				size_t n = strlen(word);

				snprintf(word + n, sizeof(word) - n, "%sper_%s", n ? "_" : "", per);
			}
		}
		append_suffix(out, len, word);
	}
	if (kind == HL_METRIC_COUNTER)
		append_suffix(out, len, "total");
}

/* A label name: no ':', a leading digit gets "key_". */
static void label_name(const char *key, char *out, size_t len)
{
	if (key && key[0] >= '0' && key[0] <= '9') {
		snprintf(out, len, "key_");
		sanitize(key, false, out + strlen(out), len - strlen(out));
	} else {
		sanitize(key && *key ? key : "_", false, out, len);
	}
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* n bytes of s as valid UTF-8 (invalid bytes as U+FFFD), escaped for text when `text`. */
static void put_valuen(struct gbuf *b, const char *s, size_t n, bool text)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "");

	while (n) {
		size_t k = utf8_len(u, n);

		if (!k) {
			gb_puts(b, "\xef\xbf\xbd");
			u++;
			n--;
			continue;
		}
		if (text && k == 1 && (*u == '\\' || *u == '"' || *u == '\n'))
			gb_puts(b, *u == '\\' ? "\\\\" : *u == '"' ? "\\\"" : "\\n");
		else
			gb_putn(b, u, k);
		u += k;
		n -= k;
	}
}

static void put_value(struct gbuf *b, const char *s, bool text)
{
	put_valuen(b, s, s ? strlen(s) : 0, text);
}

/* ---- labels of a point ------------------------------------------------------------------ */

struct label {
	char name[MAX_NAME];
	struct gbuf value; /* valid UTF-8, not escaped */
};

struct labels {
	struct label *v;
	size_t n, cap;
	bool failed; /* out of memory */
};

static void labels_free(struct labels *l)
{
	for (size_t i = 0; i < l->n; i++)
		gb_free(&l->v[i].value);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Add name=value; a name already there gets ";value" appended (sanitised names collide). */
static void labels_add(struct labels *l, const char *name, const char *value)
{
	struct label *lb = NULL;

	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			lb = &l->v[i];
	if (lb) {
		gb_putc(&lb->value, ';');
	} else {
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 8;
			struct label *v = realloc(l->v, cap * sizeof(*v));

			if (!v) {
				l->failed = true;
				return;
			}
			l->v = v;
			l->cap = cap;
		}
		lb = &l->v[l->n++];
		memset(lb, 0, sizeof(*lb));
		snprintf(lb->name, sizeof(lb->name), "%s", name);
	}
	put_value(&lb->value, value, false);
}

static bool labels_failed(const struct labels *l)
{
	if (l->failed)
		return true;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].value.failed)
			return true;
	return false;
}

static void point_labels(struct labels *l, const struct hl_point *p)
{
	unsigned int n = p->n_attrs < HL_MAX_ATTRS ? p->n_attrs : HL_MAX_ATTRS;
	char name[MAX_NAME];

	memset(l, 0, sizeof(*l));
	for (unsigned int i = 0; i < n; i++) {
		label_name(p->attrs[i].key, name, sizeof(name));
		labels_add(l, name, p->attrs[i].value);
	}
}

/* ---- numbers ---------------------------------------------------------------------------- */

/* A double as the shortest text that reads back the same; NaN, +Inf, -Inf. */
static void fmt_double(double v, char *buf, size_t len)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* floor(x / 2^d), d >= 0, without relying on how >> treats negatives. */
static int64_t fshift(int64_t x, int d)
{
	int64_t q;

	if (d <= 0)
		return x;
	if (d > 62)
		return x < 0 ? -1 : 0;
	q = x / ((int64_t)1 << d);
	if (x < 0 && q * ((int64_t)1 << d) != x)
		q--;
	return q;
}

/*
 * The classic buckets of h: n cumulative counts at upper bounds le[]
 * (ascending, +Inf not included). Configured bounds: a bucket counts under
 * a bound when its upper edge is at or below it (exact when the bound is a
 * bucket edge). Otherwise powers of 2 from the lowest to the highest
 * non-empty bucket (at scales below 0 every 2^(2^-scale)-th one), which are
 * bucket edges: exact. Caller frees *le and *cum.
 */
static int classic_buckets(const struct hl_hist *h, const double *bounds, size_t n_bounds,
			   double **le_out, uint64_t **cum_out, size_t *n_out)
{
	uint32_t first = 0, last = 0;
	bool any = false;
	double *le = NULL;
	uint64_t *cum = NULL;
	size_t n = 0;

	*le_out = NULL;
	*cum_out = NULL;
	*n_out = 0;
	for (uint32_t k = 0; k < h->len; k++) {
		if (!h->counts[k])
			continue;
		if (!any)
			first = k;
		last = k;
		any = true;
	}
	if (n_bounds) {
		le = malloc(n_bounds * sizeof(*le));
		cum = malloc(n_bounds * sizeof(*cum));
		if (!le || !cum)
			goto nomem;
		for (size_t j = 0; j < n_bounds; j++) {
			uint64_t c = h->zero_count;

			for (uint32_t k = 0; any && k <= last; k++) {
				double lo, hi;

				if (!h->counts[k])
					continue;
				hl_exph_bounds(h->scale, h->offset + (int32_t)k, &lo, &hi);
				if (hi <= bounds[j] * (1 + 1e-12))
					c += h->counts[k];
			}
			le[n] = bounds[j];
			cum[n++] = c;
		}
	} else {
		int c = h->scale < 0 ? h->scale : 0, d = h->scale - c;
		int64_t j0, j1;
		uint32_t k = 0;
		uint64_t acc = h->zero_count;

		if (!any)
			goto done;
		j0 = fshift((int64_t)h->offset + first, d);
		j1 = fshift((int64_t)h->offset + last, d) + 1;
		le = malloc((size_t)(j1 - j0 + 1) * sizeof(*le));
		cum = malloc((size_t)(j1 - j0 + 1) * sizeof(*cum));
		if (!le || !cum)
			goto nomem;
		for (int64_t j = j0; j <= j1; j++) {
			/* 2^(j 2^-c); scales below -30 (never from the agent) have only +Inf */
			int64_t ex = c < -30 ? INT64_MAX : j * ((int64_t)1 << -c);
			double v = ex > 1100 || ex < -1100 ? 0 : ldexp(1.0, (int)ex);

			/* buckets whose scale-c index is below j are at or below 2^(j 2^-c) */
			while (k <= last && fshift((int64_t)h->offset + k, d) < j)
				acc += h->counts[k++];
			if (isinf(v) || v == 0)
				continue;
			le[n] = v;
			cum[n++] = acc;
		}
	}
	*le_out = le;
	*cum_out = cum;
	*n_out = n;
	return 0;
done:
	return 0;
nomem:
	free(le);
	free(cum);
	return -ENOMEM;
}

/* ---- text ------------------------------------------------------------------------------- */

static void text_labels(struct gbuf *b, const struct labels *l, const char *le)
{
	if (!l->n && !le)
		return;
	gb_putc(b, '{');
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			gb_putc(b, ',');
		gb_puts(b, l->v[i].name);
		gb_puts(b, "=\"");
		put_valuen(b, l->v[i].value.p, l->v[i].value.len, true);
		gb_putc(b, '"');
	}
	if (le) {
		if (l->n)
			gb_putc(b, ',');
		gb_puts(b, "le=\"");
		gb_puts(b, le);
		gb_putc(b, '"');
	}
	gb_putc(b, '}');
}

static void text_sample(struct gbuf *b, const char *name, const char *suffix,
			const struct labels *l, const char *le, const char *value)
{
	gb_puts(b, name);
	gb_puts(b, suffix);
	text_labels(b, l, le);
	gb_putc(b, ' ');
	gb_puts(b, value);
	gb_putc(b, '\n');
}

static void text_help(struct gbuf *b, const char *name, const char *help, const char *type)
{
	if (help && *help) {
		struct gbuf esc = {0};

		put_value(&esc, help, false);
		gb_puts(b, "# HELP ");
		gb_puts(b, name);
		gb_putc(b, ' ');
		for (size_t i = 0; i < esc.len; i++) {
			char c = esc.p[i];

			if (c == '\\')
				gb_puts(b, "\\\\");
			else if (c == '\n')
				gb_puts(b, "\\n");
			else
				gb_putc(b, c);
		}
		gb_putc(b, '\n');
		b->failed |= esc.failed;
		gb_free(&esc);
	}
	gb_puts(b, "# TYPE ");
	gb_puts(b, name);
	gb_putc(b, ' ');
	gb_puts(b, type);
	gb_putc(b, '\n');
}

static int text_point(struct gbuf *b, const char *name, const struct hl_metric *m,
		      const struct hl_point *p, const double *bounds, size_t n_bounds)
{
	struct labels l;
	char val[64];
	int e = 0;

	point_labels(&l, p);
	switch (m->kind) {
	case HL_METRIC_COUNTER:
		snprintf(val, sizeof(val), "%llu", (unsigned long long)p->value);
		text_sample(b, name, "", &l, NULL, val);
		break;
	case HL_METRIC_GAUGE:
		fmt_double(p->gauge, val, sizeof(val));
		text_sample(b, name, "", &l, NULL, val);
		break;
	case HL_METRIC_EXPHIST: {
		const struct hl_hist *h = p->cumulative;
		double *le;
		uint64_t *cum;
		size_t n;
		char lev[64];

		if (!h)
			break;
		e = classic_buckets(h, bounds, n_bounds, &le, &cum, &n);
		if (e)
			break;
		for (size_t j = 0; j < n; j++) {
			fmt_double(le[j], lev, sizeof(lev));
			snprintf(val, sizeof(val), "%llu", (unsigned long long)cum[j]);
			text_sample(b, name, "_bucket", &l, lev, val);
		}
		snprintf(val, sizeof(val), "%llu", (unsigned long long)h->count);
		text_sample(b, name, "_bucket", &l, "+Inf", val);
		fmt_double(hl_hist_value(h, h->sum_ns), val, sizeof(val));
		text_sample(b, name, "_sum", &l, NULL, val);
		snprintf(val, sizeof(val), "%llu", (unsigned long long)h->count);
		text_sample(b, name, "_count", &l, NULL, val);
		free(le);
		free(cum);
		break;
	}
	}
	if (labels_failed(&l))
		e = -ENOMEM;
	labels_free(&l);
	return e;
}

/* ---- protobuf --------------------------------------------------------------------------- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2 };
enum { PB_COUNTER = 0, PB_GAUGE = 1, PB_HISTOGRAM = 4 };

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void pb_varint(struct gbuf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;

	do {
		tmp[n] = v & 0x7f;
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	gb_putn(b, tmp, n);
}

static void pb_tag(struct gbuf *b, unsigned int field, int wt)
{
	pb_varint(b, (uint64_t)field << 3 | (unsigned int)wt);
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static void pb_uint(struct gbuf *b, unsigned int field, uint64_t v)
{
	pb_tag(b, field, WT_VARINT);
	pb_varint(b, v);
}

static void pb_sint(struct gbuf *b, unsigned int field, int64_t v)
{
	pb_tag(b, field, WT_VARINT);
	pb_varint(b, zigzag(v));
}

static void pb_double(struct gbuf *b, unsigned int field, double v)
{
	unsigned char le[8];
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(u >> (8 * i));
	pb_tag(b, field, WT_I64);
	gb_putn(b, le, 8);
}

static void pb_bytes(struct gbuf *b, unsigned int field, const void *p, size_t n)
{
	pb_tag(b, field, WT_LEN);
	pb_varint(b, n);
	gb_putn(b, p, n);
}

static void pb_string(struct gbuf *b, unsigned int field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

/* Field `field` holding the message in m. */
static void pb_message(struct gbuf *b, unsigned int field, const struct gbuf *m)
{
	b->failed |= m->failed;
	pb_bytes(b, field, m->p, m->len);
}

/* Metric.label: LabelPair {name = 1, value = 2} */
static void pb_labels(struct gbuf *b, const struct labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct gbuf lp = {0};

		pb_string(&lp, 1, l->v[i].name);
		pb_bytes(&lp, 2, l->v[i].value.p, l->v[i].value.len);
		pb_message(b, 1, &lp);
		gb_free(&lp);
	}
}

/*
 * Histogram {sample_count = 1, sample_sum = 2, bucket = 3, schema = 5,
 * zero_threshold = 6, zero_count = 7, positive_span = 12 (BucketSpan
 * {offset = 1 sint32, length = 2}), positive_delta = 13 (packed sint64)}.
 */
static int pb_histogram(struct gbuf *b, const struct hl_hist *h)
{
	struct gbuf spans = {0}, deltas = {0};
	int schema = h->scale, d = 0, e = 0;
	int64_t prev_count = 0, prev_idx = 0;
	bool have_span = false;
	int64_t span_start = 0, span_len = 0, span_end_prev = 0;
	uint32_t k = 0;

	pb_uint(b, 1, h->count);
	pb_double(b, 2, hl_hist_value(h, h->sum_ns));
	if (schema < MIN_SCHEMA) {
		/* no native schema this coarse: classic buckets at its own (exact) bounds */
		double *le;
		uint64_t *cum;
		size_t n;

		e = classic_buckets(h, NULL, 0, &le, &cum, &n);
		for (size_t j = 0; !e && j < n; j++) {
			struct gbuf bk = {0};

			pb_uint(&bk, 1, cum[j]);
			pb_double(&bk, 2, le[j]);
			pb_message(b, 3, &bk);
			gb_free(&bk);
		}
		if (!e) {
			free(le);
			free(cum);
		}
		return e;
	}
	if (schema > MAX_SCHEMA) {
		d = schema - MAX_SCHEMA;
		schema = MAX_SCHEMA;
	}
	pb_sint(b, 5, schema);
	pb_double(b, 6, ldexp(1.0, ZERO_THRESHOLD_EXP));
	pb_uint(b, 7, h->zero_count);

	/* Merged buckets (index at `schema`, Prometheus numbering), spans and deltas. */
	while (k < h->len) {
		int64_t idx = fshift((int64_t)h->offset + k, d);
		uint64_t c = 0;

		while (k < h->len && fshift((int64_t)h->offset + k, d) == idx)
			c += h->counts[k++];
		if (!c)
			continue;
		idx += 1; /* Prometheus bucket i is OTel bucket i - 1 */
		if (have_span && idx - prev_idx - 1 <= SPAN_GAP) {
			for (int64_t z = prev_idx + 1; z < idx; z++) {
				pb_varint(&deltas, zigzag(-prev_count));
				prev_count = 0;
				span_len++;
			}
		} else {
			if (have_span) {
				struct gbuf sp = {0};

				pb_sint(&sp, 1, span_start - span_end_prev);
				pb_uint(&sp, 2, (uint64_t)span_len);
				pb_message(&spans, 12, &sp);
				gb_free(&sp);
				span_end_prev = span_start + span_len;
			}
			span_start = idx;
			span_len = 0;
			have_span = true;
		}
		pb_varint(&deltas, zigzag((int64_t)c - prev_count));
		prev_count = (int64_t)c;
		prev_idx = idx;
		span_len++;
	}
	if (have_span) {
		struct gbuf sp = {0};

		pb_sint(&sp, 1, span_start - span_end_prev);
		pb_uint(&sp, 2, (uint64_t)span_len);
		pb_message(&spans, 12, &sp);
		gb_free(&sp);
	} else {
		/* a no-op span: a native histogram without observations yet */
		pb_bytes(&spans, 12, NULL, 0);
	}
	gb_putn(b, spans.p, spans.len);
	b->failed |= spans.failed;
	if (deltas.len)
		pb_message(b, 13, &deltas);
	b->failed |= deltas.failed;
	gb_free(&spans);
	gb_free(&deltas);
	return 0;
}

/* One Metric message {label = 1, gauge = 2, counter = 3, histogram = 7}. */
static int pb_point(struct gbuf *b, const struct hl_metric *m, const struct hl_point *p)
{
	struct gbuf sub = {0};
	struct labels l;
	int e = 0;

	point_labels(&l, p);
	pb_labels(b, &l);
	switch (m->kind) {
	case HL_METRIC_COUNTER:
		pb_double(&sub, 1, (double)p->value);
		pb_message(b, 3, &sub);
		break;
	case HL_METRIC_GAUGE:
		pb_double(&sub, 1, p->gauge);
		pb_message(b, 2, &sub);
		break;
	case HL_METRIC_EXPHIST:
		e = pb_histogram(&sub, p->cumulative);
		pb_message(b, 7, &sub);
		break;
	}
	if (labels_failed(&l))
		e = -ENOMEM;
	labels_free(&l);
	gb_free(&sub);
	return e;
}

/* ---- batches ---------------------------------------------------------------------------- */

struct family {
	char name[MAX_NAME];
	const struct hl_metric *m; /* the first metric of this name */
	bool done;
};

static const char *kind_type(enum hl_metric_kind k)
{
	return k == HL_METRIC_COUNTER ? "counter" : k == HL_METRIC_GAUGE ? "gauge" : "histogram";
}

static bool point_usable(const struct hl_metric *m, const struct hl_point *p)
{
	return m->kind != HL_METRIC_EXPHIST || p->cumulative;
}

/* target_info's labels: the resource, job and instance from the service. */
static void resource_labels(struct labels *l, const struct hl_batch *batch)
{
	char name[MAX_NAME];

	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < batch->n_resource; i++) {
		const struct hl_attr *a = &batch->resource[i];

		if (!a->key)
			continue;
		if (!strcmp(a->key, "service.name"))
			labels_add(l, "job", a->value);
		else if (!strcmp(a->key, "service.instance.id"))
			labels_add(l, "instance", a->value);
	}
	for (size_t i = 0; i < batch->n_resource; i++) {
		const struct hl_attr *a = &batch->resource[i];

		if (!a->key || !strcmp(a->key, "service.name") ||
		    !strcmp(a->key, "service.instance.id"))
			continue;
		label_name(a->key, name, sizeof(name));
		labels_add(l, name, a->value);
	}
}

/* The families of batch: metrics of the same Prometheus name and kind share one. */
static struct family *families(const struct hl_batch *batch)
{
	struct family *f = calloc(batch->n_metrics + 1, sizeof(*f));

	if (!f)
		return NULL;
	for (size_t i = 0; i < batch->n_metrics; i++) {
		f[i].m = &batch->metrics[i];
		hl_prom_metric_name(f[i].m->name, f[i].m->unit, f[i].m->kind, f[i].name,
				    sizeof(f[i].name));
	}
	return f;
}

int hl_prom_encode_text(struct hl_prom_buf *pg, const struct hl_batch *batch, const double *bounds,
			size_t n_bounds)
{
	struct family *f = families(batch);
	struct gbuf b = {0};
	int e = 0;

	pg->len = 0;
	pg->dropped = 0;
	if (!f)
		return -ENOMEM;
	/* target_info */
	if (batch->n_resource) {
		struct labels l;

		resource_labels(&l, batch);
		text_help(&b, "target_info", "Target metadata", "gauge");
		text_sample(&b, "target_info", "", &l, NULL, "1");
		if (labels_failed(&l))
			b.failed = true;
		labels_free(&l);
		if (!b.failed && !page_append(pg, b.p, b.len))
			pg->dropped++;
	}
	for (size_t i = 0; i < batch->n_metrics && !e; i++) {
		bool header = false;

		if (f[i].done)
			continue;
		for (size_t j = i; j < batch->n_metrics && !e; j++) {
			const struct hl_metric *m = f[j].m;

			if (f[j].done || strcmp(f[j].name, f[i].name))
				continue;
			f[j].done = true;
			if (m->kind != f[i].m->kind) {
				pg->dropped += m->n_points; /* one name, two types */
				continue;
			}
			for (size_t k = 0; k < m->n_points && !e; k++) {
				if (!point_usable(m, &m->points[k]))
					continue;
				b.len = 0;
				if (!header)
					text_help(&b, f[i].name, f[i].m->description,
						  kind_type(m->kind));
				e = text_point(&b, f[i].name, m, &m->points[k], bounds, n_bounds);
				if (b.failed)
					e = -ENOMEM;
				if (e)
					break;
				if (page_append(pg, b.p, b.len))
					header = true;
				else if (pg->failed)
					e = -ENOMEM;
				else
					pg->dropped++;
			}
		}
	}
	if (b.failed || pg->failed)
		e = -ENOMEM;
	gb_free(&b);
	free(f);
	return e;
}

/* Append family fam (name, help, type, metrics) delimited, if it fits. */
static bool proto_flush(struct hl_prom_buf *pg, struct gbuf *fam)
{
	struct gbuf d = {0};
	bool ok;

	pb_varint(&d, fam->len);
	gb_putn(&d, fam->p, fam->len);
	ok = !d.failed && page_append(pg, d.p, d.len);
	gb_free(&d);
	return ok;
}

static void proto_header(struct gbuf *fam, const char *name, const char *help, int type)
{
	fam->len = 0;
	pb_string(fam, 1, name);
	if (help && *help) {
		struct gbuf h = {0};

		put_value(&h, help, false);
		pb_bytes(fam, 2, h.p, h.len);
		fam->failed |= h.failed;
		gb_free(&h);
	}
	pb_uint(fam, 3, (uint64_t)type);
}

int hl_prom_encode_proto(struct hl_prom_buf *pg, const struct hl_batch *batch)
{
	struct family *f = families(batch);
	struct gbuf fam = {0}, met = {0};
	int e = 0;

	pg->len = 0;
	pg->dropped = 0;
	if (!f)
		return -ENOMEM;
	if (batch->n_resource) {
		struct labels l;
		struct gbuf g = {0};

		resource_labels(&l, batch);
		proto_header(&fam, "target_info", "Target metadata", PB_GAUGE);
		pb_labels(&met, &l);
		pb_double(&g, 1, 1.0);
		pb_message(&met, 2, &g);
		pb_message(&fam, 4, &met);
		if (labels_failed(&l) || fam.failed)
			e = -ENOMEM;
		else if (!proto_flush(pg, &fam))
			pg->dropped++;
		labels_free(&l);
		gb_free(&g);
	}
	for (size_t i = 0; i < batch->n_metrics && !e; i++) {
		int type = f[i].m->kind == HL_METRIC_COUNTER ? PB_COUNTER
			   : f[i].m->kind == HL_METRIC_GAUGE ? PB_GAUGE
							     : PB_HISTOGRAM;
		size_t header_len, points = 0;

		if (f[i].done)
			continue;
		proto_header(&fam, f[i].name, f[i].m->description, type);
		header_len = fam.len;
		for (size_t j = i; j < batch->n_metrics && !e; j++) {
			const struct hl_metric *m = f[j].m;

			if (f[j].done || strcmp(f[j].name, f[i].name))
				continue;
			f[j].done = true;
			if (m->kind != f[i].m->kind) {
				pg->dropped += m->n_points;
				continue;
			}
			for (size_t k = 0; k < m->n_points && !e; k++) {
				size_t add, total;

				if (!point_usable(m, &m->points[k]))
					continue;
				met.len = 0;
				e = pb_point(&met, m, &m->points[k]);
				if (met.failed)
					e = -ENOMEM;
				if (e)
					break;
				add = 1 + varint_len(met.len) + met.len;
				total = fam.len + add;
				if (pg->len + varint_len(total) + total > pg->max) {
					pg->dropped++;
					continue;
				}
				pb_message(&fam, 4, &met);
				points++;
			}
		}
		if (fam.failed)
			e = -ENOMEM;
		if (!e && points && !proto_flush(pg, &fam)) {
			if (pg->failed)
				e = -ENOMEM;
			else
				pg->dropped += points;
		}
		(void)header_len;
	}
	if (pg->failed)
		e = -ENOMEM;
	gb_free(&fam);
	gb_free(&met);
	free(f);
	return e;
}

/* ---- buckets config, Accept ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int hl_prom_parse_buckets(const struct hl_strlist *l, double **out, size_t *n, char *why,
			  size_t whylen)
{
	double *v;
	size_t m = 0;

	*out = NULL;
	*n = 0;
	if (!l->n)
		return 0;
	v = malloc(l->n * sizeof(*v));
	if (!v) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < l->n; i++) {
		char *end;
		double x = strtod(l->v[i], &end);

		if (end == l->v[i] || *end || !isfinite(x) || x <= 0) {
			snprintf(why, whylen,
				 "bucket bound '%s' is not a positive finite number (seconds for "
				 "durations)",
				 l->v[i]);
			free(v);
			return -EINVAL;
		}
		v[m++] = x;
	}
	qsort(v, m, sizeof(*v), cmp_double);
	*n = 0;
	for (size_t i = 0; i < m; i++)
		if (!*n || v[*n - 1] != v[i])
			v[(*n)++] = v[i];
	*out = v;
	return 0;
}

/* The value of parameter `name` in a media range's parameters (";a=b;q=0.5"), or NULL. */
static bool param_is(const char *params, size_t len, const char *name, const char *value)
{
	char want[96];
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "%s=%s", name, value);
	for (size_t i = 0; i + n <= len; i++) {
		if (strncasecmp(params + i, want, n))
			continue;
		if ((i == 0 || params[i - 1] == ';' || params[i - 1] == ' ') &&
		    (i + n == len || params[i + n] == ';' || params[i + n] == ' '))
			return true;
	}
	return false;
}

static double param_q(const char *params, size_t len)
{
	for (size_t i = 0; i + 2 <= len; i++) {
		if ((params[i] == 'q' || params[i] == 'Q') && params[i + 1] == '=' &&
		    (i == 0 || params[i - 1] == ';' || params[i - 1] == ' '))
			return strtod(params + i + 2, NULL);
	}
	return 1.0;
}

bool hl_prom_wants_proto(const char *accept)
{
	double q_proto = -1, q_text = -1;
	const char *s = accept;

	while (s && *s) {
		const char *end = strchr(s, ','), *semi;
		size_t len = end ? (size_t)(end - s) : strlen(s), tlen;
		char type[96];
		double q;

		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		semi = memchr(s, ';', len);
		tlen = semi ? (size_t)(semi - s) : len;
		while (tlen && (s[tlen - 1] == ' ' || s[tlen - 1] == '\t'))
			tlen--;
		snprintf(type, sizeof(type), "%.*s", (int)(tlen < 95 ? tlen : 95), s);
		q = semi ? param_q(semi, len - (size_t)(semi - s)) : 1.0;
		if (!strcasecmp(type, "application/vnd.google.protobuf")) {
			if (semi &&
			    param_is(semi, len - (size_t)(semi - s), "proto",
				     "io.prometheus.client.MetricFamily") &&
			    param_is(semi, len - (size_t)(semi - s), "encoding", "delimited") &&
			    q > q_proto)
				q_proto = q;
		} else if (!strcasecmp(type, "text/plain") || !strcasecmp(type, "text/*") ||
			   !strcasecmp(type, "*/*")) {
			if (q > q_text)
				q_text = q;
		}
		s = end ? end + 1 : NULL;
	}
	return q_proto > 0 && q_proto >= q_text;
}
