/* SPDX-License-Identifier: MIT */
/*
 * Config loader: the embedded default, a config setting every key,
 * durations, a table of bad configs with their exact positions, file
 * errors and the Markdown reference.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include "config.h"
#include "exporters.h"
#include "hostlat.h"
#include "unit.h"

#define ALL_STAGES ((1U << HL_STAGE_COUNT) - 1)

static int load(struct hl_config *cfg, const char *text, char *err, size_t errlen)
{
	return hl_config_load_string(cfg, text, strlen(text), "bad.yaml", err, errlen);
}

static bool is_empty(const struct hl_config *cfg)
{
	static const struct hl_config zero;

	return !memcmp(cfg, &zero, sizeof(zero));
}

/* ---- generic comparison through the option tables ------------------------------ */

static bool same_options(const struct hl_option *opts, const void *a, const void *b);

static bool same_value(const struct hl_option *o, const void *a, const void *b)
{
	const void *pa = (const char *)a + o->offset, *pb = (const char *)b + o->offset;

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
	case HL_OPT_STRING: {
		const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;

		return (!sa && !sb) || (sa && sb && !strcmp(sa, sb));
	}
	case HL_OPT_STRLIST: {
		const struct hl_strlist *la = pa, *lb = pb;

		if (la->n != lb->n)
			return false;
		for (size_t i = 0; i < la->n; i++)
			if (strcmp(la->v[i], lb->v[i]))
				return false;
		return true;
	}
	case HL_OPT_UINTLIST: {
		const struct hl_uintlist *la = pa, *lb = pb;

		return la->n == lb->n && (!la->n || !memcmp(la->v, lb->v, la->n * sizeof(*la->v)));
	}
	case HL_OPT_KVMAP: {
		const struct hl_kvlist *la = pa, *lb = pb;

		if (la->n != lb->n)
			return false;
		for (size_t i = 0; i < la->n; i++)
			if (strcmp(la->v[i].key, lb->v[i].key) ||
			    strcmp(la->v[i].value, lb->v[i].value))
				return false;
		return true;
	}
	case HL_OPT_SECTION:
		return same_options(o->sub, a, b);
	case HL_OPT_EXPORTERS: {
		const struct hl_exporter_list *la = pa, *lb = pb;

		if (la->n != lb->n)
			return false;
		for (size_t i = 0; i < la->n; i++)
			if (la->v[i].type != lb->v[i].type ||
			    !same_options(la->v[i].type->options, la->v[i].conf, lb->v[i].conf))
				return false;
		return true;
	}
	}
	return false;
}

static bool same_options(const struct hl_option *opts, const void *a, const void *b)
{
	for (size_t i = 0; opts && opts[i].name; i++)
		if (!same_value(&opts[i], a, b))
			return false;
	return true;
}

/* ---- defaults ------------------------------------------------------------------- */

static void check_defaults(const struct hl_config *c, const char *what)
{
	const struct hl_stdout_conf *so;

	CHECK(c->agent.interval_ns == 10000000000ULL, "%s: interval %llu", what,
	      (unsigned long long)c->agent.interval_ns);
	CHECK(c->agent.log_level == HL_LOG_INFO, "%s: log_level %d", what, c->agent.log_level);
	CHECK(c->resource.attributes.n == 0, "%s: attributes %zu", what, c->resource.attributes.n);
	CHECK(c->stack.enabled, "%s: enabled", what);
	CHECK(c->stack.stages == ALL_STAGES, "%s: stages %#x", what, c->stack.stages);
	CHECK(c->stack.histogram_scale == 3, "%s: scale %u", what, c->stack.histogram_scale);
	CHECK(c->stack.max_buckets == 160, "%s: max_buckets %u", what, c->stack.max_buckets);
	CHECK(c->stack.max_groups == 1024, "%s: max_groups %u", what, c->stack.max_groups);
	CHECK(c->stack.max_bucket_entries == 32768, "%s: max_bucket_entries %u", what,
	      c->stack.max_bucket_entries);
	CHECK(c->stack.filters.interfaces.n == 0, "%s: interfaces", what);
	CHECK(c->stack.filters.network_namespace &&
		      !strcmp(c->stack.filters.network_namespace, "host"),
	      "%s: netns %s", what, c->stack.filters.network_namespace);
	CHECK(c->stack.filters.cgroups.n == 0, "%s: cgroups", what);
	CHECK(c->stack.filters.pids.n == 0, "%s: pids", what);
	CHECK(c->stack.filters.min_queue_length == 0, "%s: min_queue_length", what);
	CHECK(c->stack.group_by == 0, "%s: group_by %#x", what, c->stack.group_by);
	CHECK(c->exporters.n == 1, "%s: %zu exporters", what, c->exporters.n);
	if (c->exporters.n != 1)
		return;
	CHECK(c->exporters.v[0].type == &hl_stdout_exporter, "%s: exporter type", what);
	so = c->exporters.v[0].conf;
	CHECK(so && so->format == HL_STDOUT_PRETTY, "%s: stdout format", what);
	CHECK(so && so->temporality == HL_TEMP_AUTO, "%s: stdout temporality", what);
	CHECK(so && so->output && !strcmp(so->output, "-"), "%s: stdout output", what);
}

