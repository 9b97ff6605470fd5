/* SPDX-License-Identifier: MIT */
/*
 * hostlat configuration loader. Every key is described once in an option
 * table: the agent's below, each probe's in its struct hl_probe_ops, each
 * exporter's in its struct hl_exporter_ops. One generic walker parses user
 * values and defaults (the tables' `def` YAML text) through the same code,
 * checks ranges, frees, and prints the Markdown reference.
 *
 * Errors are one line: "FILE:LINE:COLUMN: <what> (key 'a.b.c')", with the
 * 1-based position of the offending node.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "netaddr.h"
#include "probe.h"

#define PATH_LEN 256
#define MSG_LEN 512
#define DEFAULT_NAME "<default>"
#define EMBEDDED_NAME "<embedded>"

/* ---- names ---------------------------------------------------------------------- */

static const char *const log_level_names[] = {
	[HL_LOG_ERROR] = "error",
	[HL_LOG_WARN] = "warn",
	[HL_LOG_INFO] = "info",
	[HL_LOG_DEBUG] = "debug",
	NULL,
};

/* ---- option tables -------------------------------------------------------------- */

#define CFG_OFF(field) offsetof(struct hl_config, field)

/*
 * probes: one section per probe of hl_probes[] (struct hl_probe_ops:
 * options, config_size), in that order, each filled into a struct of its
 * own at probe_conf[its position]. Filled before main.
 */
static struct hl_option probes_options[HL_PROBES_MAX + 1];

__attribute__((constructor)) static void fill_probes_options(void)
{
	for (size_t i = 0; hl_probes[i]; i++) {
		const struct hl_probe_ops *p = hl_probes[i];

		assert(i < HL_PROBES_MAX);
		probes_options[i] = (struct hl_option){
			.name = p->name,
			.type = HL_OPT_STRUCT,
			.offset = CFG_OFF(probe_conf) + i * sizeof(void *),
			.size = p->config_size,
			.sub = p->options,
			.help = p->help,
		};
	}
}

static const struct hl_option health_options[] = {
	{.name = "listen",
	 .type = HL_OPT_STRING,
	 .offset = CFG_OFF(agent.health.listen),
	 .help = "IPv4:PORT or [IPv6]:PORT (numeric) to serve GET /healthz (probes started, "
		 "event loop alive) and /readyz (every exporter has delivered a batch) on; unset: "
		 "no health server",
	 .check = hl_check_listen},
	{0},
};

static const struct hl_option agent_options[] = {
	{.name = "interval",
	 .type = HL_OPT_DURATION,
	 .offset = CFG_OFF(agent.interval_ns),
	 .def = "10s",
	 .min = HL_MS(100),
	 .max = HL_SEC(3600),
	 .help = "how often metrics are collected and exported"},
	{.name = "log_level",
	 .type = HL_OPT_ENUM,
	 .offset = CFG_OFF(agent.log_level),
	 .def = "info",
	 .names = log_level_names,
	 .help = "log verbosity on standard error (--log-level overrides it)"},
	{.name = "shutdown_timeout",
	 .type = HL_OPT_DURATION,
	 .offset = CFG_OFF(agent.shutdown_timeout_ns),
	 .def = "10s",
	 .min = HL_SEC(1),
	 .max = HL_SEC(600),
	 .help = "the longest the agent takes to exit after SIGINT/SIGTERM: queued batches get one "
		 "interval, ending 0.5s before this at the latest, then requests in flight are "
		 "cancelled; an exporter still busy at this time is abandoned (what it held is "
		 "counted as dropped)"},
	{.name = "health",
	 .type = HL_OPT_SECTION,
	 .sub = health_options,
	 .help = "HTTP endpoints for liveness and readiness probes"},
	{0},
};

static const struct hl_option resource_options[] = {
	{.name = "attributes",
	 .type = HL_OPT_KVMAP,
	 .offset = CFG_OFF(resource.attributes),
	 .def = "{}",
	 .max = 32,
	 .help = "extra OpenTelemetry resource attributes (name: value)"},
	{0},
};

const struct hl_option hl_config_options[] = {
	{.name = "agent", .type = HL_OPT_SECTION, .sub = agent_options, .help = "the agent itself"},
	{.name = "resource",
	 .type = HL_OPT_SECTION,
	 .sub = resource_options,
	 .help = "what the exported metrics describe"},
	{.name = "probes",
	 .type = HL_OPT_SECTION,
	 .sub = probes_options,
	 .help = "what to measure"},
	{.name = "exporters",
	 .type = HL_OPT_EXPORTERS,
	 .offset = CFG_OFF(exporters),
	 .def = "[{type: stdout}]",
	 .min = 1,
	 .max = 16,
	 .help = "where metrics go: a list of exporters, each with a type and its own keys"},
	{0},
};

/*
 * Keys every item of `exporters:` takes besides `type` and its type's keys;
 * offsets are into struct hl_exporter_conf.
 */
#define EC_OFF(field) offsetof(struct hl_exporter_conf, field)
#define EXPORTER_NAME_MAX 64

static const struct hl_option retry_options[] = {
	{.name = "initial",
	 .type = HL_OPT_DURATION,
	 .offset = EC_OFF(retry_initial_ns),
	 .def = "1s",
	 .min = HL_MS(10),
	 .max = HL_SEC(60),
	 .help = "wait before the first retry of a failed batch; doubled (with jitter) after "
		 "each further failure"},
	{.name = "max",
	 .type = HL_OPT_DURATION,
	 .offset = EC_OFF(retry_max_ns),
	 .def = "30s",
	 .min = HL_MS(10),
	 .max = HL_SEC(3600),
	 .help = "longest wait between two retries; at least retry.initial"},
	{.name = "max_elapsed",
	 .type = HL_OPT_DURATION,
	 .offset = EC_OFF(retry_max_elapsed_ns),
	 .def = "5m",
	 .min = 0,
	 .max = HL_SEC(86400),
	 .help = "drop a batch still failing this long after its first attempt; 0: never give "
		 "up"},
	{0},
};

static int check_exporter_name(const char *s, char *why, size_t whylen)
{
	if (strlen(s) > EXPORTER_NAME_MAX) {
		snprintf(why, whylen, "the exporter name is longer than %d characters",
			 EXPORTER_NAME_MAX);
		return -EINVAL;
	}
	for (const char *q = s; *q; q++) {
		if ((unsigned char)*q < 0x20 || *q == 0x7f) {
			snprintf(why, whylen, "the exporter name contains a control character");
			return -EINVAL;
		}
	}
	return 0;
}

enum { EC_NAME, EC_QUEUE_SIZE, EC_RETRY, EC_COUNT };

static const struct hl_option exporter_common_options[EC_COUNT + 1] = {
	[EC_NAME] = {.name = "name",
		     .type = HL_OPT_STRING,
		     .offset = EC_OFF(name),
		     .help = "this exporter's name in logs and self-metrics, unique; default: the "
			     "type, then TYPE-2, TYPE-3... for further unnamed items of that type",
		     .check = check_exporter_name},
	[EC_QUEUE_SIZE] = {.name = "queue_size",
			   .type = HL_OPT_UINT,
			   .offset = EC_OFF(queue_size),
			   .def = "16",
			   .min = 1,
			   .max = 1024,
			   .help = "batches waiting to be sent by this exporter; when the queue is "
				   "full the oldest is dropped"},
	[EC_RETRY] = {.name = "retry",
		      .type = HL_OPT_SECTION,
		      .sub = retry_options,
		      .help = "how a failed batch is retried"},
	{0},
};

/* `type: plugin`: an exporter module loaded with dlopen (agent/core/plugin.h). */
#define PLUGIN_TYPE "plugin"
#define PLUGIN_HELP "an exporter module, a shared object loaded at start (docs/plugins.md)"

enum { PL_PATH, PL_CONFIG, PL_COUNT };

static const struct hl_option plugin_options[PL_COUNT + 1] = {
	[PL_PATH] = {.name = "path",
		     .type = HL_OPT_STRING,
		     .offset = EC_OFF(plugin_path),
		     .help = "required: the module's shared object file; a name without '/' is "
			     "searched for like a library"},
	[PL_CONFIG] = {.name = "config",
		       .type = HL_OPT_KVMAP,
		       .offset = EC_OFF(plugin_config),
		       .def = "{}",
		       .max = 64,
		       .help = "settings for the module: names to scalar values, handed to it as "
			       "strings"},
	{0},
};

