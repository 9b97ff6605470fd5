/* SPDX-License-Identifier: MIT */
/*
 * hostlat: the agent's entry point and its event loop (epoll + timerfd +
 * signalfd). Every agent.interval it collects the probes' maps into one
 * batch and hands it to every exporter.
 */
#include <errno.h>
#include <malloc.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cmd.h"
#include "clock.h"
#include "config.h"
#include "health.h"
#include "hostlat_exporter.h"
#include "kernel.h"
#include "nflink.h"
#include "log.h"
#include "pipeline.h"
#include "plugin.h"
#include "privs.h"
#include "probeset.h"
#include "resource.h"
#include <linux/types.h>

#include "hostlat.h"
#include "probe.h"
#include "traffic.h"

#define MAX_METRICS 128

enum { EXIT_CONFIG = 2 };

struct exporter {
	struct hl_pipeline *pipe;
	char name[72];		       /* config names are at most 64 characters */
	struct hl_pipeline_stats prev; /* at the previous collection */
	void *plugin;		       /* dlopen handle for modules */
};

/* Self-metrics of the pipelines: one metric per statistic. */
enum { XS_SENT, XS_FAILED, XS_DROPPED, XS_RETRIES, XS_REJECTED, XS_THROTTLED, XS_COUNT };

/*
 * Exporters a SIGHUP replaced (or that a rejected reload had started),
 * stopping on their own threads: the event loop only looks whether they
 * have ended (reap_retired), and the exit waits for them with the rest.
 */
struct retired {
	struct exporter *v;
	size_t n;
	uint64_t drain_at; /* CLOCK_MONOTONIC ns */
	bool warned;	   /* that one is still running long after drain_at */
	struct retired *next;
};

struct agent {
	struct hl_config cfg;
	struct hl_probeset *probes; /* the running ones of hl_probes[] */
	struct exporter *exporters;
	size_t n_exporters;
	struct hl_resource resource;
	uint64_t start_ns, prev_ns;
	struct hl_metric metrics[MAX_METRICS];
	struct hl_point *xs_points; /* XS_COUNT * n_exporters */
	struct hl_health *health;   /* agent.health; NULL: off */
	const char *config_path;    /* --config, read again on SIGHUP; NULL: embedded */
	bool log_level_fixed;	    /* --log-level given: a reload keeps it */
	struct retired *retired;    /* replaced exporters still stopping */
	uint64_t stop_ns;	    /* CLOCK_MONOTONIC ns of SIGINT/SIGTERM; 0: none */
};

/* The exporters array: the health thread reads it, a SIGHUP reload swaps it. */
static pthread_mutex_t exporters_lock = PTHREAD_MUTEX_INITIALIZER;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hostlat [OPTIONS]\n"
		"Watch the latency this host's network stack adds, in the kernel, and export it.\n"
		"\n"
		"  -c, --config FILE       YAML config (default: the embedded default config)\n"
		"      --check             load the config, load and attach every enabled probe,\n"
		"                          print what each runs through which hook (or why it\n"
		"                          cannot), detach; exit 0 when the config is valid and\n"
		"                          every enabled probe runs, 1 when one cannot\n"
		"  -l, --log-level LEVEL   error, warn, info (default) or debug; overrides the "
		"config\n"
		"      --config-reference  print every config key (Markdown) and exit\n"
		"      --print-default-config  print the embedded default config and exit\n"
		"  -h, --help              this text\n"
		"  -V, --version           print the version\n"
		"\n"
		"Exit status: 0 success, 1 runtime failure, 2 bad usage or config.\n"
		"Runs until SIGINT or SIGTERM, then exports once more and detaches every probe.\n"
		"\n"
		"Other commands (each with --help): hostlat traffic show|list|merge, hostlat ping\n"
		"HOST[:PORT] (ask an XDP responder), hostlat respond (answer from user space).\n");
}

