/* SPDX-License-Identifier: MIT */
/*
 * probes.traffic: Millisampler-style fine-grained traffic sampling.
 *
 * traffic.c        the probe: load, schedule runs, reduce them into metrics
 * traffic_attach.c tc hooks: tcx links, or a classic clsact filter
 * traffic_store.c  one gzip-compressed CSV file per run and interface
 * cmd/traffic.c    `hostlat traffic show|list`
 * cmd/traffic_merge.c `hostlat traffic merge`: runs of several hosts, slot by slot
 */
#ifndef HOSTLAT_TRAFFIC_AGENT_H
#define HOSTLAT_TRAFFIC_AGENT_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clock.h"
#include "config.h"
#include "probe.h"

/* probes.traffic */
enum hl_traffic_attach { HL_TRAFFIC_ATTACH_AUTO, HL_TRAFFIC_ATTACH_TCX, HL_TRAFFIC_ATTACH_TC };
/* wallclock: rounds on multiples of every, runs on multiples of their
 * granularity, in Unix time (hosts with synchronized clocks sample the same
 * slots); start: rounds counted from the agent's start. */
enum hl_traffic_align { HL_TRAFFIC_ALIGN_WALLCLOCK, HL_TRAFFIC_ALIGN_START };

struct hl_traffic_conf {
	bool enabled;
	struct hl_strlist interfaces; /* empty: the default route's interface */
	struct hl_durlist granularities;
	uint32_t samples;
	uint64_t every_ns;
	uint32_t burst_threshold; /* percent of the link speed */
	uint32_t link_speed;	  /* Mbit/s when the interface reports none; 0: none */
	int attach;		  /* enum hl_traffic_attach */
	int align;		  /* enum hl_traffic_align */
	struct {
		char *dir;
		uint32_t max_bytes; /* 0: do not store runs */
		uint64_t max_age_ns;
	} store;
};

/* One sample of one direction, summed over CPUs. */
struct hl_traffic_sample {
	uint64_t bytes;
	uint64_t ce_bytes; /* receive only */
	uint32_t packets;
	uint32_t retrans; /* transmit only */
	uint32_t flows;	  /* active-flow estimate */
};

#define HL_TRAFFIC_HOST_MAX 128

/*
 * One run on one interface: samples[dir][i], dir 0 receive, 1 transmit.
 * Stored-run format version 2 added host, align and the clock fields: a
 * version 1 file reads with host "", aligned false and clock_known false.
 */
struct hl_traffic_rundata {
	char ifname[IF_NAMESIZE];
	uint64_t gran_ns;
	uint32_t n;
	uint64_t start_unix_ns; /* slot i covers start + i * gran_ns .. + gran_ns */
	uint64_t link_bps;	/* 0: unknown */
	uint32_t burst_pct;
	uint32_t version;		/* of the file read; written: HL_TRAFFIC_STORE_VERSION */
	char host[HL_TRAFFIC_HOST_MAX]; /* the agent's host.name ("": unknown) */
	bool aligned;			/* probes.traffic.align: wallclock */
	bool clock_known;		/* the clock fields were recorded */
	struct hl_clock_state clock;	/* when the run was armed */
	struct hl_traffic_sample *samples[2];
};

#define HL_TRAFFIC_STORE_VERSION 2

void hl_traffic_rundata_free(struct hl_traffic_rundata *r);

/* Flow estimate of a sketch by linear counting (see docs); with 256 bits it
 * saturates at 1417 (all bits set counts as 255). */
uint32_t hl_traffic_flow_estimate(const uint64_t *words, unsigned int nbits);

/* A sample is a burst when bytes * 8 * 1e9 / gran_ns > link_bps * pct / 100. */
bool hl_traffic_is_burst(uint64_t bytes, uint64_t gran_ns, uint64_t link_bps, uint32_t pct);

/* ---- aligned runs (traffic.c) ----------------------------------------------------- */

/* The smallest multiple of step at or after t (step > 0). */
uint64_t hl_traffic_align_up(uint64_t t, uint64_t step);

/*
 * The Unix start of a run planned at `planned` (a multiple of gran_ns), armed
 * at Unix time now: planned while it is at least margin_ns ahead; else the
 * first multiple of gran_ns at least margin_ns after now (a late wake-up
 * skips slots, it never starts a run between two slot boundaries).
 */
uint64_t hl_traffic_arm_start(uint64_t planned, uint64_t now, uint64_t gran_ns, uint64_t margin_ns);

/* ---- reading a run's slots (traffic.c) ------------------------------------------- */

/*
 * The slots map: an array of ncpus blocks of n_ifaces * 2 * samples struct
 * hl_traffic_slot (bpf/traffic_types.h), read through a read-only mmap
 * (nothing copied), or element by element where mmap is refused.
 */
struct hl_traffic_slots {
	int fd;
	int ncpus;
	int n_ifaces;
	uint32_t samples;
	bool no_mmap; /* one element at a time, never mapped (tests) */
};

/* Elements of the slots map: ncpus * n_ifaces * 2 * samples, 0 beyond UINT32_MAX. */
uint32_t hl_traffic_slot_entries(int ncpus, int n_ifaces, uint32_t samples);
/* Sum the slots of run id over the CPUs into rd[0..n_ifaces).samples (each
 * samples long); slots of other runs count as zero. */
void hl_traffic_read_slots(struct hl_traffic_slots *s, uint32_t id, struct hl_traffic_rundata *rd);

/* ---- attaching (traffic_attach.c) -------------------------------------------------- */

struct hl_tc_attachment {
	int ifindex;
	bool tcx;	     /* tcx links (else classic clsact filters) */
	int link_fd[2];	     /* tcx: ingress, egress; -1 */
	bool filter[2];	     /* tc: our filter is on ingress / egress */
	bool created_clsact; /* tc: we created the clsact qdisc */
};