/* ---- durations ------------------------------------------------------------------ */

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{"ns", 1ULL},		{"us", 1000ULL},
	{"\xc2\xb5s", 1000ULL}, /* U+00B5 MICRO SIGN */
	{"\xce\xbcs", 1000ULL}, /* U+03BC GREEK SMALL LETTER MU */
	{"ms", 1000000ULL},	{"s", 1000000000ULL},
	{"m", 60000000000ULL},	{"h", 3600000000000ULL},
};

#define DURATION_UNITS "ns, us (or \xc2\xb5s), ms, s, m or h"
#define HL_DURLIST_MAX 8

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* 0, -EINVAL (malformed or not an exact number of ns) or -ERANGE (too large). */
static int parse_duration(const char *s, uint64_t *ns)
{
	const char *ip = s, *fp = NULL, *unit;
	size_t il = 0, fl = 0;
	uint64_t mult = 0, iv = 0, fv = 0, pow10 = 1, total;

	while (ip[il] >= '0' && ip[il] <= '9')
		il++;
	if (!il)
		return -EINVAL;
	unit = ip + il;
	if (*unit == '.') {
		fp = unit + 1;
		while (fp[fl] >= '0' && fp[fl] <= '9')
			fl++;
		if (!fl)
			return -EINVAL;
		unit = fp + fl;
	}
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (!strcmp(unit, duration_units[i].name))
			mult = duration_units[i].ns;
	if (!mult)
		return -EINVAL;

	/* Fraction: drop trailing zeros; any unit's ns value has at most 13 decimals. */
	while (fl && fp[fl - 1] == '0')
		fl--;
	if (fl > 13)
		return -EINVAL;
	for (size_t i = 0; i < fl; i++) {
		fv = fv * 10 + (uint64_t)(fp[i] - '0');
		pow10 *= 10;
	}
	if (fl) {
		uint64_t g = gcd_u64(mult, pow10);

		if (fv % (pow10 / g))
			return -EINVAL;
		if (__builtin_mul_overflow(fv / (pow10 / g), mult / g, &fv))
			return -ERANGE;
	}
	for (size_t i = 0; i < il; i++)
		if (__builtin_mul_overflow(iv, 10, &iv) ||
		    __builtin_add_overflow(iv, (uint64_t)(ip[i] - '0'), &iv))
			return -ERANGE;
	if (__builtin_mul_overflow(iv, mult, &total) || __builtin_add_overflow(total, fv, &total))
		return -ERANGE;
	*ns = total;
	return 0;
}

int hl_parse_duration(const char *s, uint64_t *ns)
{
	uint64_t v;

	if (!s || parse_duration(s, &v))
		return -EINVAL;
	*ns = v;
	return 0;
}

void hl_format_duration(uint64_t ns, char *buf, size_t len)
{
	static const char *const order[] = {"h", "m", "s", "ms", "us", "ns"};
	static const uint64_t mult[] = {3600000000000ULL, 60000000000ULL, 1000000000ULL,
					1000000ULL,	  1000ULL,	  1ULL};

	if (!ns) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (ns % mult[i] == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(ns / mult[i]), order[i]);
			return;
		}
	}
}

/* ---- parse context and messages ------------------------------------------------- */

struct ctx {
	const char *name; /* file name in messages */
	yaml_document_t *doc;
	char *err;
	size_t errlen;
	struct hl_config *cfg; /* gets the keys' positions; NULL: defaults */
	size_t where_cap;      /* allocated entries of cfg->where */
};

/* The message at mark m (NULL: no position, a problem of the defaults). */
static int vfail(struct ctx *c, const yaml_mark_t *m, const char *path, const char *fmt, va_list ap)
{
	char msg[MSG_LEN], at[48] = "";

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!c->err || !c->errlen)
		return -EINVAL;
	if (m)
		snprintf(at, sizeof(at), ":%zu:%zu", m->line + 1, m->column + 1);
	if (path && *path)
		snprintf(c->err, c->errlen, "%s%s: %s (key '%s')", c->name, at, msg, path);
	else
		snprintf(c->err, c->errlen, "%s%s: %s", c->name, at, msg);
	/* One line, whatever the file's keys and values hold. */
	for (char *p = c->err; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

__attribute__((format(printf, 4, 5))) static int fail(struct ctx *c, const yaml_node_t *n,
						      const char *path, const char *fmt, ...)
{
	va_list ap;
	int e;

	va_start(ap, fmt);
	e = vfail(c, n ? &n->start_mark : NULL, path, fmt, ap);
	va_end(ap);
	return e;
}

__attribute__((format(printf, 3, 4))) static int fail_mark(struct ctx *c, const yaml_mark_t *m,
							   const char *fmt, ...)
{
	va_list ap;
	int e;

	va_start(ap, fmt);
	e = vfail(c, m, NULL, fmt, ap);
	va_end(ap);
	return e;
}

static int fail_nomem(struct ctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: out of memory", c->name);
	return -ENOMEM;
}

/* Remember that the value of key path starts where node n does (hl_config_where). */
static int note_pos(struct ctx *c, const char *path, const yaml_node_t *n)
{
	struct hl_config *cfg = c->cfg;
	struct hl_keypos *kp;

	if (!cfg)
		return 0;
	if (cfg->n_where == c->where_cap) {
		size_t cap = c->where_cap ? 2 * c->where_cap : 32;

		kp = realloc(cfg->where, cap * sizeof(*kp));
		if (!kp)
			return fail_nomem(c);
		cfg->where = kp;
		c->where_cap = cap;
	}
	kp = &cfg->where[cfg->n_where];
	kp->key = strdup(path);
	if (!kp->key)
		return fail_nomem(c);
	kp->pos.line = (int)n->start_mark.line + 1;
	kp->pos.column = (int)n->start_mark.column + 1;
	cfg->n_where++;
	return 0;
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (!strcmp(scalar(n), nulls[i]))
			return true;
	return false;
}

/* "a mapping", "a list", "no value" or the quoted scalar (shortened). */
static const char *describe(const yaml_node_t *n, char *buf, size_t len)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (is_null(n))
		return "no value";
	if (n->data.scalar.length > 40)
		snprintf(buf, len, "'%.37s...'", scalar(n));
	else
		snprintf(buf, len, "'%s'", scalar(n));
	return buf;
}

static void join_names(char *buf, size_t len, const char *const *names)
{
	size_t pos = 0;

	buf[0] = 0;
	for (size_t i = 0; names[i] && pos < len; i++)
		pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", i ? ", " : "", names[i]);
}

/* Options of one table filled at one base; a mapping can take several. */
struct opt_group {
	const struct hl_option *opts;
	void *base;
};

#define MAX_GROUPS 2

static void join_options(char *buf, size_t len, const char *first, const struct opt_group *g,
			 size_t ng)
{
	size_t pos = 0;

	buf[0] = 0;
	if (first)
		pos += (size_t)snprintf(buf, len, "%s", first);
	for (size_t k = 0; k < ng; k++)
		for (size_t i = 0; g[k].opts && g[k].opts[i].name && pos < len; i++)
			pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", pos ? ", " : "",
						g[k].opts[i].name);
}

/* "parent.name" into buf; a path too long for buf is cut (messages only). */
static void child_path(char *buf, size_t len, const char *parent, const char *name)
{
	int n;

	if (parent && *parent)
		n = snprintf(buf, len, "%s.%s", parent, name);
	else
		n = snprintf(buf, len, "%s", name);
	if (n < 0)
		buf[0] = 0;
}

static yaml_node_t *node(struct ctx *c, int index)
{
	return yaml_document_get_node(c->doc, index);
}

/*
 * The text of a scalar node holding a value, or an error saying that
 * `what` was expected.
 */
static int want_scalar(struct ctx *c, const yaml_node_t *n, const char *path, const char *what,
		       const char **out)
{
	char d[64];

	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return fail(c, n, path, "expected %s, got %s", what, describe(n, d, sizeof(d)));
	if (strlen(scalar(n)) != n->data.scalar.length)
		return fail(c, n, path, "the value contains a NUL character");
	*out = scalar(n);
	return 0;
}

/* Decimal digits only. 0, -EINVAL or -ERANGE. */
static int parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (__builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, (uint64_t)(*s - '0'), &x))
			return -ERANGE;
	}
	*v = x;
	return 0;
}

