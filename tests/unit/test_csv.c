/* SPDX-License-Identifier: MIT */
/*
 * exporters/plugins/csv.c, the example exporter module
 * (build/plugins/hostlat_csv.so), loaded as the agent loads it and driven
 * end to end: its config errors, rows, header, escaping, and its
 * percentiles against the agent's own hl_hist_quantile.
 * Runs from the repository root ($BUILD, default build, locates the module).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist.h"
#include "plugin.h"
#include "unit.h"

static char csv_so[256];

static void paths(void)
{
	const char *b = getenv("BUILD");

	if (!b || !*b)
		b = "build";
	snprintf(csv_so, sizeof(csv_so), "%s/plugins/hostlat_csv.so", b);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* init with the given config keys (NULL-terminated pairs). */
static void *csv_init(const struct hl_exporter_ops *ops, const char *const *kv, char *err,
		      size_t errlen)
{
	const char *keys[8], *values[8];
	struct hl_module_params p = {0, keys, values};

	for (; kv[0] && p.n < 8; kv += 2, p.n++) {
		keys[p.n] = kv[0];
		values[p.n] = kv[1];
	}
	err[0] = 0;
	return ops->init(&p, err, errlen);
}

#define HEADER "time_unix_ns,metric,attributes,kind,count,sum_seconds,p50,p90,p99,max,value\n"

static void test_csv_errors(const struct hl_exporter_ops *ops, const char *dir)
{
	static const struct {
		const char *kv[6];
		const char *msg;
	} rows[] = {
		{{NULL}, "config key 'file' is required: the CSV file to append to"},
		{{"header", "true", NULL}, "config key 'file' is required"},
		{{"file", "", NULL}, "config key 'file' is required"},
		{{"file", "/tmp/x.csv", "colour", "red", NULL},
		 "unknown config key 'colour'; valid keys: file, header"},
		{{"file", "/tmp/x.csv", "header", "maybe", NULL},
		 "config key 'header': expected true or false, got 'maybe'"},
		{{"file", "/nonexistent/dir/x.csv", NULL},
		 "cannot open '/nonexistent/dir/x.csv' for appending: No such file or directory"},
	};
	char err[256];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		void *st = csv_init(ops, rows[i].kv, err, sizeof(err));

		CHECK(!st, "csv error row %zu: init succeeded", i);
		CHECK(!strncmp(err, rows[i].msg, strlen(rows[i].msg)), "csv error row %zu: '%s'", i,
		      err);
		ops->shutdown(st);
	}
	{
		const char *kv[] = {"file", dir, NULL};
		void *st = csv_init(ops, kv, err, sizeof(err));

		CHECK(!st && strstr(err, "Is a directory"), "directory: '%s'", err);
	}
}

