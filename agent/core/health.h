/* SPDX-License-Identifier: MIT */
/*
 * agent.health: a small HTTP/1.1 server on its own thread for liveness and
 * readiness probes (Kubernetes, systemd, load balancers):
 *
 *   GET /healthz  200 once every probe is started and while the event loop
 *                 keeps collecting (at most 2 intervals + 10 s between two
 *                 collections), else 503
 *   GET /readyz   200 once alive and ready (see hl_health_ready_fn), else 503
 *
 * Plain sockets, at most HL_HEALTH_MAX_CONNS connections at once, each with
 * a 2 s deadline and a 1 KiB request limit: a slow or hostile client costs
 * this thread a slot for 2 s, never the probes or the event loop anything.
 */
#ifndef HOSTLAT_HEALTH_H
#define HOSTLAT_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hl_probeset;

#define HL_HEALTH_MAX_CONNS 8
#define HL_HEALTH_REQUEST_MAX 1024
#define HL_HEALTH_DEADLINE_MS 2000

struct hl_health;

/*
 * Readiness, asked by the health thread until it first answers true (then
 * the agent stays ready). false with the reason in why. It must stay
 * callable until hl_health_stop returns.
 */
typedef bool (*hl_health_ready_fn)(void *arg, char *why, size_t len);

/*
 * Bind and listen on listen, start the thread. Until hl_health_started,
 * both endpoints answer 503 (starting). NULL with one message in err.
 */
struct hl_health *hl_health_start(const char *listen, uint64_t interval_ns,
				  hl_health_ready_fn ready, void *arg, char *err, size_t errlen);
/* Every probe has started; /healthz reports how many of probes run. */
void hl_health_started(struct hl_health *h, const struct hl_probeset *probes);
/* A collection ran (the event loop is alive). NULL-safe. */
void hl_health_beat(struct hl_health *h);
/* agent.interval changed (a reload): the staleness limit follows, counted
 * from now (hl_health_start sets the first one the same way). NULL-safe. */
void hl_health_set_interval(struct hl_health *h, uint64_t interval_ns);
/* Tests: call the loop stalled after ns without a collection. */
void hl_health_set_stale_after(struct hl_health *h, uint64_t ns);
/* Stop the thread, close every socket. NULL-safe. */
void hl_health_stop(struct hl_health *h);

#endif