static int parse_uint(struct ctx *c, const struct hl_option *o, const yaml_node_t *n,
		      const char *path, uint32_t *out)
{
	const char *s;
	uint64_t v;
	int e = want_scalar(c, n, path, "an unsigned integer", &s);

	if (e)
		return e;
	e = parse_u64(s, &v);
	if (e == -EINVAL)
		return fail(c, n, path, "expected an unsigned integer, got '%s'", s);
	if (e || v < (uint64_t)o->min || v > (uint64_t)o->max)
		return fail(c, n, path, "%s is out of range %lld..%lld", s, (long long)o->min,
			    (long long)o->max);
	*out = (uint32_t)v;
	return 0;
}

static int lookup_name(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static int check_length(struct ctx *c, const struct hl_option *o, const yaml_node_t *n,
			const char *path, size_t len)
{
	if ((int64_t)len < o->min)
		return fail(c, n, path, "the list needs at least %lld item%s", (long long)o->min,
			    o->min == 1 ? "" : "s");
	if (o->max && (int64_t)len > o->max)
		return fail(c, n, path, "the list has %zu items, at most %lld are allowed", len,
			    (long long)o->max);
	return 0;
}

/* Items of a list option: a sequence, or null for an empty list. */
static int want_list(struct ctx *c, const yaml_node_t *n, const char *path, const char *what,
		     size_t *len)
{
	char d[64];

	if (is_null(n)) {
		*len = 0;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, path, "expected a list of %s, got %s", what,
			    describe(n, d, sizeof(d)));
	*len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	return 0;
}

#define LIST_ITEM(n, i) (n)->data.sequence.items.start[i]

/* Item i of list n is equal to an earlier item (compared as scalars). */
static bool seen_before(struct ctx *c, const yaml_node_t *n, size_t i)
{
	const char *s = scalar(node(c, LIST_ITEM(n, i)));

	for (size_t j = 0; j < i; j++)
		if (!strcmp(scalar(node(c, LIST_ITEM(n, j))), s))
			return true;
	return false;
}

/* The option's own check of what a string means (struct hl_option.check). */
static int check_string(struct ctx *c, const struct hl_option *o, const yaml_node_t *n,
			const char *path, const char *s)
{
	char why[MSG_LEN];

	if (o->check && o->check(s, why, sizeof(why)))
		return fail(c, n, path, "%s", why);
	return 0;
}

/* ---- the walker ----------------------------------------------------------------- */

static int parse_section(struct ctx *c, const struct hl_option *opts, const yaml_node_t *n,
			 void *base, const char *path, const char *extra_key);
static int parse_exporters(struct ctx *c, const struct hl_option *o, const yaml_node_t *n,
			   void *base, const char *path);

static int parse_strlist(struct ctx *c, const struct hl_option *o, const yaml_node_t *n,
			 struct hl_strlist *out, const char *path)
{
	size_t len = 0;
	int e = want_list(c, n, path, "strings", &len);

	if (e || (e = check_length(c, o, n, path, len)))
		return e;
	if (!len)
		return 0;
	out->v = calloc(len, sizeof(*out->v));
	if (!out->v)
		return fail_nomem(c);
	/* Item positions, for checks made after parsing (not for defaults). */
	if (strcmp(c->name, DEFAULT_NAME)) {
		out->pos = calloc(len, sizeof(*out->pos));
		if (!out->pos)
			return fail_nomem(c);
	}
	for (size_t i = 0; i < len; i++) {
		const yaml_node_t *it = node(c, LIST_ITEM(n, i));
		const char *s;

		if (out->pos) {
			out->pos[i].line = (int)it->start_mark.line + 1;
			out->pos[i].column = (int)it->start_mark.column + 1;
		}
		e = want_scalar(c, it, path, "a string", &s);
		if (e)
			return e;
		if (!*s)
			return fail(c, it, path, "empty strings are not allowed");
		if (seen_before(c, n, i))
			return fail(c, it, path, "'%s' is listed twice", s);
		e = check_string(c, o, it, path, s);
		if (e)
			return e;
		out->v[i] = strdup(s);
		if (!out->v[i])
			return fail_nomem(c);
		out->n++;
	}
	return 0;
}

struct uint_item {
	uint32_t v;
	size_t i;
};

static int cmp_uint_item(const void *a, const void *b)
{
	const struct uint_item *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * The first of v[0..n) equal to an earlier one, or n; (size_t)-1 on
 * ENOMEM. Sorted, not compared pairwise: a list may hold 100k numbers.
 */
static size_t first_repeat(const uint32_t *v, size_t n)
{
	struct uint_item *s = n ? calloc(n, sizeof(*s)) : NULL;
	size_t first = n;

	if (n && !s)
		return (size_t)-1;
	for (size_t i = 0; i < n; i++)
		s[i] = (struct uint_item){v[i], i};
	if (n)
		qsort(s, n, sizeof(*s), cmp_uint_item);
	for (size_t k = 1; k < n; k++)
		if (s[k].v == s[k - 1].v && s[k].i < first)
			first = s[k].i;
	free(s);
	return first;
}

/*
 * min/max of an HL_OPT_UINTLIST bound each item. The first item at fault
 * is reported: out of range, not a number, or equal to an earlier one.
 */
static int parse_uintlist(struct ctx *c, const struct hl_option *o, const yaml_node_t *n,
			  struct hl_uintlist *out, const char *path)
{
	size_t len = 0, ok = 0, rep;
	int e = want_list(c, n, path, "unsigned integers", &len);

	if (e || !len)
		return e;
	out->v = calloc(len, sizeof(*out->v));
	if (!out->v)
		return fail_nomem(c);
	while (ok < len && !(e = parse_uint(c, o, node(c, LIST_ITEM(n, ok)), path, &out->v[ok])))
		ok++;
	rep = first_repeat(out->v, ok);
	if (rep == (size_t)-1)
		return fail_nomem(c);
	if (rep < ok)
		return fail(c, node(c, LIST_ITEM(n, rep)), path, "%u is listed twice", out->v[rep]);
	if (e)
		return parse_uint(c, o, node(c, LIST_ITEM(n, ok)), path, &out->v[ok]);
	out->n = len;
	return 0;
}

static int parse_flags(struct ctx *c, const struct hl_option *o, const yaml_node_t *n,
		       uint32_t *out, const char *path)
{
	char names[256], what[300];
	size_t len = 0;
	int e;

	join_names(names, sizeof(names), o->names);
	snprintf(what, sizeof(what), "names (%s)", names);
	e = want_list(c, n, path, what, &len);
	if (e || (e = check_length(c, o, n, path, len)))
		return e;
	*out = 0;
	for (size_t i = 0; i < len; i++) {
		const yaml_node_t *it = node(c, LIST_ITEM(n, i));
		const char *s;
		int k;

		e = want_scalar(c, it, path, "a name", &s);
		if (e)
			return e;
		k = lookup_name(o->names, s);
		if (k < 0)
			return fail(c, it, path, "unknown name '%s'; valid names: %s", s, names);
		if (*out & (1U << k))
			return fail(c, it, path, "'%s' is listed twice", s);
		*out |= 1U << k;
	}
	return 0;
}

static int parse_kvmap(struct ctx *c, const struct hl_option *o, const yaml_node_t *n,
		       struct hl_kvlist *out, const char *path)
{
	const yaml_node_pair_t *pairs;
	size_t len = 0;
	char d[64], kpath[PATH_LEN];
	int e;

	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, path, "expected a mapping of names to values, got %s",
			    describe(n, d, sizeof(d)));
	pairs = n->data.mapping.pairs.start;
	len = (size_t)(n->data.mapping.pairs.top - pairs);
	if (o->max && (int64_t)len > o->max)
		return fail(c, n, path, "%zu entries, at most %lld are allowed", len,
			    (long long)o->max);
	if (!len)
		return 0;
	out->v = calloc(len, sizeof(*out->v));
	if (!out->v)
		return fail_nomem(c);
	for (size_t i = 0; i < len; i++) {
		const yaml_node_t *k = node(c, pairs[i].key), *v = node(c, pairs[i].value);
		const char *ks, *vs;

		e = want_scalar(c, k, path, "a name", &ks);
		if (e)
			return e;
		if (!*ks)
			return fail(c, k, path, "empty names are not allowed");
		for (size_t j = 0; j < out->n; j++)
			if (!strcmp(out->v[j].key, ks))
				return fail(c, k, path, "duplicate key '%s'", ks);
		if (v->type != YAML_SCALAR_NODE)
			return fail(c, v, path, "expected a string value for '%s', got %s", ks,
				    describe(v, d, sizeof(d)));
		if (is_null(v))
			return fail(c, v, path,
				    "'%s' has no value (write \"\" for an empty string)", ks);
		e = want_scalar(c, v, path, "a string", &vs);
		if (e)
			return e;
		out->v[i].key = strdup(ks);
		out->v[i].value = strdup(vs);
		out->n++;
		if (!out->v[i].key || !out->v[i].value)
			return fail_nomem(c);
		child_path(kpath, sizeof(kpath), path, ks);
		e = note_pos(c, kpath, v);
		if (e)
			return e;
	}
	if (o->check_map) {
		size_t bad = 0;
		bool at_key = false;
		char why[MSG_LEN];

		if (o->check_map(out, &bad, &at_key, why, sizeof(why)) && bad < out->n) {
			const yaml_node_t *k = node(c, pairs[bad].key);

			child_path(kpath, sizeof(kpath), path, scalar(k));
			return fail(c, at_key ? k : node(c, pairs[bad].value), kpath, "%s", why);
		}
	}
	return 0;
}

/* A duration scalar within o->min..o->max ns. */
static int parse_duration_node(struct ctx *c, const struct hl_option *o, const yaml_node_t *n,
			       const char *path, uint64_t *out)
{
	char d[64], lo[32], hi[32];
	const char *s;
	uint64_t ns;
	int e = want_scalar(c, n, path, "a duration", &s);

	if (e)
		return e;
	hl_format_duration((uint64_t)o->min, lo, sizeof(lo));
	hl_format_duration((uint64_t)o->max, hi, sizeof(hi));
	e = parse_duration(s, &ns);
	if (e == -EINVAL)
		return fail(c, n, path,
			    "invalid duration %s: expected a number and a unit: %s, e.g. "
			    "250us, 1.5ms, 10s (whole nanoseconds only)",
			    describe(n, d, sizeof(d)), DURATION_UNITS);
	if (e || ns < (uint64_t)o->min || ns > (uint64_t)o->max)
		return fail(c, n, path, "duration %s is out of range %s..%s",
			    describe(n, d, sizeof(d)), lo, hi);
	*out = ns;
	return 0;
}

/* A list of 1..8 distinct durations, each within o->min..o->max. */
static int parse_durlist(struct ctx *c, const struct hl_option *o, const yaml_node_t *n,
			 struct hl_durlist *out, const char *path)
{
	size_t len = 0;
	int e = want_list(c, n, path, "durations", &len);

	if (e)
		return e;
	if (len < 1 || len > HL_DURLIST_MAX)
		return fail(c, n, path, "expected 1 to %d durations, got %zu", HL_DURLIST_MAX, len);
	out->v = calloc(len, sizeof(*out->v));
	if (!out->v)
		return fail_nomem(c);
	for (size_t i = 0; i < len; i++) {
		const yaml_node_t *it = node(c, LIST_ITEM(n, i));

		e = parse_duration_node(c, o, it, path, &out->v[i]);
		if (e)
			return e;
		for (size_t j = 0; j < i; j++)
			if (out->v[j] == out->v[i])
				return fail(c, it, path, "'%s' is listed twice", scalar(it));
		out->n++;
	}
	return 0;
}

static void free_options(const struct hl_option *opts, void *base);

/* Parse node n (present in the document) into option o of base. */
static int parse_value(struct ctx *c, const struct hl_option *o, const yaml_node_t *n, void *base,
		       const char *path)
{
	void *p = (char *)base + o->offset;
	char names[256], d[64];
	const char *s;
	uint64_t ns;
	int e, k;

	switch (o->type) {
	case HL_OPT_SECTION:
		return parse_section(c, o->sub, n, base, path, NULL);
	case HL_OPT_STRUCT:
		if (o->optional && n && n->type == YAML_SEQUENCE_NODE)
			return fail(c, n, path, "expected a mapping, true or false, got a list");
		if (o->optional && (!n || n->type == YAML_SCALAR_NODE)) {
			bool on = false;

			if (n && !is_null(n)) {
				s = scalar(n);
				on = !strcasecmp(s, "true") || !strcasecmp(s, "yes") ||
				     !strcasecmp(s, "on");
				if (!on && strcasecmp(s, "false") && strcasecmp(s, "no") &&
				    strcasecmp(s, "off"))
					return fail(c, n, path,
						    "expected a mapping, true or false, got %s",
						    describe(n, d, sizeof(d)));
			}
			if (!on) {
				if (*(void **)p)
					free_options(o->sub, *(void **)p);
				free(*(void **)p);
				*(void **)p = NULL;
				return 0;
			}
			n = NULL; /* true: every key at its default */
		}
		if (!*(void **)p) {
			*(void **)p = calloc(1, o->size ? o->size : 1);
			if (!*(void **)p)
				return fail_nomem(c);
		}
		return parse_section(c, o->sub, n, *(void **)p, path, NULL);
	case HL_OPT_EXPORTERS:
		return parse_exporters(c, o, n, base, path);
	case HL_OPT_STRLIST:
		return parse_strlist(c, o, n, p, path);
	case HL_OPT_UINTLIST:
		return parse_uintlist(c, o, n, p, path);
	case HL_OPT_FLAGS:
		return parse_flags(c, o, n, p, path);
	case HL_OPT_KVMAP:
		return parse_kvmap(c, o, n, p, path);
	case HL_OPT_UINT:
		return parse_uint(c, o, n, path, p);
	case HL_OPT_BOOL:
		e = want_scalar(c, n, path, "true or false", &s);
		if (e)
			return e;
		if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
			*(bool *)p = true;
		else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))
			*(bool *)p = false;
		else
			return fail(c, n, path,
				    "expected true or false (or yes/no, on/off), got %s",
				    describe(n, d, sizeof(d)));
		return 0;
	case HL_OPT_DURATION:
		e = parse_duration_node(c, o, n, path, &ns);
		if (e)
			return e;
		*(uint64_t *)p = ns;
		return 0;
	case HL_OPT_DURLIST:
		return parse_durlist(c, o, n, p, path);
	case HL_OPT_STRING:
		e = want_scalar(c, n, path, "a string", &s);
		if (e)
			return e;
		if (!*s)
			return fail(c, n, path, "the value must not be empty");
		e = check_string(c, o, n, path, s);
		if (e)
			return e;
		free(*(char **)p);
		*(char **)p = strdup(s);
		return *(char **)p ? 0 : fail_nomem(c);
	case HL_OPT_ENUM:
		join_names(names, sizeof(names), o->names);
		if (n->type != YAML_SCALAR_NODE || is_null(n))
			return fail(c, n, path, "expected one of %s, got %s", names,
				    describe(n, d, sizeof(d)));
		e = want_scalar(c, n, path, "a name", &s);
		if (e)
			return e;
		k = lookup_name(o->names, s);
		if (k < 0)
			return fail(c, n, path, "unknown value '%s'; valid values: %s", s, names);
		*(int *)p = k;
		return 0;
	}
	return fail(c, n, path, "internal error: option type %d", (int)o->type);
}