static int start_exporters(struct agent *a)
{
	char err[256];

	a->exporters = calloc(a->cfg.exporters.n ? a->cfg.exporters.n : 1, sizeof(*a->exporters));
	a->xs_points = calloc((a->cfg.exporters.n ? a->cfg.exporters.n : 1) * XS_COUNT,
			      sizeof(*a->xs_points));
	if (!a->exporters || !a->xs_points)
		return -ENOMEM;
	for (size_t i = 0; i < a->cfg.exporters.n; i++) {
		const struct hl_exporter_conf *ec = &a->cfg.exporters.v[i];
		struct exporter *e = &a->exporters[a->n_exporters];
		const struct hl_exporter_ops *ops = ec->type;
		struct hl_module_params params = {0};
		void *state;

		err[0] = 0;
		if (!ops) { /* type: plugin */
			if (hl_plugin_load(ec->plugin_path, &e->plugin, &ops, err, sizeof(err)) ||
			    hl_plugin_params(&ec->plugin_config, &params)) {
				hl_err("agent", "%s:%d:%d: %s", a->cfg.path, ec->line, ec->column,
				       err[0] ? err : "out of memory");
				hl_plugin_unload(e->plugin);
				e->plugin = NULL;
				return -EINVAL;
			}
		}
		snprintf(e->name, sizeof(e->name), "%s", ec->name ? ec->name : ops->name);
		state = ops->init(ec->type ? ec->conf : (const void *)&params, err, sizeof(err));
		hl_plugin_params_free(&params);
		if (!state) {
			hl_err("agent", "%s:%d:%d: exporter %s: %s", a->cfg.path, ec->line,
			       ec->column, e->name, err[0] ? err : strerror(errno));
			hl_plugin_unload(e->plugin);
			e->plugin = NULL;
			return -EINVAL;
		}
		a->n_exporters++; /* from here on finish_stop unloads the plugin */
		e->pipe = hl_pipeline_start(e->name, ops, state, ec);
		if (!e->pipe) {
			hl_err("agent", "exporter %s: cannot start its thread", e->name);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Readiness (agent.health): every exporter has delivered a batch. */
static bool exporters_ready(void *arg, char *why, size_t len)
{
	struct agent *a = arg;
	bool ready = true;

	pthread_mutex_lock(&exporters_lock);
	for (size_t i = 0; i < a->n_exporters && ready; i++) {
		if (!hl_pipeline_ever_sent(a->exporters[i].pipe)) {
			snprintf(why, len, "not ready: exporter %s has not delivered a batch yet",
				 a->exporters[i].name);
			ready = false;
		}
	}
	pthread_mutex_unlock(&exporters_lock);
	return ready;
}

/* Tell each exporter to stop; nothing waits here. */
static void begin_stop(struct exporter *v, size_t n, uint64_t drain_at)
{
	for (size_t i = 0; i < n; i++)
		hl_pipeline_stop_begin(v[i].pipe, drain_at);
}

/*
 * Wait for each stopping exporter until deadline (0: only look), free
 * those that ended and unload their modules; with abandon, give up on the
 * others (their modules stay loaded: their threads may still run them).
 * Returns how many have not ended (abandoned, with abandon).
 */
static size_t finish_stop(struct exporter *v, size_t n, uint64_t deadline, bool abandon)
{
	size_t left = 0;

	for (size_t i = 0; i < n; i++) {
		struct exporter *e = &v[i];

		if (e->pipe && !hl_pipeline_wait(e->pipe, deadline) && !abandon) {
			left++;
			continue;
		}
		if (hl_pipeline_release(e->pipe))
			hl_plugin_unload(e->plugin);
		else
			left++;
		e->pipe = NULL;
		e->plugin = NULL;
	}
	return left;
}

/*
 * Move exporters (v, n, with their self-metric points) to the retired
 * list in r (allocated beforehand, so this cannot fail): each gets until
 * drain_at to send what it queued, on its own thread.
 */
static void retire(struct agent *a, struct retired *r, struct exporter *v, size_t n,
		   struct hl_point *xs_points, uint64_t drain_at)
{
	free(xs_points);
	begin_stop(v, n, drain_at);
	*r = (struct retired){.v = v, .n = n, .drain_at = drain_at, .next = a->retired};
	a->retired = r;
}

/*
 * Free the retired exporters that have ended (deadline 0: without
 * waiting); at the exit (abandon), wait until deadline and give up on
 * the rest. Returns how many were abandoned.
 */
static size_t reap_retired(struct agent *a, uint64_t deadline, bool abandon)
{
	struct retired **pp = &a->retired;
	size_t abandoned = 0;

	while (*pp) {
		struct retired *r = *pp;
		size_t left = finish_stop(r->v, r->n, deadline, abandon);

		if (abandon)
			abandoned += left;
		if (!left || abandon) {
			*pp = r->next;
			free(r->v);
			free(r);
			continue;
		}
		if (!r->warned && hl_mono_ns() > r->drain_at + 10000000000ULL) {
			hl_warn("agent",
				"%zu exporter(s) replaced by SIGHUP still busy 10s after their "
				"deadline: their threads and modules stay until they return",
				left);
			r->warned = true;
		}
		pp = &r->next;
	}
	return abandoned;
}

/* Statistic k (XS_*) of st. */
static uint64_t xs_value(const struct hl_pipeline_stats *st, int k)
{
	switch (k) {
	case XS_SENT:
		return st->sent;
	case XS_FAILED:
		return st->failed;
	case XS_DROPPED:
		return st->dropped;
	case XS_RETRIES:
		return st->retries;
	case XS_REJECTED:
		return st->rejected;
	default:
		return st->throttled;
	}
}

/* hostlat.exporter.* counters, from the pipelines' statistics. */
static size_t exporter_metrics(struct agent *a, struct hl_metric *out, size_t max)
{
	static const struct {
		const char *name, *desc, *unit;
	} defs[XS_COUNT] = {
		[XS_SENT] = {"hostlat.exporter.sent", "Batches the receiver accepted", "{batch}"},
		[XS_FAILED] = {"hostlat.exporter.failed", "Export attempts that failed",
			       "{attempt}"},
		[XS_DROPPED] = {"hostlat.exporter.dropped",
				"Batches given up: queue full, refused, or out of retry time",
				"{batch}"},
		[XS_RETRIES] = {"hostlat.exporter.retries", "Export attempts that were retries",
				"{attempt}"},
		[XS_REJECTED] = {"hostlat.exporter.rejected",
				 "Data points the receiver refused in partial successes",
				 "{point}"},
		[XS_THROTTLED] = {"hostlat.exporter.throttled",
				  "Hold-offs: a receiver's Retry-After outlasted a batch's retry "
				  "time; the batch was dropped and nothing sent until it ended",
				  "{holdoff}"},
	};
	size_t m = 0;

	if (!a->n_exporters || max < XS_COUNT)
		return 0;
	for (int k = 0; k < XS_COUNT; k++) {
		struct hl_point *pts = &a->xs_points[k * a->n_exporters];

		for (size_t i = 0; i < a->n_exporters; i++) {
			struct exporter *e = &a->exporters[i];
			struct hl_pipeline_stats st;
			uint64_t v, was;

			hl_pipeline_get_stats(e->pipe, &st);
			v = xs_value(&st, k);
			was = xs_value(&e->prev, k);
			memset(&pts[i], 0, sizeof(pts[i]));
			pts[i].attrs[0] = (struct hl_attr){"exporter", e->name};
			pts[i].n_attrs = 1;
			pts[i].value = v;
			pts[i].value_delta = v - was;
			if (k == XS_COUNT - 1)
				e->prev = st;
		}
		out[m++] = (struct hl_metric){.name = defs[k].name,
					      .description = defs[k].desc,
					      .unit = defs[k].unit,
					      .kind = HL_METRIC_COUNTER,
					      .points = pts,
					      .n_points = a->n_exporters};
	}
	return m;
}

static void collect_and_export(struct agent *a, bool final)
{
	struct hl_batch b = {0};
	struct hl_snapshot *snap;
	size_t n;

	n = hl_probeset_collect(a->probes, a->metrics, MAX_METRICS);
	n += exporter_metrics(a, a->metrics + n, MAX_METRICS - n);
	b.start_unix_ns = a->start_ns;
	b.prev_unix_ns = a->prev_ns;
	b.time_unix_ns = hl_unix_ns();
	b.resource = a->resource.attrs;
	b.n_resource = a->resource.n;
	b.scope_name = "hostlat";
	b.scope_version = HOSTLAT_VERSION;
	b.metrics = a->metrics;
	b.n_metrics = n;
	b.final = final;
	hl_probeset_observe(a->probes, &b);
	snap = hl_snapshot_new(&b);
	if (!snap) {
		hl_err("agent", "out of memory: the batch of this interval is lost");
		return;
	}
	for (size_t i = 0; i < a->n_exporters; i++)
		hl_pipeline_push(a->exporters[i].pipe, snap);
	hl_snapshot_unref(snap);
	a->prev_ns = b.time_unix_ns;
}

/*
 * HOSTLAT_DISABLE_HOOKS=fentry,kprobe,netfilter: hooks not to use even where the
 * kernel has them (a kernel whose trampolines or kprobes misbehave, or a
 * test of the fallbacks). -1 with a message for an unknown name.
 */
static int disable_hooks(const char *list)
{
	char buf[64], *save = NULL;

	if (!list || !*list)
		return 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		if (!strcmp(t, "fentry"))
			hl_kernel_disable_trampolines("not used: HOSTLAT_DISABLE_HOOKS");
		else if (!strcmp(t, "kprobe"))
			hl_kernel_disable_kprobes("not used: HOSTLAT_DISABLE_HOOKS");
		else if (!strcmp(t, "netfilter"))
			hl_nf_disable("not used: HOSTLAT_DISABLE_HOOKS");
		else {
			fprintf(stderr,
				"hostlat: error: HOSTLAT_DISABLE_HOOKS: unknown hook '%s' (fentry, "
				"kprobe, netfilter)\n",
				t);
			return -1;
		}
	}
	return 0;
}

/*
 * --check: start every enabled probe as the agent would (the kernel loads
 * and verifies its programs and they attach), print what each runs, and
 * stop them all. The plan alone is not the truth: a verifier may refuse a
 * program on a hook that exists. -1 when an enabled probe cannot run.
 */
static int check_probes(struct agent *a, bool log_fixed)
{
	int failed, level = hl_log_level;

	/* The report is on stdout: the probes' own log lines only when asked. */
	if (!log_fixed)
		hl_log_level = HL_LOG_ERROR;
	if (hl_kernel_ensure_tracefs())
		hl_debug("agent", "tracefs is not mounted and cannot be (not needed for tp_btf)");
	failed = hl_probeset_check(a->probes, &a->cfg, stdout);
	hl_log_level = level;
	if (failed)
		fprintf(stderr,
			"hostlat: %d enabled probe%s cannot run on this kernel (see above)\n",
			failed, failed > 1 ? "s" : "");
	return failed ? -1 : 0;
}

static void handled_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGHUP);
}