static void test_defaults(void)
{
	static const char *const empties[] = {
		"",	 "\n",	"# only a comment\n",
		"---\n", "~\n", "agent:\nprobes:\n  stack_latency:\n"};
	struct hl_config def, c;
	char err[512] = "";
	int e;

	e = hl_config_load(&def, NULL, err, sizeof(err));
	CHECK(e == 0, "embedded default: %d %s", e, err);
	CHECK(def.path && !strcmp(def.path, "<embedded>"), "path %s", def.path);
	check_defaults(&def, "embedded");
	/* The item position is kept for the agent's messages. */
	CHECK(def.exporters.n == 1 && def.exporters.v[0].line > 1 && def.exporters.v[0].column == 5,
	      "exporter position %d:%d", def.exporters.n ? def.exporters.v[0].line : 0,
	      def.exporters.n ? def.exporters.v[0].column : 0);

	/* An empty config takes every default from the tables' def text. */
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		e = load(&c, empties[i], err, sizeof(err));
		CHECK(e == 0, "empty config %zu: %d %s", i, e, err);
		check_defaults(&c, empties[i]);
		CHECK(same_options(hl_config_options, &c, &def),
		      "config/hostlat.yaml differs from the table defaults (case %zu)", i);
		hl_config_free(&c);
		CHECK(is_empty(&c), "free leaves the config empty");
		hl_config_free(&c); /* idempotent */
	}
	hl_config_free(&def);
	hl_config_free(NULL);
}

/* ---- every key set -------------------------------------------------------------- */

static const char full_config[] = "agent:\n"
				  "  interval: 1500ms\n"
				  "  log_level: debug\n"
				  "resource:\n"
				  "  attributes:\n"
				  "    deployment.environment: prod\n"
				  "    team: \"net ops\"\n"
				  "    port: 8080\n"
				  "    empty: \"\"\n"
				  "probes:\n"
				  "  stack_latency:\n"
				  "    enabled: no\n"
				  "    stages: [udp-socket-read, ip-start]\n"
				  "    histogram_scale: 5\n"
				  "    max_buckets: 2\n"
				  "    max_series: 1048576\n"
				  "    max_bucket_entries: 64\n"
				  "    filters:\n"
				  "      interfaces: [eth0, veth-0123456789]\n"
				  "      network_namespace: /var/run/netns/blue\n"
				  "      cgroups:\n"
				  "        - /sys/fs/cgroup/system.slice\n"
				  "        - user.slice\n"
				  "      pids: [1, 4194304, 77]\n"
				  "      min_queue_length: 4294967295\n"
				  "    group_by: [cgroup, interface]\n"
				  "exporters:\n"
				  "  - type: stdout\n"
				  "    format: json\n"
				  "    temporality: delta\n"
				  "    output: /tmp/metrics.jsonl\n"
				  "  - { type: stdout, temporality: cumulative }\n";

