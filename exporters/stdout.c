/* SPDX-License-Identifier: MIT */
/* The stdout exporter: readable histograms (pretty) or OTLP JSON lines (json). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exemplar.h"
#include "hist.h"
#include "otlp_json.h"

#include "config.h"
#include "exporters.h"

static int check_output(const char *path, char *why, size_t whylen);

static const char *const format_names[] = {"pretty", "json", NULL};
static const char *const temporality_names[] = {"auto", "delta", "cumulative", NULL};

static const struct hl_option stdout_options[] = {
	{.name = "format",
	 .type = HL_OPT_ENUM,
	 .offset = offsetof(struct hl_stdout_conf, format),
	 .def = "pretty",
	 .names = format_names,
	 .help = "pretty: per-series count, percentiles and a bar chart; json: one OTLP JSON "
		 "request per line"},
	{.name = "temporality",
	 .type = HL_OPT_ENUM,
	 .offset = offsetof(struct hl_stdout_conf, temporality),
	 .def = "auto",
	 .names = temporality_names,
	 .help = "delta or cumulative points; auto is delta for pretty, cumulative for json"},
	{.name = "output",
	 .type = HL_OPT_STRING,
	 .offset = offsetof(struct hl_stdout_conf, output),
	 .def = "\"-\"",
	 .help = "where to write: - for standard output, or a file path (appended)",
	 .check_system = check_output},
	{0},
};

/*
 * The pretty output shows what changed: a gauge is printed when it is new
 * or its value moved (this table remembers the last value shown, by a hash
 * of name and attributes; when it is full, gauges are always printed).
 */
#define SEEN_SLOTS 512

struct seen_gauge {
	uint64_t key; /* 0: free */
	double value;
};

struct stdout_state {
	FILE *f;
	bool own; /* f was opened by us */
	bool json, delta;
	struct seen_gauge seen[SEEN_SLOTS];
};

static void *stdout_init(const void *conf, char *err, size_t errlen)
{
	const struct hl_stdout_conf *c = conf;
	struct stdout_state *st = calloc(1, sizeof(*st));

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->json = c->format == HL_STDOUT_JSON;
	st->delta = c->temporality == HL_TEMP_AUTO ? !st->json : c->temporality == HL_TEMP_DELTA;
	if (!c->output || !strcmp(c->output, "-")) {
		st->f = stdout;
	} else {
		/* Without blocking: a FIFO nobody reads would hold the agent here. */
		int fl, fd = open(c->output,
				  O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
				  0666);

		if (fd < 0) {
			snprintf(err, errlen, "cannot open '%s' for appending: %s", c->output,
				 errno == ENXIO ? "a FIFO that nobody reads" : strerror(errno));
			free(st);
			return NULL;
		}
		/* Writes block as with any file (a FIFO's reader may be slow). */
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		st->f = fdopen(fd, "a");
		if (!st->f) {
			snprintf(err, errlen, "cannot open '%s' for appending: %s", c->output,
				 strerror(errno));
			close(fd);
			free(st);
			return NULL;
		}
		st->own = true;
	}
	return st;
}

/*
 * --check (struct hl_option.check_system): what opening output to append
 * needs: a file that can be written, or a directory to create it in. A
 * FIFO passes (whether it has a reader is known only when it is opened).
 */
static int check_output(const char *path, char *why, size_t whylen)
{
	struct stat st;
	char *copy, *dir;
	int e = 0;

	if (!strcmp(path, "-"))
		return 0;
	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode))
			errno = EISDIR;
		else if (!access(path, W_OK))
			return 0;
		snprintf(why, whylen, "cannot open '%s' for appending: %s", path, strerror(errno));
		return -EINVAL;
	}
	if (errno != ENOENT) {
		snprintf(why, whylen, "cannot open '%s' for appending: %s", path, strerror(errno));
		return -EINVAL;
	}
	copy = strdup(path);
	if (!copy) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	dir = dirname(copy);
	if (access(dir, W_OK | X_OK)) {
		snprintf(why, whylen, "cannot create '%s': %s: %s", path, dir, strerror(errno));
		e = -EINVAL;
	}
	free(copy);
	return e;
}

/* "950ns", "12.3us", "20.5ms", "1.25s" */
static void fmt_seconds(double s, char *buf, size_t len)
{
	if (s < 1e-6)
		snprintf(buf, len, "%.0fns", s * 1e9);
	else if (s < 1e-3)
		snprintf(buf, len, "%.3gus", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.3gms", s * 1e3);
	else
		snprintf(buf, len, "%.3gs", s);
}

/* A plain value (bytes, flows) with an SI prefix: "950", "12.3k", "1.5M". */
static void fmt_plain(double v, char *buf, size_t len)
{
	static const char *const pre[] = {"", "k", "M", "G", "T", "P"};
	int i = 0;

	while (v >= 1000 && i < 5) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, i ? "%.3g%s" : "%.0f%s", v, pre[i]);
}