static void test_csv_rows(const struct hl_exporter_ops *ops, const char *dir)
{
	/* scale 1: bucket i is (2^(i/2), 2^((i+1)/2)] s; offset -20 starts near 1 ms */
	uint64_t counts[] = {1, 0, 8, 1};
	struct hl_hist d = {.scale = 1,
			    .offset = -20,
			    .len = 4,
			    .max_size = 4,
			    .counts = counts,
			    .count = 10,
			    .sum_ns = 25000000,
			    .min_ns = 1000000,
			    .max_ns = 3500000,
			    .has_min = true,
			    .has_max = true};
	struct hl_hist cum = d, empty = {.scale = 3};
	uint64_t zcounts[] = {2};
	struct hl_hist withzero = {.scale = 0,
				   .offset = 3,
				   .len = 1,
				   .max_size = 1,
				   .counts = zcounts,
				   .count = 5,
				   .zero_count = 3,
				   .sum_ns = 20000000000ULL};
	struct hl_point hp[] = {
		{.attrs = {{"stage", "tcp-socket-read"}, {"interface", "eth0"}},
		 .n_attrs = 2,
		 .cumulative = &cum,
		 .delta = &d},
		{.attrs = {{"stage", "ip-start"}},
		 .n_attrs = 1,
		 .cumulative = &cum,
		 .delta = &empty},
		{.attrs = {{"stage", "udp-start"}},
		 .n_attrs = 1,
		 .cumulative = &cum,
		 .delta = NULL},
		{.attrs = {{"cgroup", "/a,b"}, {"odd", "x;y=z\\\"q\""}},
		 .n_attrs = 2,
		 .delta = &withzero},
	};
	struct hl_point cp[] = {
		{.attrs = {{"stage", "ip-start"}}, .n_attrs = 1, .value = 10, .value_delta = 0},
		{.attrs = {{"stage", "tcp-start"}}, .n_attrs = 1, .value = 10, .value_delta = 3},
	};
	struct hl_point gp[] = {
		{.attrs = {{"stage", "ip-start"}, {"hook", "tp_btf/netif_receive_skb"}},
		 .n_attrs = 2,
		 .gauge = 1},
		{.n_attrs = 0, .gauge = 0.25},
	};
	struct hl_metric m[] = {
		{"hostlat.stack.latency", "", "s", HL_METRIC_EXPHIST, hp, 4},
		{"hostlat.stack.dropped", "", "{sample}", HL_METRIC_COUNTER, cp, 2},
		{"hostlat.probe.hook", "", "1", HL_METRIC_GAUGE, gp, 2},
	};
	struct hl_batch b = {.start_unix_ns = 1000,
			     .prev_unix_ns = 2000,
			     .time_unix_ns = 1700000000123456789ULL,
			     .scope_name = "hostlat",
			     .metrics = m,
			     .n_metrics = 3};
	static const char want_rows[] =
		"1700000000123456789,hostlat.stack.latency,stage=tcp-socket-read;interface=eth0,"
		"histogram,10,0.025000000,0.002762136,0.002762136,0.003500000,0.003500000,\n"
		"1700000000123456789,hostlat.stack.latency,\"cgroup=/"
		"a,b;odd=x\\;y\\=z\\\\\"\"q\"\"\","
		"histogram,5,20.000000000,0.000000000,16.000000000,16.000000000,16.000000000,\n"
		"1700000000123456789,hostlat.stack.dropped,stage=tcp-start,counter,,,,,,,3\n"
		"1700000000123456789,hostlat.probe.hook,stage=ip-start;hook=tp_btf/"
		"netif_receive_skb,"
		"gauge,,,,,,,1\n"
		"1700000000123456789,hostlat.probe.hook,,gauge,,,,,,,0.25\n";
	struct hl_export_status status = {0};
	char file[256], file2[256], err[256], want[2048];
	const char *kv[] = {"file", file, NULL};
	const char *kv_nohdr[] = {"file", file2, "header", "no", NULL};
	void *st;
	char *got;

	snprintf(file, sizeof(file), "%s/out.csv", dir);
	snprintf(file2, sizeof(file2), "%s/nohdr.csv", dir);

	st = csv_init(ops, kv, err, sizeof(err));
	CHECK(st, "csv init: %s", err);
	if (!st)
		return;
	CHECK(ops->export_batch(st, &b, &status) == HL_EXPORT_OK, "export: %s", status.message);
	CHECK(status.bytes == strlen(want_rows), "status.bytes %llu, want %zu",
	      (unsigned long long)status.bytes, strlen(want_rows));
	ops->shutdown(st);
	got = slurp(file);
	snprintf(want, sizeof(want), "%s%s", HEADER, want_rows);
	CHECK(got && !strcmp(got, want), "csv file:\n%s\nwant:\n%s", got ? got : "(none)", want);
	free(got);

	/* A second run appends without a second header. */
	st = csv_init(ops, kv, err, sizeof(err));
	CHECK(st, "csv init again: %s", err);
	if (st) {
		b.final = true;
		CHECK(ops->export_batch(st, &b, &status) == HL_EXPORT_OK, "export again");
		ops->shutdown(st);
	}
	got = slurp(file);
	snprintf(want, sizeof(want), "%s%s%s", HEADER, want_rows, want_rows);
	CHECK(got && !strcmp(got, want), "appended file:\n%s", got ? got : "(none)");
	free(got);

	/* header: no; an empty batch writes nothing. */
	st = csv_init(ops, kv_nohdr, err, sizeof(err));
	CHECK(st, "csv init no header: %s", err);
	if (st) {
		struct hl_batch none = {.time_unix_ns = 1};

		CHECK(ops->export_batch(st, &none, &status) == HL_EXPORT_OK, "empty export");
		CHECK(ops->export_batch(st, &b, &status) == HL_EXPORT_OK, "export no header");
		ops->shutdown(st);
	}
	got = slurp(file2);
	CHECK(got && !strcmp(got, want_rows), "no-header file:\n%s", got ? got : "(none)");
	free(got);
	unlink(file);
	unlink(file2);
}