/*
 * libyaml's scanner and loader take time quadratic in how deep flow
 * collections nest ([[[[...]]]]: 100k levels, 36 s), and the loader builds
 * the whole tree before anything can be checked. So a first pass reads
 * only events, counting the depth, and stops at the collection that goes
 * past HL_CONFIG_MAX_DEPTH, when libyaml has seen little more than that.
 * A syntax error is left to the loader, which meets it at the same place.
 */
static int check_depth(struct ctx *c, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, e = 0;
	bool end = false;

	if (!yaml_parser_initialize(&parser))
		return fail_nomem(c);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!e && !end && yaml_parser_parse(&parser, &ev)) {
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > HL_CONFIG_MAX_DEPTH)
				e = fail_mark(c, &ev.start_mark,
					      "mappings and lists nest deeper than %d levels, the "
					      "limit of a config file",
					      HL_CONFIG_MAX_DEPTH);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			end = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return e;
}

/*
 * Load one YAML document from text. Returns 0 with *root (NULL when the
 * stream is empty) or a negative errno with the message in c->err; the
 * document must be deleted only on success.
 */
static int load_doc(struct ctx *c, yaml_document_t *doc, const char *text, size_t len,
		    yaml_node_t **root)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	int e = check_depth(c, text, len);

	if (e)
		return e;
	if (!yaml_parser_initialize(&parser))
		return fail_nomem(c);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, doc))
		goto syntax;
	*root = yaml_document_get_root_node(doc);
	if (*root) {
		/* Exactly one document: the rest of the stream must be empty. */
		if (!yaml_parser_load(&parser, &extra)) {
			yaml_document_delete(doc);
			goto syntax;
		}
		if (yaml_document_get_root_node(&extra)) {
			struct ctx c2 = *c;

			c2.doc = &extra;
			e = fail(&c2, yaml_document_get_root_node(&extra), NULL,
				 "only one YAML document is allowed");
			yaml_document_delete(doc);
		}
		yaml_document_delete(&extra);
	}
	yaml_parser_delete(&parser);
	return e;