static void fmt_value(const struct hl_hist *h, double v, char *buf, size_t len)
{
	if (h->raw_values)
		fmt_plain(v, buf, len);
	else
		fmt_seconds(v, buf, len);
}

#define BAR_ROWS 16
#define BAR_WIDTH 40

static void print_bars(FILE *f, const struct hl_hist *h)
{
	struct hl_hist view;
	uint64_t peak = 0;

	if (hl_hist_init(&view, BAR_ROWS, h->scale))
		return;
	view.raw_values = h->raw_values;
	hl_hist_merge(&view, h); /* downscales until it fits BAR_ROWS rows */
	if (view.zero_count)
		fprintf(f, "    %10s |%-*s| %llu\n", "0", BAR_WIDTH, "",
			(unsigned long long)view.zero_count);
	for (uint32_t i = 0; i < view.len; i++)
		if (view.counts[i] > peak)
			peak = view.counts[i];
	for (uint32_t i = 0; i < view.len; i++) {
		char bar[BAR_WIDTH + 1], hi_s[32];
		double lo, hi;
		int w = peak ? (int)((view.counts[i] * BAR_WIDTH + peak - 1) / peak) : 0;

		hl_exph_bounds(view.scale, view.offset + (int32_t)i, &lo, &hi);
		fmt_value(h, hi, hi_s, sizeof(hi_s));
		memset(bar, '#', w);
		bar[w] = 0;
		fprintf(f, "    <= %7s |%-*s| %llu\n", hi_s, BAR_WIDTH, bar,
			(unsigned long long)view.counts[i]);
	}
	hl_hist_free(&view);
}

static void print_attrs(FILE *f, const struct hl_point *p)
{
	for (unsigned int a = 0; a < p->n_attrs; a++)
		fprintf(f, " %s=%s", p->attrs[a].key, p->attrs[a].value);
}

static void print_hist_point(FILE *f, const struct hl_metric *m, const struct hl_point *p,
			     bool delta)
{
	const struct hl_hist *h = delta ? p->delta : p->cumulative;
	char p50[32], p90[32], p99[32], mx[32];

	if (!h || !h->count)
		return;
	if (h->count == h->zero_count) {
		fprintf(f, "%s", m->name);
		print_attrs(f, p);
		fprintf(f, ": %llu samples, all 0\n", (unsigned long long)h->count);
		return;
	}
	fmt_value(h, hl_hist_quantile(h, 0.50), p50, sizeof(p50));
	fmt_value(h, hl_hist_quantile(h, 0.90), p90, sizeof(p90));
	fmt_value(h, hl_hist_quantile(h, 0.99), p99, sizeof(p99));
	if (h->has_max)
		fmt_value(h, hl_hist_value(h, h->max_ns), mx, sizeof(mx));
	else
		fmt_value(h, hl_hist_quantile(h, 1.0), mx, sizeof(mx));
	fprintf(f, "%s", m->name);
	print_attrs(f, p);
	fprintf(f, "\n    count %llu", (unsigned long long)h->count);
	if (delta && p->cumulative)
		fprintf(f, " (total %llu)", (unsigned long long)p->cumulative->count);
	fprintf(f, "  p50 %s  p90 %s  p99 %s  max %s%s", p50, p90, p99, h->has_max ? "" : "<=", mx);
	if (h->exemplar) {
		char who[600], ev[32];

		fmt_value(h, hl_hist_value(h, h->exemplar->value_ns), ev, sizeof(ev));
		hl_exemplar_describe(h->exemplar, who, sizeof(who));
		/* the interval's worst sample and whose it was */
		if (h->has_max && h->exemplar->value_ns == h->max_ns)
			fprintf(f, " (%s)", who);
		else
			fprintf(f, " (interval max %s%s%s)", ev, who[0] ? ": " : "", who);
	}
	fputc('\n', f);
	print_bars(f, h);
}