static void test_full(void)
{
	const struct hl_stdout_conf *so;
	const struct hl_kvlist *kv;
	struct hl_config c;
	char err[512] = "";
	int e = hl_config_load_string(&c, full_config, strlen(full_config), "full.yaml", err,
				      sizeof(err));

	CHECK(e == 0, "full config: %d %s", e, err);
	if (e)
		return;
	CHECK(!strcmp(c.path, "full.yaml"), "path %s", c.path);
	CHECK(c.agent.interval_ns == 1500000000ULL, "interval %llu",
	      (unsigned long long)c.agent.interval_ns);
	CHECK(c.agent.log_level == HL_LOG_DEBUG, "log_level");
	kv = &c.resource.attributes;
	CHECK(kv->n == 4, "attributes %zu", kv->n);
	if (kv->n == 4) {
		CHECK(!strcmp(kv->v[0].key, "deployment.environment") &&
			      !strcmp(kv->v[0].value, "prod"),
		      "attr 0");
		CHECK(!strcmp(kv->v[1].key, "team") && !strcmp(kv->v[1].value, "net ops"),
		      "attr 1");
		CHECK(!strcmp(kv->v[2].key, "port") && !strcmp(kv->v[2].value, "8080"), "attr 2");
		CHECK(!strcmp(kv->v[3].key, "empty") && !strcmp(kv->v[3].value, ""), "attr 3");
	}
	CHECK(!c.stack.enabled, "enabled");
	CHECK(c.stack.stages == (1U << HL_STAGE_UDP_SOCK_READ | 1U << HL_STAGE_IP_START),
	      "stages %#x", c.stack.stages);
	CHECK(c.stack.histogram_scale == 5, "scale");
	CHECK(c.stack.max_buckets == 2, "max_buckets");
	CHECK(c.stack.max_groups == 1048576, "max_series");
	CHECK(c.stack.max_bucket_entries == 64, "max_bucket_entries");
	CHECK(c.stack.filters.interfaces.n == 2 &&
		      !strcmp(c.stack.filters.interfaces.v[0], "eth0") &&
		      !strcmp(c.stack.filters.interfaces.v[1], "veth-0123456789"),
	      "interfaces");
	CHECK(!strcmp(c.stack.filters.network_namespace, "/var/run/netns/blue"), "netns");
	CHECK(c.stack.filters.cgroups.n == 2 &&
		      !strcmp(c.stack.filters.cgroups.v[0], "/sys/fs/cgroup/system.slice") &&
		      !strcmp(c.stack.filters.cgroups.v[1], "user.slice"),
	      "cgroups");
	CHECK(c.stack.filters.pids.n == 3 && c.stack.filters.pids.v[0] == 1 &&
		      c.stack.filters.pids.v[1] == 4194304 && c.stack.filters.pids.v[2] == 77,
	      "pids");
	CHECK(c.stack.filters.min_queue_length == 4294967295U, "min_queue_length");
	CHECK(c.stack.group_by == (HL_GROUP_IFACE | HL_GROUP_CGROUP), "group_by %#x",
	      c.stack.group_by);
	CHECK(c.exporters.n == 2, "exporters %zu", c.exporters.n);
	if (c.exporters.n == 2) {
		so = c.exporters.v[0].conf;
		CHECK(c.exporters.v[0].type == &hl_stdout_exporter, "exporter 0 type");
		CHECK(c.exporters.v[0].line == 28 && c.exporters.v[0].column == 5,
		      "exporter 0 at %d:%d", c.exporters.v[0].line, c.exporters.v[0].column);
		CHECK(so->format == HL_STDOUT_JSON && so->temporality == HL_TEMP_DELTA &&
			      !strcmp(so->output, "/tmp/metrics.jsonl"),
		      "exporter 0 conf");
		so = c.exporters.v[1].conf;
		CHECK(c.exporters.v[1].line == 32 && c.exporters.v[1].column == 5,
		      "exporter 1 at %d:%d", c.exporters.v[1].line, c.exporters.v[1].column);
		CHECK(so->format == HL_STDOUT_PRETTY && so->temporality == HL_TEMP_CUMULATIVE &&
			      !strcmp(so->output, "-"),
		      "exporter 1 conf");
	}
	hl_config_free(&c);
}

/* Accepted spellings that the full config does not show. */
static void test_variants(void)
{
	static const struct {
		const char *text;
		bool enabled;
		const char *netns;
	} rows[] = {
		{"probes: {stack_latency: {enabled: True}}", true, "host"},
		{"probes: {stack_latency: {enabled: OFF}}", false, "host"},
		{"probes: {stack_latency: {enabled: yes}}", true, "host"},
		{"probes: {stack_latency: {enabled: \"false\"}}", false, "host"},
		{"probes: {stack_latency: {filters: {network_namespace: all}}}", true, "all"},
		{"probes: {stack_latency: {filters: {network_namespace: 4026531840}}}", true,
		 "4026531840"},
		{"probes: {stack_latency: {filters: {network_namespace: /proc/1/ns/net}}}", true,
		 "/proc/1/ns/net"},
		/* anchors and aliases resolve */
		{"x: &ns /run/netns/a\nprobes: {stack_latency: {filters: {network_namespace: "
		 "*ns}}}",
		 true, NULL},
	};
	char err[512];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_config c;
		int e = load(&c, rows[i].text, err, sizeof(err));

		if (!rows[i].netns) {
			/* 'x' is not a key: aliases parse, unknown keys still fail */
			CHECK(e == -EINVAL && strstr(err, "unknown key 'x'"), "row %zu: %s", i,
			      err);
			continue;
		}
		CHECK(e == 0, "variant %zu: %s", i, err);
		if (e)
			continue;
		CHECK(c.stack.enabled == rows[i].enabled, "variant %zu: enabled", i);
		CHECK(!strcmp(c.stack.filters.network_namespace, rows[i].netns), "variant %zu: %s",
		      i, c.stack.filters.network_namespace);
		hl_config_free(&c);
	}
}

