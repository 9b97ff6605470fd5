/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the prometheus exporter's encoders and its Accept
 * negotiation (exporters/prometheus_enc.c). The bytes make a histogram
 * (scale -40..40, offset, up to 64 bucket counts, zero count), a label
 * value (any bytes), a page limit and an Accept header. Beyond "no crash,
 * no leak, no undefined behaviour": both pages stay within the limit; the
 * text page is valid UTF-8 and, when whole, ends the histogram with
 * le="+Inf" equal to its count after non-decreasing buckets; the protobuf
 * page is a sequence of length-delimited messages that fill it exactly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prometheus.h"

static size_t take(const uint8_t **d, size_t *n, size_t k, uint8_t *out)
{
	size_t m = k < *n ? k : *n;

	memset(out, 0, k);
	memcpy(out, *d, m);
	*d += m;
	*n -= m;
	return m;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k = c < 0x80		? 1
			   : (c & 0xe0) == 0xc0 ? 2
			   : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4
						: 0;

		if (!k || i + k > n || (k == 2 && c < 0xc2) || (k == 4 && c > 0xf4))
			return false;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += k;
	}
	return true;
}

static uint64_t varint(const unsigned char **p, const unsigned char *end, bool *bad)
{
	uint64_t v = 0;

	for (int sh = 0; sh < 64; sh += 7) {
		if (*p >= end) {
			*bad = true;
			return 0;
		}
		v |= (uint64_t)(**p & 0x7f) << sh;
		if (!(*(*p)++ & 0x80))
			return v;
	}
	*bad = true;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[8], nb;
	uint64_t counts[64], total = 0;
	char value[64], accept[256];
	struct hl_hist h = {0};
	struct hl_point pt = {0};
	struct hl_metric m = {.name = "fuzz.latency", .unit = "s", .kind = HL_METRIC_EXPHIST};
	struct hl_attr res = {"service.name", value};
	struct hl_batch b = {.metrics = &m, .n_metrics = 1, .resource = &res, .n_resource = 1};
	struct hl_prom_buf text = {0}, proto = {0};
	char inf[96];

	take(&data, &size, sizeof(hdr), hdr);
	h.scale = (int)(hdr[0] % 81) - 40;
	h.offset = (int16_t)(hdr[1] | hdr[2] << 8);
	h.zero_count = hdr[3];
	h.raw_values = hdr[4] & 1;
	take(&data, &size, 1, &nb);
	h.len = h.max_size = nb % 65;
	for (uint32_t i = 0; i < h.len; i++) {
		uint8_t c[2];

		take(&data, &size, 2, c);
		counts[i] = c[0] & 0x80 ? ((uint64_t)c[1] << 32 | c[0]) : c[0];
		total += counts[i];
	}
	h.counts = counts;
	h.count = total + h.zero_count;
	h.sum_ns = total * 1000;
	take(&data, &size, sizeof(value) - 1, (uint8_t *)value);
	value[sizeof(value) - 1] = 0;
	pt.attrs[0] = (struct hl_attr){"stage", value};
	pt.n_attrs = 1;
	pt.cumulative = pt.delta = &h;
	m.points = &pt;
	m.n_points = 1;
	text.max = proto.max = 64 + (size_t)(hdr[5] | hdr[6] << 8) * 4;
	take(&data, &size, sizeof(accept) - 1, (uint8_t *)accept);
	accept[sizeof(accept) - 1] = 0;
	(void)hl_prom_wants_proto(accept);

	if (hl_prom_encode_text(&text, &b, NULL, 0) || hl_prom_encode_proto(&proto, &b))
		abort(); /* only ENOMEM may fail */
	if (text.len > text.max || proto.len > proto.max)
		abort();
	if (!valid_utf8((const unsigned char *)text.p, text.len)) {
		fprintf(stderr, "text page is not UTF-8\n");
		abort();
	}
	snprintf(inf, sizeof(inf), "le=\"+Inf\"} %llu\n", (unsigned long long)h.count);
	if (!text.dropped && text.len && !memmem(text.p, text.len, inf, strlen(inf))) {
		fprintf(stderr, "no %s in %.*s\n", inf, (int)text.len, text.p);
		abort();
	}
	/* bucket counts never decrease */
	{
		const char *p = text.p, *end = text.p ? text.p + text.len : NULL;
		unsigned long long prev = 0;

		while (p && p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p)), *le;

			if (!nl)
				break;
			le = (size_t)(nl - p) > 28 && !memcmp(p, "fuzz_latency_seconds_bucket{", 28)
				     ? p
				     : NULL;
			if (le) {
				const char *sp = nl;
				unsigned long long v;

				while (sp > p && sp[-1] != ' ')
					sp--;
				v = strtoull(sp, NULL, 10);
				if (v < prev) {
					fprintf(stderr, "bucket counts decrease: %.*s\n",
						(int)text.len, text.p);
					abort();
				}
				prev = v;
			}
			p = nl + 1;
		}
	}
	{
		const unsigned char *p = (const unsigned char *)proto.p,
				    *end = p ? p + proto.len : p;
		bool bad = false;

		while (p < end && !bad) {
			uint64_t l = varint(&p, end, &bad);

			if (bad || (uint64_t)(end - p) < l)
				abort();
			p += l;
		}
		if (bad)
			abort();
	}
	hl_prom_buf_free(&text);
	hl_prom_buf_free(&proto);
	return 0;
}
