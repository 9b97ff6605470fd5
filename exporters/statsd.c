/* SPDX-License-Identifier: MIT */
/*
 * The statsd exporter: delta values as StatsD lines over UDP.
 *
 * Names: prefix + the metric name without its own "hostlat." namespace,
 * then (tags: none) ".key.value" per attribute, then a suffix; characters
 * outside [A-Za-z0-9_.-] become '_' (also '.' inside attribute values in
 * names, so that a value is always one segment). tags: dogstatsd keeps
 * the attributes out of the name and appends "|#key:value,...".
 *
 * Lines (N the name, all durations in milliseconds):
 *   counter          N:<value_delta>|c                 (skipped when 0)
 *   gauge            N:<v>|g; a negative v is sent as N:0|g then N:<v>|g
 *                    in the same datagram (a leading '-' alone is a delta)
 *   histogram, histogram_mode: percentiles (delta histogram, count > 0):
 *                    N.count:<count>|c  N.sum:<sum ms>|c
 *                    N.p50|p90|p99:<ms>|g  N.max:<ms>|g (when known)
 *   histogram, histogram_mode: buckets: per non-empty bucket, one
 *                    representative value (the zero bucket: 0; others the
 *                    geometric midpoint, clamped to [min, max] when known)
 *                    as N:<ms>|ms[|@rate], one line per set bit k of the
 *                    bucket's count with rate 2^-k written out exactly
 *                    (1/rate is exactly 2^k: the daemon's counts are exact).
 *
 * Lines are packed into datagrams of at most max_packet_bytes, joined by
 * '\n', never split; a longer line is dropped and counted.
 */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"

#include "config.h"
#include "exporters.h"

#define STATSD_DEFAULT_PORT "8125"
#define NS_PREFIX "hostlat."
/* Longest time one batch may wait for socket buffer space, in total. */
#define SEND_WAIT_BUDGET_MS 100

static int check_address(const char *a, char *why, size_t whylen);
static int check_address_resolves(const char *a, char *why, size_t whylen);

static const char *const tags_names[] = {"none", "dogstatsd", NULL};
static const char *const hist_mode_names[] = {"percentiles", "buckets", NULL};

static const struct hl_option statsd_options[] = {
	{.name = "address",
	 .type = HL_OPT_STRING,
	 .offset = offsetof(struct hl_statsd_conf, address),
	 .def = "\"127.0.0.1:8125\"",
	 .help = "UDP destination: IPv4:port, \"[IPv6]:port\" or name:port (port 8125 when "
		 "omitted); resolved at start (a name that does not resolve stops the start; "
		 "--check resolves it too) and again after a send failure",
	 .check = check_address,
	 .check_system = check_address_resolves},
	{.name = "prefix",
	 .type = HL_OPT_STRING,
	 .offset = offsetof(struct hl_statsd_conf, prefix),
	 .def = "hostlat.",
	 .help = "replaces the hostlat. of metric names; characters outside [A-Za-z0-9_.-] "
		 "become _, a missing trailing dot is added"},
	{.name = "max_packet_bytes",
	 .type = HL_OPT_UINT,
	 .offset = offsetof(struct hl_statsd_conf, max_packet_bytes),
	 .def = "1432",
	 .min = 64,
	 .max = 65507,
	 .help = "largest datagram payload; lines are packed whole, a longer line is dropped"},
	{.name = "tags",
	 .type = HL_OPT_ENUM,
	 .offset = offsetof(struct hl_statsd_conf, tags),
	 .def = "none",
	 .names = tags_names,
	 .help = "none: attributes become .key.value name segments; dogstatsd: |#key:value tags"},
	{.name = "histogram_mode",
	 .type = HL_OPT_ENUM,
	 .offset = offsetof(struct hl_statsd_conf, histogram_mode),
	 .def = "percentiles",
	 .names = hist_mode_names,
	 .help = "percentiles: .count and .sum (ms) counters, .p50/.p90/.p99/.max gauges (ms); "
		 "buckets: a timer (ms) value per bucket, sample rates making counts exact"},
	{0},
};