/* The signal mask the agent was started with (the commands and --check get it back). */
static sigset_t start_mask;

/*
 * From the first instruction on, SIGINT, SIGTERM and SIGHUP are the
 * agent's to handle (a SIGTERM exits 0), not the default's (killed): they
 * are blocked from the executable's .preinit_array, which runs before any
 * library is initialised. Threads inherit the mask, so the signals reach
 * only the event loop's signalfd.
 */
static void block_signals_early(int argc, char **argv, char **envp)
{
	sigset_t mask;

	(void)argc;
	(void)argv;
	(void)envp;
	handled_signals(&mask);
	sigprocmask(SIG_BLOCK, &mask, &start_mask);
}

typedef void (*preinit_fn)(int, char **, char **);
__attribute__((section(".preinit_array"), used)) static const preinit_fn preinit =
	block_signals_early;

/* SIGTERM or SIGINT arrived (blocked, not read yet): its number, else 0. */
static int stop_pending(void)
{
	sigset_t set;

	if (sigpending(&set))
		return 0;
	return sigismember(&set, SIGTERM) ? SIGTERM : sigismember(&set, SIGINT) ? SIGINT : 0;
}

/* Before the event loop runs: a SIGTERM or SIGINT so far stops the agent (exit 0). */
static bool stopped_early(struct agent *a)
{
	int sig = stop_pending();

	if (!sig)
		return false;
	a->stop_ns = hl_mono_ns();
	hl_info("agent", "%s before the agent was running: stopping", strsignal(sig));
	return true;
}

