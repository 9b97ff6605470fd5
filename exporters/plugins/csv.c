/* SPDX-License-Identifier: MIT */
/*
 * hostlat_csv.so: an example exporter module (`type: plugin`). It appends
 * one CSV row per data point of each batch to a file:
 *
 *   time_unix_ns,metric,attributes,kind,count,sum_seconds,p50,p90,p99,max,value
 *
 * with delta values (what happened during the batch's interval): for a
 * histogram its count, and its sum, percentiles and max in seconds with 9
 * decimals (percentiles are bucket upper bounds; max is exact when the
 * histogram knows it, else the top bucket's bound) -- or, for histograms
 * of plain values (raw_values: bytes, flows), in the metric's unit under
 * the same columns; for a counter its
 * increase in `value`; for a gauge its value. Points with nothing new (a
 * histogram with count 0, a counter that did not move) are skipped.
 * attributes is k=v;k=v (';', '=' and '\' in keys and values escaped with
 * '\'); a field holding ',', '"' or a line break is quoted as in RFC 4180.
 *
 * Config (`config:` of the exporter item):
 *   file    required: the file to append to (created 0644 if missing)
 *   header  true (default) or false: write the header line when the file
 *           is empty at start
 *
 * Like any module it includes only the ABI header: no agent code.
 * Build: cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iexporters -fPIC
 *        -fvisibility=hidden -shared exporters/plugins/csv.c -o hostlat_csv.so -lm
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostlat_exporter.h"

#define CSV_HEADER "time_unix_ns,metric,attributes,kind,count,sum_seconds,p50,p90,p99,max,value\n"

struct csv_state {
	int fd;
	char *file;
};

static bool write_all(int fd, const char *buf, size_t len, size_t *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t n = write(fd, buf + *done, len - *done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return false;
		}
		*done += (size_t)n;
	}
	return true;
}

/* true/false, yes/no, on/off; -1 for anything else. */
static int parse_bool(const char *s)
{
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
		return 1;
	if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))
		return 0;
	return -1;
}

static void *csv_init(const void *conf, char *err, size_t errlen)
{
	const struct hl_module_params *p = conf;
	const char *file = NULL;
	struct csv_state *st;
	struct stat sb;
	int header = 1;
	size_t done;

	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->keys[i], "file")) {
			file = p->values[i];
		} else if (!strcmp(p->keys[i], "header")) {
			header = parse_bool(p->values[i]);
			if (header < 0) {
				snprintf(err, errlen,
					 "config key 'header': expected true or false, got '%s'",
					 p->values[i]);
				return NULL;
			}
		} else {
			snprintf(err, errlen, "unknown config key '%s'; valid keys: file, header",
				 p->keys[i]);
			return NULL;
		}
	}
	if (!file || !*file) {
		snprintf(err, errlen, "config key 'file' is required: the CSV file to append to");
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st || !(st->file = strdup(file))) {
		snprintf(err, errlen, "out of memory");
		free(st);
		return NULL;
	}
	st->fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (st->fd < 0) {
		snprintf(err, errlen, "cannot open '%s' for appending: %s", file, strerror(errno));
		goto fail;
	}
	if (header && fstat(st->fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0 &&
	    !write_all(st->fd, CSV_HEADER, strlen(CSV_HEADER), &done)) {
		snprintf(err, errlen, "cannot write to '%s': %s", file, strerror(errno));
		goto fail;
	}
	return st;
fail:
	if (st->fd >= 0)
		close(st->fd);
	free(st->file);
	free(st);
	return NULL;
}

/* ---- percentiles from the exponential histogram ---------------------------------- */

/* Bucket `index` at `scale` holds (2^(index/2^scale), 2^((index+1)/2^scale)] seconds. */
static double bucket_upper(int scale, int32_t index)
{
	return exp2(((double)index + 1) * ldexp(1.0, -scale));
}

/* sum/min/max of h in its unit: seconds, or plain values. */
static double hist_value(const struct hl_hist *h, uint64_t v)
{
	return h->raw_values ? (double)v : (double)v * 1e-9;
}

/*
 * Value at quantile q of h, in seconds (plain units for raw_values): the
 * upper bound of the bucket holding rank ceil(q * count), clamped to min
 * and max when they are known.
 */
static double quantile(const struct hl_hist *h, double q)
{
	uint64_t rank, acc = h->zero_count;
	double v;
	uint32_t k;

	if (!h->count)
		return 0;
	v = ceil(q * (double)h->count);
	rank = v < 1 ? 1 : v >= (double)h->count ? h->count : (uint64_t)v;
	if (rank <= h->zero_count)
		return 0;
	for (k = 0; k < h->len; k++) {
		acc += h->counts[k];
		if (acc >= rank)
			break;
	}
	if (k == h->len) { /* counts do not add up to count: take the top */
		if (h->has_max)
			return hist_value(h, h->max_ns);
		if (!h->len)
			return 0;
		k = h->len - 1;
	}
	v = bucket_upper(h->scale, h->offset + (int32_t)k);
	if (h->has_max && v > hist_value(h, h->max_ns))
		v = hist_value(h, h->max_ns);
	if (h->has_min && v < hist_value(h, h->min_ns))
		v = hist_value(h, h->min_ns);
	return v;
}

/* ---- rows ------------------------------------------------------------------------ */