syntax:
	if (parser.error == YAML_MEMORY_ERROR) {
		e = fail_nomem(c);
	} else {
		size_t line = parser.problem_mark.line, col = parser.problem_mark.column;
		char what[64] = "";

		if (parser.error == YAML_READER_ERROR) {
			/* Reader errors carry a byte offset instead of a mark. */
			line = col = 0;
			for (size_t i = 0; i < parser.problem_offset && i < len; i++) {
				if (text[i] == '\n') {
					line++;
					col = 0;
				} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
					col++;
				}
			}
			if (parser.problem_value != -1)
				snprintf(what, sizeof(what), " (#%x)", parser.problem_value);
		}
		if (c->err && c->errlen)
			snprintf(c->err, c->errlen, "%s:%zu:%zu: YAML syntax error: %s%s%s%s%s",
				 c->name, line + 1, col + 1,
				 parser.problem ? parser.problem : "unknown problem", what,
				 parser.context ? " (" : "", parser.context ? parser.context : "",
				 parser.context ? ")" : "");
		e = -EINVAL;
	}
	yaml_parser_delete(&parser);
	return e;
}

/* Set option o of base from its `def` text, through parse_value. */
static int parse_default(struct ctx *c, const struct hl_option *o, void *base, const char *path)
{
	struct ctx dc = {.name = DEFAULT_NAME, .err = c->err, .errlen = c->errlen};
	yaml_document_t doc;
	yaml_node_t *root;
	int e;

	if (o->type == HL_OPT_SECTION || o->type == HL_OPT_STRUCT)
		return parse_value(c, o, NULL, base, path); /* an optional struct: NULL */
	if (!o->def)
		return 0;
	dc.doc = &doc;
	e = load_doc(&dc, &doc, o->def, strlen(o->def), &root);
	if (e)
		return e;
	if (root)
		e = parse_value(&dc, o, root, base, path);
	yaml_document_delete(&doc);
	return e;
}

/*
 * Fill every option of the ng groups from mapping n (NULL or null: all
 * defaults). A key belongs to the first group that has it. extra_key: one
 * more valid key the caller handles (an exporter's type).
 */
static int parse_groups(struct ctx *c, const struct opt_group *g, size_t ng, const yaml_node_t *n,
			const char *path, const char *extra_key)
{
	uint64_t set[MAX_GROUPS] = {0};
	size_t nopts[MAX_GROUPS] = {0};
	char d[64], cpath[PATH_LEN];
	int e;

	assert(ng <= MAX_GROUPS);
	for (size_t k = 0; k < ng; k++) {
		while (g[k].opts && g[k].opts[nopts[k]].name)
			nopts[k]++;
		assert(nopts[k] <= 64);
	}
	if (n && !is_null(n)) {
		const yaml_node_pair_t *pr;

		if (n->type != YAML_MAPPING_NODE)
			return fail(c, n, path, "expected a mapping, got %s",
				    describe(n, d, sizeof(d)));
		for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
			const yaml_node_t *kn = node(c, pr->key), *v = node(c, pr->value);
			const char *ks;
			size_t k, i = 0;

			e = want_scalar(c, kn, path, "a key name", &ks);
			if (e)
				return e;
			if (extra_key && !strcmp(ks, extra_key))
				continue;
			child_path(cpath, sizeof(cpath), path, ks);
			for (k = 0; k < ng; k++) {
				for (i = 0; i < nopts[k]; i++)
					if (!strcmp(g[k].opts[i].name, ks))
						break;
				if (i < nopts[k])
					break;
			}
			if (k == ng) {
				char valid[512];

				join_options(valid, sizeof(valid), extra_key, g, ng);
				return fail(c, kn, cpath, "unknown key '%s'; valid keys: %s", ks,
					    valid);
			}
			if (set[k] & (1ULL << i))
				return fail(c, kn, cpath, "duplicate key '%s'", ks);
			set[k] |= 1ULL << i;
			e = note_pos(c, cpath, v);
			if (e)
				return e;
			e = parse_value(c, &g[k].opts[i], v, g[k].base, cpath);
			if (e)
				return e;
		}
	}
	for (size_t k = 0; k < ng; k++) {
		for (size_t i = 0; i < nopts[k]; i++) {
			if (set[k] & (1ULL << i))
				continue;
			child_path(cpath, sizeof(cpath), path, g[k].opts[i].name);
			e = parse_default(c, &g[k].opts[i], g[k].base, cpath);
			if (e)
				return e;
		}
	}
	return 0;
}

static int parse_section(struct ctx *c, const struct hl_option *opts, const yaml_node_t *n,
			 void *base, const char *path, const char *extra_key)
{
	const struct opt_group g = {opts, base};

	return parse_groups(c, &g, 1, n, path, extra_key);
}

/* ---- exporters ------------------------------------------------------------------ */

static const struct hl_exporter_ops *find_exporter(const char *name)
{
	for (size_t i = 0; hl_exporter_types[i]; i++)
		if (!strcmp(hl_exporter_types[i]->name, name))
			return hl_exporter_types[i];
	return NULL;
}

/* "stdout, ..., plugin" */
static void join_exporters(char *buf, size_t len)
{
	size_t pos = 0;

	buf[0] = 0;
	for (size_t i = 0; hl_exporter_types[i] && pos < len; i++)
		pos += (size_t)snprintf(buf + pos, len - pos, "%s, ", hl_exporter_types[i]->name);
	if (pos < len)
		snprintf(buf + pos, len - pos, "%s", PLUGIN_TYPE);
}

static const char *exporter_type_name(const struct hl_exporter_conf *ec)
{
	return ec->type ? ec->type->name : PLUGIN_TYPE;
}

/* The value of key in mapping n, or NULL. */
static const yaml_node_t *find_key(struct ctx *c, const yaml_node_t *n, const char *key)
{
	const yaml_node_pair_t *pr;

	if (!n || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		const yaml_node_t *k = node(c, pr->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), key))
			return node(c, pr->value);
	}
	return NULL;
}

/* retry.max >= retry.initial, reported at whichever of the two the item sets. */
static int check_retry(struct ctx *c, const yaml_node_t *item, const struct hl_exporter_conf *ec,
		       const char *path)
{
	const yaml_node_t *retry = find_key(c, item, "retry"), *at;
	char ini[32], max[32], rpath[PATH_LEN], kpath[PATH_LEN];
	const char *key = "max";

	if (ec->retry_max_ns >= ec->retry_initial_ns)
		return 0;
	at = find_key(c, retry, "max");
	if (!at) {
		key = "initial";
		at = find_key(c, retry, "initial");
	}
	if (!at)
		at = retry ? retry : item;
	child_path(rpath, sizeof(rpath), path, "retry");
	child_path(kpath, sizeof(kpath), rpath, key);
	hl_format_duration(ec->retry_initial_ns, ini, sizeof(ini));
	hl_format_duration(ec->retry_max_ns, max, sizeof(max));
	return fail(c, at, kpath, "retry.max (%s) must be at least retry.initial (%s)", max, ini);
}

static int parse_exporter(struct ctx *c, const yaml_node_t *item, struct hl_exporter_conf *ec,
			  const char *path)
{
	const yaml_node_t *type = NULL;
	const yaml_node_pair_t *pr;
	struct opt_group g[2];
	char d[64], known[256], tpath[PATH_LEN];
	const char *ts;
	bool plugin;
	int e;

	join_exporters(known, sizeof(known));
	child_path(tpath, sizeof(tpath), path, "type");
	if (item->type != YAML_MAPPING_NODE)
		return fail(c, item, path, "expected a mapping with a 'type' (%s), got %s", known,
			    describe(item, d, sizeof(d)));
	for (pr = item->data.mapping.pairs.start; pr < item->data.mapping.pairs.top; pr++) {
		const yaml_node_t *k = node(c, pr->key);

		if (k->type != YAML_SCALAR_NODE || strcmp(scalar(k), "type"))
			continue;
		if (type)
			return fail(c, k, tpath, "duplicate key 'type'");
		type = node(c, pr->value);
	}
	if (!type)
		return fail(c, item, tpath, "the exporter has no 'type'; known types: %s", known);
	e = want_scalar(c, type, tpath, "an exporter type", &ts);
	if (e)
		return e;
	ec->line = (int)item->start_mark.line + 1;
	ec->column = (int)item->start_mark.column + 1;
	plugin = !strcmp(ts, PLUGIN_TYPE);
	if (plugin) {
		ec->type = NULL;
		g[0] = (struct opt_group){plugin_options, ec};
	} else {
		ec->type = find_exporter(ts);
		if (!ec->type)
			return fail(c, type, tpath, "unknown exporter type '%s'; known types: %s",
				    ts, known);
		ec->conf = calloc(1, ec->type->config_size ? ec->type->config_size : 1);
		if (!ec->conf)
			return fail_nomem(c);
		g[0] = (struct opt_group){ec->type->options, ec->conf};
	}
	g[1] = (struct opt_group){exporter_common_options, ec};
	e = parse_groups(c, g, 2, item, path, "type");
	if (e)
		return e;
	if (plugin && !ec->plugin_path) {
		char ppath[PATH_LEN];

		child_path(ppath, sizeof(ppath), path, "path");
		return fail(c, item, ppath,
			    "a plugin exporter needs a 'path': the shared object of its module");
	}
	return check_retry(c, item, ec, path);
}