/* ---- encoding ------------------------------------------------------------------ */

/* A bounded string: appending past cap sets `over` and keeps what fits out. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool over;
};

static void sb_reset(struct sbuf *b)
{
	b->len = 0;
	b->over = false;
}

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->over || n > b->cap - b->len) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

static bool name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* s with every character outside [A-Za-z0-9_.-] (and '.' unless keep_dots) as '_';
 * an empty or NULL s as "_". */
static void sb_sanitized(struct sbuf *b, const char *s, bool keep_dots)
{
	if (!s || !*s) {
		sb_putc(b, '_');
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		sb_putc(b, name_char_ok(c) && (keep_dots || c != '.') ? (char)c : '_');
	}
}

/* Drop trailing zeros (and a trailing '.') of a fixed-point number; "-0" is "0". */
static void trim_fraction(char *s)
{
	char *dot = strchr(s, '.');

	if (dot) {
		char *e = s + strlen(s);

		while (e > dot + 1 && e[-1] == '0')
			e--;
		if (e == dot + 1)
			e = dot;
		*e = 0;
	}
	if (!strcmp(s, "-0"))
		strcpy(s, "0");
}

/* A double in fixed-point notation (never an exponent), about 15 significant digits.
 * false for NaN and infinities. */
static bool fmt_double(double v, char *buf, size_t len)
{
	int digits;

	if (!isfinite(v))
		return false;
	if (v == 0) {
		snprintf(buf, len, "0");
		return true;
	}
	digits = 14 - (int)floor(log10(fabs(v)));
	if (digits < 0)
		digits = 0;
	if (digits > 30)
		digits = 30;
	snprintf(buf, len, "%.*f", digits, v);
	trim_fraction(buf);
	return true;
}

/* Seconds as milliseconds with nanosecond resolution, fixed-point. */
static bool fmt_s_as_ms(double s, char *buf, size_t len)
{
	if (!isfinite(s) || s < 0)
		return false;
	snprintf(buf, len, "%.6f", s * 1e3);
	trim_fraction(buf);
	return true;
}

/* Nanoseconds as milliseconds, exactly. */
static void fmt_ns_as_ms(uint64_t ns, char *buf, size_t len)
{
	snprintf(buf, len, "%llu.%06llu", (unsigned long long)(ns / 1000000),
		 (unsigned long long)(ns % 1000000));
	trim_fraction(buf);
}

/* The sample rate 2^-k (1 <= k <= 63), exactly: "0.5", "0.25", ..., k digits.
 * glibc prints the exact decimal expansion of a double, and 2^-k is one. */
static void fmt_rate(int k, char *buf, size_t len)
{
	snprintf(buf, len, "%.*f", k, ldexp(1.0, -k));
}

struct enc {
	const char *prefix; /* sanitized, "" or ending in '.' */
	bool dogstatsd, buckets;
	size_t max; /* max_packet_bytes */
	struct sbuf pkt, unit, base, tags;
	void (*emit)(void *arg, const char *dgram, size_t len);
	void *arg;
	uint64_t lines, dropped_lines, bad_values, dropped_points;
	bool point_dropped;
};

static int enc_init(struct enc *e, const char *prefix, bool dogstatsd, bool buckets, size_t max)
{
	memset(e, 0, sizeof(*e));
	e->prefix = prefix;
	e->dogstatsd = dogstatsd;
	e->buckets = buckets;
	e->max = max;
	e->pkt.p = malloc(max);
	e->unit.p = malloc(max);
	e->base.p = malloc(max);
	e->tags.p = malloc(max);
	if (!e->pkt.p || !e->unit.p || !e->base.p || !e->tags.p)
		return -ENOMEM;
	e->pkt.cap = e->unit.cap = e->base.cap = e->tags.cap = max;
	return 0;
}

static void enc_free(struct enc *e)
{
	free(e->pkt.p);
	free(e->unit.p);
	free(e->base.p);
	free(e->tags.p);
	memset(e, 0, sizeof(*e));
}

