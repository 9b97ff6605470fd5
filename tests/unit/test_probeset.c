/* SPDX-License-Identifier: MIT */
/*
 * The probe set (agent/core/probeset.c) over fake probes: start order and
 * the log of a probe that is off, the --check output (report or check,
 * verified or cannot run, hl_probe_trial set only meanwhile), collection
 * with a failing probe, observe, iteration, the running count, validation
 * and stop order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "probeset.h"
#include "unit.h"

static char events[512]; /* what the fakes were asked, in order */
static bool enabled_b;	 /* whether probe b is enabled */
static bool trial_seen;	 /* hl_probe_trial during the last start */

static void note(const char *what, const char *name)
{
	size_t n = strlen(events);

	snprintf(events + n, sizeof(events) - n, "%s%s %s", n ? ", " : "", what, name);
}

/* Probe i of the table is named "a" + i; its state points at its name. */
static const char *const names[] = {"a", "b", "c", "d", "e"};

static bool on(const struct hl_config *cfg)
{
	(void)cfg;
	return true;
}

static bool b_on(const struct hl_config *cfg)
{
	(void)cfg;
	return enabled_b;
}

static bool off(const struct hl_config *cfg)
{
	(void)cfg;
	return false;
}

static void *start_named(int i, char *err, size_t errlen, const char *fail)
{
	note("start", names[i]);
	trial_seen = hl_probe_trial;
	if (fail) {
		snprintf(err, errlen, "%s", fail);
		return NULL;
	}
	return (void *)names[i];
}

static void *start_a(const struct hl_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	return start_named(0, err, errlen, NULL);
}

static void *start_b(const struct hl_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	return start_named(1, err, errlen, "no hook here");
}

static void *start_c(const struct hl_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	return start_named(2, err, errlen, NULL);
}

static void *start_e(const struct hl_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	return start_named(4, err, errlen, ""); /* fails without a message */
}

static void stop(void *state)
{
	note("stop", state);
}

static void check(const struct hl_config *cfg, FILE *f)
{
	(void)cfg;
	fprintf(f, "  plan\n");
}

static void report(void *state, FILE *f)
{
	fprintf(f, "  report %s\n", (const char *)state);
}

static bool no_trial_attach(const struct hl_config *cfg)
{
	(void)cfg;
	return false;
}

static struct hl_point point;

static int collect_a(void *state, struct hl_metric *out, size_t max)
{
	note("collect", state);
	if (max < 2)
		return -ENOSPC;
	out[0] = (struct hl_metric){.name = "a.one", .points = &point, .n_points = 1};
	out[1] = (struct hl_metric){.name = "a.two"};
	return 2;
}

static int collect_c(void *state, struct hl_metric *out, size_t max)
{
	(void)out;
	(void)max;
	note("collect", state);
	return -EIO;
}

static int collect_none(void *state, struct hl_metric *out, size_t max)
{
	(void)out;
	(void)max;
	note("collect", state);
	return 0;
}

static void observe(void *state, const struct hl_batch *b)
{
	char what[32];

	snprintf(what, sizeof(what), "observe(%zu)", b->n_metrics);
	note(what, state);
}

static int validate_c(const struct hl_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	snprintf(err, errlen, "c: bad");
	return -EINVAL;
}

static const struct hl_probe_ops probe_a = {
	.name = "a",
	.enabled = on,
	.check = check,
	.report = report,
	.start = start_a,
	.collect = collect_a,
	.stop = stop,
	.observe = observe,
};
static const struct hl_probe_ops probe_b = {
	.name = "b",
	.enabled = b_on,
	.check = check,
	.start = start_b,
	.collect = collect_none,
	.stop = stop,
};
static const struct hl_probe_ops probe_c = {
	.name = "c",
	.enabled = on,
	.check = check,
	.start = start_c,
	.trial_attaches = no_trial_attach,
	.collect = collect_c,
	.stop = stop,
	.validate = validate_c,
};
static const struct hl_probe_ops probe_d = {
	.name = "d",
	.enabled = off,
	.check = check,
	.collect = collect_none,
	.stop = stop,
	.validate = validate_c, /* not asked: disabled */
};
static const struct hl_probe_ops probe_e = {
	.name = "e",
	.enabled = on,
	.check = check,
	.start = start_e,
	.collect = collect_none,
	.stop = stop,
};
static const struct hl_probe_ops *const table[] = {&probe_a, &probe_b, &probe_c,
						   &probe_d, &probe_e, NULL};
static const struct hl_config cfg;

/* Run fn(s) with stderr going into buf. */
static void capture_stderr(void (*fn)(struct hl_probeset *s, int *ret), struct hl_probeset *s,
			   int *ret, char *buf, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	buf[0] = 0;
	if (!tmp || saved < 0) {
		CHECK(0, "cannot capture stderr");
		return;
	}
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	fn(s, ret);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = 0;
	fclose(tmp);
}

static void do_start(struct hl_probeset *s, int *ret)
{
	*ret = hl_probeset_start(s, &cfg);
}

static void do_collect(struct hl_probeset *s, int *ret)
{
	struct hl_metric out[8];

	*ret = (int)hl_probeset_collect(s, out, 8);
	CHECK(*ret == 2 && !strcmp(out[0].name, "a.one") && !strcmp(out[1].name, "a.two"),
	      "collected %d", *ret);
}

