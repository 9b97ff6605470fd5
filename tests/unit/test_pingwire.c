/* SPDX-License-Identifier: MIT */
/*
 * agent/lib/pingwire.c: `hostlat ping`'s decoder of the XDP responder's
 * replies (valid replies, ids that wrap around, every malformed variant).
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "pingwire.h"
#include "unit.h"

/* A reply as the XDP responder writes it, answering request id. */
static void make_reply(struct hl_xr_msg *m, uint64_t id)
{
	memset(m, 0, sizeof(*m));
	m->magic = htobe32(HL_XR_MAGIC);
	m->version = HL_XR_VERSION;
	m->type = HL_XR_RESPONSE;
	m->flags = htobe16(HL_XR_F_STACK | HL_XR_F_DROPS | HL_XR_F_USER | HL_XR_F_PCT);
	m->id = htobe64(id);
	m->mono_ns = htobe64(123456789);
	m->cpu = htobe32(1);
	m->ncpus = htobe32(2);
	m->packets = htobe64(10);
	m->answered = htobe64(7);
	m->drops = htobe64(3);
	m->net_rx_runs = htobe64(99); /* HL_XR_F_SOFTIRQ is off: not decoded */
	m->stack_events[6] = htobe64(42);
	m->interval_ns = htobe64(1000000000);
	m->load_milli[0] = htobe32(1500);
	m->mem_total_kb = htobe64(4096);
	m->mem_available_kb = htobe64(1024);
	for (int s = 0; s < HL_XR_STAGES; s++)
		for (int k = 0; k < HL_XR_PCTS; k++)
			m->stack_pct_ns[s][k] = htobe64((uint64_t)(s + 1) * 1000 * (k + 1));
}

