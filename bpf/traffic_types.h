/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by the traffic sampler (traffic.bpf.c) and the agent.
 * Fixed-width types only; no kernel or libc headers.
 */
#ifndef HOSTLAT_TRAFFIC_TYPES_H
#define HOSTLAT_TRAFFIC_TYPES_H

/* Interfaces one agent samples at most (rodata table in the program). */
#define HL_TRAFFIC_MAX_IFACES 16

/*
 * Directions. The slots array holds one block of n_ifaces * 2 * samples
 * slots per possible CPU: slot index = ((cpu * n_ifaces + iface) * 2 + dir)
 * * samples + sample.
 */
enum hl_traffic_dir {
	HL_TRAFFIC_RX = 0, /* tc ingress */
	HL_TRAFFIC_TX = 1, /* tc egress */
	HL_TRAFFIC_DIRS,
};

/* Active-flow sketch: a bitmap of this many bits per slot (linear counting). */
#define HL_TRAFFIC_SKETCH_BITS 256
#define HL_TRAFFIC_SKETCH_WORDS (HL_TRAFFIC_SKETCH_BITS / 64)

/*
 * One sample of one direction of one interface, in one CPU's block. A
 * slot belongs to the run whose id it carries: the program resets a slot from an earlier
 * run the first time it touches it, so user space never has to clear the
 * map between runs and ignores slots of other runs when it reads.
 */
struct hl_traffic_slot {		      /* 64 bytes: one cache line */
	__u64 bytes;			      /* skb->len at tc: link-layer header included */
	__u64 ce_bytes;			      /* of packets whose IP ECN field is CE (ingress) */
	__u64 flows[HL_TRAFFIC_SKETCH_WORDS]; /* bit per flow-hash bucket */
	__u32 packets;			      /* segments: gso_segs for GSO/GRO skbs */
	__u32 retrans;			      /* TCP segments retransmitted (egress) */
	__u32 run;			      /* run id this slot belongs to */
	__u32 pad;
};

/*
 * The run being sampled, written by user space (mmap'ed .bss): end_ns = 0
 * stops sampling; user space sets the other fields before end_ns.
 */
struct hl_traffic_run {
	__u64 start_ns; /* bpf_ktime_get_ns() == CLOCK_MONOTONIC */
	__u64 end_ns;	/* start_ns + samples * gran_ns; 0: no run */
	__u64 gran_ns;
	__u32 samples;
	__u32 id; /* nonzero, different for every run */
};

#endif /* HOSTLAT_TRAFFIC_TYPES_H */
