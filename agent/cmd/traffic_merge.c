/* SPDX-License-Identifier: MIT */
/*
 * `hostlat traffic merge FILE...`: stored runs of several hosts (a rack),
 * laid on top of each other slot by slot: per slot the sum of the hosts'
 * bytes in one direction, how many hosts were bursting at once (the burst
 * rule of `traffic show`: hl_traffic_is_burst with each run's own link
 * speed and threshold), and the slots whose sum exceeds a capacity while
 * no host was bursting: incast that every per-host view hides.
 *
 * Runs are merged only where their slots are the same instants: the same
 * granularity, starts on multiples of it (probes.traffic.align: wallclock),
 * clocks synchronized to within a slot, and overlapping in time; any other
 * run is refused with its file and reason, and the others are merged.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "traffic.h"
#include <linux/types.h>

#include "traffic_types.h"

enum { EXIT_USAGE = 2 };

static const char *const dir_names[2] = {"receive", "transmit"};

/* ---- rates ------------------------------------------------------------------------- */

int hl_traffic_parse_rate(const char *s, uint64_t *bps, char *why, size_t whylen)
{
	static const struct {
		const char *unit;
		double bits; /* per unit */
	} units[] = {
		{"bit/s", 1},	{"bit", 1},	 {"bps", 1},	 {"kbit/s", 1e3},
		{"kbit", 1e3},	{"Kbit/s", 1e3}, {"Kbit", 1e3},	 {"Mbit/s", 1e6},
		{"Mbit", 1e6},	{"Gbit/s", 1e9}, {"Gbit", 1e9},	 {"Tbit/s", 1e12},
		{"Tbit", 1e12}, {"B/s", 8},	 {"bytes/s", 8}, {"kB/s", 8e3},
		{"KB/s", 8e3},	{"MB/s", 8e6},	 {"GB/s", 8e9},	 {"TB/s", 8e12},
	};
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !(v > 0) || s[0] == '+' || strchr(s, 'x') || strchr(s, 'X')) {
		snprintf(why, whylen,
			 "'%s' is not a positive rate (e.g. 10Gbit, 400Mbit/s, 1.25GB/s)", s);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		v *= units[i].bits;
		if (v >= 1.8e19 || v < 1) {
			snprintf(why, whylen, "'%s' is out of range (1 bit/s .. 18 Ebit/s)", s);
			return -EINVAL;
		}
		*bps = (uint64_t)llround(v);
		return 0;
	}
	snprintf(why, whylen,
		 "'%s': %s unit (bit/s forms: bit, kbit, Mbit, Gbit, Tbit, with or without /s; "
		 "bytes: B/s, bytes/s, kB/s, MB/s, GB/s, TB/s)",
		 s, *end ? "unknown" : "no");
	return -EINVAL;
}

static void format_rate(double bps, char *buf, size_t len)
{
	hl_traffic_si(bps, buf, len);
	strncat(buf, "bit/s", len - strlen(buf) - 1);
}

/* ---- merging ------------------------------------------------------------------------ */

void hl_traffic_merge_free(struct hl_traffic_merge *m)
{
	free(m->run);
	free(m->first);
	free(m->label);
	free(m->sum);
	free(m->bursting);
	free(m->over);
	free(m->run_bursts);
	memset(m, 0, sizeof(*m));
}

static uint64_t run_end(const struct hl_traffic_rundata *r)
{
	return r->start_unix_ns + (uint64_t)r->n * r->gran_ns;
}

/* The file name without directories and the .csv.gz ending. */
static void base_label(char *out, size_t len, const char *name)
{
	const char *b = strrchr(name, '/');
	size_t n;

	b = b ? b + 1 : name;
	n = strlen(b);
	if (n > strlen(HL_TRAFFIC_FILE_SUFFIX) &&
	    !strcmp(b + n - strlen(HL_TRAFFIC_FILE_SUFFIX), HL_TRAFFIC_FILE_SUFFIX))
		n -= strlen(HL_TRAFFIC_FILE_SUFFIX);
	snprintf(out, len, "%.*s", (int)n, b);
}

static uint64_t common_granularity(const struct hl_traffic_rundata *runs, size_t n)
{
	uint64_t best = 0;
	size_t best_n = 0;

	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		for (size_t j = 0; j < n; j++)
			k += runs[j].gran_ns == runs[i].gran_ns;
		if (k > best_n) {
			best_n = k;
			best = runs[i].gran_ns;
		}
	}
	return best;
}