static void test_decode_reply(void)
{
	const uint64_t base = UINT64_MAX - 2; /* ids wrap around */
	unsigned char buf[HL_XR_MSG_LEN + 8];
	struct hl_ping_reply r;
	struct hl_xr_msg m;
	char why[160];
	int e;

	make_reply(&m, base + 4); /* seq 4 (after the wrap) */
	memset(buf, 0xee, sizeof(buf));
	memcpy(buf + 1, &m, sizeof(m)); /* unaligned */
	e = hl_ping_decode_reply(buf + 1, sizeof(m), base, 5, &r, why, sizeof(why));
	CHECK(e == 0, "valid reply: %s", why);
	if (!e) {
		CHECK(r.seq == 4 && r.id == base + 4, "seq %llu", (unsigned long long)r.seq);
		CHECK(r.flags == (HL_XR_F_STACK | HL_XR_F_DROPS | HL_XR_F_USER | HL_XR_F_PCT),
		      "flags 0x%x", r.flags);
		CHECK(r.mono_ns == 123456789 && r.cpu == 1 && r.ncpus == 2 && r.packets == 10 &&
			      r.answered == 7 && r.drops == 3,
		      "counters");
		CHECK(r.net_rx_runs == 0, "net_rx_runs decoded without HL_XR_F_SOFTIRQ");
		CHECK(r.stack_events[6] == 42 && r.interval_ns == 1000000000 &&
			      r.load_milli[0] == 1500 && r.mem_total_kb == 4096 &&
			      r.mem_available_kb == 1024,
		      "user part");
		CHECK(r.stack_pct_ns[2][0] == 3000 && r.stack_pct_ns[2][2] == 9000, "percentiles");
	}

	static const struct {
		const char *what;
		size_t len;
		int field; /* which mutation of the valid reply */
		const char *why;
	} bad[] = {
		{"empty", 0, 0, "truncated: 0 of 368 bytes"},
		{"3 bytes", 3, 0, "truncated: 3 of 368 bytes"},
		{"truncated", HL_XR_MSG_LEN - 1, 0, "truncated: 367 of 368 bytes"},
		{"header only", 16, 0, "truncated: 16 of 368 bytes"},
		{"too long", HL_XR_MSG_LEN + 1, 0, "longer than the 368 bytes of a reply"},
		{"wrong magic", HL_XR_MSG_LEN, 1,
		 "not a hostlat responder reply (magic 0x484c5853"},
		{"wrong magic, short", 4, 1, "not a hostlat responder reply"},
		{"wrong version", HL_XR_MSG_LEN, 2, "protocol version 2, this hostlat speaks 1"},
		{"wrong version, short", 5, 2, "protocol version 2"},
		{"a request", HL_XR_MSG_LEN, 3, "a request, not a reply"},
		{"unknown type", HL_XR_MSG_LEN, 4, "message type 9, a reply is 2"},
		{"unknown flag", HL_XR_MSG_LEN, 5, "unknown flags 0x8000"},
		{"padding", HL_XR_MSG_LEN, 6, "padding not zero"},
		{"no CPUs", HL_XR_MSG_LEN, 7, "answered on CPU 1 of 0"},
		{"CPU out of range", HL_XR_MSG_LEN, 8, "answered on CPU 2 of 2"},
		{"nothing answered", HL_XR_MSG_LEN, 9, "0 requests answered"},
		{"id not sent", HL_XR_MSG_LEN, 10, "answers none of the 5 requests sent"},
		{"id before the first", HL_XR_MSG_LEN, 11, "answers none of the 5 requests sent"},
		{"percentiles out of order", HL_XR_MSG_LEN, 12,
		 "stage udp-socket-read: p99 1 ns below p90 14000 ns"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_reply(&m, base + 4);
		memset(buf, 0, sizeof(buf));
		switch (bad[i].field) {
		case 1:
			m.magic = htobe32(HL_XR_MAGIC + 1);
			break;
		case 2:
			m.version = 2;
			break;
		case 3:
			m.type = HL_XR_REQUEST;
			break;
		case 4:
			m.type = 9;
			break;
		case 5:
			m.flags |= htobe16(0x8000);
			break;
		case 6:
			m.pad = htobe32(1);
			break;
		case 7:
			m.ncpus = 0;
			break;
		case 8:
			m.cpu = htobe32(2);
			break;
		case 9:
			m.answered = 0;
			break;
		case 10:
			m.id = htobe64(base + 5);
			break;
		case 11:
			m.id = htobe64(base - 1);
			break;
		case 12:
			m.stack_pct_ns[6][2] = htobe64(1);
			break;
		}
		memcpy(buf, &m, sizeof(m));
		memset(&r, 0x5a, sizeof(r));
		why[0] = 0;
		e = hl_ping_decode_reply(buf, bad[i].len, base, 5, &r, why, sizeof(why));
		CHECK(e == -EINVAL, "%s: accepted (%d)", bad[i].what, e);
		CHECK(strstr(why, bad[i].why), "%s: message '%s', want '%s'", bad[i].what, why,
		      bad[i].why);
		CHECK(((unsigned char *)&r)[0] == 0x5a, "%s: output written", bad[i].what);
	}

	/* Nothing sent yet: nothing is an answer. A small or absent message buffer. */
	make_reply(&m, 0);
	CHECK(hl_ping_decode_reply(&m, sizeof(m), 0, 0, &r, why, 8) == -EINVAL && strlen(why) == 7,
	      "message not cut to the buffer: '%s'", why);
	CHECK(hl_ping_decode_reply(&m, sizeof(m), 0, 1, &r, NULL, 0) == 0, "no message buffer");
	/* Parts whose flag is off are zero, whatever the bytes. */
	m.flags = 0;
	CHECK(hl_ping_decode_reply(&m, sizeof(m), 0, 1, &r, why, sizeof(why)) == 0, "%s", why);
	CHECK(!r.drops && !r.stack_events[6] && !r.mem_total_kb && !r.interval_ns &&
		      !r.stack_pct_ns[0][0],
	      "flagged-off parts decoded");
	/* Out-of-order percentiles do not matter without HL_XR_F_PCT. */
	m.stack_pct_ns[6][2] = htobe64(1);
	CHECK(hl_ping_decode_reply(&m, sizeof(m), 0, 1, &r, why, sizeof(why)) == 0, "%s", why);
}

int main(void)
{
	test_decode_reply();
	return UNIT_DONE();
}