static const char *attr_of(const struct hl_point *p, const char *key)
{
	for (unsigned int a = 0; a < p->n_attrs; a++)
		if (!strcmp(p->attrs[a].key, key))
			return p->attrs[a].value;
	return NULL;
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

/* True when the gauge is new or moved since it was last shown. */
static bool gauge_changed(struct stdout_state *st, const struct hl_metric *m,
			  const struct hl_point *p)
{
	uint64_t k = fnv(14695981039346656037ULL, m->name);

	for (unsigned int a = 0; a < p->n_attrs; a++)
		k = fnv(fnv(k, p->attrs[a].key), p->attrs[a].value);
	k |= 1;
	for (unsigned int i = 0; i < SEEN_SLOTS; i++) {
		struct seen_gauge *g = &st->seen[(k + i) % SEEN_SLOTS];

		if (g->key == k) {
			if (g->value == p->gauge)
				return false;
			g->value = p->gauge;
			return true;
		}
		if (!g->key) {
			g->key = k;
			g->value = p->gauge;
			return true;
		}
	}
	return true;
}

/*
 * Traffic runs: one line per interface and granularity (the samples of the
 * runs finished in the interval, per direction the peak rate, bursts,
 * bytes per sample and flows), instead of a histogram per series.
 */
#define MAX_TRAFFIC_GROUPS 64

struct traffic_dir {
	const struct hl_hist *bytes, *flows;
	double peak;
	uint64_t bursts;
};

struct traffic_group {
	const char *iface, *gran;
	struct traffic_dir dir[2]; /* receive, transmit */
	uint64_t ce_bytes, retransmits;
};

/* The traffic probe's per-run series, folded into its line. */
enum traffic_field { TF_BYTES, TF_FLOWS, TF_PEAK, TF_BURSTS, TF_CE, TF_RETRANS, TF_NONE };

static const char *const traffic_names[] = {
	[TF_BYTES] = "hostlat.traffic.sample.bytes", [TF_FLOWS] = "hostlat.traffic.flows",
	[TF_PEAK] = "hostlat.traffic.peak.rate",     [TF_BURSTS] = "hostlat.traffic.bursts",
	[TF_CE] = "hostlat.traffic.ecn.ce.bytes",    [TF_RETRANS] = "hostlat.traffic.retransmits",
};

static enum traffic_field traffic_field(const struct hl_metric *m, const struct hl_point *p)
{
	if (!attr_of(p, "hostlat.granularity") || !attr_of(p, "network.interface.name"))
		return TF_NONE;
	for (int f = 0; f < TF_NONE; f++)
		if (!strcmp(m->name, traffic_names[f]))
			return (enum traffic_field)f;
	return TF_NONE;
}

static struct traffic_group *traffic_group(struct traffic_group *g, size_t *n,
					   const struct hl_point *p)
{
	const char *iface = attr_of(p, "network.interface.name");
	const char *gran = attr_of(p, "hostlat.granularity");

	for (size_t i = 0; i < *n; i++)
		if (!strcmp(g[i].iface, iface) && !strcmp(g[i].gran, gran))
			return &g[i];
	if (*n == MAX_TRAFFIC_GROUPS)
		return NULL;
	memset(&g[*n], 0, sizeof(g[*n]));
	g[*n].iface = iface;
	g[*n].gran = gran;
	return &g[(*n)++];
}

static void traffic_add(struct traffic_group *g, enum traffic_field what, const struct hl_point *p,
			bool delta)
{
	const char *d = attr_of(p, "network.io.direction");
	struct traffic_dir *td = &g->dir[d && !strcmp(d, "transmit")];
	uint64_t v = delta ? p->value_delta : p->value;

	switch (what) {
	case TF_BYTES:
		td->bytes = delta ? p->delta : p->cumulative;
		break;
	case TF_FLOWS:
		td->flows = delta ? p->delta : p->cumulative;
		break;
	case TF_PEAK:
		td->peak = p->gauge;
		break;
	case TF_BURSTS:
		td->bursts = v;
		break;
	case TF_CE:
		g->ce_bytes = v;
		break;
	case TF_RETRANS:
		g->retransmits = v;
		break;
	case TF_NONE:
		break;
	}
}

static void print_traffic_dir(FILE *f, const char *name, const struct traffic_dir *td)
{
	char peak[32], mx[32], flows[32];
	const struct hl_hist *b = td->bytes;

	if (!b || b->count == b->zero_count) {
		fprintf(f, " %s idle", name);
		return;
	}
	fmt_plain(td->peak, peak, sizeof(peak));
	fmt_plain(b->has_max ? (double)b->max_ns : hl_hist_quantile(b, 1.0), mx, sizeof(mx));
	fmt_plain(td->flows && td->flows->count ? hl_hist_quantile(td->flows, 1.0) : 0, flows,
		  sizeof(flows));
	fprintf(f, " %s peak %sB/s, %llu burst%s, %llu busy samples, max %s bytes, flows <=%s",
		name, peak, (unsigned long long)td->bursts, td->bursts == 1 ? "" : "s",
		(unsigned long long)(b->count - b->zero_count), mx, flows);
}

static void print_traffic(FILE *f, const struct traffic_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct hl_hist *rx = g[i].dir[0].bytes, *tx = g[i].dir[1].bytes;
		uint64_t samples = rx ? rx->count : tx ? tx->count : 0;

		if (!samples)
			continue; /* no run of this granularity ended in the interval */
		fprintf(f, "traffic %s %s: %llu samples;", g[i].iface, g[i].gran,
			(unsigned long long)samples);
		if ((!rx || rx->count == rx->zero_count) && (!tx || tx->count == tx->zero_count)) {
			fprintf(f, " idle\n");
			continue;
		}
		print_traffic_dir(f, "receive", &g[i].dir[0]);
		fputc(';', f);
		print_traffic_dir(f, "transmit", &g[i].dir[1]);
		if (g[i].ce_bytes || g[i].retransmits)
			fprintf(f, "; ECN CE %llu bytes, %llu retransmits",
				(unsigned long long)g[i].ce_bytes,
				(unsigned long long)g[i].retransmits);
		fputc('\n', f);
	}
}

