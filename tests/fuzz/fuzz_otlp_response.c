/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: what the otlp_http exporter reads from a receiver.
 * The input is an HTTP response as the exporter sees it, split at the first
 * NUL byte: a Retry-After header value, then the body. Both are parsed the
 * way exporters/otlp_http.c does after each POST: the body as a 2xx answer
 * (partialSuccess, hl_otlp_parse_success) and as an error answer (the
 * message, hl_otlp_error_text), the header with hl_http_retry_after
 * (http_transport.c). The same body is also read as an
 * OTEL_EXPORTER_OTLP_HEADERS list (otlp_headers.c), the other text the
 * exporter parses from outside.
 *
 * Checks beyond the sanitizers: messages are printable ASCII, bounded and
 * terminated, also in a buffer too small for them; a Retry-After delay is
 * never beyond the exporter's 24 h cap; a parsed header list has names.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_transport.h"
#include "otlp_headers.h"
#include "otlp_json.h"

static void printable(const char *what, const char *msg, size_t cap)
{
	size_t n = strnlen(msg, cap);

	if (n == cap) {
		fprintf(stderr, "%s: message not terminated\n", what);
		abort();
	}
	for (size_t i = 0; i < n; i++)
		if (msg[i] < 0x20 || msg[i] > 0x7e) {
			fprintf(stderr, "%s: byte 0x%02x at %zu\n", what, (unsigned char)msg[i], i);
			abort();
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nul = memchr(in, 0, size);
	size_t hlen = nul ? (size_t)(nul - in) : 0;
	const char *body = nul ? nul + 1 : in;
	size_t blen = nul ? size - hlen - 1 : size;
	char msg[256], tiny[8], err[256];
	uint64_t rejected = 0, ns = 0;
	struct hl_otlp_header_list hdrs = {0};
	char *copy;

	/* A copy of exactly blen bytes: ASan sees any read past the body. */
	copy = malloc(blen ? blen : 1);
	if (!copy)
		return 0;
	memcpy(copy, body, blen);
	hl_otlp_parse_success(copy, blen, &rejected, msg, sizeof(msg));
	printable("partialSuccess", msg, sizeof(msg));
	hl_otlp_parse_success(copy, blen, &rejected, tiny, sizeof(tiny));
	printable("partialSuccess (small buffer)", tiny, sizeof(tiny));
	hl_otlp_error_text(copy, blen, msg, sizeof(msg));
	printable("error text", msg, sizeof(msg));
	if (blen && !msg[0]) {
		/* An error body with printable bytes must say something. */
		for (size_t i = 0; i < blen; i++)
			if (copy[i] > 0x20 && copy[i] < 0x7f) {
				fprintf(stderr, "error text empty for a body with text\n");
				abort();
			}
	}
	hl_otlp_error_text(copy, blen, tiny, sizeof(tiny));
	printable("error text (small buffer)", tiny, sizeof(tiny));
	free(copy);

	if (nul) {
		char *value = strndup(in, hlen);

		if (value && !hl_http_retry_after(value, (time_t)1700000000, &ns) &&
		    ns > 24ULL * 3600 * 1000000000ULL) {
			fprintf(stderr, "Retry-After '%s': %llu ns\n", value,
				(unsigned long long)ns);
			abort();
		}
		free(value);
	}

	copy = strndup(body, blen);
	if (copy && !hl_otlp_parse_header_list(copy, &hdrs, err, sizeof(err))) {
		for (size_t i = 0; i < hdrs.n; i++)
			if (!hdrs.v[i].name || !hdrs.v[i].name[0] || !hdrs.v[i].value) {
				fprintf(stderr, "header %zu without a name or value\n", i);
				abort();
			}
	}
	hl_otlp_header_list_free(&hdrs);
	hl_otlp_header_list_free(&hdrs);
	free(copy);
	return 0;
}