/* The module's percentiles match the agent's hl_hist_quantile on random histograms. */
static void test_csv_percentiles(const struct hl_exporter_ops *ops, const char *dir)
{
	static const double qs[] = {0.5, 0.9, 0.99};
	char file[256], err[256];
	const char *kv[] = {"file", file, "header", "false", NULL};
	unsigned int seed = 12345;
	int bad = 0;

	snprintf(file, sizeof(file), "%s/pct.csv", dir);
	for (int round = 0; round < 300; round++) {
		uint64_t counts[24] = {0};
		struct hl_hist h = {.scale = (int)(rand_r(&seed) % 8) - 2,
				    .offset = (int32_t)(rand_r(&seed) % 80) - 60,
				    .len = 1 + rand_r(&seed) % 24,
				    .max_size = 24,
				    .counts = counts,
				    .zero_count = rand_r(&seed) % 3};
		struct hl_point p = {.delta = &h};
		struct hl_metric m = {"x", "", "s", HL_METRIC_EXPHIST, &p, 1};
		struct hl_batch b = {.time_unix_ns = 1, .metrics = &m, .n_metrics = 1};
		struct hl_export_status status = {0};
		double got[3];
		void *st;
		char *text;

		h.count = h.zero_count;
		for (uint32_t k = 0; k < h.len; k++) {
			counts[k] = rand_r(&seed) % 4 ? rand_r(&seed) % 50 : 0;
			h.count += counts[k];
		}
		if (!h.count)
			continue;
		if (rand_r(&seed) % 2) {
			double lo, hi;

			hl_exph_bounds(h.scale, h.offset + (int32_t)h.len - 1, &lo, &hi);
			h.has_max = true;
			h.max_ns = (uint64_t)((lo + (hi - lo) / 3) * 1e9) + 1;
		}
		st = csv_init(ops, kv, err, sizeof(err));
		if (!st) {
			CHECK(0, "init: %s", err);
			return;
		}
		ops->export_batch(st, &b, &status);
		ops->shutdown(st);
		text = slurp(file);
		unlink(file);
		CHECK(text && sscanf(text, "1,x,,histogram,%*[^,],%*[^,],%lf,%lf,%lf", &got[0],
				     &got[1], &got[2]) == 3,
		      "round %d: row '%s'", round, text ? text : "(none)");
		for (int i = 0; text && i < 3; i++) {
			double want = hl_hist_quantile(&h, qs[i]);

			/* printed with 9 decimals: within half a nanosecond */
			if (!(fabs(got[i] - want) <= 0.6e-9 + want * 1e-12) && bad++ < 5)
				CHECK(0, "round %d (scale %d): p%g %.17g, agent says %.17g", round,
				      h.scale, qs[i] * 100, got[i], want);
		}
		free(text);
	}
	CHECK(!bad, "%d percentiles differ", bad);
}

static void test_csv(void)
{
	char dir[] = "/tmp/hostlat-test-plugin.XXXXXX", err[512] = "";
	const struct hl_exporter_ops *ops = NULL;
	void *h = NULL;
	int e;

	CHECK(access(csv_so, R_OK) == 0, "%s missing: run make unit", csv_so);
	e = hl_plugin_load(csv_so, &h, &ops, err, sizeof(err));
	CHECK(e == 0, "load %s: %d %s", csv_so, e, err);
	if (e)
		return;
	CHECK(ops->abi_version == HL_EXPORTER_ABI_VERSION && !strcmp(ops->name, "csv") &&
		      !ops->options && ops->help,
	      "csv ops");
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp failed");
		hl_plugin_unload(h);
		return;
	}
	test_csv_errors(ops, dir);
	test_csv_rows(ops, dir);
	test_csv_percentiles(ops, dir);
	ops->shutdown(NULL);
	rmdir(dir);
	hl_plugin_unload(h);
}

int main(void)
{
	paths();
	test_csv();
	return UNIT_DONE();
}
