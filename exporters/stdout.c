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

struct stdout_state {
	FILE *f;
	bool own; /* f was opened by us */
	bool json, delta;
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

static void print_pretty(struct stdout_state *st, const struct hl_batch *b)
{
	time_t t = (time_t)(b->time_unix_ns / 1000000000ULL);
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

			switch (m->kind) {
			case HL_METRIC_EXPHIST:
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
				fprintf(f, "%s", m->name);
				print_attrs(f, p);
				fprintf(f, " %g\n", p->gauge);
				break;
			}
		}
	}
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