static void enc_flush(struct enc *e)
{
	if (e->pkt.len)
		e->emit(e->arg, e->pkt.p, e->pkt.len);
	sb_reset(&e->pkt);
}

/* Queue e->unit (one line, or lines that must share a datagram). */
static void enc_commit(struct enc *e, unsigned int n_lines)
{
	if (e->unit.over) {
		e->dropped_lines += n_lines;
		e->point_dropped = true;
		return;
	}
	if (e->pkt.len && e->pkt.len + 1 + e->unit.len > e->max)
		enc_flush(e);
	if (e->pkt.len)
		sb_putc(&e->pkt, '\n');
	sb_putn(&e->pkt, e->unit.p, e->unit.len);
	e->lines += n_lines;
}

/* Append "base[suffix]:value|type[|@rate][tags]" to e->unit. */
static void enc_line(struct enc *e, const char *suffix, const char *value, const char *type,
		     const char *rate)
{
	sb_putn(&e->unit, e->base.p, e->base.len);
	if (e->base.over)
		e->unit.over = true;
	if (suffix)
		sb_puts(&e->unit, suffix);
	sb_putc(&e->unit, ':');
	sb_puts(&e->unit, value);
	sb_putc(&e->unit, '|');
	sb_puts(&e->unit, type);
	if (rate) {
		sb_puts(&e->unit, "|@");
		sb_puts(&e->unit, rate);
	}
	sb_putn(&e->unit, e->tags.p, e->tags.len);
	if (e->tags.over)
		e->unit.over = true;
}

static void enc_simple(struct enc *e, const char *suffix, const char *value, const char *type,
		       const char *rate)
{
	sb_reset(&e->unit);
	enc_line(e, suffix, value, type, rate);
	enc_commit(e, 1);
}

/* A line whose value could not be formatted (NaN): dropped and counted. */
static void enc_bad_value(struct enc *e)
{
	e->bad_values++;
	e->point_dropped = true;
}

static void enc_gauge(struct enc *e, const char *suffix, double v)
{
	char val[512];

	if (!fmt_double(v, val, sizeof(val))) {
		enc_bad_value(e);
		return;
	}
	sb_reset(&e->unit);
	if (val[0] == '-') {
		/* "-v" alone would subtract from the daemon's current value. */
		enc_line(e, suffix, "0", "g", NULL);
		sb_putc(&e->unit, '\n');
		enc_line(e, suffix, val, "g", NULL);
		enc_commit(e, 2);
		return;
	}
	enc_line(e, suffix, val, "g", NULL);
	enc_commit(e, 1);
}

static void enc_ms_gauge(struct enc *e, const char *suffix, double s)
{
	char val[512];

	if (!fmt_s_as_ms(s, val, sizeof(val))) {
		enc_bad_value(e);
		return;
	}
	enc_simple(e, suffix, val, "g", NULL);
}

/* One value (formatted) standing for n samples: a line per set bit k of n, at rate 2^-k. */
static void enc_timer_samples(struct enc *e, const char *val, uint64_t n)
{
	char rate[80];

	for (int k = 0; k < 64; k++) {
		if (!(n >> k & 1))
			continue;
		if (k)
			fmt_rate(k, rate, sizeof(rate));
		enc_simple(e, NULL, val, "ms", k ? rate : NULL);
	}
}

/*
 * Exact totals (sum, max) in the lines' unit: milliseconds for durations,
 * the plain value for a raw_values histogram (bytes, flows).
 */
static void fmt_total(const struct hl_hist *h, uint64_t v, char *buf, size_t len)
{
	if (h->raw_values)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		fmt_ns_as_ms(v, buf, len);
}

/* A gauge of v in the histogram's unit: seconds as ms, or the plain value in full. */
static void enc_value_gauge(struct enc *e, const struct hl_hist *h, const char *suffix, double v)
{
	if (h->raw_values)
		enc_gauge(e, suffix, v);
	else
		enc_ms_gauge(e, suffix, v);
}

