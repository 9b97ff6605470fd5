/* SPDX-License-Identifier: MIT */
/*
 * The responder protocol (bpf/responder_proto.h) in user space. Decoding a
 * reply for `hostlat ping` is a pure function of the datagram's bytes, no I/O and no state, so that what any
 * host on the network can send is checked in one place (and fuzzed:
 * tests/fuzz/fuzz_ping_reply.c). The host figures a responder sends are
 * read here too.
 */
#ifndef HOSTLAT_PINGWIRE_H
#define HOSTLAT_PINGWIRE_H

#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "responder_proto.h"

/*
 * A valid reply in host byte order. The parts whose flag (HL_XR_F_*) is
 * off are zero here, whatever the datagram held.
 */
struct hl_ping_reply {
	uint64_t id;  /* as sent */
	uint64_t seq; /* id - id_base: which request it answers */
	unsigned int flags;
	uint64_t mono_ns;
	uint32_t cpu, ncpus;
	uint64_t packets, answered, refused, limited, malformed;
	uint64_t drops;			     /* HL_XR_F_DROPS */
	uint64_t net_rx_runs, net_rx_ns;     /* HL_XR_F_SOFTIRQ */
	uint64_t stack_events[HL_XR_STAGES]; /* HL_XR_F_STACK */
	/* HL_XR_F_USER */
	uint64_t user_age_ns, interval_ns;
	uint32_t load_milli[3];
	uint64_t mem_total_kb, mem_available_kb;
	uint64_t stack_pct_ns[HL_XR_STAGES][HL_XR_PCTS]; /* HL_XR_F_PCT: p50 <= p90 <= p99 */
};

/* The flags a version HL_XR_VERSION reply may carry. */
#define HL_XR_F_ALL (HL_XR_F_STACK | HL_XR_F_SOFTIRQ | HL_XR_F_DROPS | HL_XR_F_USER | HL_XR_F_PCT)

/*
 * Decode the len bytes at buf (any alignment) as the reply to one of the
 * requests id_base .. id_base + sent - 1 (ids wrap around). Every byte
 * read is inside buf[0..len). 0 with *out filled, or -EINVAL with one
 * line saying what is wrong in err (when errlen > 0) and *out untouched.
 */
int hl_ping_decode_reply(const void *buf, size_t len, uint64_t id_base, uint64_t sent,
			 struct hl_ping_reply *out, char *err, size_t errlen);

/* Load average and memory from /proc into u (the rest is left alone). 0 or -errno. */
int hl_xr_read_host(struct hl_xr_user *u);

#endif