/*
 * Stop every exporter, SIGHUP's retired ones included, within the
 * shutdown deadline (agent.shutdown_timeout after SIGINT/SIGTERM): the
 * queues get one interval, ending 0.5 s before the deadline at the latest
 * (then requests in flight are cancelled); an exporter that has still not
 * ended at the deadline is abandoned. The probes are detached meanwhile.
 * Returns how many exporters were abandoned.
 */
static size_t shutdown_all(struct agent *a)
{
	uint64_t t0 = a->stop_ns ? a->stop_ns : hl_mono_ns();
	uint64_t timeout = a->cfg.agent.shutdown_timeout_ns, deadline = t0 + timeout;
	uint64_t drain = a->cfg.agent.interval_ns, lead = 500000000ULL;
	uint64_t latest = timeout > 2 * lead ? timeout - lead : timeout / 2;
	size_t abandoned;

	if (drain > latest)
		drain = latest;
	begin_stop(a->exporters, a->n_exporters, t0 + drain);
	for (struct retired *r = a->retired; r; r = r->next)
		begin_stop(r->v, r->n, t0 + drain);
	hl_health_stop(a->health);
	a->health = NULL;
	hl_probeset_free(a->probes);
	a->probes = NULL;
	abandoned = finish_stop(a->exporters, a->n_exporters, deadline, true);
	abandoned += reap_retired(a, deadline, true);
	free(a->exporters);
	free(a->xs_points);
	a->exporters = NULL;
	a->xs_points = NULL;
	a->n_exporters = 0;
	return abandoned;
}