static void print_pretty(struct stdout_state *st, const struct hl_batch *b)
{
	time_t t = (time_t)(b->time_unix_ns / 1000000000ULL);
	struct traffic_group groups[MAX_TRAFFIC_GROUPS];
	size_t n_groups = 0, quiet = 0;
	struct tm tm;
	char when[64];
	FILE *f = st->f;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(f, "=== hostlat %s, %s %.1fs%s ===\n", when, st->delta ? "last" : "since start,",
		(b->time_unix_ns - (st->delta ? b->prev_unix_ns : b->start_unix_ns)) * 1e-9,
		b->final ? " (final)" : "");
	for (size_t i = 0; i < b->n_metrics; i++) {
		const struct hl_metric *m = &b->metrics[i];

		for (size_t j = 0; j < m->n_points; j++) {
			const struct hl_point *p = &m->points[j];
			uint64_t v = st->delta ? p->value_delta : p->value;
			enum traffic_field tf = traffic_field(m, p);
			struct traffic_group *g;

			if (tf != TF_NONE && (g = traffic_group(groups, &n_groups, p))) {
				traffic_add(g, tf, p, st->delta);
				continue;
			}
			switch (m->kind) {
			case HL_METRIC_EXPHIST:
				/* Cumulative: a series with nothing new is counted, not shown. */
				if (!st->delta && p->delta && !p->delta->count) {
					quiet++;
					break;
				}
				print_hist_point(f, m, p, st->delta);
				break;
			case HL_METRIC_COUNTER:
				if (!v)
					break;
				fprintf(f, "%s", m->name);
				print_attrs(f, p);
				fprintf(f, " %llu\n", (unsigned long long)v);
				break;
			case HL_METRIC_GAUGE:
				if (!gauge_changed(st, m, p)) {
					quiet++;
					break;
				}
				fprintf(f, "%s", m->name);
				print_attrs(f, p);
				fprintf(f, " %g\n", p->gauge);
				break;
			}
		}
	}
	print_traffic(f, groups, n_groups);
	if (quiet)
		fprintf(f, "(%zu series unchanged, not shown)\n", quiet);
	fputc('\n', f);
}

static enum hl_export_result stdout_export(void *state, const struct hl_batch *batch,
					   struct hl_export_status *status)
{
	struct stdout_state *st = state;

	if (st->json) {
		char *s = hl_otlp_encode_string(batch, st->delta);

		if (s) {
			fprintf(st->f, "%s\n", s);
			free(s);
		}
	} else {
		print_pretty(st, batch);
	}
	if (fflush(st->f) == EOF || ferror(st->f)) {
		snprintf(status->message, sizeof(status->message), "write failed: %s",
			 strerror(errno));
		clearerr(st->f);
		return HL_EXPORT_DROP;
	}
	return HL_EXPORT_OK;
}

static void stdout_shutdown(void *state)
{
	struct stdout_state *st = state;

	if (!st)
		return;
	if (st->own)
		fclose(st->f);
	else
		fflush(st->f);
	free(st);
	hl_otlp_memo_clear();
}

const struct hl_exporter_ops hl_stdout_exporter = {
	.abi_version = HL_EXPORTER_ABI_VERSION,
	.name = "stdout",
	.options = stdout_options,
	.config_size = sizeof(struct hl_stdout_conf),
	.help = "print metrics on standard output",
	.init = stdout_init,
	.export_batch = stdout_export,
	.shutdown = stdout_shutdown,
};