/*
 * Unnamed items get their type as name, then TYPE-2, TYPE-3... (counting
 * the unnamed items of the type). All names must then be unique; a clash is
 * reported at the `name` the user wrote.
 */
static int name_exporters(struct ctx *c, const yaml_node_t *list, struct hl_exporter_list *l,
			  const char *path)
{
	char ipath[PATH_LEN], npath[PATH_LEN];
	bool *given = calloc(l->n, sizeof(*given));
	int e = 0;

	if (!given)
		return fail_nomem(c);
	for (size_t i = 0; i < l->n; i++)
		given[i] = l->v[i].name != NULL;
	for (size_t i = 0; i < l->n; i++) {
		const char *t = exporter_type_name(&l->v[i]);
		unsigned int k = 1;
		char buf[EXPORTER_NAME_MAX + 16];

		if (given[i])
			continue;
		for (size_t j = 0; j < i; j++)
			if (!given[j] && !strcmp(exporter_type_name(&l->v[j]), t))
				k++;
		if (k == 1)
			snprintf(buf, sizeof(buf), "%s", t);
		else
			snprintf(buf, sizeof(buf), "%s-%u", t, k);
		l->v[i].name = strdup(buf);
		if (!l->v[i].name) {
			e = fail_nomem(c);
			goto out;
		}
	}
	for (size_t j = 1; j < l->n; j++) {
		for (size_t i = 0; i < j; i++) {
			const yaml_node_t *item, *at;
			size_t where, other;

			if (strcmp(l->v[i].name, l->v[j].name))
				continue;
			/* Point at a name the user wrote: the later one if both are. */
			where = given[j] || !given[i] ? j : i;
			other = where == j ? i : j;
			item = node(c, LIST_ITEM(list, where));
			at = find_key(c, item, "name");
			snprintf(ipath, sizeof(ipath), "%s[%zu]", path, where);
			child_path(npath, sizeof(npath), ipath, "name");
			if (!at)
				at = item;
			if (given[other])
				e = fail(c, at, npath,
					 "duplicate exporter name '%s': %s[%zu] has it too; names "
					 "must be unique",
					 l->v[where].name, path, other);
			else
				e = fail(c, at, npath,
					 "exporter name '%s' is also the default name of %s[%zu]; "
					 "choose another name or give %s[%zu] one",
					 l->v[where].name, path, other, path, other);
			goto out;
		}
	}
out:
	free(given);
	return e;
}

static int parse_exporters(struct ctx *c, const struct hl_option *o, const yaml_node_t *n,
			   void *base, const char *path)
{
	struct hl_exporter_list *out = (void *)((char *)base + o->offset);
	char ipath[PATH_LEN];
	size_t len = 0;
	int e = want_list(c, n, path, "exporters", &len);

	if (e || (e = check_length(c, o, n, path, len)))
		return e;
	if (!len)
		return 0;
	out->v = calloc(len, sizeof(*out->v));
	if (!out->v)
		return fail_nomem(c);
	for (size_t i = 0; i < len; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		out->n++; /* counted first: a half-filled item is freed too */
		e = note_pos(c, ipath, node(c, LIST_ITEM(n, i)));
		if (e)
			return e;
		e = parse_exporter(c, node(c, LIST_ITEM(n, i)), &out->v[i], ipath);
		if (e)
			return e;
	}
	return name_exporters(c, n, out, path);
}

/* ---- compare (SIGHUP reload) ----------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool skipped(const char *key, const char *const *skip)
{
	for (size_t i = 0; skip && skip[i]; i++) {
		size_t n = strlen(skip[i]);

		if (!strncmp(key, skip[i], n) && (!key[n] || key[n] == '.'))
			return true;
	}
	return false;
}

static bool option_equal(const struct hl_option *o, const void *pa, const void *pb)
{
	switch (o->type) {
	case HL_OPT_BOOL:
		return *(const bool *)pa == *(const bool *)pb;
	case HL_OPT_UINT:
	case HL_OPT_FLAGS:
		return *(const uint32_t *)pa == *(const uint32_t *)pb;
	case HL_OPT_DURATION:
		return *(const uint64_t *)pa == *(const uint64_t *)pb;
	case HL_OPT_ENUM:
		return *(const int *)pa == *(const int *)pb;
	case HL_OPT_STRING:
		return str_eq(*(char *const *)pa, *(char *const *)pb);
	case HL_OPT_STRLIST: {
		const struct hl_strlist *x = pa, *y = pb;

		if (x->n != y->n)
			return false;
		for (size_t i = 0; i < x->n; i++)
			if (!str_eq(x->v[i], y->v[i]))
				return false;
		return true;
	}
	case HL_OPT_UINTLIST: {
		const struct hl_uintlist *x = pa, *y = pb;

		return x->n == y->n && (!x->n || !memcmp(x->v, y->v, x->n * sizeof(*x->v)));
	}
	case HL_OPT_DURLIST: {
		const struct hl_durlist *x = pa, *y = pb;

		return x->n == y->n && (!x->n || !memcmp(x->v, y->v, x->n * sizeof(*x->v)));
	}
	case HL_OPT_KVMAP: {
		const struct hl_kvlist *x = pa, *y = pb;

		if (x->n != y->n)
			return false;
		for (size_t i = 0; i < x->n; i++)
			if (!str_eq(x->v[i].key, y->v[i].key) ||
			    !str_eq(x->v[i].value, y->v[i].value))
				return false;
		return true;
	}
	case HL_OPT_SECTION:
	case HL_OPT_STRUCT:
	case HL_OPT_EXPORTERS:
		return true; /* compared by the caller, key by key */
	}
	return false;
}

static bool diff_options(const struct hl_option *opts, const void *a, const void *b,
			 const char *prefix, const char *const *skip, char *buf, size_t len);

/*
 * The first difference between two exporter lists, as precise as it goes:
 * "exporters" (another number of items), "exporters[1].type", or an item's
 * own key ("exporters[1].queue_size", "exporters[0].retry.max").
 */
static bool diff_exporters(const struct hl_exporter_list *x, const struct hl_exporter_list *y,
			   const char *key, char *buf, size_t len)
{
	char ikey[256 + 24]; /* key, "[", an index, "]" */

	if (x->n != y->n) {
		snprintf(buf, len, "%s", key);
		return true;
	}
	for (size_t i = 0; i < x->n; i++) {
		const struct hl_exporter_conf *ex = &x->v[i], *ey = &y->v[i];

		snprintf(ikey, sizeof(ikey), "%s[%zu]", key, i);
		if (ex->type != ey->type) {
			snprintf(buf, len, "%s.type", ikey);
			return true;
		}
		if (diff_options(exporter_common_options, ex, ey, ikey, NULL, buf, len) ||
		    diff_options(plugin_options, ex, ey, ikey, NULL, buf, len) ||
		    (ex->type &&
		     diff_options(ex->type->options, ex->conf, ey->conf, ikey, NULL, buf, len)))
			return true;
	}
	return false;
}