/* ---- durations ------------------------------------------------------------------ */

static void test_durations(void)
{
	static const struct {
		const char *s;
		uint64_t ns;
	} good[] = {
		{"0ns", 0},
		{"0s", 0},
		{"1ns", 1},
		{"250ns", 250},
		{"100us", 100000},
		{"100\xc2\xb5s", 100000},
		{"100\xce\xbcs", 100000},
		{"1ms", 1000000},
		{"1.5ms", 1500000},
		{"1.0ns", 1},
		{"1.500us", 1500},
		{"0.000000001s", 1},
		{"10s", 10000000000ULL},
		{"007s", 7000000000ULL},
		{"1m", 60000000000ULL},
		{"1.5m", 90000000000ULL},
		{"1h", 3600000000000ULL},
		{"1.25h", 4500000000000ULL},
		{"0.0000000000025h", 9},
		{"5124095h", 5124095ULL * 3600000000000ULL},
		{"18446744073709551615ns", UINT64_MAX},
	};
	static const char *const bad[] = {
		"",
		"10",
		"s",
		"10 s",
		" 10s",
		"10s ",
		"10S",
		"10sec",
		"-1s",
		"+1s",
		"1.s",
		".5s",
		"1e3s",
		"0x10s",
		"1..5s",
		"1.5.5s",
		"1.5",
		"0.5ns",
		"1.0000000001ms",
		"0.00000000000001h",
		"5124096h",
		"18446744073709551616ns",
		"99999999999999999999999999s",
		"1\xc2s",
	};
	static const struct {
		uint64_t ns;
		const char *s;
	} fmt[] = {
		{0, "0s"},
		{1, "1ns"},
		{1500, "1500ns"},
		{1500000, "1500us"},
		{100000000, "100ms"},
		{1000000000, "1s"},
		{90000000000ULL, "90s"},
		{60000000000ULL, "1m"},
		{3600000000000ULL, "1h"},
		{5400000000000ULL, "90m"},
		{UINT64_MAX, "18446744073709551615ns"},
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t ns = 12345, back = 0;
		int e = hl_parse_duration(good[i].s, &ns);

		CHECK(e == 0 && ns == good[i].ns, "'%s' -> %d %llu, want %llu", good[i].s, e,
		      (unsigned long long)ns, (unsigned long long)good[i].ns);
		hl_format_duration(good[i].ns, buf, sizeof(buf));
		CHECK(hl_parse_duration(buf, &back) == 0 && back == good[i].ns,
		      "round trip %llu -> '%s'", (unsigned long long)good[i].ns, buf);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t ns = 12345;

		CHECK(hl_parse_duration(bad[i], &ns) == -EINVAL && ns == 12345, "'%s' accepted",
		      bad[i]);
	}
	CHECK(hl_parse_duration(NULL, &(uint64_t){0}) == -EINVAL, "NULL accepted");
	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		hl_format_duration(fmt[i].ns, buf, sizeof(buf));
		CHECK(!strcmp(buf, fmt[i].s), "format %llu: '%s', want '%s'",
		      (unsigned long long)fmt[i].ns, buf, fmt[i].s);
	}
}

/* ---- bad configs ---------------------------------------------------------------- */

