/* SPDX-License-Identifier: MIT */
/*
 * Config loader: the embedded default, a config setting every key,
 * durations, the XDP responder's allow-list networks (hl_parse_cidr), a
 * table of bad configs with their exact positions, file errors and the
 * Markdown reference.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>

#include "config.h"
#include "drops.h"
#include "exporters.h"
#include "function_latency.h"
#include "hostlat.h"
#include "netaddr.h"
#include "napi.h"
#include "probes.h"
#include "probeutil.h"
#include "runqueue.h"
#include "softirq.h"
#include "stack_latency.h"
#include "traffic.h"
#include "xdp_responder.h"
#include "unit.h"

/* The default stages: all but conntrack (opt-in). */
#define ALL_STAGES (((1U << HL_STAGE_COUNT) - 1) & ~(1U << HL_STAGE_CONNTRACK))

/* Each probe's section of a loaded config. */
static const struct hl_stack_latency_conf *stack_of(const struct hl_config *c)
{
	return hl_probe_config(c, &hl_stack_latency_probe);
}

static const struct hl_traffic_conf *traffic_of(const struct hl_config *c)
{
	return hl_probe_config(c, &hl_traffic_probe);
}

static const struct hl_softirq_conf *softirq_of(const struct hl_config *c)
{
	return hl_probe_config(c, &hl_softirq_probe);
}

static const struct hl_napi_conf *napi_of(const struct hl_config *c)
{
	return hl_probe_config(c, &hl_napi_probe);
}

static const struct hl_function_latency_conf *funclat_of(const struct hl_config *c)
{
	return hl_probe_config(c, &hl_function_latency_probe);
}

static const struct hl_drops_conf *drops_of(const struct hl_config *c)
{
	return hl_probe_config(c, &hl_drops_probe);
}

static const struct hl_xdp_responder_conf *xdp_of(const struct hl_config *c)
{
	return hl_probe_config(c, &hl_xdp_responder_probe);
}

static const struct hl_runqueue_conf *runq_of(const struct hl_config *c)
{
	return hl_probe_config(c, &hl_runqueue_probe);
}

static int load(struct hl_config *cfg, const char *text, char *err, size_t errlen)
{
	return hl_config_load_string(cfg, text, strlen(text), "bad.yaml", err, errlen);
}

static bool is_empty(const struct hl_config *cfg)
{
	static const struct hl_config zero;

	return !memcmp(cfg, &zero, sizeof(zero));
}

/* ---- defaults ------------------------------------------------------------------- */

#define SEC_NS 1000000000ULL

/* The common keys' defaults (name aside). */
static void check_exporter_defaults(const struct hl_exporter_conf *ec, const char *what)
{
	CHECK(ec->queue_size == 16, "%s: queue_size %u", what, ec->queue_size);
	CHECK(ec->retry_initial_ns == SEC_NS, "%s: retry.initial %llu", what,
	      (unsigned long long)ec->retry_initial_ns);
	CHECK(ec->retry_max_ns == 30 * SEC_NS, "%s: retry.max %llu", what,
	      (unsigned long long)ec->retry_max_ns);
	CHECK(ec->retry_max_elapsed_ns == 300 * SEC_NS, "%s: retry.max_elapsed %llu", what,
	      (unsigned long long)ec->retry_max_elapsed_ns);
}

static void check_defaults(const struct hl_config *c, const char *what)
{
	const struct hl_stdout_conf *so;

	CHECK(c->agent.interval_ns == 10000000000ULL, "%s: interval %llu", what,
	      (unsigned long long)c->agent.interval_ns);
	CHECK(c->agent.log_level == HL_LOG_INFO, "%s: log_level %d", what, c->agent.log_level);
	CHECK(c->resource.attributes.n == 0, "%s: attributes %zu", what, c->resource.attributes.n);
	CHECK(stack_of(c)->enabled, "%s: enabled", what);
	CHECK(stack_of(c)->stages == ALL_STAGES, "%s: stages %#x", what, stack_of(c)->stages);
	CHECK(stack_of(c)->histogram_scale == 3, "%s: scale %u", what,
	      stack_of(c)->histogram_scale);
	CHECK(stack_of(c)->max_buckets == 160, "%s: max_buckets %u", what,
	      stack_of(c)->max_buckets);
	CHECK(stack_of(c)->max_groups == 1024, "%s: max_groups %u", what, stack_of(c)->max_groups);
	CHECK(stack_of(c)->max_bucket_entries == 32768, "%s: max_bucket_entries %u", what,
	      stack_of(c)->max_bucket_entries);
	CHECK(stack_of(c)->filters.interfaces.n == 0, "%s: interfaces", what);
	CHECK(stack_of(c)->filters.network_namespace &&
		      !strcmp(stack_of(c)->filters.network_namespace, "host"),
	      "%s: netns %s", what, stack_of(c)->filters.network_namespace);
	CHECK(stack_of(c)->filters.cgroups.n == 0, "%s: cgroups", what);
	CHECK(stack_of(c)->filters.pids.n == 0, "%s: pids", what);
	CHECK(stack_of(c)->filters.min_queue_length == 0, "%s: min_queue_length", what);
	CHECK(stack_of(c)->group_by == 0, "%s: group_by %#x", what, stack_of(c)->group_by);
	CHECK(c->exporters.n == 1, "%s: %zu exporters", what, c->exporters.n);
	if (c->exporters.n != 1)
		return;
	CHECK(c->exporters.v[0].type == &hl_stdout_exporter, "%s: exporter type", what);
	so = c->exporters.v[0].conf;
	CHECK(so && so->format == HL_STDOUT_PRETTY, "%s: stdout format", what);
	CHECK(so && so->temporality == HL_TEMP_AUTO, "%s: stdout temporality", what);
	CHECK(so && so->output && !strcmp(so->output, "-"), "%s: stdout output", what);
	CHECK(c->exporters.v[0].name && !strcmp(c->exporters.v[0].name, "stdout"), "%s: name %s",
	      what, c->exporters.v[0].name);
	check_exporter_defaults(&c->exporters.v[0], what);
	CHECK(!c->exporters.v[0].plugin_path && !c->exporters.v[0].plugin_config.n,
	      "%s: plugin keys set on a built-in", what);
}

static void test_defaults(void)
{
	static const char *const empties[] = {
		"",	 "\n",	"# only a comment\n",
		"---\n", "~\n", "agent:\nprobes:\n  stack_latency:\n"};
	struct hl_config def, c;
	char err[512] = "", key[128];
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
		CHECK(!hl_config_diff(&c, &def, NULL, key, sizeof(key)),
		      "config/hostlat.yaml differs from the table defaults at %s (case %zu)", key,
		      i);
		hl_config_free(&c);
		CHECK(is_empty(&c), "free leaves the config empty");
		hl_config_free(&c); /* idempotent */
	}
	hl_config_free(&def);
	hl_config_free(NULL);
}

/* ---- every key set -------------------------------------------------------------- */

static const char full_config[] =
	"agent:\n"
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
	"  - { type: stdout, temporality: cumulative, name: console, "
	"queue_size: 1, retry: {initial: 10ms, max: 1h, max_elapsed: 0s} }\n"
	"  - type: plugin\n"
	"    path: /usr/lib/hostlat/hostlat_csv.so\n"
	"    name: csv\n"
	"    queue_size: 1024\n"
	"    retry:\n"
	"      initial: 1m\n"
	"      max: 1m\n"
	"      max_elapsed: 24h\n"
	"    config:\n"
	"      file: /tmp/x.csv\n"
	"      header: false\n"
	"      n: 5\n"
	"  - type: plugin\n"
	"    path: build/plugins/hostlat_csv.so\n";

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
	CHECK(!stack_of(&c)->enabled, "enabled");
	CHECK(stack_of(&c)->stages == (1U << HL_STAGE_UDP_SOCK_READ | 1U << HL_STAGE_IP_START),
	      "stages %#x", stack_of(&c)->stages);
	CHECK(stack_of(&c)->histogram_scale == 5, "scale");
	CHECK(stack_of(&c)->max_buckets == 2, "max_buckets");
	CHECK(stack_of(&c)->max_groups == 1048576, "max_series");
	CHECK(stack_of(&c)->max_bucket_entries == 64, "max_bucket_entries");
	CHECK(stack_of(&c)->filters.interfaces.n == 2 &&
		      !strcmp(stack_of(&c)->filters.interfaces.v[0], "eth0") &&
		      !strcmp(stack_of(&c)->filters.interfaces.v[1], "veth-0123456789"),
	      "interfaces");
	CHECK(!strcmp(stack_of(&c)->filters.network_namespace, "/var/run/netns/blue"), "netns");
	CHECK(stack_of(&c)->filters.cgroups.n == 2 &&
		      !strcmp(stack_of(&c)->filters.cgroups.v[0], "/sys/fs/cgroup/system.slice") &&
		      !strcmp(stack_of(&c)->filters.cgroups.v[1], "user.slice"),
	      "cgroups");
	CHECK(stack_of(&c)->filters.pids.n == 3 && stack_of(&c)->filters.pids.v[0] == 1 &&
		      stack_of(&c)->filters.pids.v[1] == 4194304 &&
		      stack_of(&c)->filters.pids.v[2] == 77,
	      "pids");
	CHECK(stack_of(&c)->filters.min_queue_length == 4294967295U, "min_queue_length");
	CHECK(stack_of(&c)->group_by == (HL_GROUP_IFACE | HL_GROUP_CGROUP), "group_by %#x",
	      stack_of(&c)->group_by);
	CHECK(c.exporters.n == 4, "exporters %zu", c.exporters.n);
	if (c.exporters.n == 4) {
		const struct hl_exporter_conf *ec = c.exporters.v;
		const struct hl_kvlist *pc = &ec[2].plugin_config;

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
		CHECK(!strcmp(ec[0].name, "stdout"), "exporter 0 name %s", ec[0].name);
		check_exporter_defaults(&ec[0], "exporter 0");
		CHECK(!strcmp(ec[1].name, "console"), "exporter 1 name %s", ec[1].name);
		CHECK(ec[1].queue_size == 1 && ec[1].retry_initial_ns == 10000000ULL &&
			      ec[1].retry_max_ns == 3600 * SEC_NS &&
			      ec[1].retry_max_elapsed_ns == 0,
		      "exporter 1 queue/retry");
		CHECK(!ec[1].plugin_path && !ec[1].plugin_config.n, "exporter 1 plugin keys");
		CHECK(!ec[2].type && !ec[2].conf, "exporter 2: a plugin has no type or conf");
		CHECK(ec[2].line == 33 && ec[2].column == 5, "exporter 2 at %d:%d", ec[2].line,
		      ec[2].column);
		CHECK(!strcmp(ec[2].name, "csv"), "exporter 2 name %s", ec[2].name);
		CHECK(!strcmp(ec[2].plugin_path, "/usr/lib/hostlat/hostlat_csv.so"),
		      "exporter 2 path %s", ec[2].plugin_path);
		CHECK(ec[2].queue_size == 1024 && ec[2].retry_initial_ns == 60 * SEC_NS &&
			      ec[2].retry_max_ns == 60 * SEC_NS &&
			      ec[2].retry_max_elapsed_ns == 86400 * SEC_NS,
		      "exporter 2 queue/retry");
		CHECK(pc->n == 3 && !strcmp(pc->v[0].key, "file") &&
			      !strcmp(pc->v[0].value, "/tmp/x.csv") &&
			      !strcmp(pc->v[1].key, "header") && !strcmp(pc->v[1].value, "false") &&
			      !strcmp(pc->v[2].key, "n") && !strcmp(pc->v[2].value, "5"),
		      "exporter 2 config");
		CHECK(!ec[3].type && !ec[3].conf && !strcmp(ec[3].name, "plugin") &&
			      !strcmp(ec[3].plugin_path, "build/plugins/hostlat_csv.so") &&
			      ec[3].plugin_config.n == 0,
		      "exporter 3");
		check_exporter_defaults(&ec[3], "exporter 3");
	}
	hl_config_free(&c);
}