/* Refusals that depend on the run alone (and the granularity merged). */
static void check_run(const struct hl_traffic_rundata *r, uint64_t gran,
		      const struct hl_traffic_merge_opts *o, char *why, size_t len)
{
	uint64_t max_err = o->max_clock_error_ns ? o->max_clock_error_ns : gran;
	char a[32], b[32];

	why[0] = 0;
	if (r->gran_ns != gran) {
		hl_format_duration(r->gran_ns, a, sizeof(a));
		hl_format_duration(gran, b, sizeof(b));
		snprintf(why, len, "its granularity is %s, not the %s of the runs merged%s", a, b,
			 o->gran_ns ? " (--granularity)" : " (--granularity picks another)");
	} else if (r->start_unix_ns % gran) {
		hl_format_duration(r->start_unix_ns % gran, a, sizeof(a));
		snprintf(why, len,
			 "its start is not aligned to its granularity (%s past a slot boundary): a "
			 "run of probes.traffic.align: start, or of a hostlat before version 2",
			 a);
	} else if (o->trust_clocks) {
		return;
	} else if (!r->clock_known) {
		snprintf(why, len,
			 "it records no clock state (a run of a hostlat before version 2); "
			 "--trust-clocks merges it anyway");
	} else if (!r->clock.synchronized) {
		snprintf(why, len,
			 "its host's clock was not synchronized (adjtimex: STA_UNSYNC or "
			 "TIME_ERROR); --trust-clocks merges it anyway (hosts sharing one clock)");
	} else if (r->clock.est_error_ns > max_err) {
		hl_format_duration(r->clock.est_error_ns, a, sizeof(a));
		hl_format_duration(max_err, b, sizeof(b));
		snprintf(why, len,
			 "its host's estimated clock error (%s) is larger than %s%s; "
			 "--max-clock-error allows more",
			 a, b, o->max_clock_error_ns ? " (--max-clock-error)" : ", one slot");
	}
}