static const struct {
	const char *text;
	const char *where; /* exact "bad.yaml:L:C:" prefix */
	const char *what;  /* substring of the message */
} bad_configs[] = {
	/* unknown keys, at each level, with the valid keys listed */
	{"agnet:\n  interval: 10s\n", "bad.yaml:1:1:",
	 "unknown key 'agnet'; valid keys: agent, resource, probes, exporters (key 'agnet')"},
	{"agent:\n  intervall: 5s\n", "bad.yaml:2:3:",
	 "unknown key 'intervall'; valid keys: interval, log_level (key 'agent.intervall')"},
	{"probes:\n  stack_latency:\n    filters:\n      pid: [1]\n", "bad.yaml:4:7:",
	 "valid keys: interfaces, network_namespace, cgroups, pids, min_queue_length (key "
	 "'probes.stack_latency.filters.pid')"},
	{"probes:\n  tcp_latency: {}\n",
	 "bad.yaml:2:3:", "unknown key 'tcp_latency'; valid keys: stack_latency"},
	/* wrong node kinds */
	{"agent:\n  interval: {a: 1}\n",
	 "bad.yaml:2:13:", "expected a duration, got a mapping (key 'agent.interval')"},
	{"agent: 5\n", "bad.yaml:1:8:", "expected a mapping, got '5' (key 'agent')"},
	{"- agent\n- probes\n", "bad.yaml:1:1:", "expected a mapping of sections"},
	{"probes:\n  stack_latency:\n    enabled: [true]\n", "bad.yaml:3:14:",
	 "expected true or false, got a list (key 'probes.stack_latency.enabled')"},
	{"probes:\n  stack_latency:\n    stages: ip-start\n", "bad.yaml:3:13:",
	 "expected a list of names (ip-start, tcp-start, udp-start, tcp-socket-enqueued, "
	 "udp-socket-enqueued, tcp-socket-read, udp-socket-read), got 'ip-start'"},
	{"probes:\n  stack_latency:\n    filters: {network_namespace: }\n", "bad.yaml:3:34:",
	 "expected a string, got no value (key 'probes.stack_latency.filters.network_namespace')"},
	{"? [a, b]\n: 1\n", "bad.yaml:1:3:", "expected a key name, got a list"},
	/* booleans and unsigned integers */
	{"probes:\n  stack_latency:\n    enabled: maybe\n",
	 "bad.yaml:3:14:", "expected true or false (or yes/no, on/off), got 'maybe'"},
	{"probes:\n  stack_latency:\n    histogram_scale: yes\n", "bad.yaml:3:22:",
	 "expected an unsigned integer, got 'yes' (key 'probes.stack_latency.histogram_scale')"},
	{"probes:\n  stack_latency:\n    histogram_scale: 7\n",
	 "bad.yaml:3:22:", "7 is out of range 0..5 (key 'probes.stack_latency.histogram_scale')"},
	{"probes:\n  stack_latency:\n    max_buckets: -1\n",
	 "bad.yaml:3:18:", "expected an unsigned integer, got '-1'"},
	{"probes:\n  stack_latency:\n    max_buckets: 1.5\n",
	 "bad.yaml:3:18:", "expected an unsigned integer, got '1.5'"},
	{"probes:\n  stack_latency:\n    max_series: 99999999999999999999999\n",
	 "bad.yaml:3:17:", "is out of range 1..1048576 (key 'probes.stack_latency.max_series')"},
	{"probes:\n  stack_latency:\n    max_bucket_entries: 63\n", "bad.yaml:3:25:",
	 "63 is out of range 64..16777216 (key 'probes.stack_latency.max_bucket_entries')"},
	{"probes: {stack_latency: {filters: {min_queue_length: 4294967296}}}",
	 "bad.yaml:1:54:", "4294967296 is out of range 0..4294967295"},
	/* durations */
	{"agent: {interval: 10}\n", "bad.yaml:1:19:",
	 "invalid duration '10': expected a number and a unit: ns, us (or \xc2\xb5s), ms, s, m "
	 "or h, e.g. 250us, 1.5ms, 10s (whole nanoseconds only) (key 'agent.interval')"},
	{"agent: {interval: 10 sec}\n", "bad.yaml:1:19:", "invalid duration '10 sec'"},
	{"agent: {interval: -1s}\n", "bad.yaml:1:19:", "invalid duration '-1s'"},
	{"agent:\n  interval: 0.1000000001s\n",
	 "bad.yaml:2:13:", "invalid duration '0.1000000001s'"},
	{"agent:\n  interval: 50ms\n",
	 "bad.yaml:2:13:", "duration '50ms' is out of range 100ms..1h (key 'agent.interval')"},
	{"agent:\n  interval: 99999999999h\n",
	 "bad.yaml:2:13:", "duration '99999999999h' is out of range 100ms..1h"},
	/* enums and flags */
	{"agent:\n  log_level: verbose\n", "bad.yaml:2:14:",
	 "unknown value 'verbose'; valid values: error, warn, info, debug (key "
	 "'agent.log_level')"},
	{"agent:\n  log_level: [info]\n",
	 "bad.yaml:2:14:", "expected one of error, warn, info, debug, got a list"},
	{"probes:\n  stack_latency:\n    stages: [ip-start, tcp-end]\n", "bad.yaml:3:24:",
	 "unknown name 'tcp-end'; valid names: ip-start, tcp-start, udp-start, "
	 "tcp-socket-enqueued, udp-socket-enqueued, tcp-socket-read, udp-socket-read (key "
	 "'probes.stack_latency.stages')"},
	{"probes:\n  stack_latency:\n    stages: [ip-start, ip-start]\n",
	 "bad.yaml:3:24:", "'ip-start' is listed twice"},
	{"probes:\n  stack_latency:\n    stages: []\n",
	 "bad.yaml:3:13:", "the list needs at least 1 item (key 'probes.stack_latency.stages')"},
	{"probes:\n  stack_latency:\n    group_by:\n      - interface\n      - pod\n",
	 "bad.yaml:5:9:",
	 "unknown name 'pod'; valid names: interface, cgroup (key "
	 "'probes.stack_latency.group_by')"},
	/* lists */
	{"probes:\n  stack_latency:\n    filters:\n      pids: [1, 0]\n", "bad.yaml:4:17:",
	 "0 is out of range 1..4194304 (key 'probes.stack_latency.filters.pids')"},
	{"probes:\n  stack_latency:\n    filters:\n      pids: [42, abc]\n",
	 "bad.yaml:4:18:", "expected an unsigned integer, got 'abc'"},
	{"probes:\n  stack_latency:\n    filters:\n      pids: [42, 42]\n",
	 "bad.yaml:4:18:", "42 is listed twice"},
	{"probes:\n  stack_latency:\n    filters:\n      pids: 42\n",
	 "bad.yaml:4:13:", "expected a list of unsigned integers, got '42'"},
	{"probes:\n  stack_latency:\n    filters:\n      interfaces: [eth0, \"\"]\n",
	 "bad.yaml:4:26:", "empty strings are not allowed"},
	{"probes:\n  stack_latency:\n    filters:\n      interfaces: [{eth0: 1}]\n",
	 "bad.yaml:4:20:", "expected a string, got a mapping"},
	{"probes:\n  stack_latency:\n    filters:\n      interfaces: [a-very-long-name0]\n",
	 "bad.yaml:4:20:", "interface name 'a-very-long-name0' is longer than 15 characters"},
	{"probes:\n  stack_latency:\n    filters:\n      cgroups: [/a, /b, /a]\n",
	 "bad.yaml:4:25:", "'/a' is listed twice (key 'probes.stack_latency.filters.cgroups')"},
	/* network_namespace forms */
	{"probes:\n  stack_latency:\n    filters:\n      network_namespace: blue\n",
	 "bad.yaml:4:26:",
	 "invalid network namespace 'blue': expected host, all, an absolute path"},
	{"probes:\n  stack_latency:\n    filters:\n      network_namespace: 0\n",
	 "bad.yaml:4:26:", "invalid network namespace '0'"},
	/* resource attributes */
	{"resource:\n  attributes:\n    team: [a, b]\n", "bad.yaml:3:11:",
	 "expected a string value for 'team', got a list (key 'resource.attributes')"},
	{"resource:\n  attributes:\n    team:\n", "bad.yaml:3:10:", "'team' has no value"},
	{"resource:\n  attributes:\n    team: a\n    team: b\n",
	 "bad.yaml:4:5:", "duplicate key 'team' (key 'resource.attributes')"},
	{"resource:\n  attributes: [team]\n",
	 "bad.yaml:2:15:", "expected a mapping of names to values, got a list"},
	/* duplicate keys */
	{"agent:\n  interval: 1s\n  interval: 2s\n",
	 "bad.yaml:3:3:", "duplicate key 'interval' (key 'agent.interval')"},
	{"agent: {}\nprobes: {}\nagent: {}\n", "bad.yaml:3:1:", "duplicate key 'agent'"},
	/* exporters */
	{"exporters:\n  - format: json\n", "bad.yaml:2:5:",
	 "the exporter has no 'type'; known types: stdout (key 'exporters[0].type')"},
	{"exporters:\n  - type: kafka\n", "bad.yaml:2:11:",
	 "unknown exporter type 'kafka'; known types: stdout (key 'exporters[0].type')"},
	{"exporters:\n  - type: stdout\n    colour: red\n", "bad.yaml:3:5:",
	 "unknown key 'colour'; valid keys: type, format, temporality, output (key "
	 "'exporters[0].colour')"},
	{"exporters:\n  - type: stdout\n  - type: stdout\n    format: yaml\n", "bad.yaml:4:13:",
	 "unknown value 'yaml'; valid values: pretty, json (key 'exporters[1].format')"},
	{"exporters:\n  - type: stdout\n    type: stdout\n",
	 "bad.yaml:3:5:", "duplicate key 'type' (key 'exporters[0].type')"},
	{"exporters:\n  - {type: stdout, output: \"\"}\n",
	 "bad.yaml:2:28:", "the value must not be empty (key 'exporters[0].output')"},
	{"exporters: []\n", "bad.yaml:1:12:", "the list needs at least 1 item (key 'exporters')"},
	{"exporters:\n", "bad.yaml:1:11:", "the list needs at least 1 item (key 'exporters')"},
	{"exporters: [stdout]\n", "bad.yaml:1:13:",
	 "expected a mapping with a 'type' (stdout), got 'stdout' (key 'exporters[0]')"},
	{"exporters: {type: stdout}\n",
	 "bad.yaml:1:12:", "expected a list of exporters, got a mapping"},
	/* YAML syntax and documents */
	{"agent:\n  interval: 1s\n log_level: info\n", "bad.yaml:3:2:", "YAML syntax error: "},
	{"agent: [1, 2\n", "bad.yaml:2:1:",
	 "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)"},
	{"agent:\n\tinterval: 1s\n",
	 "bad.yaml:2:1:", "YAML syntax error: found character that cannot start any token"},
	{"agent:\n  log_level: \xff\n",
	 "bad.yaml:2:14:", "YAML syntax error: invalid leading UTF-8 octet (#ff)"},
	{"agent: *nope\n", "bad.yaml:1:8:", "YAML syntax error: found undefined alias"},
	{"agent: {}\n---\nprobes: {}\n", "bad.yaml:3:1:", "only one YAML document is allowed"},
	{"agent: {log_level: \"in\\0fo\"}\n",
	 "bad.yaml:1:20:", "the value contains a NUL character (key 'agent.log_level')"},
};

