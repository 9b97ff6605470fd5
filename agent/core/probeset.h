/* SPDX-License-Identifier: MIT */
/*
 * The running probes: one owner for the state of every probe module
 * (probe.h) the agent starts. It holds one slot per entry of its probe
 * table (the agent's: hl_probes[], agent/probes/registry.c), in table
 * order, which is the order probes start, collect, observe and stop in.
 */
#ifndef HOSTLAT_PROBESET_H
#define HOSTLAT_PROBESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "hostlat_exporter.h"
#include "probe.h"

struct hl_probeset;

/* A set over probes (NULL-terminated), nothing running; NULL when out of memory. */
struct hl_probeset *hl_probeset_new(const struct hl_probe_ops *const *probes);
/* Stop every running probe and free the set. NULL-safe. */
void hl_probeset_free(struct hl_probeset *s);

/*
 * The config checks of every enabled probe that need the running kernel
 * (validate in probe.h), before anything loads. 0, or the first error with
 * its message in err.
 */
int hl_probeset_validate(const struct hl_probeset *s, const struct hl_config *cfg, char *err,
			 size_t errlen);

/*
 * Start every enabled probe. One that cannot start is logged ("probe X is
 * off: why") and the others run. -1, logged, when probes were wanted and
 * none runs.
 */
int hl_probeset_start(struct hl_probeset *s, const struct hl_config *cfg);

/*
 * --check: start every enabled probe with hl_probe_trial set and print to
 * f what each runs (its report, else its check) and whether this kernel
 * loaded (and attached) it, or why it cannot run; a disabled probe gets
 * one line. The probes that started stay running until stop. Returns how
 * many enabled probes cannot run.
 */
int hl_probeset_check(struct hl_probeset *s, const struct hl_config *cfg, FILE *f);

/*
 * Append every running probe's metrics to out (at most max); a probe whose
 * collection fails is logged and left out. Returns the number appended.
 */
size_t hl_probeset_collect(struct hl_probeset *s, struct hl_metric *out, size_t max);
/* Hand the complete batch to every running probe that observes it. */
void hl_probeset_observe(struct hl_probeset *s, const struct hl_batch *b);
/* Stop every running probe, in start order. NULL-safe. */
void hl_probeset_stop(struct hl_probeset *s);

/* How many probes run. 0 for NULL. */
int hl_probeset_running(const struct hl_probeset *s);
/*
 * The next running probe at or after *pos, in start order: its ops and
 * state, *pos moved past it. false when none is left. Walk them with
 *   for (size_t i = 0; hl_probeset_next(s, &i, &ops, &state);)
 */
bool hl_probeset_next(const struct hl_probeset *s, size_t *pos, const struct hl_probe_ops **ops,
		      void **state);

#endif