/* Collect every iv ns from now on; the first expiry one interval from now. */
static int arm_timer(int tfd, uint64_t iv)
{
	struct itimerspec its = {0};

	its.it_interval.tv_sec = (time_t)(iv / 1000000000ULL);
	its.it_interval.tv_nsec = (long)(iv % 1000000000ULL);
	its.it_value = its.it_interval;
	return timerfd_settime(tfd, 0, &its, NULL);
}

/*
 * SIGHUP: read the config file again. What can change while the agent runs
 * is applied: agent.interval, agent.log_level (unless --log-level was
 * given), agent.shutdown_timeout, resource and exporters (all restarted
 * when the list changed; the old ones get up to one interval, at most 1 s,
 * to send what they queued, on their own threads: the event loop never
 * waits for them); a new interval also moves the health server's
 * staleness limit.
 * Anything else, the probes above all, needs a restart: the agent drops
 * the capabilities that load probes once they run. A config that does not
 * load, changes such a key, or whose exporters cannot start is rejected
 * with one message, and the running config stays as it was.
 */
static void reload(struct agent *a, int tfd)
{
	static const char *const reloadable[] = {
		"agent.interval", "agent.log_level", "agent.shutdown_timeout",
		"resource",	  "exporters",	     NULL,
	};
	static const char *const not_exporters[] = {"agent", "resource", NULL};
	static const char *const not_resource[] = {"agent", "exporters", NULL};
	struct agent fresh = {0};
	struct hl_config n, tmp;
	char err[1024], key[256];
	bool new_exporters, new_resource;
	struct retired *r = NULL;
	uint64_t iv, drain;

	if (!a->config_path) {
		hl_warn("agent",
			"SIGHUP: running on the embedded default config: nothing to reload");
		return;
	}
	if (hl_config_load(&n, a->config_path, err, sizeof(err))) {
		hl_err("agent", "SIGHUP: config rejected, the running one is kept: %s", err);
		return;
	}
	iv = n.agent.interval_ns;
	if (hl_config_diff(&a->cfg, &n, reloadable, key, sizeof(key))) {
		hl_err("agent",
		       "SIGHUP: config %s rejected, the running one is kept: '%s' changed; only "
		       "agent.interval, agent.log_level, agent.shutdown_timeout, resource and "
		       "exporters can change while the agent runs (restart it to apply the rest)",
		       n.path, key);
		goto out;
	}
	new_exporters = hl_config_diff(&a->cfg, &n, not_exporters, key, sizeof(key));
	new_resource = hl_config_diff(&a->cfg, &n, not_resource, key, sizeof(key));
	if (new_exporters) {
		/* Allocated first: retiring either set of exporters cannot fail. */
		r = calloc(1, sizeof(*r));
		if (!r) {
			hl_err("agent", "SIGHUP: config %s rejected, the running one is kept: %s",
			       n.path, strerror(ENOMEM));
			goto out;
		}
		fresh.cfg = n; /* shares n's exporter list: n.exporters moves to a->cfg below */
		drain = a->cfg.agent.interval_ns < 1000000000ULL ? a->cfg.agent.interval_ns
								 : 1000000000ULL;
		if (start_exporters(&fresh)) {
			retire(a, r, fresh.exporters, fresh.n_exporters, fresh.xs_points,
			       hl_mono_ns());
			hl_err("agent",
			       "SIGHUP: config %s rejected, the running one is kept: an exporter "
			       "cannot start (above)",
			       n.path);
			goto out;
		}
		pthread_mutex_lock(&exporters_lock);
		retire(a, r, a->exporters, a->n_exporters, a->xs_points, hl_mono_ns() + drain);
		a->exporters = fresh.exporters;
		a->n_exporters = fresh.n_exporters;
		a->xs_points = fresh.xs_points;
		pthread_mutex_unlock(&exporters_lock);
		tmp.exporters = a->cfg.exporters;
		a->cfg.exporters = n.exporters;
		n.exporters = tmp.exporters; /* freed with n */
	}
	if (new_resource) {
		tmp.resource = a->cfg.resource;
		a->cfg.resource = n.resource;
		n.resource = tmp.resource;
		hl_resource_free(&a->resource);
		hl_resource_build(&a->resource, &a->cfg.resource.attributes);
	}
	if (iv != a->cfg.agent.interval_ns) {
		if (arm_timer(tfd, iv) < 0) {
			hl_err("agent", "SIGHUP: cannot change the interval: %s", strerror(errno));
		} else {
			a->cfg.agent.interval_ns = iv;
			hl_health_set_interval(a->health, iv);
		}
	}
	a->cfg.agent.log_level = n.agent.log_level;
	a->cfg.agent.shutdown_timeout_ns = n.agent.shutdown_timeout_ns;
	if (!a->log_level_fixed)
		hl_log_level = n.agent.log_level;
	hl_info("agent", "SIGHUP: config %s reloaded: exporting every %.3gs to %zu exporter(s)%s%s",
		n.path, a->cfg.agent.interval_ns * 1e-9, a->n_exporters,
		new_exporters ? " (restarted)" : "",
		new_resource ? "; new resource attributes" : "");
out:
	hl_config_free(&n);
}