static void test_bad(void)
{
	size_t rows = sizeof(bad_configs) / sizeof(bad_configs[0]);

	CHECK(rows >= 20, "only %zu bad rows", rows);
	for (size_t i = 0; i < rows; i++) {
		struct hl_config c;
		char err[1024] = "";
		int e = load(&c, bad_configs[i].text, err, sizeof(err));

		CHECK(e == -EINVAL, "row %zu: returned %d (%s)", i, e, err);
		CHECK(!strncmp(err, bad_configs[i].where, strlen(bad_configs[i].where)) &&
			      err[strlen(bad_configs[i].where)] == ' ',
		      "row %zu: '%s' does not start with '%s'", i, err, bad_configs[i].where);
		CHECK(strstr(err, bad_configs[i].what), "row %zu: '%s' does not contain '%s'", i,
		      err, bad_configs[i].what);
		CHECK(!strchr(err, '\n'), "row %zu: message has a newline", i);
		CHECK(is_empty(&c), "row %zu: config not left empty", i);
		hl_config_free(&c);
	}
}

/* Errors must fit any buffer: truncated, terminated, never overrun. */
static void test_small_buffers(void)
{
	struct hl_config c;
	char err[8];

	memset(err, 'x', sizeof(err));
	CHECK(load(&c, "agnet: 1\n", err, 5) == -EINVAL && !strcmp(err, "bad."), "got '%.8s'", err);
	CHECK(err[5] == 'x', "wrote past errlen");
	CHECK(load(&c, "agnet: 1\n", NULL, 0) == -EINVAL, "NULL err");
	CHECK(hl_config_load(&c, "/nonexistent/hostlat.yaml", NULL, 0) == -ENOENT,
	      "NULL err on file");
}