/* The kernel stall probes: defaults, every key set, and errors. */
static void test_stall_config(void)
{
	static const char text[] =
		"probes:\n"
		"  softirq:\n"
		"    enabled: off\n"
		"    vectors: [rcu, net_rx, hi]\n"
		"    histogram_scale: 5\n"
		"    max_buckets: 2\n"
		"  napi: { enabled: no, network_namespace: all, max_series: 65536 }\n"
		"  function_latency:\n"
		"    enabled: false\n"
		"    functions:\n"
		"      - tcp_collapse\n"
		"      - __netif_receive_skb_core?\n"
		"    histogram_scale: 0\n"
		"    max_buckets: 16384\n"
		"  drops:\n"
		"    enabled: false\n"
		"    network_namespace: /proc/1/ns/net\n"
		"    group_by: [cgroup]\n"
		"    max_series: 16\n"
		"  runqueue:\n"
		"    enabled: false\n"
		"    tasks: all\n"
		"    filters: { cgroups: [system.slice], pids: [1, 2] }\n"
		"    group_by: [cgroup]\n"
		"    histogram_scale: 1\n"
		"    max_buckets: 20\n"
		"    max_series: 1\n";
	static const struct {
		const char *text, *where, *what;
	} bad[] = {
		{"probes: {softirq: {vectors: [net_rx, netrx]}}", "bad.yaml:1:38:",
		 "unknown name 'netrx'; valid names: hi, timer, net_tx, net_rx, block, irq_poll, "
		 "tasklet, sched, hrtimer, rcu (key 'probes.softirq.vectors')"},
		{"probes: {softirq: {vectors: []}}",
		 "bad.yaml:1:29:", "the list needs at least 1 item (key 'probes.softirq.vectors')"},
		{"probes: {function_latency: {functions: []}}", "bad.yaml:1:40:",
		 "the list needs at least 1 item (key 'probes.function_latency.functions')"},
		{"probes: {function_latency: {functions: [a, b, c, d, e, f, g, h, i, j, k, l, m, "
		 "n, "
		 "o, p, q]}}",
		 "bad.yaml:1:40:", "the list has 17 items, at most 16 are allowed"},
		{"probes: {function_latency: {functions: [tcp_collapse, tcp_collapse]}}",
		 "bad.yaml:1:55:", "'tcp_collapse' is listed twice"},
		{"probes: {function_latency: {functions: [tcp_collapse, \"tcp collapse\"]}}",
		 "bad.yaml:1:55:", "'tcp collapse' is not a kernel function name"},
		{"probes: {function_latency: {functions: [\"?\"]}}",
		 "bad.yaml:1:41:", "'?' is not a kernel function name"},
		{"probes: {function_latency: {functions: [9p_x]}}",
		 "bad.yaml:1:41:", "'9p_x' is not a kernel function name"},
		{"probes: {drops: {network_namespace: blue}}",
		 "bad.yaml:1:37:", "invalid network namespace 'blue'"},
		{"probes: {napi: {network_namespace: 0}}",
		 "bad.yaml:1:36:", "invalid network namespace '0'"},
		{"probes: {drops: {group_by: [interface]}}", "bad.yaml:1:29:",
		 "unknown name 'interface'; valid names: cgroup (key 'probes.drops.group_by')"},
		{"probes: {drops: {max_series: 15}}", "bad.yaml:1:30:",
		 "15 is out of range 16..1048576 (key 'probes.drops.max_series')"},
		{"probes: {runqueue: {tasks: readers}}", "bad.yaml:1:28:",
		 "unknown value 'readers'; valid values: socket-readers, all (key "
		 "'probes.runqueue.tasks')"},
		{"probes: {runqueue: {filters: {pids: [0]}}}", "bad.yaml:1:38:",
		 "0 is out of range 1..4194304 (key 'probes.runqueue.filters.pids')"},
		{"probes: {runqueue: {filter: {}}}", "bad.yaml:1:21:",
		 "unknown key 'filter'; valid keys: enabled, tasks, filters, group_by, "
		 "histogram_scale, max_buckets, max_series, exemplars (key "
		 "'probes.runqueue.filter')"},
	};
	struct hl_config c;
	char err[512] = "";
	int e;

	/* defaults */
	e = load(&c, "", err, sizeof(err));
	CHECK(e == 0, "empty: %s", err);
	CHECK(softirq_of(&c)->enabled && napi_of(&c)->enabled && funclat_of(&c)->enabled &&
		      drops_of(&c)->enabled && runq_of(&c)->enabled,
	      "stall probes are on by default");
	CHECK(softirq_of(&c)->vectors == (1U << 2 | 1U << 3), "vectors %#x",
	      softirq_of(&c)->vectors);
	CHECK(softirq_of(&c)->histogram_scale == 3 && softirq_of(&c)->max_buckets == 160,
	      "softirq hist");
	CHECK(!strcmp(napi_of(&c)->network_namespace, "host") && napi_of(&c)->max_series == 256,
	      "napi");
	CHECK(funclat_of(&c)->functions.n == 3 &&
		      !strcmp(funclat_of(&c)->functions.v[0], "net_rx_action") &&
		      !strcmp(funclat_of(&c)->functions.v[1], "tcp_collapse") &&
		      !strcmp(funclat_of(&c)->functions.v[2], "tcp_prune_queue?") &&
		      !funclat_of(&c)->functions.pos,
	      "functions (defaults carry no positions)");
	CHECK(!strcmp(drops_of(&c)->network_namespace, "host") && !drops_of(&c)->group_by &&
		      drops_of(&c)->max_series == 1024,
	      "drops");
	CHECK(runq_of(&c)->tasks == HL_RUNQ_SOCKET_READERS && !runq_of(&c)->cgroups.n &&
		      !runq_of(&c)->pids.n && !runq_of(&c)->group_by &&
		      runq_of(&c)->max_series == 256 && runq_of(&c)->histogram_scale == 3 &&
		      runq_of(&c)->max_buckets == 160,
	      "runqueue");
	hl_config_free(&c);

	e = load(&c, text, err, sizeof(err));
	CHECK(e == 0, "every stall key: %s", err);
	if (!e) {
		CHECK(!softirq_of(&c)->enabled &&
			      softirq_of(&c)->vectors == (1U << 9 | 1U << 3 | 1U << 0) &&
			      softirq_of(&c)->histogram_scale == 5 &&
			      softirq_of(&c)->max_buckets == 2,
		      "softirq %#x", softirq_of(&c)->vectors);
		CHECK(!napi_of(&c)->enabled && !strcmp(napi_of(&c)->network_namespace, "all") &&
			      napi_of(&c)->max_series == 65536,
		      "napi");
		CHECK(!funclat_of(&c)->enabled && funclat_of(&c)->functions.n == 2 &&
			      !strcmp(funclat_of(&c)->functions.v[1],
				      "__netif_receive_skb_core?") &&
			      funclat_of(&c)->histogram_scale == 0 &&
			      funclat_of(&c)->max_buckets == 16384,
		      "function_latency");
		/* list items keep their position for the start-time BTF check */
		CHECK(funclat_of(&c)->functions.pos &&
			      funclat_of(&c)->functions.pos[0].line == 11 &&
			      funclat_of(&c)->functions.pos[0].column == 9 &&
			      funclat_of(&c)->functions.pos[1].line == 12,
		      "function positions");
		CHECK(!drops_of(&c)->enabled &&
			      !strcmp(drops_of(&c)->network_namespace, "/proc/1/ns/net") &&
			      drops_of(&c)->group_by == HL_DROPS_GROUP_CGROUP &&
			      drops_of(&c)->max_series == 16,
		      "drops");
		CHECK(!runq_of(&c)->enabled && runq_of(&c)->tasks == HL_RUNQ_ALL &&
			      runq_of(&c)->cgroups.n == 1 && runq_of(&c)->pids.n == 2 &&
			      runq_of(&c)->group_by == HL_RUNQ_GROUP_CGROUP &&
			      runq_of(&c)->histogram_scale == 1 && runq_of(&c)->max_buckets == 20 &&
			      runq_of(&c)->max_series == 1,
		      "runqueue");
		hl_config_free(&c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = load(&c, bad[i].text, err, sizeof(err));
		CHECK(e == -EINVAL && !strncmp(err, bad[i].where, strlen(bad[i].where)) &&
			      strstr(err, bad[i].what),
		      "bad stall config %zu: got '%s', want '%s ... %s'", i, err, bad[i].where,
		      bad[i].what);
		CHECK(is_empty(&c), "bad stall config %zu: config not empty", i);
	}
}

/* probes.traffic, every key set. */
static void test_traffic(void)
{
	static const char text[] = "probes:\n"
				   "  traffic:\n"
				   "    enabled: false\n"
				   "    interfaces: [eth0, bond0.12]\n"
				   "    granularities: [10ms, 100us, 1.5ms]\n"
				   "    samples: 100000\n"
				   "    every: 1m\n"
				   "    burst_threshold: 80\n"
				   "    link_speed: 25000\n"
				   "    attach: tc\n"
				   "    align: start\n"
				   "    store: { dir: /tmp/runs, max_bytes: 0, max_age: 7d }\n";
	struct hl_config c;
	char err[512] = "";
	int e = load(&c, text, err, sizeof(err));

	/* 7d is not a duration: the error names the key */
	CHECK(e == -EINVAL && strstr(err, "bad.yaml:12:53: invalid duration '7d'") &&
		      strstr(err, "(key 'probes.traffic.store.max_age')"),
	      "7d: %s", err);
	{
		char fixed[sizeof(text)];
		char *p;

		memcpy(fixed, text, sizeof(text));
		p = strstr(fixed, "7d }");
		memcpy(p, "2h }", 4);
		e = load(&c, fixed, err, sizeof(err));
	}
	CHECK(e == 0, "traffic config: %d %s", e, err);
	if (e)
		return;
	CHECK(!traffic_of(&c)->enabled, "enabled");
	CHECK(traffic_of(&c)->interfaces.n == 2 &&
		      !strcmp(traffic_of(&c)->interfaces.v[1], "bond0.12"),
	      "interfaces");
	CHECK(traffic_of(&c)->granularities.n == 3 &&
		      traffic_of(&c)->granularities.v[0] == 10000000ULL &&
		      traffic_of(&c)->granularities.v[1] == 100000ULL &&
		      traffic_of(&c)->granularities.v[2] == 1500000ULL,
	      "granularities");
	CHECK(traffic_of(&c)->samples == 100000 && traffic_of(&c)->every_ns == 60 * SEC_NS,
	      "samples/every");
	CHECK(traffic_of(&c)->burst_threshold == 80 && traffic_of(&c)->link_speed == 25000,
	      "burst/speed");
	CHECK(traffic_of(&c)->attach == HL_TRAFFIC_ATTACH_TC, "attach");
	CHECK(traffic_of(&c)->align == HL_TRAFFIC_ALIGN_START, "align");
	CHECK(!strcmp(traffic_of(&c)->store.dir, "/tmp/runs") &&
		      traffic_of(&c)->store.max_bytes == 0 &&
		      traffic_of(&c)->store.max_age_ns == 7200 * SEC_NS,
	      "store");
	hl_config_free(&c);
	CHECK(is_empty(&c), "free");

	/* defaults */
	e = load(&c, "", err, sizeof(err));
	CHECK(e == 0, "empty: %s", err);
	CHECK(traffic_of(&c)->enabled && traffic_of(&c)->interfaces.n == 0 &&
		      traffic_of(&c)->samples == 2000 && traffic_of(&c)->every_ns == 10 * SEC_NS &&
		      traffic_of(&c)->burst_threshold == 50 && traffic_of(&c)->link_speed == 0 &&
		      traffic_of(&c)->attach == HL_TRAFFIC_ATTACH_AUTO &&
		      traffic_of(&c)->align == HL_TRAFFIC_ALIGN_WALLCLOCK,
	      "traffic defaults");
	CHECK(traffic_of(&c)->granularities.n == 2 &&
		      traffic_of(&c)->granularities.v[0] == 100000ULL &&
		      traffic_of(&c)->granularities.v[1] == 1000000ULL,
	      "default granularities");
	CHECK(!strcmp(traffic_of(&c)->store.dir, "/var/lib/hostlat/traffic") &&
		      traffic_of(&c)->store.max_bytes == 104857600 &&
		      traffic_of(&c)->store.max_age_ns == 86400 * SEC_NS,
	      "store defaults");
	hl_config_free(&c);
}

/* probes.xdp_responder: every key set, the defaults, and the checks across keys. */
static void test_xdp_responder(void)
{
	static const char text[] = "probes:\n"
				   "  xdp_responder:\n"
				   "    enabled: true\n"
				   "    interface: eth0\n"
				   "    port: 7000\n"
				   "    allow: [10.0.0.0/8, \"2001:db8::/32\"]\n"
				   "    rate_limit: 0\n"
				   "    mode: generic\n";
#define NO_SOURCE                                                                                  \
	"the XDP responder is enabled but allows no source: list the monitors' networks "          \
	"(0.0.0.0/0 and ::/0 allow everyone) (key 'probes.xdp_responder.allow')"
	static const struct {
		const char *text, *err;
	} bad[] = {
		{"probes:\n  xdp_responder:\n    enabled: true\n    allow: [10.0.0.0/8]\n",
		 "t.yaml:3:14: the XDP responder is enabled but names no interface (key "
		 "'probes.xdp_responder.interface')"},
		{"probes: {xdp_responder: {enabled: on, allow: [10.0.0.0/8]}}",
		 "t.yaml:1:35: the XDP responder is enabled but names no interface (key "
		 "'probes.xdp_responder.interface')"},
		{"probes:\n  xdp_responder:\n    enabled: true\n    interface: eth0\n",
		 "t.yaml:3:14: " NO_SOURCE},
		{"probes: {xdp_responder: {interface: eth0, enabled: yes}}",
		 "t.yaml:1:52: " NO_SOURCE},
		{"probes:\n  xdp_responder:\n    interface: eth0\n    allow: []\n    enabled: "
		 "true\n",
		 "t.yaml:4:12: " NO_SOURCE},
	};
	struct hl_config cfg;
	char err[512];
	int e;

	e = hl_config_load_string(&cfg, text, strlen(text), "t.yaml", err, sizeof(err));
	CHECK(e == 0, "%s", err);
	if (!e) {
		const struct hl_xdp_responder_conf *x = xdp_of(&cfg);

		CHECK(x->enabled && x->interface && !strcmp(x->interface, "eth0"), "interface");
		CHECK(x->port == 7000 && x->rate_limit == 0 && x->mode == HL_XDP_GENERIC, "keys");
		CHECK(x->allow.n == 2 && !strcmp(x->allow.v[1], "2001:db8::/32"), "allow");
	}
	hl_config_free(&cfg);

	/* Defaults: off, port 6946, 1000/s, native, nobody allowed. */
	e = hl_config_load_string(&cfg, "", 0, "empty.yaml", err, sizeof(err));
	CHECK(e == 0, "%s", err);
	if (!e) {
		const struct hl_xdp_responder_conf *x = xdp_of(&cfg);

		CHECK(!x->enabled && !x->interface && x->port == 6946 && x->rate_limit == 1000 &&
			      x->mode == HL_XDP_NATIVE && !x->allow.n,
		      "defaults");
	}
	hl_config_free(&cfg);

	/* Enabled without an interface or sources: at the key, else at enabled. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = hl_config_load_string(&cfg, bad[i].text, strlen(bad[i].text), "t.yaml", err,
					  sizeof(err));
		CHECK(e == -EINVAL && !strcmp(err, bad[i].err), "bad %zu: %s", i, err);
	}
}

/* hl_parse_cidr: the XDP responder's allow-list entries. */
static void test_cidr(void)
{
	static const struct {
		const char *in;
		int ok;
		unsigned int prefix;
		uint8_t addr[16];
		const char *why; /* part of the message when !ok */
	} cases[] = {
		{"10.0.0.0/8", 1, 104, {[10] = 0xff, [11] = 0xff, [12] = 10}, NULL},
		{"198.18.0.1", 1, 128, {[10] = 0xff, [11] = 0xff, [12] = 198, 18, 0, 1}, NULL},
		{"0.0.0.0/0", 1, 96, {[10] = 0xff, [11] = 0xff}, NULL},
		{"::/0", 1, 0, {0}, NULL},
		{"2001:db8::/32", 1, 32, {0x20, 0x01, 0x0d, 0xb8}, NULL},
		{"2001:db8::2", 1, 128, {0x20, 0x01, 0x0d, 0xb8, [15] = 2}, NULL},
		{"::ffff:10.0.0.0/104", 1, 104, {[10] = 0xff, [11] = 0xff, [12] = 10}, NULL},
		{"10.1.2.3/8", 0, 0, {0}, "bits beyond the /8 prefix are set"},
		{"2001:db8::1/64", 0, 0, {0}, "bits beyond the /64 prefix are set"},
		{"10.0.0.0/33", 0, 0, {0}, "the prefix length must be 0..32"},
		{"::/129", 0, 0, {0}, "the prefix length must be 0..128"},
		{"10.0.0.0/", 0, 0, {0}, "the prefix length must be"},
		{"10.0.0.0/-1", 0, 0, {0}, "the prefix length must be"},
		{"10.0.0.0/8x", 0, 0, {0}, "the prefix length must be"},
		{"10.0.0/8", 0, 0, {0}, "is not an address or network"},
		{"monitor.example", 0, 0, {0}, "is not an address or network"},
		{"", 0, 0, {0}, "is not an address or network"},
		{"1111:2222:3333:4444:5555:6666:7777:8888:9999/64", 0, 0, {0}, "is not an address"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t addr[16];
		unsigned int prefix = 999;
		char why[160] = "";
		int e = hl_parse_cidr(cases[i].in, addr, &prefix, why, sizeof(why));

		if (cases[i].ok) {
			CHECK(e == 0, "%s: %d (%s)", cases[i].in, e, why);
			CHECK(prefix == cases[i].prefix, "%s: prefix %u, want %u", cases[i].in,
			      prefix, cases[i].prefix);
			CHECK(!e && !memcmp(addr, cases[i].addr, 16), "%s: address bytes",
			      cases[i].in);
		} else {
			CHECK(e < 0, "%s accepted", cases[i].in);
			CHECK(strstr(why, cases[i].why), "%s: message '%s'", cases[i].in, why);
		}
	}
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
		CHECK(stack_of(&c)->enabled == rows[i].enabled, "variant %zu: enabled", i);
		CHECK(!strcmp(stack_of(&c)->filters.network_namespace, rows[i].netns),
		      "variant %zu: %s", i, stack_of(&c)->filters.network_namespace);
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
	 "unknown key 'intervall'; valid keys: interval, log_level, shutdown_timeout, health "
	 "(key 'agent.intervall')"},
	{"probes:\n  stack_latency:\n    filters:\n      pid: [1]\n", "bad.yaml:4:7:",
	 "valid keys: interfaces, network_namespace, cgroups, pids, min_queue_length (key "
	 "'probes.stack_latency.filters.pid')"},
	{"probes:\n  tcp_latency: {}\n", "bad.yaml:2:3:",
	 "unknown key 'tcp_latency'; valid keys: stack_latency, traffic, softirq, napi, "
	 "function_latency, drops, runqueue, xdp_responder (key 'probes.tcp_latency')"},
	/* wrong node kinds */
	{"agent:\n  interval: {a: 1}\n",
	 "bad.yaml:2:13:", "expected a duration, got a mapping (key 'agent.interval')"},
	{"agent: 5\n", "bad.yaml:1:8:", "expected a mapping, got '5' (key 'agent')"},
	{"- agent\n- probes\n", "bad.yaml:1:1:", "expected a mapping of sections"},
	{"probes:\n  stack_latency:\n    enabled: [true]\n", "bad.yaml:3:14:",
	 "expected true or false, got a list (key 'probes.stack_latency.enabled')"},
	{"probes:\n  stack_latency:\n    stages: ip-start\n", "bad.yaml:3:13:",
	 "expected a list of names (ip-start, conntrack, tcp-start, udp-start, "
	 "tcp-socket-enqueued, udp-socket-enqueued, tcp-socket-read, udp-socket-read), got "
	 "'ip-start'"},
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
	 "unknown name 'tcp-end'; valid names: ip-start, conntrack, tcp-start, udp-start, "
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
	/* the first item at fault, whatever the fault */
	{"probes:\n  stack_latency:\n    filters:\n      pids: [1, 2, 1, x, 2]\n",
	 "bad.yaml:4:20:", "1 is listed twice"},
	{"probes:\n  stack_latency:\n    filters:\n      pids: [1, x, 1]\n",
	 "bad.yaml:4:17:", "expected an unsigned integer, got 'x'"},
	{"probes:\n  stack_latency:\n    filters:\n      pids: [3, 2, 0, 3]\n",
	 "bad.yaml:4:20:", "0 is out of range 1..4194304"},
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
	/* probes.traffic */
	{"probes:\n  traffic:\n    granularities: [1ms, 5us]\n", "bad.yaml:3:26:",
	 "duration '5us' is out of range 10us..10s (key 'probes.traffic.granularities')"},
	{"probes:\n  traffic:\n    granularities: [1ms, 1000us]\n",
	 "bad.yaml:3:26:", "'1000us' is listed twice (key 'probes.traffic.granularities')"},
	{"probes:\n  traffic:\n    granularities: []\n",
	 "bad.yaml:3:20:", "expected 1 to 8 durations, got 0 (key 'probes.traffic.granularities')"},
	{"probes:\n  traffic:\n    granularities: 1ms\n",
	 "bad.yaml:3:20:", "expected a list of durations, got '1ms'"},
	{"probes:\n  traffic:\n    granularities: [1ms, fast]\n",
	 "bad.yaml:3:26:", "invalid duration 'fast'"},
	{"probes:\n  traffic:\n    burst_threshold: 0\n",
	 "bad.yaml:3:22:", "0 is out of range 1..100 (key 'probes.traffic.burst_threshold')"},
	{"probes:\n  traffic:\n    attach: xdp\n", "bad.yaml:3:13:",
	 "unknown value 'xdp'; valid values: auto, tcx, tc (key 'probes.traffic.attach')"},
	{"probes:\n  traffic:\n    interfaces: [a-very-long-name0]\n",
	 "bad.yaml:3:18:", "interface name 'a-very-long-name0' is longer than 15 characters"},
	{"probes:\n  traffic:\n    store: {max_age: 10s}\n", "bad.yaml:3:22:",
	 "duration '10s' is out of range 1m..8784h (key 'probes.traffic.store.max_age')"},
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
	/* (the full list of known types is checked in test_known_types) */
	{"exporters:\n  - format: json\n",
	 "bad.yaml:2:5:", "the exporter has no 'type'; known types: stdout, "},
	{"exporters:\n  - type: kafka\n",
	 "bad.yaml:2:11:", "unknown exporter type 'kafka'; known types: stdout, "},
	{"exporters:\n  - type: stdout\n    colour: red\n", "bad.yaml:3:5:",
	 "unknown key 'colour'; valid keys: type, format, temporality, output, name, queue_size, "
	 "retry (key 'exporters[0].colour')"},
	{"exporters:\n  - type: stdout\n  - type: stdout\n    format: yaml\n", "bad.yaml:4:13:",
	 "unknown value 'yaml'; valid values: pretty, json (key 'exporters[1].format')"},
	{"exporters:\n  - type: stdout\n    type: stdout\n",
	 "bad.yaml:3:5:", "duplicate key 'type' (key 'exporters[0].type')"},
	{"exporters:\n  - {type: stdout, output: \"\"}\n",
	 "bad.yaml:2:28:", "the value must not be empty (key 'exporters[0].output')"},
	{"exporters: []\n", "bad.yaml:1:12:", "the list needs at least 1 item (key 'exporters')"},
	{"exporters:\n", "bad.yaml:1:11:", "the list needs at least 1 item (key 'exporters')"},
	{"exporters: [stdout]\n", "bad.yaml:1:13:", "expected a mapping with a 'type' (stdout, "},
	/* keys common to every exporter */
	{"exporters:\n  - {type: stdout, queue_size: 0}\n",
	 "bad.yaml:2:32:", "0 is out of range 1..1024 (key 'exporters[0].queue_size')"},
	{"exporters:\n  - type: stdout\n  - {type: stdout, queue_size: 1025}\n",
	 "bad.yaml:3:32:", "1025 is out of range 1..1024 (key 'exporters[1].queue_size')"},
	{"exporters:\n  - {type: stdout, queue_size: many}\n",
	 "bad.yaml:2:32:", "expected an unsigned integer, got 'many'"},
	{"exporters:\n  - type: stdout\n    retry: {initial: 5ms}\n", "bad.yaml:3:22:",
	 "duration '5ms' is out of range 10ms..1m (key 'exporters[0].retry.initial')"},
	{"exporters:\n  - type: stdout\n    retry: {initial: 61s}\n", "bad.yaml:3:22:",
	 "duration '61s' is out of range 10ms..1m (key 'exporters[0].retry.initial')"},
	{"exporters:\n  - type: stdout\n    retry: {max: 2h}\n",
	 "bad.yaml:3:18:", "duration '2h' is out of range 10ms..1h (key 'exporters[0].retry.max')"},
	{"exporters:\n  - type: stdout\n    retry: {max_elapsed: 25h}\n", "bad.yaml:3:26:",
	 "duration '25h' is out of range 0s..24h (key 'exporters[0].retry.max_elapsed')"},
	{"exporters:\n  - type: stdout\n    retry: {max_elapsed: forever}\n",
	 "bad.yaml:3:26:", "invalid duration 'forever'"},
	{"exporters:\n  - type: stdout\n    retry:\n      initial: 1m\n      max: 10s\n",
	 "bad.yaml:5:12:",
	 "retry.max (10s) must be at least retry.initial (1m) (key 'exporters[0].retry.max')"},
	{"exporters:\n  - type: stdout\n    retry:\n      initial: 45s\n", "bad.yaml:4:16:",
	 "retry.max (30s) must be at least retry.initial (45s) (key "
	 "'exporters[0].retry.initial')"},
	{"exporters:\n  - type: stdout\n    retry: [1s]\n",
	 "bad.yaml:3:12:", "expected a mapping, got a list (key 'exporters[0].retry')"},
	{"exporters:\n  - type: stdout\n    retry: {backoff: 1s}\n", "bad.yaml:3:13:",
	 "unknown key 'backoff'; valid keys: initial, max, max_elapsed (key "
	 "'exporters[0].retry.backoff')"},
	{"exporters:\n  - {type: stdout, name: \"\"}\n",
	 "bad.yaml:2:26:", "the value must not be empty (key 'exporters[0].name')"},
	{"exporters:\n  - {type: stdout, name: \"a\\tb\"}\n", "bad.yaml:2:26:",
	 "the exporter name contains a control character (key 'exporters[0].name')"},
	{"exporters:\n  - {type: stdout, name: "
	 "a123456789b123456789c123456789d123456789e123456789f123456789g1234}\n",
	 "bad.yaml:2:26:", "the exporter name is longer than 64 characters"},
	{"exporters:\n  - {type: stdout, name: [a]}\n",
	 "bad.yaml:2:26:", "expected a string, got a list (key 'exporters[0].name')"},
	{"exporters:\n  - {type: stdout, name: a, name: b}\n",
	 "bad.yaml:2:29:", "duplicate key 'name' (key 'exporters[0].name')"},
	/* unique names */
	{"exporters:\n  - {type: stdout, name: a}\n  - {type: stdout, name: a}\n", "bad.yaml:3:26:",
	 "duplicate exporter name 'a': exporters[0] has it too; names must be unique (key "
	 "'exporters[1].name')"},
	{"exporters:\n  - {type: stdout, name: stdout-2}\n  - type: stdout\n  - type: stdout\n",
	 "bad.yaml:2:26:",
	 "exporter name 'stdout-2' is also the default name of exporters[2]; choose another name "
	 "or give exporters[2] one (key 'exporters[0].name')"},
	{"exporters:\n  - type: stdout\n  - {type: stdout, name: stdout}\n", "bad.yaml:3:26:",
	 "exporter name 'stdout' is also the default name of exporters[0]; choose another name "
	 "or give exporters[0] one (key 'exporters[1].name')"},
	{"exporters:\n  - {type: plugin, path: /a.so}\n  - {type: stdout, name: plugin}\n",
	 "bad.yaml:3:26:", "exporter name 'plugin' is also the default name of exporters[0]"},
	/* type: plugin */
	{"exporters:\n  - type: plugin\n", "bad.yaml:2:5:",
	 "a plugin exporter needs a 'path': the shared object of its module (key "
	 "'exporters[0].path')"},
	{"exporters:\n  - type: plugin\n    config: {file: /tmp/x}\n",
	 "bad.yaml:2:5:", "a plugin exporter needs a 'path'"},
	{"exporters:\n  - {type: plugin, path: \"\"}\n",
	 "bad.yaml:2:26:", "the value must not be empty (key 'exporters[0].path')"},
	{"exporters:\n  - {type: plugin, path: [a.so]}\n",
	 "bad.yaml:2:26:", "expected a string, got a list (key 'exporters[0].path')"},
	{"exporters:\n  - {type: plugin, path: /a.so, path: /b.so}\n",
	 "bad.yaml:2:33:", "duplicate key 'path' (key 'exporters[0].path')"},
	{"exporters:\n  - {type: plugin, path: /a.so, format: json}\n", "bad.yaml:2:33:",
	 "unknown key 'format'; valid keys: type, path, config, name, queue_size, retry (key "
	 "'exporters[0].format')"},
	{"exporters:\n  - type: plugin\n    path: /a.so\n    config: /etc/a.conf\n",
	 "bad.yaml:4:13:",
	 "expected a mapping of names to values, got '/etc/a.conf' (key 'exporters[0].config')"},
	{"exporters:\n  - type: plugin\n    path: /a.so\n    config:\n      file: [a, b]\n",
	 "bad.yaml:5:13:",
	 "expected a string value for 'file', got a list (key 'exporters[0].config')"},
	{"exporters:\n  - type: plugin\n    path: /a.so\n    config:\n      file: {a: b}\n",
	 "bad.yaml:5:13:", "expected a string value for 'file', got a mapping"},
	{"exporters:\n  - type: plugin\n    path: /a.so\n    config:\n      file:\n",
	 "bad.yaml:5:12:", "'file' has no value"},
	{"exporters:\n  - type: plugin\n    path: /a.so\n    config: {a: 1, a: 2}\n",
	 "bad.yaml:4:20:", "duplicate key 'a' (key 'exporters[0].config')"},
	{"exporters:\n  - type: plugin\n    path: /a.so\n    queue_size: 0\n",
	 "bad.yaml:4:17:", "0 is out of range 1..1024 (key 'exporters[0].queue_size')"},
	{"exporters: {type: stdout}\n",
	 "bad.yaml:1:12:", "expected a list of exporters, got a mapping"},
	/* what the built-in exporters refuse at start is refused at load, at the key */
	{"exporters:\n  - {type: otlp_http, endpoint: \"ftp://x\"}\n", "bad.yaml:2:33:",
	 "invalid endpoint: expected an http:// or https:// URL (key 'exporters[0].endpoint')"},
	{"exporters:\n  - {type: otlp_http, endpoint: \"http://x/\\r\\nHost: y\"}\n",
	 "bad.yaml:2:33:", "invalid endpoint: the URL holds a control character"},
	{"exporters:\n  - {type: otlp_http, endpoint: \"localhost:4318\"}\n",
	 "bad.yaml:2:33:", "invalid endpoint: expected an http:// or https:// URL"},
	{"exporters:\n  - type: otlp_http\n    headers: {\"X A:\": v}\n", "bad.yaml:3:15:",
	 "header 'X A:': not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only) (key "
	 "'exporters[0].headers.X A:')"},
	{"exporters:\n  - type: otlp_http\n    headers: {\"a\\nb\": v}\n",
	 "bad.yaml:3:15:", "header 'a?b': not a valid header name"},
	{"exporters:\n  - type: otlp_http\n    headers: {a: \"v\\r\\nb: c\"}\n", "bad.yaml:3:18:",
	 "header 'a': the value holds control characters (a line break?) (key "
	 "'exporters[0].headers.a')"},
	{"exporters:\n  - type: otlp_http\n    headers: {a: v, A: w}\n", "bad.yaml:3:21:",
	 "header 'A' is given twice (also as 'a'; names ignore case) (key "
	 "'exporters[0].headers.A')"},
	{"exporters:\n  - type: otlp_http\n    headers:\n      Content-Type: text/plain\n",
	 "bad.yaml:4:7:", "header 'Content-Type': set by the exporter itself"},
	{"exporters:\n  - type: otlp_http\n    headers: {a: \"@flie:/x\"}\n", "bad.yaml:3:18:",
	 "a value starting with @ must be @file:PATH, @env:VAR or @@ (a literal @)"},
	{"exporters:\n  - type: otlp_http\n    headers: {a: \"@file:\"}\n",
	 "bad.yaml:3:18:", "header 'a': @file: needs a path (key 'exporters[0].headers.a')"},
	{"exporters:\n  - type: otlp_http\n    headers: {a: \"@env:HL_TEST_UNSET\"}\n",
	 "bad.yaml:3:18:", "header 'a': environment variable 'HL_TEST_UNSET' is not set"},
	{"exporters:\n  - {type: statsd, address: \"[::1\"}\n", "bad.yaml:2:29:",
	 "address '[::1': expected [IPv6 address]:port (key 'exporters[0].address')"},
	{"exporters:\n  - {type: statsd, address: \"::1:8125\"}\n",
	 "bad.yaml:2:29:", "write an IPv6 address in brackets"},
	{"exporters:\n  - {type: statsd, address: \"h:0\"}\n",
	 "bad.yaml:2:29:", "address 'h:0': port must be 1..65535 (key 'exporters[0].address')"},
	{"exporters:\n  - type: stdout\n  - {type: statsd, address: \"h:70000\"}\n",
	 "bad.yaml:3:29:", "address 'h:70000': port must be 1..65535 (key 'exporters[1].address')"},
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

	unsetenv("HL_TEST_UNSET");
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

/* ---- exporter names and types --------------------------------------------------- */

static void test_exporter_names(void)
{
	static const struct {
		const char *text;
		const char *names[5];
	} rows[] = {
		{"exporters: [{type: stdout}]", {"stdout"}},
		{"exporters: [{type: stdout}, {type: stdout}, {type: stdout}]",
		 {"stdout", "stdout-2", "stdout-3"}},
		/* named items do not count */
		{"exporters: [{type: stdout, name: a}, {type: stdout}, {type: stdout}]",
		 {"a", "stdout", "stdout-2"}},
		{"exporters: [{type: plugin, path: /a.so}, {type: stdout}, {type: plugin, path: "
		 "b.so}]",
		 {"plugin", "stdout", "plugin-2"}},
		{"exporters: [{type: stdout, name: plugin}, {type: stdout}]", {"plugin", "stdout"}},
		{"exporters: [{type: stdout, name: stdout-3}, {type: stdout}, {type: stdout}]",
		 {"stdout-3", "stdout", "stdout-2"}},
		{"exporters: [{type: stdout, name: \"prod console\"}, {type: stdout, name: "
		 "\"\xc3\xa9"
		 "cran\"}]",
		 {"prod console", "\xc3\xa9"
				  "cran"}},
	};
	char err[512];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_config c;
		size_t n = 0;
		int e = load(&c, rows[i].text, err, sizeof(err));

		CHECK(e == 0, "names %zu: %s", i, err);
		if (e)
			continue;
		while (n < 5 && rows[i].names[n])
			n++;
		CHECK(c.exporters.n == n, "names %zu: %zu exporters", i, c.exporters.n);
		for (size_t j = 0; j < n && j < c.exporters.n; j++)
			CHECK(c.exporters.v[j].name &&
				      !strcmp(c.exporters.v[j].name, rows[i].names[j]),
			      "names %zu: exporter %zu is '%s', want '%s'", i, j,
			      c.exporters.v[j].name, rows[i].names[j]);
		hl_config_free(&c);
	}
}

/* Every message naming the types lists the built-ins, then plugin. */
static void test_known_types(void)
{
	static const struct {
		const char *text, *fmt;
	} rows[] = {
		{"exporters:\n  - format: json\n",
		 "bad.yaml:2:5: the exporter has no 'type'; known types: %s (key "
		 "'exporters[0].type')"},
		{"exporters:\n  - type: kafka\n",
		 "bad.yaml:2:11: unknown exporter type 'kafka'; known types: %s (key "
		 "'exporters[0].type')"},
		{"exporters: [stdout]\n",
		 "bad.yaml:1:13: expected a mapping with a 'type' (%s), got 'stdout' (key "
		 "'exporters[0]')"},
	};
	char known[256] = "", want[512], err[512];
	size_t pos = 0;

	for (size_t t = 0; hl_exporter_types[t]; t++) {
		CHECK(strcmp(hl_exporter_types[t]->name, "plugin"),
		      "a built-in exporter is named plugin");
		pos += (size_t)snprintf(known + pos, sizeof(known) - pos, "%s, ",
					hl_exporter_types[t]->name);
	}
	snprintf(known + pos, sizeof(known) - pos, "plugin");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_config c;
		int e = load(&c, rows[i].text, err, sizeof(err));

		snprintf(want, sizeof(want), rows[i].fmt, known);
		CHECK(e == -EINVAL && !strcmp(err, want), "known types %zu: '%s', want '%s'", i,
		      err, want);
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
	CHECK(e == 0 && c.path && !strcmp(c.path, path) && c.exporters.n == 4, "good file: %d %s",
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

/* ---- probes' sections ------------------------------------------------------------ */

/* Every probe has one section, its struct allocated at load and freed after. */
static void test_probe_sections(void)
{
	size_t n = 0, m = 0;
	struct hl_config c;
	char err[512];

	while (hl_probes[n])
		n++;
	CHECK(n <= HL_PROBES_MAX, "%zu probes, room for %d", n, HL_PROBES_MAX);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++)
			m += !strcmp(hl_probes[j]->name, hl_probes[i]->name);
		CHECK(hl_probes[i]->options && hl_probes[i]->config_size && hl_probes[i]->help,
		      "%s: no options", hl_probes[i]->name);
	}
	CHECK(m == 0, "two probes with one name");
	if (load(&c, "", err, sizeof(err)))
		return;
	for (size_t i = 0; i < n; i++)
		CHECK(hl_probe_config(&c, hl_probes[i]) == c.probe_conf[i], "%s: its conf",
		      hl_probes[i]->name);
	CHECK(!hl_probe_config(&c, NULL), "an unknown probe has a conf");
	hl_config_free(&c);
	for (size_t i = 0; i < HL_PROBES_MAX; i++)
		CHECK(!c.probe_conf[i], "conf %zu kept after free", i);
}

/* ---- reference ------------------------------------------------------------------ */

static const char *const all_keys[] = {
	"agent.interval",
	"agent.log_level",
	"agent.shutdown_timeout",
	"agent.health.listen",
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
	"probes.stack_latency.include_hol_blocked",
	"probes.stack_latency.standing_queue",
	"probes.stack_latency.standing_queue.target",
	"probes.stack_latency.standing_queue.interval",
	"probes.stack_latency.max_sockets",
	"probes.stack_latency.exemplars",
	"probes.traffic.enabled",
	"probes.traffic.interfaces",
	"probes.traffic.granularities",
	"probes.traffic.samples",
	"probes.traffic.every",
	"probes.traffic.align",
	"probes.traffic.burst_threshold",
	"probes.traffic.link_speed",
	"probes.traffic.attach",
	"probes.traffic.store.dir",
	"probes.traffic.store.max_bytes",
	"probes.traffic.store.max_age",
	"probes.softirq.enabled",
	"probes.softirq.vectors",
	"probes.softirq.histogram_scale",
	"probes.softirq.max_buckets",
	"probes.napi.enabled",
	"probes.napi.network_namespace",
	"probes.napi.max_series",
	"probes.function_latency.enabled",
	"probes.function_latency.functions",
	"probes.function_latency.histogram_scale",
	"probes.function_latency.max_buckets",
	"probes.drops.enabled",
	"probes.drops.network_namespace",
	"probes.drops.group_by",
	"probes.drops.max_series",
	"probes.runqueue.enabled",
	"probes.runqueue.tasks",
	"probes.runqueue.filters.cgroups",
	"probes.runqueue.filters.pids",
	"probes.runqueue.group_by",
	"probes.runqueue.histogram_scale",
	"probes.runqueue.max_buckets",
	"probes.runqueue.max_series",
	"probes.runqueue.exemplars",
	"probes.xdp_responder.enabled",
	"probes.xdp_responder.interface",
	"probes.xdp_responder.port",
	"probes.xdp_responder.allow",
	"probes.xdp_responder.rate_limit",
	"probes.xdp_responder.mode",
	"exporters",
	"exporters[].type",
	"exporters[].name",
	"exporters[].queue_size",
	"exporters[].retry.initial",
	"exporters[].retry.max",
	"exporters[].retry.max_elapsed",
	"exporters[type=stdout].format",
	"exporters[type=stdout].temporality",
	"exporters[type=stdout].output",
	"exporters[type=plugin].path",
	"exporters[type=plugin].config",
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
		n += opts[i].type == HL_OPT_SECTION || opts[i].type == HL_OPT_STRUCT
			     ? count_leaves(opts[i].sub) + opts[i].optional /* its own row */
			     : 1;
	return n;
}

/* Rows of a table under prefix (the other built-in exporters' keys); how many. */
static size_t check_rows(const char *ref, const struct hl_option *opts, const char *prefix)
{
	char path[256], cell[300];
	size_t n = 0;

	for (size_t i = 0; opts && opts[i].name; i++) {
		snprintf(path, sizeof(path), "%s.%s", prefix, opts[i].name);
		if (opts[i].type == HL_OPT_SECTION || opts[i].type == HL_OPT_STRUCT) {
			n += check_rows(ref, opts[i].sub, path);
			continue;
		}
		snprintf(cell, sizeof(cell), "\n| `%s` | ", path);
		CHECK(strstr(ref, cell), "reference lacks %s", path);
		n++;
	}
	return n;
}

static void test_reference(void)
{
	size_t len = 0, len2 = 0, rows = 0, want_rows, other_rows = 0;
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
	/*
	 * table leaves + exporters[].type + 5 common keys + each type's keys + the
	 * 2 plugin keys, + 2 header lines
	 */
	want_rows = count_leaves(hl_config_options) + 1 + 5 + 2 + 2;
	for (size_t t = 0; hl_exporter_types[t]; t++)
		want_rows += count_leaves(hl_exporter_types[t]->options);
	CHECK(rows == want_rows, "%zu lines, want %zu", rows, want_rows);
	/* all_keys lists every key but those of the built-ins other than stdout */
	for (size_t t = 0; hl_exporter_types[t]; t++) {
		char prefix[128];

		if (hl_exporter_types[t] == &hl_stdout_exporter)
			continue;
		snprintf(prefix, sizeof(prefix), "exporters[type=%s]", hl_exporter_types[t]->name);
		other_rows += check_rows(ref, hl_exporter_types[t]->options, prefix);
	}
	CHECK(want_rows == sizeof(all_keys) / sizeof(all_keys[0]) + other_rows + 2,
	      "all_keys lists %zu keys, the tables %zu", sizeof(all_keys) / sizeof(all_keys[0]),
	      want_rows - other_rows - 2);
	CHECK(strstr(ref, "| `agent.interval` | duration, 100ms..1h | `10s` |"), "interval row");
	CHECK(strstr(ref, "| `probes.stack_latency.histogram_scale` | uint, 0..5 | `3` |"),
	      "scale row");
	CHECK(strstr(ref, "one of: error, warn, info, debug"), "log_level values");
	CHECK(strstr(ref, "list of: interface, cgroup"), "group_by names");
	CHECK(strstr(ref, "list of uint, 1..4194304"), "pids range");
	CHECK(strstr(ref, "one of: pretty, json"), "stdout format values");
	CHECK(strstr(ref, "\n| `exporters[].type` | one of: stdout, "), "type row");
	CHECK(strstr(ref, ", plugin |  | required: the exporter type; stdout: "),
	      "type row: plugin");
	CHECK(strstr(ref, "\n| `exporters[].name` | string |  | "), "name row");
	CHECK(strstr(ref, "\n| `exporters[].queue_size` | uint, 1..1024 | `16` | "),
	      "queue_size row");
	CHECK(strstr(ref, "\n| `exporters[].retry.initial` | duration, 10ms..1m | `1s` | "),
	      "retry.initial row");
	CHECK(strstr(ref, "\n| `exporters[].retry.max` | duration, 10ms..1h | `30s` | "),
	      "retry.max row");
	CHECK(strstr(ref, "\n| `exporters[].retry.max_elapsed` | duration, 0s..24h | `5m` | "),
	      "retry.max_elapsed row");
	CHECK(strstr(ref, "\n| `exporters[type=plugin].path` | string |  | required: "),
	      "plugin path row");
	CHECK(strstr(ref, "\n| `exporters[type=plugin].config` | map of string to string (0..64 "
			  "items) | `{}` | "),
	      "plugin config row");
	/* the common keys appear once, not per type */
	CHECK(!strstr(ref, "[type=stdout].name") && !strstr(ref, "[type=plugin].queue_size"),
	      "common keys repeated per type");
out:
	free(ref);
	free(ref2);
}

/* hl_config_diff: the first differing key, skip lists honoured (SIGHUP). */
static void test_diff(void)
{
	static const char *const skip_agent[] = {"agent", NULL};
	static const char *const skip_iv[] = {"agent.interval", NULL};
	static const struct {
		const char *yaml, *key;
	} ex[] = {
		{"exporters: [ { type: stdout }, { type: stdout, output: x.json } ]\n",
		 "exporters"},
		{"exporters: [ { type: statsd } ]\n", "exporters[0].type"},
		{"exporters: [ { type: stdout, format: json } ]\n", "exporters[0].format"},
		{"exporters: [ { type: stdout, retry: { max: 1m } } ]\n", "exporters[0].retry.max"},
	};
	struct hl_config a, b;
	char err[512] = "", key[128];
	const char *k;

	CHECK(!load(&a, "agent: { interval: 2s }\n", err, sizeof(err)), "%s", err);
	CHECK(!load(&b, "agent: { interval: 3s }\n", err, sizeof(err)), "%s", err);
	k = hl_config_diff(&a, &b, NULL, key, sizeof(key));
	CHECK(k && !strcmp(k, "agent.interval"), "interval change: %s", k ? k : "(none)");
	CHECK(!hl_config_diff(&a, &b, skip_agent, key, sizeof(key)), "agent skipped");
	CHECK(!hl_config_diff(&a, &b, skip_iv, key, sizeof(key)), "agent.interval skipped");
	CHECK(!hl_config_diff(&a, &a, NULL, key, sizeof(key)), "a config equals itself");
	hl_config_free(&b);
	CHECK(!load(&b, "agent: { interval: 2s }\nprobes: { traffic: { samples: 100 } }\n", err,
		    sizeof(err)),
	      "%s", err);
	k = hl_config_diff(&a, &b, skip_agent, key, sizeof(key));
	CHECK(k && !strcmp(k, "probes.traffic.samples"), "samples change: %s", k ? k : "(none)");
	hl_config_free(&b);
	CHECK(!load(&b, "agent: { interval: 2s }\nexporters: [ { type: stdout, queue_size: 3 } ]\n",
		    err, sizeof(err)),
	      "%s", err);
	k = hl_config_diff(&a, &b, NULL, key, sizeof(key));
	CHECK(k && !strcmp(k, "exporters[0].queue_size"), "exporter change: %s", k ? k : "(none)");
	hl_config_free(&b);

	/* The key names the item and the exporter's own key, down to sections. */
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		CHECK(!load(&b, ex[i].yaml, err, sizeof(err)), "%s", err);
		k = hl_config_diff(&a, &b, skip_agent, key, sizeof(key));
		CHECK(k && !strcmp(k, ex[i].key), "%s: %s, want %s", ex[i].yaml, k ? k : "(none)",
		      ex[i].key);
		hl_config_free(&b);
	}
	hl_config_free(&a);
	CHECK(!load(&a, "exporters: [ { type: stdout }, { type: stdout, output: a.json } ]\n", err,
		    sizeof(err)),
	      "%s", err);
	CHECK(!load(&b,
		    "exporters: [ { type: stdout },\n"
		    "             { type: stdout, output: a.json, queue_size: 2 } ]\n",
		    err, sizeof(err)),
	      "%s", err);
	k = hl_config_diff(&a, &b, NULL, key, sizeof(key));
	CHECK(k && !strcmp(k, "exporters[1].queue_size"), "second exporter: %s", k ? k : "(none)");
	CHECK(!hl_config_diff(&b, &b, NULL, key, sizeof(key)), "exporters equal themselves");
	hl_config_free(&a);
	hl_config_free(&b);
}

/* ---- limits: nesting depth, file size, file kinds --------------------------------- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* prefix, then n times open, then n times close (when given). */
static char *nested(const char *prefix, size_t n, const char *open, const char *close)
{
	size_t pl = strlen(prefix), ol = strlen(open), cl = close ? strlen(close) : 0;
	char *t = malloc(pl + n * (ol + cl) + 2), *p = t;

	if (!t)
		return NULL;
	memcpy(p, prefix, pl);
	p += pl;
	for (size_t i = 0; i < n; i++, p += ol)
		memcpy(p, open, ol);
	for (size_t i = 0; i < n && close; i++, p += cl)
		memcpy(p, close, cl);
	strcpy(p, "\n");
	return t;
}

static void expect_load(const char *what, const char *text, int want, const char *prefix,
			const char *msg)
{
	struct hl_config c;
	char err[1024] = "";
	int e = text ? load(&c, text, err, sizeof(err)) : -ENOMEM;

	CHECK(e == want, "%s: returned %d (%s)", what, e, err);
	CHECK(!prefix || !strncmp(err, prefix, strlen(prefix)), "%s: '%s' does not start with '%s'",
	      what, err, prefix);
	CHECK(!msg || strstr(err, msg), "%s: '%s' lacks '%s'", what, err, msg);
	hl_config_free(&c);
}

static void test_depth(void)
{
	static const char deep_msg[] =
		"mappings and lists nest deeper than 64 levels, the limit of a config file";
	char *t;
	double t0;

	CHECK(HL_CONFIG_MAX_DEPTH == 64, "depth limit %d", HL_CONFIG_MAX_DEPTH);
	/* agent's mapping is level 1: 63 more levels load, then fail on their type */
	t = nested("agent: ", 63, "[", "]");
	expect_load("63 lists", t, -EINVAL, "bad.yaml:1:8: expected a mapping, got a list", NULL);
	free(t);
	/* the 64th list is level 65, at column 8 + 63 */
	t = nested("agent: ", 64, "[", "]");
	expect_load("64 lists", t, -EINVAL, "bad.yaml:1:71: ", deep_msg);
	free(t);
	/* unclosed: the depth is found before the syntax error */
	t = nested("agent: ", 100, "{a: ", NULL);
	expect_load("unclosed mappings", t, -EINVAL, "bad.yaml:1:", deep_msg);
	free(t);
	t = nested("", 70, "- ", NULL);
	expect_load("block lists", t, -EINVAL, "bad.yaml:1:129: ", deep_msg);
	free(t);
	/* block mappings: level L starts on line L, column L */
	{
		char *b = malloc(70 * 72 + 2), *p = b;

		for (int i = 0; i < 70; i++)
			p += sprintf(p, "%*sk%d:\n", i, "", i);
		expect_load("block mappings", b, -EINVAL, "bad.yaml:65:65: ", deep_msg);
		free(b);
	}
	/* 100k levels in 200 kB: refused at once, not after libyaml's quadratic minute */
	t0 = now_s();
	t = nested("agent: ", 100000, "[", "]");
	expect_load("100k lists", t, -EINVAL, "bad.yaml:1:71: ", deep_msg);
	free(t);
	CHECK(now_s() - t0 < 2.0, "100k lists took %.2f s", now_s() - t0);
	/* many collections side by side are not deep */
	{
		size_t n = 20000;
		char *w = malloc(n * 4 + 64), *p = w;

		p += sprintf(p, "resource: {attributes: {a: b}}\nx: [");
		for (size_t i = 0; i < n; i++)
			p += sprintf(p, "[],");
		strcpy(p, "]\n");
		expect_load("wide", w, -EINVAL, "bad.yaml:2:1: unknown key 'x'", NULL);
		free(w);
	}
}

static void test_file_limits(void)
{
	char dir[] = "/tmp/hostlat-test-limits.XXXXXX", path[256], fifo[256], want[512], err[512];
	struct hl_config c;
	double t0;
	FILE *f;
	int e;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp failed");
		return;
	}
	CHECK(HL_CONFIG_MAX_BYTES == 1024 * 1024, "size limit %d", HL_CONFIG_MAX_BYTES);
	/* exactly the limit loads; one byte more does not */
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	f = fopen(path, "w");
	CHECK(f != NULL, "create %s", path);
	if (f) {
		for (int i = 0; i < HL_CONFIG_MAX_BYTES / 64; i++)
			fprintf(f, "#%62d\n", i);
		fclose(f);
	}
	e = hl_config_load(&c, path, err, sizeof(err));
	CHECK(e == 0, "file of the limit: %d %s", e, err);
	hl_config_free(&c);
	f = fopen(path, "a");
	if (f) {
		fputc('\n', f);
		fclose(f);
	}
	e = hl_config_load(&c, path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: the file is larger than 1048576 bytes", path);
	CHECK(e == -EFBIG && !strcmp(err, want), "file over the limit: %d '%s'", e, err);
	CHECK(is_empty(&c), "file over the limit: config not empty");
	unlink(path);

	/* a FIFO nobody writes to: refused at once (alarm: a hang fails the test) */
	snprintf(fifo, sizeof(fifo), "%s/fifo.yaml", dir);
	CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
	alarm(20);
	t0 = now_s();
	e = hl_config_load(&c, fifo, err, sizeof(err));
	alarm(0);
	snprintf(want, sizeof(want), "%s: not a regular file (a FIFO)", fifo);
	CHECK(e == -EINVAL && !strcmp(err, want), "FIFO: %d '%s'", e, err);
	CHECK(now_s() - t0 < 1.0, "FIFO: took %.2f s", now_s() - t0);
	CHECK(is_empty(&c), "FIFO: config not empty");
	unlink(fifo);

	e = hl_config_load(&c, "/dev/null", err, sizeof(err));
	CHECK(e == -EINVAL && !strcmp(err, "/dev/null: not a regular file (a character device)"),
	      "/dev/null: %d '%s'", e, err);
	/* a symbolic link to a regular file is fine */
	snprintf(path, sizeof(path), "%s/real.yaml", dir);
	snprintf(fifo, sizeof(fifo), "%s/link.yaml", dir);
	write_file(path, "agent: {interval: 2s}\n");
	CHECK(symlink(path, fifo) == 0, "symlink");
	e = hl_config_load(&c, fifo, err, sizeof(err));
	CHECK(e == 0 && c.agent.interval_ns == 2 * SEC_NS, "symlink: %d %s", e, err);
	hl_config_free(&c);
	unlink(fifo);
	unlink(path);
	rmdir(dir);
}

/* ---- positions after loading ----------------------------------------------------- */

static void test_where(void)
{
	static const char text[] = "agent:\n"
				   "  interval: 2s\n"
				   "probes:\n"
				   "  napi: {network_namespace: /proc/self/ns/net}\n"
				   "exporters:\n"
				   "  - type: stdout\n"
				   "  - type: otlp_http\n"
				   "    headers: {a: b, c: \"@@d\"}\n";
	static const struct {
		const char *key, *want;
	} rows[] = {
		{"agent.interval", "w.yaml:2:13"},
		{"agent", "w.yaml:2:3"},
		{"probes.napi.network_namespace", "w.yaml:4:29"},
		{"probes.napi.enabled", "w.yaml:4:9"},		/* a default: its section */
		{"probes.stack_latency.enabled", "w.yaml:4:3"}, /* the probes mapping */
		{"exporters[0].output", "w.yaml:6:5"},		/* a default: its item */
		{"exporters[1].headers.c", "w.yaml:8:24"},
		{"exporters[1].headers.x", "w.yaml:8:14"},
		{"exporters[1]", "w.yaml:7:5"},
		{"exporters[2].name", "w.yaml:6:3"}, /* no such item: the list */
		{"resource.attributes", "w.yaml"},   /* not in the file */
	};
	struct hl_config c;
	char err[512], buf[64];
	int e = hl_config_load_string(&c, text, strlen(text), "w.yaml", err, sizeof(err));

	CHECK(e == 0, "where: %s", err);
	for (size_t i = 0; !e && i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(!strcmp(hl_config_where(&c, rows[i].key, buf, sizeof(buf)), rows[i].want),
		      "where '%s': '%s', want '%s'", rows[i].key, buf, rows[i].want);
	/* defaults are not positions: the embedded config has none for its defaults */
	hl_config_free(&c);
	e = hl_config_load_string(&c, "", 0, "empty.yaml", err, sizeof(err));
	CHECK(e == 0 && c.n_where == 0, "empty: %d entries", (int)c.n_where);
	CHECK(!strcmp(hl_config_where(&c, "exporters[0].output", buf, sizeof(buf)), "empty.yaml"),
	      "empty: '%s'", buf);
	hl_config_free(&c);
}

/* ---- checks that need the running system (--check) -------------------------------- */

static void expect_system(const char *text, int want, const char *prefix, const char *msg)
{
	struct hl_config c;
	char err[1024] = "";
	int e = load(&c, text, err, sizeof(err));

	CHECK(e == 0, "system: load: %s (%s)", err, text);
	if (e)
		return;
	e = hl_config_check_system(&c, err, sizeof(err));
	CHECK(e == want, "system: %d (%s) for %s", e, err, text);
	CHECK(!prefix || !strncmp(err, prefix, strlen(prefix)), "system: '%s' does not start '%s'",
	      err, prefix);
	CHECK(!msg || strstr(err, msg), "system: '%s' lacks '%s'", err, msg);
	CHECK(!strchr(err, '\n'), "system: newline in '%s'", err);
	hl_config_free(&c);
}

static void test_check_system(void)
{
	char dir[] = "/tmp/hostlat-test-system.XXXXXX", path[256], fifo[256], text[1024];

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp failed");
		return;
	}
	snprintf(path, sizeof(path), "%s/token", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	write_file(path, "Bearer t0ken\n");
	CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");

	expect_system("", 0, NULL, NULL);
	expect_system("exporters:\n  - {type: statsd, address: \"127.0.0.1:9\"}\n"
		      "  - {type: statsd, address: \"[::1]:9\"}\n  - type: statsd\n",
		      0, NULL, NULL);
	/* the name is looked up: the position and key of the address */
	expect_system("exporters:\n  - type: stdout\n  - type: statsd\n"
		      "    address: no-such-host.invalid:8125\n",
		      -EINVAL, "bad.yaml:4:14: cannot resolve 'no-such-host.invalid': ",
		      "(key 'exporters[1].address')");
	snprintf(text, sizeof(text),
		 "exporters:\n  - type: otlp_http\n    headers:\n      a: \"@file:%s\"\n"
		 "      b: \"@@file:%s\"\n",
		 path, fifo);
	expect_system(text, 0, NULL, NULL);
	snprintf(text, sizeof(text),
		 "exporters:\n  - type: otlp_http\n    headers:\n      a: \"@file:%s\"\n"
		 "      b: \"@file:%s\"\n",
		 path, fifo);
	alarm(20);
	expect_system(text, -EINVAL, "bad.yaml:5:10: cannot read '",
		      "': not a regular file (a FIFO) "
		      "(key 'exporters[0].headers.b')");
	alarm(0);
	snprintf(text, sizeof(text), "exporters:\n  - {type: otlp_http, ca_file: %s/none.pem}\n",
		 dir);
	expect_system(text, -EINVAL, "bad.yaml:2:32: cannot read '",
		      "none.pem': No such file or directory (key 'exporters[0].ca_file')");
	snprintf(text, sizeof(text), "exporters:\n  - {type: otlp_http, key_file: %s}\n", fifo);
	expect_system(text, -EINVAL, "bad.yaml:2:33: ", "not a regular file (a FIFO)");
	snprintf(text, sizeof(text), "exporters:\n  - {type: otlp_http, cert_file: %s}\n", path);
	expect_system(text, 0, NULL, NULL);
	snprintf(text, sizeof(text), "exporters:\n  - {type: stdout, output: %s/no/dir/m.jsonl}\n",
		 dir);
	expect_system(text, -EINVAL, "bad.yaml:2:28: cannot create '", "No such file or directory");
	snprintf(text, sizeof(text), "exporters:\n  - {type: stdout, output: %s}\n", dir);
	expect_system(text, -EINVAL, "bad.yaml:2:28: ", "Is a directory");
	snprintf(text, sizeof(text), "exporters:\n  - {type: stdout, output: %s/new.jsonl}\n", dir);
	expect_system(text, 0, NULL, NULL);
	unlink(fifo);
	unlink(path);
	rmdir(dir);
}

/* stdout to a FIFO: refused at once without a reader, written with one. */
static void test_stdout_fifo(void)
{
	char dir[] = "/tmp/hostlat-test-fifo.XXXXXX", fifo[256], err[256];
	struct hl_stdout_conf c = {.format = HL_STDOUT_JSON};
	void *st;
	int rd;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp failed");
		return;
	}
	snprintf(fifo, sizeof(fifo), "%s/out", dir);
	CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
	c.output = fifo;
	alarm(20);
	err[0] = 0;
	st = hl_stdout_exporter.init(&c, err, sizeof(err));
	CHECK(!st && strstr(err, "cannot open '") &&
		      strstr(err, "' for appending: a FIFO that nobody reads"),
	      "FIFO without a reader: '%s'", err);
	hl_stdout_exporter.shutdown(st);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	CHECK(rd >= 0, "open the FIFO to read");
	st = hl_stdout_exporter.init(&c, err, sizeof(err));
	CHECK(st, "FIFO with a reader: '%s'", err);
	hl_stdout_exporter.shutdown(st);
	alarm(0);
	if (rd >= 0)
		close(rd);
	unlink(fifo);
	rmdir(dir);
}

/* ---- network namespace files ---------------------------------------------------------- */

static void test_netns_files(void)
{
	static const struct {
		const char *path, *msg; /* msg NULL: passes */
	} rows[] = {
		{"/proc/self/ns/net", NULL},
		{"/etc/passwd",
		 "bad.yaml:3:24: '/etc/passwd' is not a network namespace but a regular file "
		 "(expected a namespace file such as /var/run/netns/NAME or /proc/PID/ns/net) (key "
		 "'probes.napi.network_namespace')"},
		{"/proc/self/ns/mnt",
		 "bad.yaml:3:24: '/proc/self/ns/mnt' is a mount namespace, not a network namespace "
		 "(key 'probes.napi.network_namespace')"},
		{"/tmp", "bad.yaml:3:24: '/tmp' is not a network namespace but a directory"},
		{"/dev/null", "bad.yaml:3:24: '/dev/null' is not a network namespace but a device"},
		/* absent now: the probe's start reports it (the probe is off) */
		{"/var/run/netns/hostlat-test-none", NULL},
	};
	char text[256], err[512];
	struct stat st;
	uint64_t ino;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_config c;
		int e;

		snprintf(text, sizeof(text), "probes:\n  napi:\n    network_namespace: %s\n",
			 rows[i].path);
		e = load(&c, text, err, sizeof(err));
		CHECK(e == 0, "netns %s: load: %s", rows[i].path, err);
		if (e)
			continue;
		err[0] = 0;
		e = hl_napi_probe.validate(&c, err, sizeof(err));
		if (rows[i].msg)
			CHECK(e == -EINVAL && !strncmp(err, rows[i].msg, strlen(rows[i].msg)),
			      "netns %s: %d '%s', want '%s'", rows[i].path, e, err, rows[i].msg);
		else
			CHECK(e == 0, "netns %s: %d '%s'", rows[i].path, e, err);
		hl_config_free(&c);
	}
	/* at start, without a position */
	CHECK(hl_resolve_netns("/etc/passwd", "k", &ino, err, sizeof(err)) == -EINVAL &&
		      !strncmp(err, "k: '/etc/passwd' is not a network namespace", 43),
	      "resolve /etc/passwd: '%s'", err);
	CHECK(hl_resolve_netns("/var/run/netns/hostlat-test-none", "k", &ino, err, sizeof(err)) ==
			      -ENOENT &&
		      strstr(err, "k: cannot open '/var/run/netns/hostlat-test-none'"),
	      "resolve absent: '%s'", err);
	CHECK(hl_resolve_netns("/proc/self/ns/net", "k", &ino, err, sizeof(err)) == 0 &&
		      !stat("/proc/self/ns/net", &st) && ino == st.st_ino,
	      "resolve /proc/self/ns/net: '%s'", err);
	/* the other probes with the option check it too */
	{
		struct hl_config c;
		int e = load(&c,
			     "probes:\n  drops: {network_namespace: /etc/hosts}\n"
			     "  stack_latency: {filters: {network_namespace: /etc/passwd}}\n",
			     err, sizeof(err));

		CHECK(e == 0, "two probes: %s", err);
		CHECK(!e && hl_drops_probe.validate(&c, err, sizeof(err)) == -EINVAL &&
			      strstr(err, "bad.yaml:2:30: '/etc/hosts' is not"),
		      "drops: '%s'", err);
		CHECK(!e && hl_stack_latency_probe.validate(&c, err, sizeof(err)) == -EINVAL &&
			      strstr(err, "bad.yaml:3:48: '/etc/passwd' is not") &&
			      strstr(err, "(key 'probes.stack_latency.filters.network_namespace')"),
		      "stack_latency: '%s'", err);
		hl_config_free(&c);
	}
}

int main(void)
{
	test_defaults();
	test_diff();
	test_full();
	test_traffic();
	test_stall_config();
	test_xdp_responder();
	test_cidr();
	test_variants();
	test_durations();
	test_bad();
	test_exporter_names();
	test_known_types();
	test_small_buffers();
	test_files();
	test_depth();
	test_file_limits();
	test_where();
	test_check_system();
	test_stdout_fifo();
	test_netns_files();
	test_probe_sections();
	test_reference();
	return UNIT_DONE();
}
