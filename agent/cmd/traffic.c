/* SPDX-License-Identifier: MIT */
/*
 * `hostlat traffic show|list`: read the runs the agent stored and print one
 * as a terminal chart (time on x, rate on y, bursts marked) or as CSV.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "probes.h"
#include "traffic.h"

enum { EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hostlat traffic show [OPTIONS] [FILE]\n"
		"       hostlat traffic list [OPTIONS]\n"
		"       hostlat traffic merge [OPTIONS] FILE...   (hostlat traffic merge --help)\n"
		"Print a stored traffic sampling run (default: the newest) as a chart of the\n"
		"rate over time with bursts marked, or as CSV; or list the stored runs; or\n"
		"merge runs of several hosts slot by slot.\n"
		"\n"
		"  -d, --dir DIR        the runs' directory (default: probes.traffic.store.dir)\n"
		"  -c, --config FILE    take the directory from this config (default: the\n"
		"                       embedded default config)\n"
		"      --csv            print CSV: one row per sample, both directions\n"
		"  -w, --width N        chart width in columns (default: the terminal's, or 100)\n"
		"      --height N       chart height in rows (default 12)\n"
		"  -h, --help           this text\n");
}

/*
 * Text from a run file (its interface name, its own name) as printable
 * ASCII: anything else, escape sequences for the terminal included, as
 * \xHH, and a backslash as \\.
 */
static void put_escaped(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p >= 0x20 && *p < 0x7f)
			fputc(*p, f);
		else
			fprintf(f, "\\x%02x", *p);
	}
}

