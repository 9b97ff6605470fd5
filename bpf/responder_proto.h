/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The monitoring protocol of the XDP responder (probes.xdp_responder) and
 * of `hostlat ping`, shared by the BPF program and user space.
 *
 * A request and its response are one UDP datagram each, with exactly
 * HL_XR_MSG_LEN bytes of payload: struct hl_xr_msg, every field in network
 * byte order. The client sends the whole structure with the response part
 * zero (the padding that makes a request as large as its answer: the
 * responder never amplifies); the responder rewrites the packet into the
 * response in place, keeping magic, version and id.
 *
 * Fixed-width types only; no kernel or libc headers.
 */
#ifndef HOSTLAT_RESPONDER_PROTO_H
#define HOSTLAT_RESPONDER_PROTO_H

#define HL_XR_MAGIC 0x484c5852U /* "HLXR" */
#define HL_XR_VERSION 1
#define HL_XR_DEFAULT_PORT 6946

enum hl_xr_type {
	HL_XR_REQUEST = 1,
	HL_XR_RESPONSE = 2,
};

/* Which parts of a response hold data (hl_xr_msg.flags). */
#define HL_XR_F_STACK (1U << 0)	  /* stack_events: probes.stack_latency runs */
#define HL_XR_F_SOFTIRQ (1U << 1) /* net_rx_*: probes.softirq runs and measures net_rx */
#define HL_XR_F_DROPS (1U << 2)	  /* drops: probes.drops runs */
#define HL_XR_F_USER (1U << 3)	  /* the agent has refreshed the user part */
#define HL_XR_F_PCT (1U << 4)	  /* stack_pct_ns: percentiles of an exported interval */

/*
 * The stages a version-1 reply carries, in this wire order: ip-start,
 * tcp-start, udp-start, tcp/udp-socket-enqueued, tcp/udp-socket-read.
 * Stages added to enum hl_stage later (conntrack) are not on the wire;
 * hl_xr_stage() maps a wire slot to its enum hl_stage (hostlat.h).
 */
#define HL_XR_STAGES 7
#define hl_xr_stage(slot) ((slot) < HL_STAGE_CONNTRACK ? (slot) : (slot) + 1)
#define HL_XR_PCTS 3 /* p50, p90, p99 */

struct hl_xr_msg {
	__be32 magic; /* HL_XR_MAGIC */
	__u8 version; /* HL_XR_VERSION */
	__u8 type;    /* enum hl_xr_type */
	__be16 flags; /* response: HL_XR_F_* */
	__be64 id;    /* chosen by the client, echoed */
	/* ---- response: zero in a request ---- */
	__be64 mono_ns; /* the responder's CLOCK_MONOTONIC when it answered */
	__be32 cpu;	/* the CPU that answered */
	__be32 ncpus;	/* CPUs summed into the counters below */
	/* Live kernel counters, summed over CPUs when the request arrived. */
	__be64 packets;	    /* packets the responder's program saw on its interface */
	__be64 answered;    /* requests answered (this one included) */
	__be64 refused;	    /* requests from sources outside the allow list */
	__be64 limited;	    /* requests over the rate limit */
	__be64 malformed;   /* datagrams to the port that were not a valid request */
	__be64 drops;	    /* packets the kernel dropped (probes.drops) */
	__be64 net_rx_runs; /* NET_RX softirq runs (probes.softirq) */
	__be64 net_rx_ns;   /* their total run time */
	__be64 stack_events[HL_XR_STAGES]; /* samples per stage (probes.stack_latency) */
	/* Refreshed by the agent every interval. */
	__be64 user_age_ns;			       /* mono_ns - the last refresh */
	__be64 interval_ns;			       /* the agent's interval */
	__be32 load_milli[3];			       /* load average 1, 5, 15 min, x 1000 */
	__be32 pad;				       /* zero */
	__be64 mem_total_kb;			       /* MemTotal */
	__be64 mem_available_kb;		       /* MemAvailable */
	__be64 stack_pct_ns[HL_XR_STAGES][HL_XR_PCTS]; /* last exported interval */
};

#define HL_XR_MSG_LEN 368
/* bpf_csum_diff sums at most 512 bytes, in 4-byte words: header + message. */
_Static_assert(sizeof(struct hl_xr_msg) == HL_XR_MSG_LEN, "wire size");
_Static_assert((8 + HL_XR_MSG_LEN) % 4 == 0 && 8 + HL_XR_MSG_LEN <= 512, "checksummed at once");

/*
 * What became of a datagram to the port: the `result` of the metric
 * hostlat.xdp_responder.requests (README: Monitoring responder has the
 * order of the checks). Dropped:
 */
enum hl_xr_result {
	HL_XR_ANSWERED,
	HL_XR_REFUSED,	 /* the source is not in the allow list */
	HL_XR_LIMITED,	 /* over the rate limit */
	HL_XR_MALFORMED, /* not a valid request (passed on when it lacks the magic) */
	/* Passed to the stack unanswered, as if the responder were not there: */
	HL_XR_NOT_UNICAST,	/* to a broadcast or multicast MAC */
	HL_XR_FOREIGN_MAC,	/* to another unicast MAC than the interface's */
	HL_XR_BAD_HEADER,	/* IP version or lengths wrong, options, a fragment */
	HL_XR_NOT_LOCAL,	/* to an IP address the interface does not have */
	HL_XR_BAD_SOURCE,	/* from a group MAC, or an IP no reply may go to */
	HL_XR_TTL_ZERO,		/* TTL or hop limit 0 */
	HL_XR_SOURCE_PORT_ZERO, /* UDP source port 0 */
	HL_XR_BAD_CHECKSUM,	/* UDP checksum wrong, or none over IPv6 */
	HL_XR_RESULTS,
};

/* Per-CPU counters of the program (host byte order). */
struct hl_xr_stats {
	__u64 packets;
	__u64 results[HL_XR_RESULTS];
};

#define HL_XR_LOCAL4 16 /* IPv4 addresses of the interface answered for */
#define HL_XR_LOCAL6 32 /* IPv6 addresses */

/*
 * The interface's own MAC and addresses, as they lie in a frame (network
 * byte order): only unicast frames to them are answered.
 */
struct hl_xr_local {
	__be16 mac[3];
	__u8 n4, n6; /* entries used below */
	__be32 v4[HL_XR_LOCAL4];
	__be32 v6[HL_XR_LOCAL6][4];
};

/*
 * What the agent refreshes every interval (host byte order): two copies in
 * the program's .bss; the agent writes the one not in use, then switches
 * user_slot, so the program never reads a half-written copy.
 */
struct hl_xr_user {
	__u64 updated_ns; /* CLOCK_MONOTONIC of the refresh */
	__u64 interval_ns;
	__u32 load_milli[3];
	__u32 flags; /* HL_XR_F_USER, HL_XR_F_PCT */
	__u64 mem_total_kb;
	__u64 mem_available_kb;
	__u64 stack_pct_ns[HL_XR_STAGES][HL_XR_PCTS];
	struct hl_xr_local local;
};

/* Allow-list key: IPv4 as ::ffff:a.b.c.d, prefix length + 96. */
struct hl_xr_lpm_key {
	__u32 prefixlen;
	__u8 addr[16];
};

#endif /* HOSTLAT_RESPONDER_PROTO_H */