static int run_loop(struct agent *a)
{
	struct epoll_event ev = {.events = EPOLLIN};
	sigset_t mask;
	int ep = -1, tfd = -1, sfd = -1, ret = 1;

	handled_signals(&mask);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || ep < 0) {
		hl_err("agent", "cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	if (arm_timer(tfd, a->cfg.agent.interval_ns) < 0) {
		hl_err("agent", "cannot start the interval timer: %s", strerror(errno));
		goto out;
	}
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);

	for (;;) {
		struct epoll_event got[4];
		int n = epoll_wait(ep, got, 4, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			hl_err("agent", "epoll_wait: %s", strerror(errno));
			goto out;
		}
		for (int i = 0; i < n; i++) {
			if (got[i].data.fd == tfd) {
				uint64_t expirations;

				if (read(tfd, &expirations, sizeof(expirations)) > 0) {
					if (expirations > 1)
						hl_warn("agent",
							"collection ran late: %llu intervals "
							"merged into one",
							(unsigned long long)expirations);
					collect_and_export(a, false);
					hl_health_beat(a->health);
				}
				if (a->retired)
					reap_retired(a, 0, false);
			} else if (got[i].data.fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					reload(a, tfd);
					continue;
				}
				a->stop_ns = hl_mono_ns();
				hl_info("agent", "%s: exporting once more and stopping",
					strsignal((int)si.ssi_signo));
				collect_and_export(a, true);
				ret = 0;
				goto out;
			}
		}
	}