int hl_traffic_merge(struct hl_traffic_merge *m, const struct hl_traffic_rundata *runs,
		     const char *const *names, size_t n, const struct hl_traffic_merge_opts *o,
		     char (*why)[256])
{
	uint64_t gran, at = 0, lo = 0, hi = UINT64_MAX;
	size_t best = 0, k = 0;

	memset(m, 0, sizeof(*m));
	gran = o->gran_ns ? o->gran_ns : common_granularity(runs, n);
	for (size_t i = 0; i < n; i++)
		check_run(&runs[i], gran, o, why[i], sizeof(why[i]));
	/* The instant most runs cover (a start): those runs all overlap there. */
	for (size_t i = 0; i < n; i++) {
		size_t c = 0;

		if (why[i][0])
			continue;
		for (size_t j = 0; j < n; j++)
			c += !why[j][0] && runs[j].start_unix_ns <= runs[i].start_unix_ns &&
			     runs[i].start_unix_ns < run_end(&runs[j]);
		if (c > best || (c == best && runs[i].start_unix_ns < at)) {
			best = c;
			at = runs[i].start_unix_ns;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct hl_traffic_rundata *r = &runs[i];

		if (why[i][0])
			continue;
		if (!(r->start_unix_ns <= at && at < run_end(r))) {
			time_t s = (time_t)(at / 1000000000ULL);
			char when[40] = "?";
			struct tm tm;

			if (gmtime_r(&s, &tm))
				strftime(when, sizeof(when), "%H:%M:%S", &tm);
			snprintf(why[i], sizeof(why[i]),
				 "it does not overlap the other runs (they share the instant "
				 "%s.%03u "
				 "UTC, which it does not cover)",
				 when, (unsigned int)(at / 1000000ULL % 1000));
			continue;
		}
		/* The same host and interface twice: a copy, not another host. */
		for (size_t j = 0; j < i; j++) {
			if (why[j][0] || !runs[j].host[0] || strcmp(runs[j].host, r->host) ||
			    strcmp(runs[j].ifname, r->ifname))
				continue;
			snprintf(why[i], sizeof(why[i]),
				 "its host and interface are those of %.150s, merged already",
				 names[j]);
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		k += !why[i][0];
	if (!k)
		return -ENOENT;
	m->gran_ns = gran;
	m->n_runs = k;
	m->run = calloc(k, sizeof(*m->run));
	m->first = calloc(k, sizeof(*m->first));
	m->label = calloc(k, sizeof(*m->label));
	m->run_bursts = calloc(k, sizeof(*m->run_bursts));
	if (!m->run || !m->first || !m->label || !m->run_bursts)
		goto nomem;
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (why[i][0])
			continue;
		m->run[k++] = i;
		if (runs[i].start_unix_ns > lo)
			lo = runs[i].start_unix_ns;
		if (run_end(&runs[i]) < hi)
			hi = run_end(&runs[i]);
	}
	m->start_unix_ns = lo;
	m->n = (uint32_t)((hi - lo) / gran);
	for (size_t a = 0; a < m->n_runs; a++) {
		const struct hl_traffic_rundata *r = &runs[m->run[a]];
		bool twice = false;

		m->first[a] = (uint32_t)((lo - r->start_unix_ns) / gran);
		for (size_t b = 0; b < m->n_runs; b++)
			twice |= b != a && r->host[0] && !strcmp(runs[m->run[b]].host, r->host);
		if (!r->host[0])
			base_label(m->label[a], sizeof(m->label[a]), names[m->run[a]]);
		else if (twice)
			snprintf(m->label[a], sizeof(m->label[a]), "%s/%s", r->host, r->ifname);
		else
			snprintf(m->label[a], sizeof(m->label[a]), "%s", r->host);
	}
	m->sum = calloc(m->n ? m->n : 1, sizeof(*m->sum));
	m->bursting = calloc(m->n ? m->n : 1, sizeof(*m->bursting));
	m->over = calloc(m->n ? m->n : 1, sizeof(*m->over));
	if (!m->sum || !m->bursting || !m->over)
		goto nomem;
	for (uint32_t s = 0; s < m->n; s++) {
		for (size_t a = 0; a < m->n_runs; a++) {
			const struct hl_traffic_rundata *r = &runs[m->run[a]];
			uint64_t b = r->samples[o->dir][m->first[a] + s].bytes;

			m->sum[s] += b;
			if (hl_traffic_is_burst(b, gran, r->link_bps, r->burst_pct)) {
				m->bursting[s]++;
				m->run_bursts[a]++;
			}
		}
		/* sum * 8 / gran > capacity, in integers */
		m->over[s] = o->capacity_bps && (unsigned __int128)m->sum[s] * 8 * 1000000000ULL >
							(unsigned __int128)o->capacity_bps * gran;
	}
	return 0;
nomem:
	hl_traffic_merge_free(m);
	return -ENOMEM;
}

/* ---- printing ----------------------------------------------------------------------- */

static void print_time(FILE *f, uint64_t unix_ns)
{
	time_t secs = (time_t)(unix_ns / 1000000000ULL);
	char when[40] = "?";
	struct tm tm;

	if (gmtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "%s.%06u UTC", when, (unsigned int)(unix_ns / 1000ULL % 1000000));
}

void hl_traffic_merge_chart(FILE *f, const struct hl_traffic_merge *m,
			    const struct hl_traffic_rundata *runs,
			    const struct hl_traffic_merge_opts *o, int width, int height)
{
	int plot = width - 10 < 10 ? 10 : width - 10, ncols;
	uint32_t per, peak_at = 0, together = 0, most = 0, most_at = 0, over = 0, hidden = 0;
	uint64_t total = 0, peak = 0;
	double ymax, cap = (double)o->capacity_bps;
	char a[32], b[32], c[32], dur[32];
	double *col;
	uint32_t *cb; /* most hosts bursting at once in the column */
	char *mark;   /* '!' hidden incast, '^' above capacity */

	hl_format_duration(m->gran_ns, a, sizeof(a));
	fprintf(f, "rack: %zu host%s, %s, %u slots of %s from ", m->n_runs,
		m->n_runs == 1 ? "" : "s", dir_names[o->dir], m->n, a);
	print_time(f, m->start_unix_ns);
	fprintf(f, " (the slots all runs cover)\n");
	for (size_t k = 0; k < m->n_runs; k++) {
		const struct hl_traffic_rundata *r = &runs[m->run[k]];
		uint32_t off = m->first[k];

		fprintf(f, "  ");
		hl_traffic_put_escaped(f, m->label[k]);
		fprintf(f, " (");
		hl_traffic_put_escaped(f, r->ifname);
		fprintf(f, "): run from ");
		print_time(f, r->start_unix_ns);
		if (off)
			fprintf(f, " (%u slot%s before the common ones)", off, off == 1 ? "" : "s");
		fprintf(f, ", ");
		if (r->link_bps) {
			format_rate((double)r->link_bps, b, sizeof(b));
			fprintf(f, "link %s, bursts above %u%%: %u slot%s bursting", b,
				r->burst_pct, m->run_bursts[k], m->run_bursts[k] == 1 ? "" : "s");
		} else {
			fprintf(f, "link speed unknown (never bursting)");
		}
		hl_format_duration(r->clock.est_error_ns, b, sizeof(b));
		if (r->clock_known)
			fprintf(f, "; clock %s, estimated error %s\n",
				r->clock.synchronized ? "synchronized" : "NOT synchronized", b);
		else
			fprintf(f, "; clock state not recorded\n");
	}
	fputc('\n', f);
	if (!m->n) {
		fprintf(f, "no slot is covered by every run\n");
		return;
	}
	per = (m->n + (uint32_t)plot - 1) / (uint32_t)plot;
	ncols = (int)((m->n + per - 1) / per);
	col = calloc((size_t)ncols, sizeof(*col));
	cb = calloc((size_t)ncols, sizeof(*cb));
	mark = calloc((size_t)ncols, 1);
	if (!col || !cb || !mark)
		goto out;
	for (uint32_t s = 0; s < m->n; s++) {
		double v = (double)m->sum[s] * 8e9 / (double)m->gran_ns;
		int k = (int)(s / per);

		total += m->sum[s];
		if (m->sum[s] > peak) {
			peak = m->sum[s];
			peak_at = s;
		}
		if (v > col[k])
			col[k] = v;
		if (m->bursting[s] > cb[k])
			cb[k] = m->bursting[s];
		if (m->bursting[s] >= 2)
			together++;
		if (m->bursting[s] > most) {
			most = m->bursting[s];
			most_at = s;
		}
		if (m->over[s]) {
			over++;
			if (!m->bursting[s]) {
				hidden++;
				mark[k] = '!';
			} else if (!mark[k]) {
				mark[k] = '^';
			}
		}
	}
	hl_format_duration(m->gran_ns * m->n, dur, sizeof(dur));
	hl_traffic_si((double)total, a, sizeof(a));
	format_rate((double)peak * 8e9 / (double)m->gran_ns, b, sizeof(b));
	hl_format_duration(m->gran_ns * peak_at, c, sizeof(c));
	fprintf(f, "sum of %zu hosts: %sB in %s, peak %s at %s\n", m->n_runs, a, dur, b, c);
	hl_format_duration(m->gran_ns * most_at, c, sizeof(c));
	fprintf(f, "simultaneous bursts: %u slots with 2 or more hosts bursting at once", together);
	if (most >= 2)
		fprintf(f, " (at most %u, first at %s)", most, c);
	fputc('\n', f);
	if (o->capacity_bps) {
		format_rate(cap, b, sizeof(b));
		fprintf(f,
			"capacity %s: %u slots above it, %u of them with no host bursting (incast "
			"that no host's own view shows)\n",
			b, over, hidden);
	}
	fputc('\n', f);
	ymax = (double)peak * 8e9 / (double)m->gran_ns;
	hl_traffic_chart(f, col, cb, ncols, height, ymax, cap);
	fprintf(f, "%8s  ", "bursting");
	for (int k = 0; k < ncols; k++)
		fputc(!cb[k] ? ' ' : cb[k] > 9 ? '+' : (char)('0' + cb[k]), f);
	fputc('\n', f);
	if (over) {
		fprintf(f, "%8s  ", "capacity");
		for (int k = 0; k < ncols; k++)
			fputc(mark[k] ? mark[k] : ' ', f);
		fputc('\n', f);
	}
	hl_format_duration(m->gran_ns * per, c, sizeof(c));
	fprintf(f, "%8s  0%*s\n", "", ncols - 1, dur);
	fprintf(f, "%8s  (bit/s summed over the hosts; one column = %s, the highest slot shown)\n",
		"", c);
	fprintf(f,
		"%8s  '#' a host bursting; bursting: most hosts bursting at once in the column\n",
		"");
	if (over)
		fprintf(f,
			"%8s  capacity: '!' above it with no host bursting, '^' above it with "
			"one\n",
			"");
	if (hidden) {
		uint32_t shown = 0;

		fprintf(f, "\nincast slots no host's view shows (sum above capacity, no host "
			   "bursting):\n");
		for (uint32_t s = 0; s < m->n && shown < 20; s++) {
			if (!m->over[s] || m->bursting[s])
				continue;
			hl_format_duration(m->gran_ns * s, c, sizeof(c));
			format_rate((double)m->sum[s] * 8e9 / (double)m->gran_ns, b, sizeof(b));
			fprintf(f, "  slot %u (+%s): %s\n", s, c, b);
			shown++;
		}
		if (hidden > shown)
			fprintf(f, "  ... and %u more (--csv lists every slot)\n", hidden - shown);
	}
out:
	free(col);
	free(cb);
	free(mark);
}

/* A label as a CSV column name: [A-Za-z0-9._-], others '_'. */
static void csv_name(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
				      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'
			      ? *s
			      : '_',
		      f);
}

void hl_traffic_merge_csv(FILE *f, const struct hl_traffic_merge *m,
			  const struct hl_traffic_rundata *runs,
			  const struct hl_traffic_merge_opts *o)
{
	fprintf(f, "slot,time_unix_ns,sum_bytes,sum_bps,hosts_bursting,over_capacity,"
		   "hidden_incast");
	for (size_t k = 0; k < m->n_runs; k++) {
		fputc(',', f);
		csv_name(f, m->label[k]);
		fprintf(f, "_bytes");
	}
	fputc('\n', f);
	for (uint32_t s = 0; s < m->n; s++) {
		fprintf(f, "%u,%" PRIu64 ",%" PRIu64 ",%.0f,%u,%d,%d", s,
			m->start_unix_ns + (uint64_t)s * m->gran_ns, m->sum[s],
			(double)m->sum[s] * 8e9 / (double)m->gran_ns, m->bursting[s], m->over[s],
			m->over[s] && !m->bursting[s]);
		for (size_t k = 0; k < m->n_runs; k++)
			fprintf(f, ",%" PRIu64,
				runs[m->run[k]].samples[o->dir][m->first[k] + s].bytes);
		fputc('\n', f);
	}
}

/* ---- the command ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hostlat traffic merge [OPTIONS] FILE...\n"
		"Lay stored runs of several hosts (e.g. copied from each node's store.dir) on top\n"
		"of each other, slot by slot: the sum over the hosts, how many hosts were\n"
		"bursting at once, and the slots above a capacity where no host was bursting.\n"
		"Runs that cannot be merged (another granularity, a start off the slot grid,\n"
		"an unsynchronized clock or one less exact than a slot, no overlap) are refused,\n"
		"each with its reason; the others are merged (exit status 1 when any was "
		"refused).\n"
		"\n"
		"      --capacity RATE      flag slots whose sum exceeds RATE: 10Gbit, 400Mbit/s,\n"
		"                           25Gbit/s, 1.25GB/s, 1250000000bytes/s\n"
		"      --direction DIR      receive (default: traffic into the hosts) or transmit\n"
		"      --granularity DUR    merge the runs of this granularity (default: the one\n"
		"                           most runs have)\n"
		"      --max-clock-error DUR  accept clocks whose estimated error is up to DUR\n"
		"                           (default: one slot)\n"
		"      --trust-clocks       ignore the recorded clock state (agents sharing one\n"
		"                           clock, e.g. network namespaces of one host)\n"
		"      --csv                print CSV: one row per slot\n"
		"  -w, --width N            chart width in columns (default: the terminal's, or "
		"100)\n"
		"      --height N           chart height in rows (default 12)\n"
		"  -h, --help               this text\n");
}

static int parse_dur(const char *opt, const char *v, uint64_t *out)
{
	if (hl_parse_duration(v, out) || !*out) {
		fprintf(stderr, "hostlat: traffic merge: %s: '%s' is not a duration (1ms, 100us)\n",
			opt, v);
		return -EINVAL;
	}
	return 0;
}

int hl_traffic_merge_cli(int argc, char **argv)
{
	static const struct option opts[] = {
		{"capacity", required_argument, NULL, 'c'},
		{"direction", required_argument, NULL, 'D'},
		{"granularity", required_argument, NULL, 'g'},
		{"max-clock-error", required_argument, NULL, 'e'},
		{"trust-clocks", no_argument, NULL, 'T'},
		{"csv", no_argument, NULL, 'C'},
		{"width", required_argument, NULL, 'w'},
		{"height", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct hl_traffic_merge_opts o = {.dir = HL_TRAFFIC_RX};
	struct hl_traffic_rundata *runs = NULL;
	struct hl_traffic_merge m;
	char(*why)[256] = NULL;
	int width = 0, height = 12, c, ret = 0, nfiles;
	size_t refused = 0, unreadable = 0;
	bool csv = false;
	char err[512];

	optind = 1;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (hl_traffic_parse_rate(optarg, &o.capacity_bps, err, sizeof(err))) {
				fprintf(stderr, "hostlat: traffic merge: --capacity %s\n", err);
				return EXIT_USAGE;
			}
			break;
		case 'D':
			if (!strcmp(optarg, "receive") || !strcmp(optarg, "rx"))
				o.dir = HL_TRAFFIC_RX;
			else if (!strcmp(optarg, "transmit") || !strcmp(optarg, "tx"))
				o.dir = HL_TRAFFIC_TX;
			else {
				fprintf(stderr,
					"hostlat: traffic merge: --direction '%s': receive or "
					"transmit\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'g':
			if (parse_dur("--granularity", optarg, &o.gran_ns))
				return EXIT_USAGE;
			break;
		case 'e':
			if (parse_dur("--max-clock-error", optarg, &o.max_clock_error_ns))
				return EXIT_USAGE;
			break;
		case 'T':
			o.trust_clocks = true;
			break;
		case 'C':
			csv = true;
			break;
		case 'w':
		case 'H':
			if (hl_traffic_chart_opt("traffic merge", c, optarg, &width, &height))
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
	nfiles = argc - optind;
	if (nfiles < 1) {
		fprintf(stderr, "hostlat: traffic merge: no run files given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!width) {
		struct winsize ws;

		width = isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
					ws.ws_col >= 30
				? ws.ws_col
				: 100;
	}
	runs = calloc((size_t)nfiles, sizeof(*runs));
	why = calloc((size_t)nfiles, sizeof(*why));
	if (!runs || !why) {
		fprintf(stderr, "hostlat: traffic merge: out of memory\n");
		ret = 1;
		goto out;
	}
	/* Unreadable files are refused like the others, with the reader's message. */
	for (int i = 0; i < nfiles; i++) {
		if (hl_traffic_store_read(argv[optind + i], &runs[i], err, sizeof(err)) == 0)
			continue;
		fprintf(stderr, "hostlat: traffic merge: refused ");
		hl_traffic_put_escaped(stderr, err);
		fputc('\n', stderr);
		unreadable++;
		runs[i].gran_ns = 0; /* matches no granularity: dropped below */
	}
	{
		/* The readable runs only, in the order given. */
		size_t n = 0;
		const char **names = calloc((size_t)nfiles, sizeof(*names));
		int e;

		if (!names) {
			ret = 1;
			goto out;
		}
		for (int i = 0; i < nfiles; i++) {
			if (!runs[i].gran_ns)
				continue;
			if ((size_t)i != n) {
				runs[n] = runs[i];
				memset(&runs[i], 0, sizeof(runs[i]));
			}
			names[n++] = argv[optind + i];
		}
		e = n ? hl_traffic_merge(&m, runs, names, n, &o, why) : -ENOENT;
		for (size_t i = 0; i < n; i++) {
			if (!why[i][0])
				continue;
			fprintf(stderr, "hostlat: traffic merge: refused ");
			hl_traffic_put_escaped(stderr, names[i]);
			fprintf(stderr, ": ");
			hl_traffic_put_escaped(stderr, why[i]);
			fputc('\n', stderr);
			refused++;
		}
		free(names);
		if (e == -ENOMEM) {
			fprintf(stderr, "hostlat: traffic merge: out of memory\n");
			ret = 1;
			goto out;
		}
		if (e) {
			fprintf(stderr,
				"hostlat: traffic merge: none of the %d runs can be merged\n",
				nfiles);
			ret = 1;
			goto out;
		}
	}
	if (csv)
		hl_traffic_merge_csv(stdout, &m, runs, &o);
	else
		hl_traffic_merge_chart(stdout, &m, runs, &o, width, height);
	if (refused + unreadable) {
		fprintf(stderr, "hostlat: traffic merge: merged %zu of %d runs\n", m.n_runs,
			nfiles);
		ret = 1;
	}
	hl_traffic_merge_free(&m);
out:
	for (int i = 0; runs && i < nfiles; i++)
		hl_traffic_rundata_free(&runs[i]);
	free(runs);
	free(why);
	return ret;
}
