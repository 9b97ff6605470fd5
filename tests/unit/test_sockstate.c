/* SPDX-License-Identifier: MIT */
/*
 * The per-socket options of probes.stack_latency (bpf/sockstate.h):
 * include_hol_blocked, max_sockets and the optional standing_queue section
 * (absent, no value or false: off; true: defaults; a mapping: on), with its
 * checks (target > 0, interval >= target), and the standing-queue metrics
 * built from a series set (agent/lib/standing_queue.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "config.h"
#include "hostlat.h"
#include "probes.h"
#include "stack_latency.h"
#include "standing_queue.h"
#include "unit.h"

static const struct hl_stack_latency_conf *stack_of(const struct hl_config *c)
{
	return hl_probe_config(c, &hl_stack_latency_probe);
}

static int load(struct hl_config *cfg, const char *text, char *err, size_t errlen)
{
	return hl_config_load_string(cfg, text, strlen(text), "t.yaml", err, errlen);
}

static void test_defaults(void)
{
	struct hl_config cfg;
	char err[512];

	CHECK(load(&cfg, "", err, sizeof(err)) == 0, "empty config: %s", err);
	CHECK(!stack_of(&cfg)->include_hol_blocked, "HOL-blocked reads excluded by default");
	CHECK(!stack_of(&cfg)->standing_queue, "standing_queue off by default");
	CHECK(stack_of(&cfg)->max_sockets == 16384, "max_sockets %u", stack_of(&cfg)->max_sockets);
	hl_config_free(&cfg);
	/* The embedded default config says the same. */
	CHECK(hl_config_load(&cfg, NULL, err, sizeof(err)) == 0, "embedded: %s", err);
	CHECK(!stack_of(&cfg)->include_hol_blocked && !stack_of(&cfg)->standing_queue,
	      "embedded defaults");
	hl_config_free(&cfg);
}

static void test_switch(void)
{
	static const struct {
		const char *text;
		bool on;
		uint64_t target, interval;
	} ok[] = {
		{"probes: { stack_latency: { standing_queue: false } }", false, 0, 0},
		{"probes: { stack_latency: { standing_queue: off } }", false, 0, 0},
		{"probes: { stack_latency: { standing_queue: } }", false, 0, 0},
		{"probes: { stack_latency: { standing_queue: true } }", true, 5000000, 100000000},
		{"probes: { stack_latency: { standing_queue: {} } }", true, 5000000, 100000000},
		{"probes: { stack_latency: { standing_queue: { target: 1ms, interval: 10ms } } }",
		 true, 1000000, 10000000},
		{"probes: { stack_latency: { standing_queue: { target: 2ms, interval: 2ms } } }",
		 true, 2000000, 2000000},
		{"probes: { stack_latency: { standing_queue: { interval: 1s } } }", true, 5000000,
		 1000000000},
	};
	struct hl_config cfg;
	char err[512];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const struct hl_standing_queue_conf *sq;

		if (load(&cfg, ok[i].text, err, sizeof(err))) {
			CHECK(0, "%s: %s", ok[i].text, err);
			continue;
		}
		sq = stack_of(&cfg)->standing_queue;
		CHECK(!!sq == ok[i].on, "%s: on %d", ok[i].text, !!sq);
		if (sq && ok[i].on)
			CHECK(sq->target_ns == ok[i].target && sq->interval_ns == ok[i].interval,
			      "%s: %llu %llu", ok[i].text, (unsigned long long)sq->target_ns,
			      (unsigned long long)sq->interval_ns);
		hl_config_free(&cfg);
	}
}

static void test_bad(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{"probes: { stack_latency: { standing_queue: { target: 0s } } }",
		 "t.yaml:1:54: duration '0s' is out of range 1ns..1m (key "
		 "'probes.stack_latency.standing_queue.target')"},
		{"probes: { stack_latency: { standing_queue: { target: 10ms, interval: 1ms } } }",
		 "t.yaml:1:44: the standing-queue interval (1ms) is shorter than its target "
		 "(10ms): "
		 "a queue must stand above target for at least target (key "
		 "'probes.stack_latency.standing_queue.interval')"},
		{"probes: { stack_latency: { standing_queue: maybe } }",
		 "t.yaml:1:44: expected a mapping, true or false, got 'maybe' (key "
		 "'probes.stack_latency.standing_queue')"},
		{"probes: { stack_latency: { standing_queue: [1ms] } }",
		 "t.yaml:1:44: expected a mapping, true or false, got a list (key "
		 "'probes.stack_latency.standing_queue')"},
		{"probes: { stack_latency: { standing_queue: { targte: 1ms } } }",
		 "t.yaml:1:46: unknown key 'targte'; valid keys: target, interval (key "
		 "'probes.stack_latency.standing_queue.targte')"},
		{"probes: { stack_latency: { include_hol_blocked: sometimes } }",
		 "include_hol_blocked"},
		{"probes: { stack_latency: { max_sockets: 10 } }", "max_sockets"},
	};
	struct hl_config cfg;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int e = load(&cfg, bad[i].text, err, sizeof(err));

		CHECK(e == -EINVAL, "%s: %d", bad[i].text, e);
		CHECK(strstr(err, bad[i].want), "%s:\n  got  %s\n  want %s", bad[i].text, err,
		      bad[i].want);
		if (!e)
			hl_config_free(&cfg);
	}
}

