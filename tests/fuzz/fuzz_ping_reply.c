/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the reply decoder of `hostlat ping`
 * (hl_ping_decode_reply, agent/lib/pingwire.c). The input is one UDP datagram
 * as the client receives it from the responder's address and port.
 *
 * It is decoded as the answer to requests 1000..1063 and to any request
 * (ids 0..2^64-2). Checks beyond the sanitizers: a refused datagram gives
 * one printable, terminated line (also in a buffer too small for it, or
 * none at all) and leaves the output alone; an accepted one is exactly a
 * reply's size, answers a request in the window, one byte less is refused,
 * both decodes agree, its flags and CPU are in range, and encoding the
 * result again gives back every byte of the datagram that a flag in it
 * says holds data (the rest reads as zero).
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pingwire.h"

#define BASE 1000
#define SENT 64

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_ping_reply: %s\n", what);
	abort();
}

static void check_message(const char *msg, size_t cap)
{
	size_t n = strnlen(msg, cap);

	if (n == cap)
		fail("message not terminated");
	if (!n && cap > 1)
		fail("refused without a message");
	for (size_t i = 0; i < n; i++)
		if (msg[i] < 0x20 || msg[i] > 0x7e)
			fail("message with a byte outside printable ASCII");
}

/* The reply r says it is, on the wire. */
static void encode(const struct hl_ping_reply *r, struct hl_xr_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->magic = htobe32(HL_XR_MAGIC);
	m->version = HL_XR_VERSION;
	m->type = HL_XR_RESPONSE;
	m->flags = htobe16((uint16_t)r->flags);
	m->id = htobe64(r->id);
	m->mono_ns = htobe64(r->mono_ns);
	m->cpu = htobe32(r->cpu);
	m->ncpus = htobe32(r->ncpus);
	m->packets = htobe64(r->packets);
	m->answered = htobe64(r->answered);
	m->refused = htobe64(r->refused);
	m->limited = htobe64(r->limited);
	m->malformed = htobe64(r->malformed);
	m->drops = htobe64(r->drops);
	m->net_rx_runs = htobe64(r->net_rx_runs);
	m->net_rx_ns = htobe64(r->net_rx_ns);
	for (int s = 0; s < HL_XR_STAGES; s++)
		m->stack_events[s] = htobe64(r->stack_events[s]);
	m->user_age_ns = htobe64(r->user_age_ns);
	m->interval_ns = htobe64(r->interval_ns);
	for (int i = 0; i < 3; i++)
		m->load_milli[i] = htobe32(r->load_milli[i]);
	m->mem_total_kb = htobe64(r->mem_total_kb);
	m->mem_available_kb = htobe64(r->mem_available_kb);
	for (int s = 0; s < HL_XR_STAGES; s++)
		for (int k = 0; k < HL_XR_PCTS; k++)
			m->stack_pct_ns[s][k] = htobe64(r->stack_pct_ns[s][k]);
}

/* The datagram with the parts its flags leave out zeroed. */
static void flagged(const uint8_t *data, unsigned int flags, struct hl_xr_msg *m)
{
	memcpy(m, data, sizeof(*m));
	if (!(flags & HL_XR_F_DROPS))
		m->drops = 0;
	if (!(flags & HL_XR_F_SOFTIRQ))
		m->net_rx_runs = m->net_rx_ns = 0;
	if (!(flags & HL_XR_F_STACK))
		memset(m->stack_events, 0, sizeof(m->stack_events));
	if (!(flags & HL_XR_F_USER)) {
		m->user_age_ns = m->interval_ns = 0;
		memset(m->load_milli, 0, sizeof(m->load_milli));
		m->mem_total_kb = m->mem_available_kb = 0;
	}
	if (!(flags & HL_XR_F_PCT))
		memset(m->stack_pct_ns, 0, sizeof(m->stack_pct_ns));
}

static int decode(const uint8_t *data, size_t size, uint64_t base, uint64_t sent,
		  struct hl_ping_reply *r)
{
	struct hl_ping_reply untouched;
	char err[160], tiny[8];
	int e;

	memset(r, 0xa5, sizeof(*r));
	memset(&untouched, 0xa5, sizeof(untouched));
	memset(err, 0xff, sizeof(err));
	e = hl_ping_decode_reply(data, size, base, sent, r, err, sizeof(err));
	if (e != 0 && e != -EINVAL)
		fail("neither 0 nor -EINVAL");
	if (e) {
		check_message(err, sizeof(err));
		if (memcmp(r, &untouched, sizeof(*r)))
			fail("a refused datagram wrote the output");
		memset(tiny, 0xff, sizeof(tiny));
		if (!hl_ping_decode_reply(data, size, base, sent, r, tiny, sizeof(tiny)))
			fail("accepted with a small message buffer");
		check_message(tiny, sizeof(tiny));
		if (strncmp(err, tiny, sizeof(tiny) - 1))
			fail("a different message in a small buffer");
		if (!hl_ping_decode_reply(data, size, base, sent, r, NULL, 0))
			fail("accepted without a message buffer");
	}
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hl_ping_reply in_window, any;
	struct hl_xr_msg again, want, other;
	int e, e_any;

	e = decode(data, size, BASE, SENT, &in_window);
	e_any = decode(data, size, 0, UINT64_MAX, &any);
	if (e)
		return 0;
	if (e_any)
		fail("accepted for requests 1000..1063 but not for any request");
	if (size != HL_XR_MSG_LEN)
		fail("accepted a datagram that is not a reply's size");
	if (decode(data, size - 1, BASE, SENT, &any) == 0)
		fail("accepted without its last byte");
	if (in_window.seq >= SENT || in_window.id != BASE + in_window.seq)
		fail("accepted an id outside the window");
	if (in_window.flags & ~HL_XR_F_ALL)
		fail("accepted unknown flags");
	if (in_window.cpu >= in_window.ncpus || !in_window.answered)
		fail("accepted a CPU out of range or nothing answered");
	for (int s = 0; s < HL_XR_STAGES; s++)
		if (in_window.stack_pct_ns[s][0] > in_window.stack_pct_ns[s][1] ||
		    in_window.stack_pct_ns[s][1] > in_window.stack_pct_ns[s][2])
			fail("accepted percentiles out of order");
	decode(data, size, 0, UINT64_MAX, &any);
	encode(&in_window, &again);
	encode(&any, &other);
	if (any.seq != in_window.id || memcmp(&again, &other, sizeof(other)))
		fail("two windows, two different replies");
	flagged(data, in_window.flags, &want);
	if (memcmp(&again, &want, sizeof(want)))
		fail("the decoded reply does not encode back to the datagram");
	return 0;
}