/* A sample value in the lines' unit, as fmt_total: ms for durations, else the plain value. */
static bool fmt_sample(const struct hl_hist *h, double v, char *buf, size_t len)
{
	return h->raw_values ? fmt_double(v, buf, len) : fmt_s_as_ms(v, buf, len);
}

/*
 * DogStatsD: the interval's max (the exemplar's value) with the
 * exemplar's attributes as extra tags, in place of the plain .max line.
 */
static void enc_exemplar_max(struct enc *e, const struct hl_hist *h)
{
	const struct hl_exemplar *x = h->exemplar;
	size_t tags_len = e->tags.len;
	bool tags_over = e->tags.over;
	char val[512];

	fmt_total(h, x->value_ns, val, sizeof(val));
	for (unsigned int i = 0; i < x->n_attrs && i < HL_EXEMPLAR_MAX_ATTRS; i++) {
		sb_puts(&e->tags, e->tags.len ? "," : "|#");
		sb_sanitized(&e->tags, x->attrs[i].key, true);
		sb_putc(&e->tags, ':');
		sb_sanitized(&e->tags, x->attrs[i].value, true);
	}
	enc_simple(e, ".max", val, "g", NULL);
	e->tags.len = tags_len; /* the point's own tags for the lines after */
	e->tags.over = tags_over;
}

static void enc_hist(struct enc *e, const struct hl_hist *h)
{
	static const struct {
		const char *suffix;
		double q;
	} qs[] = {{".p50", 0.50}, {".p90", 0.90}, {".p99", 0.99}};
	char val[512];

	if (!e->buckets) {
		snprintf(val, sizeof(val), "%llu", (unsigned long long)h->count);
		enc_simple(e, ".count", val, "c", NULL);
		fmt_total(h, h->sum_ns, val, sizeof(val));
		enc_simple(e, ".sum", val, "c", NULL);
		for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
			enc_value_gauge(e, h, qs[i].suffix, hl_hist_quantile(h, qs[i].q));
		if (e->dogstatsd && h->exemplar) {
			enc_exemplar_max(e, h);
		} else if (h->has_max) {
			fmt_total(h, h->max_ns, val, sizeof(val));
			enc_simple(e, ".max", val, "g", NULL);
		}
		return;
	}
	if (e->dogstatsd && h->exemplar)
		enc_exemplar_max(e, h);
	/* StatsD has no other distribution type than the timer: a raw_values
	 * histogram's samples are in its own unit, not milliseconds. */
	if (h->zero_count)
		enc_timer_samples(e, "0", h->zero_count);
	for (uint32_t i = 0; i < h->len; i++) {
		double lo, hi, mid;

		if (!h->counts[i])
			continue;
		hl_exph_bounds(h->scale, h->offset + (int32_t)i, &lo, &hi);
		mid = sqrt(lo) * sqrt(hi);
		if (h->has_max && mid > hl_hist_value(h, h->max_ns))
			mid = hl_hist_value(h, h->max_ns);
		if (h->has_min && mid < hl_hist_value(h, h->min_ns))
			mid = hl_hist_value(h, h->min_ns);
		if (!fmt_sample(h, mid, val, sizeof(val))) {
			enc_bad_value(e);
			continue;
		}
		enc_timer_samples(e, val, h->counts[i]);
	}
}

/* The metric name without its own namespace, which the prefix replaces. */
static const char *strip_namespace(const char *name)
{
	if (!name)
		return "";
	if (!strncmp(name, NS_PREFIX, strlen(NS_PREFIX)))
		return name + strlen(NS_PREFIX);
	return name;
}