/* ---- files ---------------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL, "cannot create %s", path);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static void test_files(void)
{
	char dir[] = "/tmp/hostlat-test-config.XXXXXX", path[256], want[512], err[512];
	struct hl_config c;
	int e;

	e = hl_config_load(&c, "/nonexistent/hostlat.yaml", err, sizeof(err));
	CHECK(e == -ENOENT, "nonexistent: %d", e);
	CHECK(!strcmp(err, "/nonexistent/hostlat.yaml: cannot read: No such file or directory"),
	      "nonexistent: '%s'", err);
	CHECK(is_empty(&c), "nonexistent: config not empty");

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp failed");
		return;
	}
	e = hl_config_load(&c, dir, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", dir);
	CHECK(e == -EISDIR && !strcmp(err, want), "directory: %d '%s'", e, err);

	snprintf(path, sizeof(path), "%s/good.yaml", dir);
	write_file(path, full_config);
	e = hl_config_load(&c, path, err, sizeof(err));
	CHECK(e == 0 && c.path && !strcmp(c.path, path) && c.exporters.n == 2, "good file: %d %s",
	      e, err);
	hl_config_free(&c);

	write_file(path, "agent:\n  log_level: loud\n");
	e = hl_config_load(&c, path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:2:14: unknown value 'loud'", path);
	CHECK(e == -EINVAL && !strncmp(err, want, strlen(want)), "bad file: '%s'", err);
	CHECK(is_empty(&c), "bad file: config not empty");

	write_file(path, "");
	e = hl_config_load(&c, path, err, sizeof(err));
	CHECK(e == 0, "empty file: %d %s", e, err);
	check_defaults(&c, "empty file");
	hl_config_free(&c);

	unlink(path);
	rmdir(dir);
}

/* ---- reference ------------------------------------------------------------------ */