static bool needs_quotes(const char *s)
{
	return strpbrk(s, ",\"\r\n") != NULL;
}

/* s with '"' doubled (inside a quoted field) and, in attributes, ';' '=' '\' escaped. */
static void put_text(FILE *f, const char *s, bool quoted, bool attr)
{
	for (; *s; s++) {
		if (attr && (*s == ';' || *s == '=' || *s == '\\'))
			fputc('\\', f);
		if (quoted && *s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
}

static void put_field(FILE *f, const char *s)
{
	bool q = needs_quotes(s);

	if (q)
		fputc('"', f);
	put_text(f, s, q, false);
	if (q)
		fputc('"', f);
}

static void put_attrs(FILE *f, const struct hl_point *p)
{
	unsigned int n = p->n_attrs < HL_MAX_ATTRS ? p->n_attrs : HL_MAX_ATTRS;
	bool q = false;

	for (unsigned int a = 0; a < n; a++)
		q = q || needs_quotes(p->attrs[a].key) || needs_quotes(p->attrs[a].value);
	if (q)
		fputc('"', f);
	for (unsigned int a = 0; a < n; a++) {
		if (a)
			fputc(';', f);
		put_text(f, p->attrs[a].key, q, true);
		fputc('=', f);
		put_text(f, p->attrs[a].value, q, true);
	}
	if (q)
		fputc('"', f);
}

static void put_start(FILE *f, const struct hl_batch *b, const struct hl_metric *m,
		      const struct hl_point *p, const char *kind)
{
	fprintf(f, "%llu,", (unsigned long long)b->time_unix_ns);
	put_field(f, m->name);
	fputc(',', f);
	put_attrs(f, p);
	fprintf(f, ",%s,", kind);
}

/* Exact seconds from nanoseconds: "12.000345678"; plain values as integers. */
static void put_seconds(FILE *f, const struct hl_hist *h, uint64_t ns)
{
	if (h->raw_values)
		fprintf(f, "%llu", (unsigned long long)ns);
	else
		fprintf(f, "%llu.%09llu", (unsigned long long)(ns / 1000000000ULL),
			(unsigned long long)(ns % 1000000000ULL));
}

/* Rows of one point; 0 when it has nothing new. */
static int put_point(FILE *f, const struct hl_batch *b, const struct hl_metric *m,
		     const struct hl_point *p)
{
	const struct hl_hist *h = p->delta;

	switch (m->kind) {
	case HL_METRIC_EXPHIST:
		if (!h || !h->count)
			return 0;
		put_start(f, b, m, p, "histogram");
		fprintf(f, "%llu,", (unsigned long long)h->count);
		put_seconds(f, h, h->sum_ns);
		fprintf(f, ",%.9f,%.9f,%.9f,", quantile(h, 0.50), quantile(h, 0.90),
			quantile(h, 0.99));
		if (h->has_max)
			put_seconds(f, h, h->max_ns);
		else
			fprintf(f, "%.9f", quantile(h, 1.0));
		fprintf(f, ",\n");
		return 1;
	case HL_METRIC_COUNTER:
		if (!p->value_delta)
			return 0;
		put_start(f, b, m, p, "counter");
		fprintf(f, ",,,,,,%llu\n", (unsigned long long)p->value_delta);
		return 1;
	case HL_METRIC_GAUGE:
		put_start(f, b, m, p, "gauge");
		fprintf(f, ",,,,,,%.17g\n", p->gauge);
		return 1;
	}
	return 0;
}

static enum hl_export_result csv_export(void *state, const struct hl_batch *batch,
					struct hl_export_status *status)
{
	struct csv_state *st = state;
	char *buf = NULL;
	size_t len = 0, done;
	FILE *f = open_memstream(&buf, &len);
	bool ok;

	if (!f) {
		snprintf(status->message, sizeof(status->message), "out of memory");
		return HL_EXPORT_RETRY;
	}
	for (size_t i = 0; i < batch->n_metrics; i++)
		for (size_t j = 0; j < batch->metrics[i].n_points; j++)
			put_point(f, batch, &batch->metrics[i], &batch->metrics[i].points[j]);
	if (fclose(f) || !buf) {
		free(buf);
		snprintf(status->message, sizeof(status->message), "out of memory");
		return HL_EXPORT_RETRY;
	}
	ok = write_all(st->fd, buf, len, &done);
	free(buf);
	status->bytes = done;
	if (ok)
		return HL_EXPORT_OK;
	snprintf(status->message, sizeof(status->message), "write to '%s' failed: %s", st->file,
		 strerror(errno));
	/* Nothing written: try again later. Rows half written: retrying would repeat them. */
	return done ? HL_EXPORT_DROP : HL_EXPORT_RETRY;
}

static void csv_shutdown(void *state)
{
	struct csv_state *st = state;

	if (!st)
		return;
	close(st->fd);
	free(st->file);
	free(st);
}

static const struct hl_exporter_ops csv_ops = {
	.abi_version = HL_EXPORTER_ABI_VERSION,
	.name = "csv",
	.options = NULL,
	.help = "append one CSV row per data point to config.file",
	.init = csv_init,
	.export_batch = csv_export,
	.shutdown = csv_shutdown,
};

__attribute__((visibility("default"))) const struct hl_exporter_ops *hostlat_exporter_module(void)
{
	return &csv_ops;
}
