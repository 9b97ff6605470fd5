/* SPDX-License-Identifier: MIT */
/*
 * exphist: the agent's exponential-histogram bucketing from the command
 * line, for tests and for checking a boundary by hand.
 *
 *   exphist index  --scale S              ns on stdin -> OTel bucket index
 *   exphist record --scale S --max-size N ns on stdin -> one JSON data point
 *   exphist bounds --scale S INDEX        bucket (lo, hi] in seconds
 *
 * index and record go through the kernel's code path (the exact table and
 * hl_exph_pos), record then through struct hl_hist like the agent.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hist.h"
#include "otlp_json.h"

#define EXIT_USAGE 2
#define DEFAULT_MAX_SIZE 160
#define MAX_MAX_SIZE (1U << 20)
/* hl_exph_bounds works at any scale; OTel's valid range. */
#define BOUNDS_MIN_SCALE (-10)
#define BOUNDS_MAX_SCALE 20

static const char usage_text[] =
	"usage: exphist index  --scale S               < ns-per-line\n"
	"       exphist record --scale S [--max-size N] < ns-per-line\n"
	"       exphist bounds --scale S INDEX\n"
	"       exphist --help\n"
	"\n"
	"Exponential-histogram bucketing of integer nanoseconds on the seconds grid,\n"
	"exactly as the hostlat kernel programs do it.\n"
	"\n"
	"  index   print the OTel bucket index of each value read from stdin (one\n"
	"          unsigned integer of ns per line; 0 prints \"zero\")\n"
	"  record  record every value from stdin into a histogram that starts at\n"
	"          scale S and downscales to keep at most N buckets (default 160);\n"
	"          print it as one OTLP JSON data point (seconds)\n"
	"  bounds  print the lower and upper bound in seconds of bucket INDEX,\n"
	"          which holds (lower, upper]\n"
	"\n"
	"  --scale S     0..5 for index and record, -10..20 for bounds\n"
	"  --max-size N  2..1048576 buckets (record only)\n"
	"\n"
	"Blank lines are skipped; anything else that is not an unsigned 64-bit integer\n"
	"is an error. Exit status: 0 ok, 1 internal error, 2 bad usage or input.\n";

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "exphist: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'exphist --help'.\n");
	exit(EXIT_USAGE);
}

/* A whole decimal int in [min, max]; false otherwise. */
static bool parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return false;
	*out = v;
	return true;
}

enum parse_result { PARSE_OK, PARSE_BLANK, PARSE_GARBAGE, PARSE_RANGE };

/* One line (len bytes, may hold NULs): optional blanks, digits, blanks. */
static enum parse_result parse_line(const char *s, size_t len, uint64_t *out)
{
	size_t i = 0, end = len;
	uint64_t v = 0;

	while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == ' ' ||
			   s[end - 1] == '\t'))
		end--;
	while (i < end && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == end)
		return PARSE_BLANK;
	for (; i < end; i++) {
		unsigned int d;

		if (s[i] < '0' || s[i] > '9')
			return PARSE_GARBAGE;
		d = (unsigned int)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return PARSE_RANGE;
		v = v * 10 + d;
	}
	*out = v;
	return PARSE_OK;
}