static void enc_point_names(struct enc *e, const struct hl_metric *m, const struct hl_point *p)
{
	unsigned int n = p->n_attrs < HL_MAX_ATTRS ? p->n_attrs : HL_MAX_ATTRS;

	sb_reset(&e->base);
	sb_reset(&e->tags);
	sb_puts(&e->base, e->prefix);
	sb_sanitized(&e->base, strip_namespace(m->name), true);
	for (unsigned int a = 0; a < n; a++) {
		const struct hl_attr *at = &p->attrs[a];

		if (e->dogstatsd) {
			sb_puts(&e->tags, a ? "," : "|#");
			sb_sanitized(&e->tags, at->key, true);
			sb_putc(&e->tags, ':');
			sb_sanitized(&e->tags, at->value, true);
		} else {
			sb_putc(&e->base, '.');
			sb_sanitized(&e->base, at->key, true);
			sb_putc(&e->base, '.');
			sb_sanitized(&e->base, at->value, false);
		}
	}
}

static void enc_batch(struct enc *e, const struct hl_batch *b)
{
	for (size_t i = 0; i < b->n_metrics; i++) {
		const struct hl_metric *m = &b->metrics[i];

		for (size_t j = 0; j < m->n_points; j++) {
			const struct hl_point *p = &m->points[j];
			char val[32];

			switch (m->kind) {
			case HL_METRIC_EXPHIST:
				if (!p->delta || !p->delta->count)
					continue;
				break;
			case HL_METRIC_COUNTER:
				if (!p->value_delta)
					continue;
				break;
			case HL_METRIC_GAUGE:
				break;
			default:
				continue;
			}
			e->point_dropped = false;
			enc_point_names(e, m, p);
			switch (m->kind) {
			case HL_METRIC_EXPHIST:
				enc_hist(e, p->delta);
				break;
			case HL_METRIC_COUNTER:
				snprintf(val, sizeof(val), "%llu",
					 (unsigned long long)p->value_delta);
				enc_simple(e, NULL, val, "c", NULL);
				break;
			case HL_METRIC_GAUGE:
				enc_gauge(e, NULL, p->gauge);
				break;
			}
			if (e->point_dropped)
				e->dropped_points++;
		}
	}
	enc_flush(e);
}

/* prefix sanitized, with a trailing '.' unless empty; caller frees. */
static char *make_prefix(const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;
	char *s = malloc(n + 2);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = name_char_ok((unsigned char)prefix[i]) ? prefix[i] : '_';
	if (n && s[n - 1] != '.')
		s[n++] = '.';
	s[n] = 0;
	return s;
}

long hl_statsd_encode(const struct hl_statsd_conf *c, const struct hl_batch *b,
		      void (*emit)(void *arg, const char *dgram, size_t len), void *arg)
{
	struct enc e;
	char *prefix = make_prefix(c->prefix);
	long ret;

	if (!prefix)
		return -ENOMEM;
	if (c->max_packet_bytes < 1) {
		free(prefix);
		return -EINVAL;
	}
	if (enc_init(&e, prefix, c->tags == HL_STATSD_TAGS_DOGSTATSD,
		     c->histogram_mode == HL_STATSD_HIST_BUCKETS, c->max_packet_bytes)) {
		enc_free(&e);
		free(prefix);
		return -ENOMEM;
	}
	e.emit = emit;
	e.arg = arg;
	enc_batch(&e, b);
	ret = (long)(e.dropped_lines + e.bad_values);
	enc_free(&e);
	free(prefix);
	return ret;
}

/* ---- the exporter ------------------------------------------------------------------ */

struct statsd_state {
	char *host, *port; /* from `address` */
	char *prefix;
	struct enc enc;
	int fd;		   /* connected UDP socket, or -1 */
	bool need_resolve; /* reopen before the next batch */
	char peer[96];	   /* the address in use, for messages */
	/* per batch */
	uint64_t bytes, sent, failed;
	int last_errno;
	int wait_budget_ms;
};