static const char *const all_keys[] = {
	"agent.interval",
	"agent.log_level",
	"resource.attributes",
	"probes.stack_latency.enabled",
	"probes.stack_latency.stages",
	"probes.stack_latency.histogram_scale",
	"probes.stack_latency.max_buckets",
	"probes.stack_latency.max_series",
	"probes.stack_latency.max_bucket_entries",
	"probes.stack_latency.filters.interfaces",
	"probes.stack_latency.filters.network_namespace",
	"probes.stack_latency.filters.cgroups",
	"probes.stack_latency.filters.pids",
	"probes.stack_latency.filters.min_queue_length",
	"probes.stack_latency.group_by",
	"exporters",
	"exporters[].type",
	"exporters[type=stdout].format",
	"exporters[type=stdout].temporality",
	"exporters[type=stdout].output",
};

static char *reference(size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	hl_config_print_reference(f);
	fclose(f);
	return buf;
}

static size_t count_leaves(const struct hl_option *opts)
{
	size_t n = 0;

	for (size_t i = 0; opts && opts[i].name; i++)
		n += opts[i].type == HL_OPT_SECTION ? count_leaves(opts[i].sub) : 1;
	return n;
}

static void test_reference(void)
{
	size_t len = 0, len2 = 0, rows = 0, want_rows;
	char *ref = reference(&len), *ref2 = reference(&len2), cell[128];

	CHECK(ref && ref2, "open_memstream failed");
	if (!ref || !ref2)
		goto out;
	CHECK(len == len2 && !memcmp(ref, ref2, len), "reference is not deterministic");
	CHECK(!strncmp(ref, "| key | type | default | description |\n|---|---|---|---|\n", 56),
	      "header: %.60s", ref);
	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		snprintf(cell, sizeof(cell), "\n| `%s` | ", all_keys[i]);
		CHECK(strstr(ref, cell), "reference lacks %s", all_keys[i]);
	}
	for (const char *p = ref; (p = strchr(p, '\n')); p++)
		rows++;
	/* table leaves + exporters[].type + the stdout keys, + 2 header lines */
	want_rows =
		count_leaves(hl_config_options) + 1 + count_leaves(hl_stdout_exporter.options) + 2;
	CHECK(rows == want_rows, "%zu lines, want %zu", rows, want_rows);
	CHECK(want_rows == sizeof(all_keys) / sizeof(all_keys[0]) + 2,
	      "all_keys lists %zu keys, the tables %zu", sizeof(all_keys) / sizeof(all_keys[0]),
	      want_rows - 2);
	CHECK(strstr(ref, "| `agent.interval` | duration, 100ms..1h | `10s` |"), "interval row");
	CHECK(strstr(ref, "| `probes.stack_latency.histogram_scale` | uint, 0..5 | `3` |"),
	      "scale row");
	CHECK(strstr(ref, "one of: error, warn, info, debug"), "log_level values");
	CHECK(strstr(ref, "list of: interface, cgroup"), "group_by names");
	CHECK(strstr(ref, "list of uint, 1..4194304"), "pids range");
	CHECK(strstr(ref, "one of: pretty, json"), "stdout format values");
out:
	free(ref);
	free(ref2);
}

int main(void)
{
	test_defaults();
	test_full();
	test_variants();
	test_durations();
	test_bad();
	test_small_buffers();
	test_files();
	test_reference();
	return UNIT_DONE();
}