/* A reload that turns standing_queue on or off is a probes change (restart). */
static void test_diff(void)
{
	struct hl_config a, b;
	char err[512], key[256] = "";

	CHECK(load(&a, "probes: { stack_latency: { standing_queue: false } }", err, sizeof(err)) ==
		      0,
	      "%s", err);
	CHECK(load(&b, "probes: { stack_latency: { standing_queue: { target: 1ms } } }", err,
		   sizeof(err)) == 0,
	      "%s", err);
	CHECK(hl_config_diff(&a, &b, NULL, key, sizeof(key)), "off -> on is a difference");
	CHECK(!strcmp(key, "probes.stack_latency.standing_queue"), "key %s", key);
	hl_config_free(&b);
	CHECK(load(&b, "probes: { stack_latency: { include_hol_blocked: true } }", err,
		   sizeof(err)) == 0,
	      "%s", err);
	CHECK(hl_config_diff(&a, &b, NULL, key, sizeof(key)), "include_hol_blocked differs");
	hl_config_free(&a);
	hl_config_free(&b);
}

static void test_metrics(void)
{
	struct hl_series_set ss = {0};
	struct hl_series v[4] = {0};
	struct hl_sq_points sq = {0};
	struct hl_metric out[2];
	int n;

	v[0].key.stage = HL_STAGE_TCP_SOCK_READ; /* a stage series: not ours */
	v[1].key.stage = HL_SQ_TCP_DURATION;
	v[1].key.cgroup = 7;
	snprintf(v[1].cgpath, sizeof(v[1].cgpath), "/lag");
	v[1].cum.count = 3;
	v[2].key.stage = HL_SQ_TCP_EPISODES;
	v[2].key.cgroup = 7;
	snprintf(v[2].cgpath, sizeof(v[2].cgpath), "/lag");
	v[2].cum.count = 4;
	v[2].delta.count = 1;
	v[3].key.stage = HL_SQ_UDP_EPISODES; /* udp-socket-read not measured */
	v[3].cum.count = 9;
	ss.v = v;
	ss.n = 4;
	n = hl_sq_metrics(&sq, &ss, 1U << HL_STAGE_TCP_SOCK_READ, out);
	CHECK(n == 2, "%d metrics", n);
	CHECK(!strcmp(out[0].name, HL_METRIC_SQ_EPISODES) && out[0].kind == HL_METRIC_COUNTER &&
		      !strcmp(out[0].unit, "{episode}"),
	      "episodes metric");
	CHECK(!strcmp(out[1].name, HL_METRIC_SQ_DURATION) && out[1].kind == HL_METRIC_EXPHIST &&
		      !strcmp(out[1].unit, "s"),
	      "duration metric");
	CHECK(out[0].n_points == 1 && out[0].points[0].value == 4 &&
		      out[0].points[0].value_delta == 1,
	      "episodes point: %zu", out[0].n_points);
	CHECK(out[0].n_points == 1 && out[0].points[0].n_attrs == 2 &&
		      !strcmp(out[0].points[0].attrs[0].value, "tcp-socket-read") &&
		      !strcmp(out[0].points[0].attrs[1].key, "cgroup.path") &&
		      !strcmp(out[0].points[0].attrs[1].value, "/lag"),
	      "episodes attributes");
	CHECK(out[1].n_points == 1 && out[1].points[0].cumulative == &v[1].cum &&
		      out[1].points[0].delta == &v[1].delta,
	      "duration point");
	hl_sq_points_free(&sq);
	hl_sq_points_free(&sq);
}

int main(void)
{
	test_defaults();
	test_switch();
	test_bad();
	test_diff();
	test_metrics();
	return UNIT_DONE();
}