/* Writes the first differing key into buf and returns true; false: equal. */
static bool diff_options(const struct hl_option *opts, const void *a, const void *b,
			 const char *prefix, const char *const *skip, char *buf, size_t len)
{
	for (size_t i = 0; opts && opts[i].name; i++) {
		const struct hl_option *o = &opts[i];
		const void *pa = (const char *)a + o->offset, *pb = (const char *)b + o->offset;
		char key[256];

		snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", o->name);
		if (skipped(key, skip))
			continue;
		if (o->type == HL_OPT_SECTION) {
			if (diff_options(o->sub, a, b, key, skip, buf, len))
				return true;
			continue;
		}
		if (o->type == HL_OPT_STRUCT) {
			const void *sa = *(void *const *)pa, *sb = *(void *const *)pb;

			if (!sa || !sb) {
				if (sa == sb)
					continue;
				snprintf(buf, len, "%s", key);
				return true;
			}
			if (diff_options(o->sub, sa, sb, key, skip, buf, len))
				return true;
			continue;
		}
		if (o->type == HL_OPT_EXPORTERS) {
			if (diff_exporters(pa, pb, key, buf, len))
				return true;
			continue;
		}
		if (!option_equal(o, pa, pb)) {
			snprintf(buf, len, "%s", key);
			return true;
		}
	}
	return false;
}

const char *hl_config_diff(const struct hl_config *a, const struct hl_config *b,
			   const char *const *skip, char *buf, size_t len)
{
	return diff_options(hl_config_options, a, b, "", skip, buf, len) ? buf : NULL;
}

/* ---- free ----------------------------------------------------------------------- */

static void free_options(const struct hl_option *opts, void *base)
{
	for (size_t i = 0; opts && opts[i].name; i++) {
		const struct hl_option *o = &opts[i];
		void *p = (char *)base + o->offset;

		switch (o->type) {
		case HL_OPT_STRING:
			free(*(char **)p);
			*(char **)p = NULL;
			break;
		case HL_OPT_STRLIST: {
			struct hl_strlist *l = p;

			for (size_t j = 0; j < l->n; j++)
				free(l->v[j]);
			free(l->v);
			free(l->pos);
			*l = (struct hl_strlist){0};
			break;
		}
		case HL_OPT_UINTLIST: {
			struct hl_uintlist *l = p;

			free(l->v);
			*l = (struct hl_uintlist){0};
			break;
		}
		case HL_OPT_DURLIST: {
			struct hl_durlist *l = p;

			free(l->v);
			*l = (struct hl_durlist){0};
			break;
		}
		case HL_OPT_KVMAP: {
			struct hl_kvlist *l = p;

			for (size_t j = 0; j < l->n; j++) {
				free(l->v[j].key);
				free(l->v[j].value);
			}
			free(l->v);
			*l = (struct hl_kvlist){0};
			break;
		}
		case HL_OPT_SECTION:
			free_options(o->sub, base);
			break;
		case HL_OPT_STRUCT:
			if (*(void **)p)
				free_options(o->sub, *(void **)p);
			free(*(void **)p);
			*(void **)p = NULL;
			break;
		case HL_OPT_EXPORTERS: {
			struct hl_exporter_list *l = p;

			for (size_t j = 0; j < l->n; j++) {
				if (l->v[j].type && l->v[j].conf)
					free_options(l->v[j].type->options, l->v[j].conf);
				free(l->v[j].conf);
				free_options(exporter_common_options, &l->v[j]);
				free_options(plugin_options, &l->v[j]);
			}
			free(l->v);
			*l = (struct hl_exporter_list){0};
			break;
		}
		default:
			break;
		}
	}
}

void hl_config_free(struct hl_config *cfg)
{
	if (!cfg)
		return;
	free_options(hl_config_options, cfg);
	for (size_t i = 0; i < cfg->n_where; i++)
		free(cfg->where[i].key);
	free(cfg->where);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- load ----------------------------------------------------------------------- */

/*
 * Each probe's checks between the keys of its section; a problem is
 * reported at the key it names, else near, else the section, as written in
 * the file.
 */
static int check_probes(struct ctx *c, const yaml_node_t *root, const struct hl_config *cfg)
{
	const yaml_node_t *probes = find_key(c, root, "probes");

	for (size_t i = 0; hl_probes[i]; i++) {
		const struct hl_probe_ops *p = hl_probes[i];
		struct hl_config_problem pb = {0};
		char spath[PATH_LEN], kpath[PATH_LEN];
		const yaml_node_t *sec, *at;

		if (!p->check_config || !p->check_config(hl_probe_config(cfg, p), &pb))
			continue;
		sec = find_key(c, probes, p->name);
		at = find_key(c, sec, pb.key);
		if (!at && pb.near)
			at = find_key(c, sec, pb.near);
		if (!at)
			at = sec ? sec : probes ? probes : root;
		child_path(spath, sizeof(spath), "probes", p->name);
		child_path(kpath, sizeof(kpath), spath, pb.key);
		return fail(c, at, kpath, "%s", pb.msg);
	}
	return 0;
}

int hl_config_load_string(struct hl_config *cfg, const char *text, size_t len, const char *name,
			  char *err, size_t errlen)
{
	struct ctx c = {.name = name ? name : "<string>", .err = err, .errlen = errlen, .cfg = cfg};
	yaml_document_t doc;
	yaml_node_t *root;
	char d[64];
	int e;

	memset(cfg, 0, sizeof(*cfg));
	if (err && errlen)
		err[0] = 0;
	cfg->path = strdup(c.name);
	if (!cfg->path)
		return fail_nomem(&c);
	c.doc = &doc;
	e = load_doc(&c, &doc, text, len, &root);
	if (e) {
		hl_config_free(cfg);
		return e;
	}
	if (root && !is_null(root) && root->type != YAML_MAPPING_NODE)
		e = fail(&c, root, NULL,
			 "expected a mapping of sections (agent, resource, probes, "
			 "exporters) at the top level, got %s",
			 describe(root, d, sizeof(d)));
	else
		e = parse_section(&c, hl_config_options, root, cfg, "", NULL);
	if (!e)
		e = check_probes(&c, root, cfg);
	yaml_document_delete(&doc);
	if (e)
		hl_config_free(cfg);
	return e;
}

/* What a file that is not a regular one is, for messages. */
static const char *file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	return "neither a file nor a directory";
}

/*
 * The whole of a config file into *buf (malloc'ed, len bytes). Only a
 * regular file is read: it is looked at before it is opened, opened
 * without blocking (a FIFO would wait for a writer) and looked at again
 * once open (it may have been replaced in between).
 */
static int read_config_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	size_t n = 0;
	int fd = -1, e;

	*buf = NULL;
	if (stat(path, &st) < 0)
		goto fail_errno;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		goto not_regular;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		goto fail_errno;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail_errno;
	}
	if (!S_ISREG(st.st_mode))
		goto not_regular;
	if (st.st_size > HL_CONFIG_MAX_BYTES)
		goto too_big;
	*buf = malloc(HL_CONFIG_MAX_BYTES + 1);
	if (!*buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return -ENOMEM;
	}
	/* Up to one byte past the limit: a file that grew since fstat. */
	while (n <= HL_CONFIG_MAX_BYTES) {
		ssize_t r = read(fd, *buf + n, HL_CONFIG_MAX_BYTES + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail_errno;
		if (!r)
			break;
		n += (size_t)r;
	}
	if (n > HL_CONFIG_MAX_BYTES)
		goto too_big;
	close(fd);
	*len = n;
	return 0;

fail_errno:
	e = errno ? errno : EIO;
	snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
	e = -e;
	goto out;
not_regular:
	snprintf(err, errlen, "%s: not a regular file (%s)", path, file_kind(st.st_mode));
	e = -EINVAL;
	goto out;
too_big:
	snprintf(err, errlen, "%s: the file is larger than %d bytes", path, HL_CONFIG_MAX_BYTES);
	e = -EFBIG;
out:
	if (fd >= 0)
		close(fd);
	free(*buf);
	*buf = NULL;
	return e;
}

int hl_config_load(struct hl_config *cfg, const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len = 0;
	int e;

	if (!path)
		return hl_config_load_string(cfg, hl_default_config, strlen(hl_default_config),
					     EMBEDDED_NAME, err, errlen);
	memset(cfg, 0, sizeof(*cfg));
	e = read_config_file(path, &buf, &len, err, errlen);
	if (e)
		return e;
	e = hl_config_load_string(cfg, buf, len, path, err, errlen);
	free(buf);
	return e;
}

/* ---- after loading ------------------------------------------------------------- */