/* "host:port", "[v6]:port", "host" (default port); false with a message. */
static bool parse_address(const char *a, char **host, char **port, char *err, size_t errlen)
{
	const char *h, *he, *p = NULL;
	char *end;
	unsigned long pn;

	*host = *port = NULL;
	if (!a || !*a) {
		snprintf(err, errlen, "address is empty");
		return false;
	}
	if (a[0] == '[') {
		h = a + 1;
		he = strchr(h, ']');
		if (!he || he == h) {
			snprintf(err, errlen, "address '%s': expected [IPv6 address]:port", a);
			return false;
		}
		if (he[1] == ':')
			p = he + 2;
		else if (he[1]) {
			snprintf(err, errlen, "address '%s': expected ':' after ']'", a);
			return false;
		}
	} else {
		h = a;
		he = strchr(a, ':');
		if (he && strchr(he + 1, ':')) {
			snprintf(err, errlen,
				 "address '%s': write an IPv6 address in brackets: [addr]:port", a);
			return false;
		}
		if (he)
			p = he + 1;
		else
			he = a + strlen(a);
		if (he == h) {
			snprintf(err, errlen, "address '%s': missing host", a);
			return false;
		}
	}
	if (p) {
		errno = 0;
		pn = strtoul(p, &end, 10);
		if (!*p || *end || *p < '0' || *p > '9' || errno || pn < 1 || pn > 65535) {
			snprintf(err, errlen, "address '%s': port must be 1..65535", a);
			return false;
		}
	}
	*host = strndup(h, (size_t)(he - h));
	*port = strdup(p ? p : STATSD_DEFAULT_PORT);
	if (!*host || !*port) {
		free(*host);
		free(*port);
		*host = *port = NULL;
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

/*
 * A UDP socket connected to the first address of host:port that accepts
 * a connect (no datagram is sent); its address into peer. 0 with *fd, or
 * a negative errno with the message in err.
 */
static int connect_udp(const char *host, const char *port, int *fd_out, char *peer, size_t peerlen,
		       char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL, *ai;
	int e, saved = 0, sndbuf = 1 << 20;

	*fd_out = -1;
	e = getaddrinfo(host, port, &hints, &res);
	if (e) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host,
			 e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		char hbuf[NI_MAXHOST];

		if (fd < 0) {
			saved = errno;
			continue;
		}
		/* Room for a whole batch of datagrams; best effort. */
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			saved = errno;
			close(fd);
			continue;
		}
		*fd_out = fd;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, hbuf, sizeof(hbuf), NULL, 0,
				NI_NUMERICHOST))
			snprintf(hbuf, sizeof(hbuf), "%s", host);
		snprintf(peer, peerlen, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", hbuf,
			 port);
		break;
	}
	freeaddrinfo(res);
	if (*fd_out < 0) {
		snprintf(err, errlen, "cannot open a UDP socket to %s:%s: %s", host, port,
			 strerror(saved ? saved : EADDRNOTAVAIL));
		return -(saved ? saved : EADDRNOTAVAIL);
	}
	return 0;
}

/* (Re)open the socket to host:port. */
static int statsd_resolve(struct statsd_state *st, char *err, size_t errlen)
{
	int e;

	if (st->fd >= 0)
		close(st->fd);
	e = connect_udp(st->host, st->port, &st->fd, st->peer, sizeof(st->peer), err, errlen);
	if (!e)
		st->need_resolve = false;
	return e;
}

/* `address` as parse_address takes it (struct hl_option.check). */
static int check_address(const char *a, char *why, size_t whylen)
{
	char *host, *port;

	if (!parse_address(a, &host, &port, why, whylen))
		return -EINVAL;
	free(host);
	free(port);
	return 0;
}

/*
 * --check (struct hl_option.check_system): `address` resolves and takes a
 * connect, as at start. A network lookup: it may take the resolver's
 * timeout when DNS is down.
 */
static int check_address_resolves(const char *a, char *why, size_t whylen)
{
	char *host, *port, peer[96];
	int fd, e;

	if (!parse_address(a, &host, &port, why, whylen))
		return -EINVAL;
	e = connect_udp(host, port, &fd, peer, sizeof(peer), why, whylen);
	if (fd >= 0)
		close(fd);
	free(host);
	free(port);
	return e;
}

static void statsd_shutdown(void *state)
{
	struct statsd_state *st = state;

	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	enc_free(&st->enc);
	free(st->host);
	free(st->port);
	free(st->prefix);
	free(st);
}