/*
 * Attach prog_fd[0] to ingress and prog_fd[1] to egress of ifindex with
 * mode (enum hl_traffic_attach). Returns 0 or -errno with a message.
 */
int hl_tc_attach(struct hl_tc_attachment *a, int ifindex, const int prog_fd[2], int mode, char *err,
		 size_t errlen);
/* Remove what hl_tc_attach added (and a clsact qdisc it created, when no
 * other filter is left on it). Idempotent. */
void hl_tc_detach(struct hl_tc_attachment *a);
/* Filters on the ingress (dir 0) or egress (1) hook of ifindex, -errno. */
int hl_tc_count_filters(int ifindex, int dir);

/* ---- storage (traffic_store.c) ---------------------------------------------------- */

#define HL_TRAFFIC_FILE_PREFIX "hostlat-traffic-"
#define HL_TRAFFIC_FILE_SUFFIX ".csv.gz"

/* Write r into dir; the file's path goes to path (may be NULL). 0 or -errno. */
int hl_traffic_store_write(const char *dir, const struct hl_traffic_rundata *r, char *path,
			   size_t pathlen);
/* Read a stored run. 0 or -errno with a message. */
int hl_traffic_store_read(const char *path, struct hl_traffic_rundata *r, char *err, size_t errlen);
/* Delete run files older than max_age_ns, then the oldest until the rest
 * take at most max_bytes. Returns the number of files deleted or -errno. */
int hl_traffic_store_prune(const char *dir, uint64_t max_bytes, uint64_t max_age_ns);

/*
 * Before runs are stored in dir: create it when missing and create is set
 * (mode 0755), and check that it is a directory (a symbolic link to one is
 * fine) that no user but root can change, nor a directory above it. 0
 * (maybe with a sentence in warn: its owner is another user) or -errno
 * with one sentence in err, starting with dir: runs must not go there.
 */
int hl_traffic_store_check_dir(const char *dir, bool create, char *err, size_t errlen, char *warn,
			       size_t warnlen);

/* Run files of dir, oldest first (names only, malloc'ed); -errno. */
int hl_traffic_store_list(const char *dir, char ***names, size_t *n);
void hl_traffic_store_list_free(char **names, size_t n);

/* ---- printing runs (cmd/traffic.c) ------------------------------------------------- */

/* The chart of one stored run, width columns wide (>= 20). */
void hl_traffic_print_chart(FILE *f, const struct hl_traffic_rundata *r, int width, int height);
void hl_traffic_print_csv(FILE *f, const struct hl_traffic_rundata *r);
/* Text from a run file as printable ASCII (others as \\xHH). */
void hl_traffic_put_escaped(FILE *f, const char *s);
/* "950", "12.3k", "1.5M", "10G" */
void hl_traffic_si(double v, char *buf, size_t len);
/*
 * The traffic commands' chart: per column the peak (col, in units of
 * ymax, the top row), '#' where mark is set, '|' else, '-' at the height
 * of line (none when line <= 0 or above ymax), then the x axis.
 */
void hl_traffic_chart(FILE *f, const double *col, const uint32_t *mark, int ncols, int height,
		      double ymax, double line);

/* ---- merging runs of several hosts (cmd/traffic_merge.c) ------------------------------ */

/* "10Gbit", "10Gbit/s", "500Mbit", "1.25GB/s", "1250000000bytes/s" in bit/s;
 * 0, or -EINVAL with why. */
int hl_traffic_parse_rate(const char *s, uint64_t *bps, char *why, size_t whylen);

struct hl_traffic_merge_opts {
	int dir;		     /* HL_TRAFFIC_RX (default) or HL_TRAFFIC_TX */
	uint64_t capacity_bps;	     /* 0: no capacity check */
	uint64_t gran_ns;	     /* 0: the granularity most runs have */
	uint64_t max_clock_error_ns; /* 0: one slot */
	bool trust_clocks;	     /* ignore the clock fields (one shared clock) */
};

struct hl_traffic_merge {
	uint64_t gran_ns, start_unix_ns; /* the slots common to every merged run */
	uint32_t n;
	size_t n_runs;	 /* merged */
	size_t *run;	 /* [n_runs]: index into the runs given */
	uint32_t *first; /* [n_runs]: that run's sample at slot 0 */
	char (*label)[HL_TRAFFIC_HOST_MAX + IF_NAMESIZE + 1];
	uint64_t *sum;	      /* [n] bytes, all merged runs */
	uint32_t *bursting;   /* [n] runs bursting in the slot */
	bool *over;	      /* [n] the sum exceeds capacity_bps */
	uint32_t *run_bursts; /* [n_runs] slots in which each one was bursting */
};

/*
 * Merge runs[0..n) (names[i] for labels when a run has no host): accepted
 * runs get why[i][0] == 0, refused ones one sentence. 0 (at least one run
 * merged), -ENOENT (none), -ENOMEM.
 */
int hl_traffic_merge(struct hl_traffic_merge *m, const struct hl_traffic_rundata *runs,
		     const char *const *names, size_t n, const struct hl_traffic_merge_opts *o,
		     char (*why)[256]);
void hl_traffic_merge_free(struct hl_traffic_merge *m);
void hl_traffic_merge_chart(FILE *f, const struct hl_traffic_merge *m,
			    const struct hl_traffic_rundata *runs,
			    const struct hl_traffic_merge_opts *o, int width, int height);
void hl_traffic_merge_csv(FILE *f, const struct hl_traffic_merge *m,
			  const struct hl_traffic_rundata *runs,
			  const struct hl_traffic_merge_opts *o);
int hl_traffic_merge_cli(int argc, char **argv);

#endif
