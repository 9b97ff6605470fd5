/* SPDX-License-Identifier: MIT */
/*
 * Exemplars of the duration histograms (bpf/exemplar.h): every interval,
 * per series, the largest sample of the interval with the task and the
 * connection it belongs to. The reader bumps the object's epoch, reads
 * each series' per-CPU slots, keeps the largest of the closed interval
 * whose copy is whole, and hangs it on the series' histograms. Two slots
 * per series and CPU (even and odd epochs): the new interval writes the
 * other one while the closed one is read.
 */
#ifndef HOSTLAT_EXEMPLAR_LIB_H
#define HOSTLAT_EXEMPLAR_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "hostlat_exporter.h"
#include "series.h"
#include "../../bpf/exemplar.h" /* struct hl_ex_slot */

struct hl_ex_reader {
	bool on;
	int ncpus;
	volatile uint32_t *epoch; /* the object's ex_epoch (mapped .bss) */
	struct hl_ex_slot *buf;	  /* ncpus slots */
	struct hl_exemplar *ex;	  /* per series, parallel to ss->v */
	size_t cap;
	uint64_t torn; /* copies refused because a write was in progress */
	bool wrapped;  /* the epoch wrapped at the last collection */
};

struct bpf_map;
/*
 * Before load: size the exemplar maps of an object for ss's layout (the
 * dense array to its ids, else the hash like the series map; 1 when off).
 */
void hl_ex_size_maps(const struct hl_series_set *ss, bool on, struct bpf_map *dense,
		     struct bpf_map *hash);
/* After load: epoch is the object's ex_epoch, set to the first interval. */
void hl_ex_init(struct hl_ex_reader *r, bool on, int ncpus, volatile uint32_t *epoch);
/*
 * Close the interval and attach its exemplars to ss's series (their
 * cumulative and delta histograms; NULL where none). Call right after
 * ss's collection. 0 or -errno (nothing attached).
 */
int hl_ex_collect(struct hl_ex_reader *r, struct hl_series_set *ss, int dense_fd, int hash_fd);
void hl_ex_free(struct hl_ex_reader *r); /* idempotent */

/* ---- exposed for the unit tests --------------------------------------------------------------- */

/* The next epoch after e (2 after the last, which is odd: the parity alternates). */
uint32_t hl_ex_next_epoch(uint32_t e);
/*
 * Of n per-CPU copies of a slot, the largest of interval epoch that no
 * write tore (head == tail); false when none. *torn counts torn copies.
 */
bool hl_ex_pick(const struct hl_ex_slot *cpus, int n, uint32_t epoch, struct hl_ex_slot *out,
		uint64_t *torn);
/*
 * The exemplar of slot sl: its time (CLOCK_MONOTONIC + mono_to_unix ns)
 * and attributes, cgroup the path of sl->cgroup (NULL: cgroup-id-N).
 */
void hl_exemplar_build(struct hl_exemplar *e, const struct hl_ex_slot *sl, int64_t mono_to_unix,
		       const char *cgroup);
/* The value of attribute key, or NULL. */
const char *hl_exemplar_attr(const struct hl_exemplar *e, const char *key);
/*
 * For people: "pid 1234 reader, 198.18.0.1:40000 -> :5001" (what is
 * known of it). The length snprintf would write.
 */
int hl_exemplar_describe(const struct hl_exemplar *e, char *buf, size_t len);

#endif