static void *statsd_init(const void *conf, char *err, size_t errlen)
{
	const struct hl_statsd_conf *c = conf;
	struct statsd_state *st = calloc(1, sizeof(*st));

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->fd = -1;
	if (c->max_packet_bytes < 64 || c->max_packet_bytes > 65507) {
		snprintf(err, errlen, "max_packet_bytes must be 64..65507");
		goto fail;
	}
	if (!parse_address(c->address ? c->address : "127.0.0.1:" STATSD_DEFAULT_PORT, &st->host,
			   &st->port, err, errlen))
		goto fail;
	st->prefix = make_prefix(c->prefix);
	if (!st->prefix ||
	    enc_init(&st->enc, st->prefix, c->tags == HL_STATSD_TAGS_DOGSTATSD,
		     c->histogram_mode == HL_STATSD_HIST_BUCKETS, c->max_packet_bytes)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (statsd_resolve(st, err, errlen))
		goto fail;
	return st;
fail:
	statsd_shutdown(st);
	return NULL;
}

static bool send_would_block(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS;
}

static void statsd_emit(void *arg, const char *dgram, size_t len)
{
	struct statsd_state *st = arg;
	ssize_t n;

	if (st->fd < 0) {
		st->failed++;
		return;
	}
	n = send(st->fd, dgram, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0 && send_would_block(errno) && st->wait_budget_ms > 0) {
		struct pollfd pfd = {.fd = st->fd, .events = POLLOUT};
		struct timespec t0, t1;
		int waited;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		poll(&pfd, 1, st->wait_budget_ms);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited =
			(int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		st->wait_budget_ms -= waited > 0 ? waited : 1;
		n = send(st->fd, dgram, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	if (n < 0) {
		st->failed++;
		st->last_errno = errno;
		if (!send_would_block(errno))
			st->need_resolve = true;
		return;
	}
	st->sent++;
	st->bytes += (uint64_t)n;
}

static enum hl_export_result statsd_export(void *state, const struct hl_batch *batch,
					   struct hl_export_status *status)
{
	struct statsd_state *st = state;
	char rerr[200] = "", drops[128] = "", fails[400] = "";

	if (st->need_resolve)
		statsd_resolve(st, rerr, sizeof(rerr));
	st->bytes = st->sent = st->failed = 0;
	st->last_errno = 0;
	st->wait_budget_ms = SEND_WAIT_BUDGET_MS;
	st->enc.lines = st->enc.dropped_lines = st->enc.bad_values = st->enc.dropped_points = 0;
	st->enc.emit = statsd_emit;
	st->enc.arg = st;
	enc_batch(&st->enc, batch);

	status->bytes = st->bytes;
	status->rejected_points = st->enc.dropped_points;
	if (st->enc.dropped_lines || st->enc.bad_values)
		snprintf(drops, sizeof(drops),
			 "dropped %llu line(s) longer than max_packet_bytes %zu and %llu "
			 "non-finite value(s)",
			 (unsigned long long)st->enc.dropped_lines, st->enc.max,
			 (unsigned long long)st->enc.bad_values);
	if (st->failed)
		snprintf(fails, sizeof(fails), "%llu of %llu datagram(s) not sent to %s: %s",
			 (unsigned long long)st->failed,
			 (unsigned long long)(st->failed + st->sent), rerr[0] ? st->host : st->peer,
			 rerr[0] ? rerr : strerror(st->last_errno));
	snprintf(status->message, sizeof(status->message), "%s%s%s", drops,
		 drops[0] && fails[0] ? "; " : "", fails);
	return st->failed ? HL_EXPORT_DROP : HL_EXPORT_OK;
}

const struct hl_exporter_ops hl_statsd_exporter = {
	.abi_version = HL_EXPORTER_ABI_VERSION,
	.name = "statsd",
	.options = statsd_options,
	.config_size = sizeof(struct hl_statsd_conf),
	.help = "send delta metrics as StatsD lines over UDP",
	.init = statsd_init,
	.export_batch = statsd_export,
	.shutdown = statsd_shutdown,
};