const char *hl_config_where(const struct hl_config *cfg, const char *key, char *buf, size_t len)
{
	char k[PATH_LEN];

	snprintf(k, sizeof(k), "%s", key);
	for (;;) {
		char *cut;

		for (size_t i = 0; i < cfg->n_where; i++) {
			if (strcmp(cfg->where[i].key, k))
				continue;
			snprintf(buf, len, "%s:%d:%d", cfg->path, cfg->where[i].pos.line,
				 cfg->where[i].pos.column);
			return buf;
		}
		/* the enclosing key: "a.b[1].c" -> "a.b[1]" -> "a.b" -> "a" */
		cut = strrchr(k, '.');
		if (!cut || (strrchr(k, '[') && strrchr(k, '[') > cut))
			cut = strrchr(k, '[');
		if (!cut)
			break;
		*cut = 0;
	}
	snprintf(buf, len, "%s", cfg->path ? cfg->path : "<config>");
	return buf;
}

/* One value's check_system; the message at where the file has it. */
static int system_value(const struct hl_config *cfg, const struct hl_option *o, const char *v,
			const char *key, char *err, size_t errlen)
{
	char why[MSG_LEN], at[PATH_LEN + 32];

	if (!v || !o->check_system || !o->check_system(v, why, sizeof(why)))
		return 0;
	snprintf(err, errlen, "%s: %s (key '%s')", hl_config_where(cfg, key, at, sizeof(at)), why,
		 key);
	for (char *p = err; errlen && *p; p++) /* one line */
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

static int system_options(const struct hl_config *cfg, const struct hl_option *opts,
			  const void *base, const char *prefix, char *err, size_t errlen)
{
	for (size_t i = 0; opts && opts[i].name; i++) {
		const struct hl_option *o = &opts[i];
		const void *p = (const char *)base + o->offset;
		char key[PATH_LEN], sub[PATH_LEN + 24];
		int e = 0;

		child_path(key, sizeof(key), prefix, o->name);
		switch (o->type) {
		case HL_OPT_STRING:
			e = system_value(cfg, o, *(char *const *)p, key, err, errlen);
			break;
		case HL_OPT_KVMAP: {
			const struct hl_kvlist *l = p;

			for (size_t j = 0; j < l->n && !e; j++) {
				child_path(sub, sizeof(sub), key, l->v[j].key);
				e = system_value(cfg, o, l->v[j].value, sub, err, errlen);
			}
			break;
		}
		case HL_OPT_SECTION:
			e = system_options(cfg, o->sub, base, key, err, errlen);
			break;
		case HL_OPT_STRUCT:
			if (*(void *const *)p)
				e = system_options(cfg, o->sub, *(void *const *)p, key, err,
						   errlen);
			break;
		case HL_OPT_EXPORTERS: {
			const struct hl_exporter_list *l = p;

			for (size_t j = 0; j < l->n && !e; j++) {
				const struct hl_exporter_conf *ec = &l->v[j];

				snprintf(sub, sizeof(sub), "%s[%zu]", key, j);
				e = system_options(cfg, exporter_common_options, ec, sub, err,
						   errlen);
				if (!e && ec->type && ec->conf)
					e = system_options(cfg, ec->type->options, ec->conf, sub,
							   err, errlen);
			}
			break;
		}
		default:
			break;
		}
		if (e)
			return e;
	}
	return 0;
}

int hl_config_check_system(const struct hl_config *cfg, char *err, size_t errlen)
{
	if (errlen)
		err[0] = 0;
	return system_options(cfg, hl_config_options, cfg, "", err, errlen);
}

/* ---- reference ------------------------------------------------------------------ */

/* Markdown table cell text: '|' escaped. */
static void put_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', f);
		fputc(*s, f);
	}
}

static void put_type(FILE *f, const struct hl_option *o)
{
	char names[256], lo[32], hi[32];

	switch (o->type) {
	case HL_OPT_BOOL:
		fprintf(f, "bool");
		break;
	case HL_OPT_UINT:
		fprintf(f, "uint, %lld..%lld", (long long)o->min, (long long)o->max);
		break;
	case HL_OPT_DURATION:
		hl_format_duration((uint64_t)o->min, lo, sizeof(lo));
		hl_format_duration((uint64_t)o->max, hi, sizeof(hi));
		fprintf(f, "duration, %s..%s", lo, hi);
		break;
	case HL_OPT_STRING:
		fprintf(f, "string");
		break;
	case HL_OPT_ENUM:
		join_names(names, sizeof(names), o->names);
		fprintf(f, "one of: %s", names);
		break;
	case HL_OPT_FLAGS:
		join_names(names, sizeof(names), o->names);
		fprintf(f, "list of: %s", names);
		break;
	case HL_OPT_STRLIST:
		fprintf(f, "list of strings");
		break;
	case HL_OPT_UINTLIST:
		fprintf(f, "list of uint, %lld..%lld", (long long)o->min, (long long)o->max);
		break;
	case HL_OPT_DURLIST:
		hl_format_duration((uint64_t)o->min, lo, sizeof(lo));
		hl_format_duration((uint64_t)o->max, hi, sizeof(hi));
		fprintf(f, "list of durations, %s..%s (1..%d items)", lo, hi, HL_DURLIST_MAX);
		break;
	case HL_OPT_KVMAP:
		fprintf(f, "map of string to string");
		break;
	case HL_OPT_SECTION:
	case HL_OPT_STRUCT:
		fprintf(f, o->optional ? "mapping, true or false" : "mapping");
		break;
	case HL_OPT_EXPORTERS:
		fprintf(f, "list of exporters");
		break;
	}
	if ((o->type == HL_OPT_FLAGS || o->type == HL_OPT_STRLIST || o->type == HL_OPT_KVMAP ||
	     o->type == HL_OPT_EXPORTERS) &&
	    (o->min || o->max)) {
		if (o->max)
			fprintf(f, " (%lld..%lld items)", (long long)o->min, (long long)o->max);
		else
			fprintf(f, " (at least %lld)", (long long)o->min);
	}
}

static void put_row(FILE *f, const char *path, const struct hl_option *o)
{
	fprintf(f, "| `%s` | ", path);
	put_type(f, o);
	fprintf(f, " | ");
	if (o->def) {
		fputc('`', f);
		put_cell(f, o->def);
		fputc('`', f);
	}
	fprintf(f, " | ");
	put_cell(f, o->help ? o->help : "");
	fprintf(f, " |\n");
}

static void print_options(FILE *f, const struct hl_option *opts, const char *prefix);

/* The rows under an HL_OPT_EXPORTERS option at path. */
static void print_exporter_rows(FILE *f, const char *path)
{
	char sub[PATH_LEN + 64];

	fprintf(f, "| `%s[].type` | one of: ", path);
	for (size_t t = 0; hl_exporter_types[t]; t++)
		fprintf(f, "%s, ", hl_exporter_types[t]->name);
	fprintf(f, "%s |  | required: the exporter type;", PLUGIN_TYPE);
	for (size_t t = 0; hl_exporter_types[t]; t++) {
		fprintf(f, " %s: ", hl_exporter_types[t]->name);
		put_cell(f, hl_exporter_types[t]->help ? hl_exporter_types[t]->help : "");
		fputc(',', f);
	}
	fprintf(f, " %s: ", PLUGIN_TYPE);
	put_cell(f, PLUGIN_HELP);
	fprintf(f, " |\n");
	snprintf(sub, sizeof(sub), "%s[]", path);
	print_options(f, exporter_common_options, sub);
	for (size_t t = 0; hl_exporter_types[t]; t++) {
		snprintf(sub, sizeof(sub), "%s[type=%s]", path, hl_exporter_types[t]->name);
		print_options(f, hl_exporter_types[t]->options, sub);
	}
	snprintf(sub, sizeof(sub), "%s[type=%s]", path, PLUGIN_TYPE);
	print_options(f, plugin_options, sub);
}

static void print_options(FILE *f, const struct hl_option *opts, const char *prefix)
{
	char path[PATH_LEN];

	for (size_t i = 0; opts && opts[i].name; i++) {
		const struct hl_option *o = &opts[i];

		child_path(path, sizeof(path), prefix, o->name);
		if (o->optional) {
			fprintf(f, "| `%s` | ", path);
			put_type(f, o);
			fprintf(f, " | `false` | ");
			put_cell(f, o->help ? o->help : "");
			fprintf(f, " |\n");
		}
		if (o->type == HL_OPT_SECTION || o->type == HL_OPT_STRUCT) {
			print_options(f, o->sub, path);
			continue;
		}
		put_row(f, path, o);
		if (o->type == HL_OPT_EXPORTERS)
			print_exporter_rows(f, path);
	}
}

void hl_config_print_reference(FILE *f)
{
	fprintf(f, "| key | type | default | description |\n");
	fprintf(f, "|---|---|---|---|\n");
	print_options(f, hl_config_options, "");
}