/* Print line `line` for an error message: printable, at most 40 chars. */
static void print_excerpt(const char *s, size_t len)
{
	size_t i;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	fputc('"', stderr);
	for (i = 0; i < len && i < 40; i++)
		fputc(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?', stderr);
	fputs(i < len ? "...\"" : "\"", stderr);
}

typedef int (*value_fn)(void *ctx, uint64_t v);

/* Feed every value on stdin to fn: 0, EXIT_USAGE on bad input, -1 on errors. */
static int read_values(value_fn fn, void *ctx)
{
	char *buf = NULL;
	size_t cap = 0, line = 0;
	ssize_t n;
	int err = 0;

	while (!err && (n = getline(&buf, &cap, stdin)) >= 0) {
		enum parse_result r;
		uint64_t v;

		line++;
		r = parse_line(buf, (size_t)n, &v);
		if (r == PARSE_BLANK)
			continue;
		if (r != PARSE_OK) {
			fprintf(stderr, "exphist: stdin line %zu: %s: ", line,
				r == PARSE_RANGE ? "out of range (max 18446744073709551615)"
						 : "not an unsigned integer of nanoseconds");
			print_excerpt(buf, (size_t)n);
			fputc('\n', stderr);
			err = EXIT_USAGE;
			break;
		}
		err = fn(ctx, v);
	}
	if (!err && ferror(stdin)) {
		perror("exphist: reading stdin");
		err = -1;
	}
	free(buf);
	return err;
}

static int print_index(void *ctx, uint64_t v)
{
	const struct hl_exph_table *t = ctx;

	if (!v)
		return fputs("zero\n", stdout) < 0 ? -1 : 0;
	return printf("%d\n", (int)hl_exph_index(t, v)) < 0 ? -1 : 0;
}

struct record_ctx {
	const struct hl_exph_table *t;
	struct hl_hist h;
};

static int record_value(void *ctx, uint64_t v)
{
	struct record_ctx *rc = ctx;

	hl_hist_record(&rc->h, rc->t, v);
	return 0;
}

static int print_json(const struct hl_hist *h)
{
	cJSON *j = hl_otlp_hist_to_json(h);
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	int err = 0;

	if (!s) {
		fprintf(stderr, "exphist: out of memory\n");
		err = -1;
	} else if (puts(s) < 0) {
		err = -1;
	}
	cJSON_free(s);
	cJSON_Delete(j);
	return err;
}

int main(int argc, char **argv)
{
	long scale = LONG_MIN, max_size = -1, index = 0;
	const char *cmd, *index_arg = NULL;
	struct hl_exph_table *t = NULL;
	int i, err = 0;

	if (argc < 2)
		usage_error("%s", "missing command");
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(cmd, "index") && strcmp(cmd, "record") && strcmp(cmd, "bounds"))
		usage_error("unknown command '%s'", cmd);

	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		bool is_scale = false, is_size = false;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (!strcmp(a, "--scale") || !strcmp(a, "--max-size")) {
			if (i + 1 >= argc)
				usage_error("option %s needs a value", a);
			is_scale = a[2] == 's';
			is_size = !is_scale;
			val = argv[++i];
		} else if (!strncmp(a, "--scale=", 8)) {
			is_scale = true;
			val = a + 8;
		} else if (!strncmp(a, "--max-size=", 11)) {
			is_size = true;
			val = a + 11;
		} else if (a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) {
			usage_error("unknown option '%s'", a);
		} else if (!strcmp(cmd, "bounds") && !index_arg) {
			index_arg = a;
		} else {
			usage_error("unexpected argument '%s'", a);
		}
		if (is_scale && !parse_int(val, BOUNDS_MIN_SCALE, BOUNDS_MAX_SCALE, &scale))
			usage_error("bad --scale '%s'", val);
		if (is_size && !parse_int(val, 2, MAX_MAX_SIZE, &max_size))
			usage_error("bad --max-size '%s' (2..1048576)", val);
	}
	if (scale == LONG_MIN)
		usage_error("%s", "--scale S is required");
	if (max_size >= 0 && strcmp(cmd, "record"))
		usage_error("%s", "--max-size applies to record only");

	if (!strcmp(cmd, "bounds")) {
		double lo, hi;

		if (!index_arg)
			usage_error("%s", "bounds needs an INDEX");
		if (!parse_int(index_arg, INT32_MIN, INT32_MAX, &index))
			usage_error("bad INDEX '%s' (a 32-bit integer)", index_arg);
		hl_exph_bounds((int)scale, (int32_t)index, &lo, &hi);
		printf("%.17g %.17g\n", lo, hi);
	} else {
		if (scale < 0 || scale > HL_EXPH_MAX_SCALE)
			usage_error("--scale must be 0..5 for %s", cmd);
		t = malloc(sizeof(*t));
		if (!t || hl_exph_table_init(t, (int)scale)) {
			fprintf(stderr, "exphist: cannot build the bucket table\n");
			free(t);
			return 1;
		}
		if (!strcmp(cmd, "index")) {
			err = read_values(print_index, t);
		} else {
			struct record_ctx rc = {.t = t};

			if (hl_hist_init(&rc.h,
					 max_size < 0 ? DEFAULT_MAX_SIZE : (uint32_t)max_size,
					 (int)scale)) {
				fprintf(stderr, "exphist: out of memory\n");
				free(t);
				return 1;
			}
			err = read_values(record_value, &rc);
			if (!err) /* nothing printed before all input was valid */
				err = print_json(&rc.h);
			hl_hist_free(&rc.h);
		}
		free(t);
	}
	if (fflush(stdout) || ferror(stdout)) {
		perror("exphist: writing stdout");
		return 1;
	}
	if (err == EXIT_USAGE)
		return EXIT_USAGE;
	return err ? 1 : 0;
}