static void test_run(void)
{
	struct hl_probeset *s = hl_probeset_new(table);
	const struct hl_probe_ops *ops;
	struct hl_metric one[1];
	struct hl_batch b = {.n_metrics = 7};
	char log[1024], err[64] = "";
	void *state;
	size_t i;
	int ret, k;

	CHECK(s != NULL, "new");
	if (!s)
		return;
	CHECK(hl_probeset_running(s) == 0 && hl_probeset_running(NULL) == 0, "running before");
	i = 0;
	CHECK(!hl_probeset_next(s, &i, &ops, &state), "a probe runs before start");

	CHECK(hl_probeset_validate(s, &cfg, err, sizeof(err)) == -EINVAL && !strcmp(err, "c: bad"),
	      "validate: %s", err);

	enabled_b = true;
	events[0] = 0;
	capture_stderr(do_start, s, &ret, log, sizeof(log));
	CHECK(ret == 0, "start: %d", ret);
	CHECK(!strcmp(events, "start a, start b, start c, start e"), "start order: %s", events);
	CHECK(!trial_seen, "hl_probe_trial set while starting");
	CHECK(!strcmp(log, "hostlat: warn: agent: probe b is off: no hook here\n"
			   "hostlat: warn: agent: probe e is off: cannot start\n"),
	      "start log: %s", log);
	CHECK(hl_probeset_running(s) == 2, "running: %d", hl_probeset_running(s));

	events[0] = 0;
	k = 0;
	for (i = 0; hl_probeset_next(s, &i, &ops, &state); k++)
		note(ops->name, state);
	CHECK(k == 2 && !strcmp(events, "a a, c c"), "iteration: %s", events);

	/* A failing probe is logged and left out; the others' metrics stay. */
	events[0] = 0;
	capture_stderr(do_collect, s, &ret, log, sizeof(log));
	CHECK(!strcmp(events, "collect a, collect c"), "collect order: %s", events);
	CHECK(!strcmp(log, "hostlat: error: agent: c: collection failed: Input/output error\n"),
	      "collect log: %s", log);
	/* No room: a probe's error, the same way. */
	hl_log_level = -1;
	CHECK(hl_probeset_collect(s, one, 1) == 0, "collect into 1");
	hl_log_level = HL_LOG_INFO;

	events[0] = 0;
	hl_probeset_observe(s, &b);
	CHECK(!strcmp(events, "observe(7) a"), "observe: %s", events);

	events[0] = 0;
	hl_probeset_stop(s);
	CHECK(!strcmp(events, "stop a, stop c"), "stop order: %s", events);
	CHECK(hl_probeset_running(s) == 0, "running after stop");
	events[0] = 0;
	hl_probeset_free(s);
	CHECK(!events[0], "free stopped again: %s", events);
	hl_probeset_free(NULL);
	hl_probeset_stop(NULL);
}

static void test_none_runs(void)
{
	static const struct hl_probe_ops *const failing[] = {&probe_b, &probe_d, NULL};
	static const struct hl_probe_ops *const disabled[] = {&probe_d, NULL};
	static const struct hl_probe_ops *const empty[] = {NULL};
	struct hl_probeset *s;
	char log[1024];
	int ret;

	/* Wanted and none runs: an error. */
	s = hl_probeset_new(failing);
	enabled_b = true;
	capture_stderr(do_start, s, &ret, log, sizeof(log));
	CHECK(ret == -1 && strstr(log, "probe b is off: no hook here\n") &&
		      strstr(log, "hostlat: error: agent: no probe could start\n"),
	      "none runs: %d %s", ret, log);
	hl_probeset_free(s);

	/* None wanted: not an error. */
	s = hl_probeset_new(disabled);
	capture_stderr(do_start, s, &ret, log, sizeof(log));
	CHECK(ret == 0 && !log[0], "none wanted: %d %s", ret, log);
	hl_probeset_free(s);
	s = hl_probeset_new(empty);
	CHECK(s && hl_probeset_start(s, &cfg) == 0 && hl_probeset_running(s) == 0, "empty table");
	hl_probeset_free(s);
}

static void test_check(void)
{
	struct hl_probeset *s = hl_probeset_new(table);
	char out[1024];
	FILE *f = tmpfile();
	size_t n;

	CHECK(s && f, "setup");
	if (!s || !f)
		return;
	enabled_b = true;
	events[0] = 0;
	trial_seen = false;
	CHECK(hl_probeset_check(s, &cfg, f) == 2, "two cannot run");
	CHECK(trial_seen && !hl_probe_trial, "hl_probe_trial: during %d, after %d", trial_seen,
	      hl_probe_trial);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	fclose(f);
	CHECK(!strcmp(out, "  report a\n"
			   "  verified: loaded and attached by this kernel\n"
			   "  plan\n"
			   "  cannot run: no hook here\n"
			   "  plan\n"
			   "  verified: loaded by this kernel (not attached by --check)\n"
			   "probe d: disabled\n"
			   "  plan\n"
			   "  cannot run: cannot start\n"),
	      "check output:\n%s", out);
	CHECK(hl_probeset_running(s) == 2, "the started ones run until stop");
	events[0] = 0;
	hl_probeset_free(s);
	CHECK(!strcmp(events, "stop a, stop c"), "free stops: %s", events);
}

int main(void)
{
	test_run();
	test_none_runs();
	test_check();
	return UNIT_DONE();
}