/* "950", "12.3k", "1.5M", "10G" */
static void si(double v, char *buf, size_t len)
{
	static const char *const pre[] = {"", "k", "M", "G", "T", "P"};
	int i = 0;

	while (v >= 1000 && i < 5) {
		v /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.3g%s", v, pre[i]);
}

void hl_traffic_put_escaped(FILE *f, const char *s)
{
	put_escaped(f, s);
}

void hl_traffic_si(double v, char *buf, size_t len)
{
	si(v, buf, len);
}

void hl_traffic_chart(FILE *f, const double *col, const uint32_t *mark, int ncols, int height,
		      double ymax, double line)
{
	int line_row =
		line > 0 && ymax > 0 && line <= ymax ? (int)((line / ymax) * height + 0.5) : -1;
	char a[32];

	for (int row = height; row >= 1; row--) {
		if (row == height)
			si(ymax, a, sizeof(a));
		else if (row == (height + 1) / 2)
			si(ymax * row / height, a, sizeof(a));
		else
			a[0] = 0;
		fprintf(f, "%8s |", a);
		for (int k = 0; k < ncols; k++) {
			int h = ymax > 0 ? (int)((col[k] / ymax) * height + 0.999999) : 0;

			if (col[k] > 0 && h < 1)
				h = 1;
			fputc(h >= row ? (mark[k] ? '#' : '|') : row == line_row ? '-' : ' ', f);
		}
		fputc('\n', f);
	}
	fprintf(f, "%8s +", "0");
	for (int k = 0; k < ncols; k++)
		fputc('-', f);
	fputc('\n', f);
}

static double rate_bps(const struct hl_traffic_rundata *r, uint64_t bytes)
{
	return (double)bytes * 8e9 / (double)r->gran_ns;
}

static void print_direction(FILE *f, const struct hl_traffic_rundata *r, int dir, int width,
			    int height)
{
	const struct hl_traffic_sample *s = r->samples[dir];
	int plot = width - 10, ncols;
	uint32_t per, peak_at = 0, bursts = 0;
	uint64_t total = 0, peak = 0, ce = 0, rtx = 0, maxflows = 0, packets = 0;
	double ymax, thr = (double)r->link_bps * r->burst_pct / 100.0;
	char a[32], b[32], c[32], d[32], dur[32];
	double *col;
	uint32_t *burst; /* 1: a burst in the column */

	if (plot < 10)
		plot = 10;
	per = (r->n + (uint32_t)plot - 1) / (uint32_t)plot;
	ncols = (int)((r->n + per - 1) / per);
	col = calloc((size_t)ncols, sizeof(*col));
	burst = calloc((size_t)ncols, sizeof(*burst));
	if (!col || !burst) {
		free(col);
		free(burst);
		return;
	}
	for (uint32_t i = 0; i < r->n; i++) {
		double v = rate_bps(r, s[i].bytes);
		int k = (int)(i / per);

		total += s[i].bytes;
		packets += s[i].packets;
		ce += s[i].ce_bytes;
		rtx += s[i].retrans;
		if (s[i].flows > maxflows)
			maxflows = s[i].flows;
		if (s[i].bytes > peak) {
			peak = s[i].bytes;
			peak_at = i;
		}
		if (v > col[k])
			col[k] = v;
		if (hl_traffic_is_burst(s[i].bytes, r->gran_ns, r->link_bps, r->burst_pct)) {
			burst[k] = 1;
			bursts++;
		}
	}
	hl_format_duration(r->gran_ns * r->n, dur, sizeof(dur));
	si((double)total, a, sizeof(a));
	si(rate_bps(r, peak), b, sizeof(b));
	hl_format_duration(r->gran_ns * peak_at, c, sizeof(c));
	fprintf(f, "%s: %sB in %s (%" PRIu64 " packets), peak %sbit/s at %s",
		dir ? "transmit" : "receive", a, dur, packets, b, c);
	if (r->link_bps) {
		si(thr, d, sizeof(d));
		fprintf(f, ", %u burst%s (> %sbit/s)", bursts, bursts == 1 ? "" : "s", d);
	}
	if (dir == 0 && ce) {
		si((double)ce, d, sizeof(d));
		fprintf(f, ", %sB ECN CE", d);
	}
	if (dir == 1 && rtx)
		fprintf(f, ", %" PRIu64 " retransmits", rtx);
	fprintf(f, ", up to %" PRIu64 " flows\n", maxflows);

	ymax = rate_bps(r, peak);
	hl_traffic_chart(f, col, burst, ncols, height, ymax, r->link_bps ? thr : 0);
	if (bursts) {
		fprintf(f, "%8s  ", "bursts");
		for (int k = 0; k < ncols; k++)
			fputc(burst[k] ? '^' : ' ', f);
		fputc('\n', f);
	}
	hl_format_duration(r->gran_ns * per, c, sizeof(c));
	fprintf(f, "%8s  0%*s\n", "", ncols - 1, dur);
	fprintf(f, "%8s  (bit/s; one column = %s, the highest sample shown)\n", "", c);
	free(col);
	free(burst);
}

void hl_traffic_print_chart(FILE *f, const struct hl_traffic_rundata *r, int width, int height)
{
	time_t secs = (time_t)(r->start_unix_ns / 1000000000ULL);
	char when[64], gran[32], speed[32];
	struct tm tm;

	if (!gmtime_r(&secs, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(when, sizeof(when), "%" PRIu64,
			 (uint64_t)(r->start_unix_ns / 1000000000U));
	hl_format_duration(r->gran_ns, gran, sizeof(gran));
	if (r->link_bps) {
		si((double)r->link_bps, speed, sizeof(speed));
		strncat(speed, "bit/s", sizeof(speed) - strlen(speed) - 1);
	}
	put_escaped(f, r->ifname);
	fprintf(f, ": %u samples of %s from %s.%03u UTC; link %s", r->n, gran, when,
		(unsigned int)(r->start_unix_ns / 1000000ULL % 1000),
		r->link_bps ? speed : "speed unknown (no bursts)");
	if (r->link_bps)
		fprintf(f, ", bursts above %u%%", r->burst_pct);
	fprintf(f, "\n\n");
	print_direction(f, r, 0, width, height);
	fputc('\n', f);
	print_direction(f, r, 1, width, height);
}

void hl_traffic_print_csv(FILE *f, const struct hl_traffic_rundata *r)
{
	fprintf(f, "sample,time_ns,rx_bytes,rx_packets,rx_ce_bytes,rx_flows,tx_bytes,tx_packets,"
		   "tx_retransmits,tx_flows,rx_bps,tx_bps,rx_burst,tx_burst\n");
	for (uint32_t i = 0; i < r->n; i++) {
		const struct hl_traffic_sample *rx = &r->samples[0][i], *tx = &r->samples[1][i];

		fprintf(f,
			"%u,%" PRIu64 ",%" PRIu64 ",%u,%" PRIu64 ",%u,%" PRIu64
			",%u,%u,%u,%.0f,%.0f,%d,%d\n",
			i, (uint64_t)i * r->gran_ns, rx->bytes, rx->packets, rx->ce_bytes,
			rx->flows, tx->bytes, tx->packets, tx->retrans, tx->flows,
			rate_bps(r, rx->bytes), rate_bps(r, tx->bytes),
			hl_traffic_is_burst(rx->bytes, r->gran_ns, r->link_bps, r->burst_pct),
			hl_traffic_is_burst(tx->bytes, r->gran_ns, r->link_bps, r->burst_pct));
	}
}

/* "hostlat: " and msg, which may hold text from a run file, escaped. */
static void error_line(const char *prefix, const char *msg)
{
	fprintf(stderr, "hostlat: %s", prefix);
	put_escaped(stderr, msg);
	fputc('\n', stderr);
}

/* The store directory from --dir, else from the config. 0 or exit status. */
static int store_dir(const char *dir, const char *config, char **out)
{
	struct hl_config cfg;
	char err[1024];
	int e;

	if (dir) {
		*out = strdup(dir);
		return *out ? 0 : 1;
	}
	/* hl_config_load reads only a regular file, without blocking (a FIFO). */
	e = hl_config_load(&cfg, config, err, sizeof(err));
	if (e) {
		fprintf(stderr, "hostlat: error: config: %s\n", err);
		return EXIT_USAGE;
	}
	*out = strdup(((const struct hl_traffic_conf *)hl_probe_config(&cfg, &hl_traffic_probe))
			      ->store.dir);
	hl_config_free(&cfg);
	return *out ? 0 : 1;
}

static int list_runs(const char *dir)
{
	char **names;
	size_t n;
	int e = hl_traffic_store_list(dir, &names, &n);

	if (e) {
		fprintf(stderr, "hostlat: %s: %s\n", dir, strerror(-e));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		put_escaped(stdout, dir);
		putchar('/');
		put_escaped(stdout, names[i]);
		putchar('\n');
	}
	hl_traffic_store_list_free(names, n);
	return 0;
}

/*
 * The newest run of dir that can be read into r; a newer one that cannot
 * (cut off by a full disk, damaged) is skipped with a warning. 0 or 1.
 */
static int read_newest(const char *dir, struct hl_traffic_rundata *r)
{
	char path[4096], err[512];
	char **names;
	size_t n, skipped = 0;
	int e = hl_traffic_store_list(dir, &names, &n);

	if (e || !n) {
		fprintf(stderr, "hostlat: no stored traffic runs in %s%s%s\n", dir, e ? ": " : "",
			e ? strerror(-e) : "");
		if (!e)
			hl_traffic_store_list_free(names, n);
		return 1;
	}
	for (size_t i = n; i-- > 0;) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (hl_traffic_store_read(path, r, err, sizeof(err)) == 0) {
			hl_traffic_store_list_free(names, n);
			return 0;
		}
		error_line("warning: skipping an unreadable run: ", err);
		skipped++;
	}
	hl_traffic_store_list_free(names, n);
	fprintf(stderr, "hostlat: none of the %zu stored traffic runs in %s can be read\n", skipped,
		dir);
	return 1;
}

static int show_run(const char *dir, const char *file, bool csv, int width, int height)
{
	struct hl_traffic_rundata r;
	char path[4096], err[512];
	struct stat st;
	int e;

	if (!file) {
		if (read_newest(dir, &r))
			return 1;
	} else {
		if (strchr(file, '/') || stat(file, &st) == 0)
			snprintf(path, sizeof(path), "%s", file);
		else
			snprintf(path, sizeof(path), "%s/%s", dir, file);
		e = hl_traffic_store_read(path, &r, err, sizeof(err));
		if (e) {
			error_line("", err);
			return 1;
		}
	}
	if (csv)
		hl_traffic_print_csv(stdout, &r);
	else
		hl_traffic_print_chart(stdout, &r, width, height);
	hl_traffic_rundata_free(&r);
	return 0;
}

int hl_traffic_chart_opt(const char *cmd, int c, const char *v, int *width, int *height)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (!*v || *end || n < (c == 'w' ? 30 : 3) || n > 1000) {
		fprintf(stderr, "hostlat: %s: bad %s '%s'\n", cmd,
			c == 'w' ? "width (30..1000)" : "height (3..1000)", v);
		return -1;
	}
	*(c == 'w' ? width : height) = (int)n;
	return 0;
}

int hl_traffic_cli(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'c'},
		{"csv", no_argument, NULL, 'C'},
		{"width", required_argument, NULL, 'w'},
		{"height", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *dir = NULL, *config = NULL, *cmd;
	int width = 0, height = 12, c, ret;
	bool csv = false;
	char *d = NULL;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "merge"))
		return hl_traffic_merge_cli(argc - 1, argv + 1);
	if (strcmp(cmd, "show") && strcmp(cmd, "list")) {
		fprintf(stderr, "hostlat: traffic: unknown command '%s' (show, list, merge)\n",
			cmd);
		return EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "d:c:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'C':
			csv = true;
			break;
		case 'w':
		case 'H':
			if (hl_traffic_chart_opt("traffic", c, optarg, &width, &height))
				return EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 < argc - 1 || (!strcmp(cmd, "list") && optind < argc - 1)) {
		fprintf(stderr, "hostlat: traffic %s: too many arguments\n", cmd);
		return EXIT_USAGE;
	}
	if (!width) {
		struct winsize ws;

		width = isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
					ws.ws_col >= 30
				? ws.ws_col
				: 100;
	}
	ret = store_dir(dir, config, &d);
	if (ret)
		return ret;
	if (!strcmp(cmd, "list"))
		ret = list_runs(d);
	else
		ret = show_run(d, optind < argc - 1 ? argv[1 + optind] : NULL, csv, width, height);
	free(d);
	return ret;
}
