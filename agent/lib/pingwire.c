/* SPDX-License-Identifier: MIT */
/* A responder's reply, checked and decoded (pingwire.h). */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/types.h>

#include "hostlat.h"
#include "pingwire.h"
#include "stages.h"

_Static_assert(hl_xr_stage(HL_XR_STAGES - 1) == HL_STAGE_COUNT - 1,
	       "one wire stage per stage but conntrack");

/* -EINVAL, with the message in err. */
static int reject(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int reject(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static uint64_t be64(__be64 v)
{
	return be64toh((uint64_t)v);
}

static uint32_t be32(__be32 v)
{
	return be32toh((uint32_t)v);
}

int hl_ping_decode_reply(const void *buf, size_t len, uint64_t id_base, uint64_t sent,
			 struct hl_ping_reply *out, char *err, size_t errlen)
{
	static const char *const pct_names[HL_XR_PCTS] = {"p50", "p90", "p99"};
	const unsigned char *b = buf;
	struct hl_ping_reply r = {0};
	struct hl_xr_msg m;
	uint32_t magic;

	/* Whose datagram, and which version, as far as the bytes go. */
	if (len < sizeof(m.magic))
		return reject(err, errlen, "truncated: %zu of %d bytes", len, HL_XR_MSG_LEN);
	magic = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	if (magic != HL_XR_MAGIC)
		return reject(err, errlen,
			      "not a hostlat responder reply (magic 0x%08" PRIx32 ", want 0x%08x)",
			      magic, HL_XR_MAGIC);
	if (len > offsetof(struct hl_xr_msg, version) && b[4] != HL_XR_VERSION)
		return reject(err, errlen, "protocol version %u, this hostlat speaks %d", b[4],
			      HL_XR_VERSION);
	if (len < HL_XR_MSG_LEN)
		return reject(err, errlen, "truncated: %zu of %d bytes", len, HL_XR_MSG_LEN);
	if (len > HL_XR_MSG_LEN)
		return reject(err, errlen, "longer than the %d bytes of a reply", HL_XR_MSG_LEN);
	memcpy(&m, buf, sizeof(m));

	if (m.type == HL_XR_REQUEST)
		return reject(err, errlen,
			      "a request, not a reply (does the port echo datagrams back?)");
	if (m.type != HL_XR_RESPONSE)
		return reject(err, errlen, "message type %u, a reply is %d", m.type,
			      HL_XR_RESPONSE);
	r.flags = be16toh((uint16_t)m.flags);
	if (r.flags & ~HL_XR_F_ALL)
		return reject(err, errlen, "unknown flags 0x%04x", r.flags & ~HL_XR_F_ALL);
	if (m.pad)
		return reject(err, errlen, "padding not zero");
	r.id = be64(m.id);
	r.seq = r.id - id_base; /* wraps like the ids */
	if (r.seq >= sent)
		return reject(err, errlen,
			      "id %" PRIu64 " answers none of the %" PRIu64 " requests sent", r.id,
			      sent);
	r.cpu = be32(m.cpu);
	r.ncpus = be32(m.ncpus);
	if (r.cpu >= r.ncpus)
		return reject(err, errlen, "answered on CPU %" PRIu32 " of %" PRIu32, r.cpu,
			      r.ncpus);
	r.answered = be64(m.answered);
	if (!r.answered)
		return reject(err, errlen, "0 requests answered, this one included");

	r.mono_ns = be64(m.mono_ns);
	r.packets = be64(m.packets);
	r.refused = be64(m.refused);
	r.limited = be64(m.limited);
	r.malformed = be64(m.malformed);
	if (r.flags & HL_XR_F_DROPS)
		r.drops = be64(m.drops);
	if (r.flags & HL_XR_F_SOFTIRQ) {
		r.net_rx_runs = be64(m.net_rx_runs);
		r.net_rx_ns = be64(m.net_rx_ns);
	}
	if (r.flags & HL_XR_F_STACK)
		for (int s = 0; s < HL_XR_STAGES; s++)
			r.stack_events[s] = be64(m.stack_events[s]);
	if (r.flags & HL_XR_F_USER) {
		r.user_age_ns = be64(m.user_age_ns);
		r.interval_ns = be64(m.interval_ns);
		for (int i = 0; i < 3; i++)
			r.load_milli[i] = be32(m.load_milli[i]);
		r.mem_total_kb = be64(m.mem_total_kb);
		r.mem_available_kb = be64(m.mem_available_kb);
	}
	if (r.flags & HL_XR_F_PCT) {
		for (int s = 0; s < HL_XR_STAGES; s++) {
			for (int k = 0; k < HL_XR_PCTS; k++) {
				r.stack_pct_ns[s][k] = be64(m.stack_pct_ns[s][k]);
				if (k && r.stack_pct_ns[s][k] < r.stack_pct_ns[s][k - 1])
					return reject(err, errlen,
						      "stage %s: %s %" PRIu64
						      " ns below %s %" PRIu64 " ns",
						      hl_stage_names[hl_xr_stage(s)], pct_names[k],
						      r.stack_pct_ns[s][k], pct_names[k - 1],
						      r.stack_pct_ns[s][k - 1]);
			}
		}
	}
	*out = r;
	return 0;
}

int hl_xr_read_host(struct hl_xr_user *u)
{
	double l[3];
	char line[256];
	FILE *f;
	int n;

	f = fopen("/proc/loadavg", "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]);
	fclose(f);
	if (n != 3)
		return -EIO;
	for (int i = 0; i < 3; i++)
		u->load_milli[i] = (__u32)llround(l[i] * 1000);
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			u->mem_total_kb = kb;
		else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			u->mem_available_kb = kb;
	}
	fclose(f);
	return 0;
}
