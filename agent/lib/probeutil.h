/* SPDX-License-Identifier: MIT */
/*
 * Helpers the probe modules share: choosing which programs of a BPF object
 * load, attaching them, reading per-CPU counters (with deltas between
 * reads), and filling metric points.
 */
#ifndef HOSTLAT_PROBEUTIL_H
#define HOSTLAT_PROBEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostlat_exporter.h"
#include "maputil.h"

struct bpf_object;
struct hl_config;
struct bpf_link;

/*
 * The message for a skeleton load that failed with e (< 0), in err: "the
 * kernel refused WHAT: ERROR (PROG: verifier: VERDICT; ...)" with the
 * verifier's verdict when libbpf reported one since hl_bpf_failure_reset()
 * (call it right before the load).
 */
void hl_bpf_load_error(int e, const char *what, char *err, size_t errlen);

/*
 * A probe's start, in three steps around its own set-up (autoload, rodata,
 * map sizes): hl_skel_opened(X_bpf__open()) checks the open (0, or -errno
 * with "cannot open the BPF object: ..." in err); hl_skel_load loads
 * skel->skeleton with the message above on failure; hl_skel_load_attach
 * also attaches every program with autoload on into l ("WHAT could not be
 * attached" when none did). Each returns 0 or -errno.
 */
struct bpf_object_skeleton;
struct hl_links;
int hl_skel_opened(const void *skel, char *err, size_t errlen);
int hl_skel_load(struct bpf_object_skeleton *s, const char *what, char *err, size_t errlen);
int hl_skel_load_attach(struct bpf_object_skeleton *s, const char *what, const char *comp,
			struct hl_links *l, char *err, size_t errlen);

/* Append an attribute to p (ignored beyond HL_MAX_ATTRS). */
void hl_point_attr(struct hl_point *p, const char *key, const char *value);
/* A counter point with value and delta. */
void hl_point_counter(struct hl_point *p, uint64_t value, uint64_t prev);

/* Turn autoload off for every program of obj. */
void hl_bpf_autoload_none(struct bpf_object *obj);
/* Turn autoload on for the program called name; -ENOENT when there is none. */
int hl_bpf_autoload(struct bpf_object *obj, const char *name);

/* The links of one loaded object. */
struct hl_links {
	struct bpf_link **v;
	size_t n;
};

/*
 * Attach every program of obj that has autoload on, keeping the links in
 * l. A program that fails is logged under comp and skipped. Returns the
 * number attached (>= 0) or -ENOMEM.
 */
int hl_bpf_attach_loaded(struct bpf_object *obj, const char *comp, struct hl_links *l);
void hl_links_destroy(struct hl_links *l); /* idempotent */

/*
 * A network-namespace filter value (`host`, `all`, a path or an inode
 * number) as an inode; 0 means every namespace. key names the config key
 * in the message written to err.
 */
int hl_resolve_netns(const char *spec, const char *key, uint64_t *ino, char *err, size_t errlen);
/*
 * For a probe's validate: a network-namespace path in the config (key,
 * e.g. "probes.napi.network_namespace") that exists but is not a network
 * namespace (/etc/passwd, /proc/1/ns/mnt) is -EINVAL with
 * "FILE:LINE:COLUMN: ... (key '...')" in err. A path that cannot be opened
 * now passes: the probe's start reports it (the probe is then off).
 */
int hl_validate_netns(const struct hl_config *cfg, const char *spec, const char *key, char *err,
		      size_t errlen);

struct bpf_map;
struct hl_strlist;
struct hl_uintlist;

/*
 * Fill a filter map (hash, value __u8 1) with the ids of cgroup v2 paths
 * (__u64 keys) or with pids (__u32 keys). key names the config key in the
 * message written to err when a cgroup does not exist. 0 or -errno.
 */
int hl_fill_cgroup_filter(struct bpf_map *map, const struct hl_strlist *cgroups, const char *key,
			  char *err, size_t errlen);
int hl_fill_pid_filter(struct bpf_map *map, const struct hl_uintlist *pids);

/* mkdir -p: path and its missing parents, with mode. 0 or -errno. */
int hl_mkdir_p(const char *path, unsigned int mode);

/* out[i] = sum over CPUs of a per-CPU array of n __u64 counters. 0 or -errno. */
int hl_read_percpu_array(int fd, uint32_t n, int ncpus, uint64_t *out);

/* A count of events a kernel map had no room for (a per-CPU array of one __u64). */
struct hl_lost {
	uint64_t cur, prev;
	struct hl_point point;
};

int hl_lost_read(struct hl_lost *l, int fd, int ncpus);
/* The counter metric name with one point, reason=map_full; valid until the next call. */
struct hl_metric hl_lost_metric(struct hl_lost *l, const char *name, const char *desc,
				const char *unit);

/*
 * Counters kept in a per-CPU hash: each value is nvals __u64 counters.
 * Every collect sums the CPUs; entries stay sorted by key bytes and keep
 * the previous sums for deltas.
 */
struct hl_counter_entry {
	const void *key; /* key_size bytes */
	uint64_t *cur;	 /* nvals sums at the last collect */
	uint64_t *prev;	 /* at the collect before (0 for a new key) */
	void *user;	 /* owner's per-entry data (freed with free()) */
};

struct hl_counter_set {
	size_t key_size, nvals, max_entries;
	int ncpus;
	struct hl_counter_entry *v;
	size_t n;
	struct hl_map_dump dump;
};

void hl_counter_set_init(struct hl_counter_set *cs, size_t key_size, size_t nvals,
			 size_t max_entries, int ncpus);
int hl_counter_set_collect(struct hl_counter_set *cs, int fd);
/*
 * After hl_counter_set_collect: the n entries of a per-CPU array of __u64
 * counters (nvals 1), entry i counted under the key key_of(i, key, ctx)
 * writes (cs->key_size bytes, at most 64, zeroed before) once it is not
 * zero. dump is the caller's buffer, kept across calls.
 */
int hl_counter_set_collect_array(struct hl_counter_set *cs, struct hl_map_dump *dump, int fd,
				 uint32_t n, void (*key_of)(uint32_t i, void *key, void *ctx),
				 void *ctx);
void hl_counter_set_free(struct hl_counter_set *cs); /* idempotent */

#endif