out:
	if (ep >= 0)
		close(ep);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'k'},
		{"log-level", required_argument, NULL, 'l'},
		{"config-reference", no_argument, NULL, 'R'},
		{"print-default-config", no_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct agent a = {0};
	const char *config_path = NULL;
	int log_override = -1, c, ret = 1;
	bool check = false;
	char err[1024] = "";
	size_t abandoned;

	/* Signals are blocked since block_signals_early; the commands get them back. */
	if (argc > 1 && (!strcmp(argv[1], "traffic") || !strcmp(argv[1], "ping") ||
			 !strcmp(argv[1], "respond")))
		sigprocmask(SIG_SETMASK, &start_mask, NULL);
	if (argc > 1 && !strcmp(argv[1], "traffic"))
		return hl_traffic_cli(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "ping"))
		return hl_ping_cli(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "respond"))
		return hl_respond_cli(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "c:l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'l':
			log_override = hl_log_level_parse(optarg);
			if (log_override < 0) {
				fprintf(stderr,
					"hostlat: unknown log level '%s' (error, warn, info, "
					"debug)\n",
					optarg);
				return EXIT_CONFIG;
			}
			break;
		case 'R':
			hl_config_print_reference(stdout);
			return 0;
		case 'D':
			fputs(hl_default_config, stdout);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hostlat %s\n", HOSTLAT_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hostlat: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_CONFIG;
	}

	if (hl_config_load(&a.cfg, config_path, err, sizeof(err))) {
		fprintf(stderr, "hostlat: error: config: %s\n", err);
		return EXIT_CONFIG;
	}
	hl_log_level = log_override >= 0 ? log_override : a.cfg.agent.log_level;
	a.config_path = config_path;
	a.log_level_fixed = log_override >= 0;
	hl_log_setup_libbpf();
	if (disable_hooks(getenv("HOSTLAT_DISABLE_HOOKS"))) {
		ret = EXIT_CONFIG;
		goto out;
	}
	if (config_path && hl_privs_untrusted_path(config_path, err, sizeof(err)))
		hl_warn("agent", "config %s: users other than root can change it: %s", config_path,
			err);

	if (!check && stopped_early(&a)) {
		ret = 0;
		goto out;
	}
	a.probes = hl_probeset_new(hl_probes);
	if (!a.probes) {
		hl_err("agent", "out of memory");
		goto out;
	}
	/* Config checks that need the running kernel (BTF), for --check too. */
	if (hl_probeset_validate(a.probes, &a.cfg, err, sizeof(err))) {
		fprintf(stderr, "hostlat: error: config: %s\n", err);
		ret = EXIT_CONFIG;
		goto out;
	}

	if (check) {
		sigprocmask(SIG_SETMASK, &start_mask, NULL);
		/* What the exporters need at start: files, host names (a lookup). */
		if (hl_config_check_system(&a.cfg, err, sizeof(err))) {
			fprintf(stderr, "hostlat: error: config: %s\n", err);
			ret = EXIT_CONFIG;
			goto out;
		}
		for (size_t i = 0; i < a.cfg.exporters.n; i++) {
			const struct hl_exporter_conf *ec = &a.cfg.exporters.v[i];
			const struct hl_exporter_ops *ops;
			void *handle;

			if (ec->type)
				continue;
			if (hl_plugin_load(ec->plugin_path, &handle, &ops, err, sizeof(err))) {
				fprintf(stderr, "hostlat: error: config: %s:%d:%d: %s\n",
					a.cfg.path, ec->line, ec->column, err);
				ret = EXIT_CONFIG;
				goto out;
			}
			printf("plugin %s: exporter '%s', ABI %u\n", ec->plugin_path, ops->name,
			       ops->abi_version);
			hl_plugin_unload(handle);
		}
		printf("config %s: valid\n", a.cfg.path);
		if (hl_kernel_btf_error())
			printf("kernel: %s\n", hl_kernel_btf_error());
		ret = check_probes(&a, log_override >= 0) ? EXIT_FAILURE : 0;
		goto out;
	}

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	hl_resource_build(&a.resource, &a.cfg.resource.attributes);
	if (stopped_early(&a)) {
		ret = 0;
		goto out;
	}
	if (start_exporters(&a)) {
		ret = EXIT_CONFIG;
		goto out;
	}
	if (hl_kernel_ensure_tracefs())
		hl_debug("agent", "tracefs is not mounted and cannot be (not needed for tp_btf)");
	if (a.cfg.agent.health.listen &&
	    !(a.health = hl_health_start(a.cfg.agent.health.listen, a.cfg.agent.interval_ns,
					 exporters_ready, &a, err, sizeof(err)))) {
		hl_err("agent", "%s", err);
		goto out;
	}
	if (stopped_early(&a)) {
		ret = 0;
		goto out;
	}
	if (hl_probeset_start(a.probes, &a.cfg))
		goto out;
	hl_privs_drop_after_start(a.probes);
	/* What only the start needed (kernel BTF, object files, verifier logs) goes back. */
	hl_kernel_release_btf();
	malloc_trim(0);
	hl_health_started(a.health, a.probes);
	a.start_ns = a.prev_ns = hl_unix_ns();
	hl_info("agent", "hostlat %s running; exporting every %.3gs to %zu exporter(s)",
		HOSTLAT_VERSION, a.cfg.agent.interval_ns * 1e-9, a.n_exporters);
	ret = run_loop(&a);
out:
	abandoned = shutdown_all(&a);
	if (abandoned) {
		/* Their threads may still run in the exporters, libcurl or stdio: exit now. */
		hl_warn("agent", "exiting with %zu exporter thread(s) abandoned", abandoned);
		fflush(stderr);
		_exit(ret);
	}
	hl_resource_free(&a.resource);
	hl_config_free(&a.cfg);
	hl_kernel_cleanup();
	curl_global_cleanup();
	return ret;
}
