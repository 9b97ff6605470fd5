/* SPDX-License-Identifier: MIT */
/*
 * The otlp_http exporter: OTLP/HTTP with JSON bodies. Each batch is one
 * ExportMetricsServiceRequest POSTed to the endpoint, or several when its
 * JSON would exceed max_request_bytes (split by metrics and data points,
 * otlp_json.c). Its settings come from the config and the OTEL_*
 * environment (otlp_settings.c), its headers and secrets from
 * otlp_headers.c; the requests go through http_transport.c.
 *
 * Results: 2xx is success (a partialSuccess in the body is logged and its
 * rejected points counted, never retried); 429, 502, 503, 504, connection
 * failures and timeouts are RETRY, with the Retry-After delay when given;
 * every other status is DROP. Header values never appear in messages.
 *
 * A split batch whose requests were partly answered when one got RETRY
 * is resumed, when the core calls again with the same batch, from the
 * request that failed (docs/plugins.md, "Resuming a partly sent batch").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "exporters.h"
#include "http_transport.h"
#include "log.h"
#include "otlp_json.h"
#include "otlp_settings.h"

#define COMPONENT "otlp_http"

/*
 * The record of a batch that got RETRY after its first `done` requests
 * were answered (accepted or refused). The batch is recognised by its
 * times, its number of metrics and of requests. Each call that encodes
 * its batch takes the record and forgets it, whatever batch it brings;
 * only a RETRY after a request was tried records again.
 */
struct resume {
	bool valid;
	uint64_t start, prev, time;
	size_t n_metrics, n_bodies;
	size_t done;
	uint64_t rejected; /* points rejected or refused in those requests */
	bool delivered;	   /* one of them was accepted */
};

struct otlp_http {
	struct hl_otlp_settings set;
	struct hl_http *http;
	char desc[768];
	struct resume resume;
};

/* snprintf into a message buffer (truncation is fine), or append with msgcat. */
__attribute__((format(printf, 3, 4))) static void msgf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) static void msgcat(char *buf, size_t len, const char *fmt,
							 ...)
{
	size_t n = strnlen(buf, len);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* What one POST came to. */
struct post_result {
	enum hl_export_result res;
	uint64_t rejected;	 /* OK: partial success */
	uint64_t retry_after_ns; /* RETRY */
	char msg[256];
};

static void post(struct otlp_http *st, struct curl_slist *hdrs, const void *body, size_t len,
		 struct post_result *r)
{
	struct hl_http_response resp;
	const char *ra;
	char text[256];
	long code;
	int e;

	memset(r, 0, sizeof(*r));
	e = hl_http_post(st->http, hdrs, body, len, &resp, r->msg, sizeof(r->msg));
	if (e) {
		r->res = e == -EAGAIN ? HL_EXPORT_RETRY : HL_EXPORT_DROP;
		return;
	}
	code = resp.status;
	ra = resp.retry_after;
	if (code >= 200 && code < 300) {
		r->res = HL_EXPORT_OK;
		hl_otlp_parse_success(resp.body, resp.body_len, &r->rejected, text, sizeof(text));
		if (r->rejected || text[0])
			msgf(r->msg, sizeof(r->msg), "partial success: %llu point%s rejected%s%s",
			     (unsigned long long)r->rejected, r->rejected == 1 ? "" : "s",
			     text[0] ? ": " : "", text);
		return;
	}
	hl_otlp_error_text(resp.body, resp.body_len, text, sizeof(text));
	if (code == 429 || code == 502 || code == 503 || code == 504) {
		r->res = HL_EXPORT_RETRY;
		if (ra[0] && hl_http_retry_after(ra, time(NULL), &r->retry_after_ns))
			r->retry_after_ns = 0;
	} else {
		r->res = HL_EXPORT_DROP;
	}
	msgf(r->msg, sizeof(r->msg), "HTTP %ld%s%s%s", code,
	     ra[0] && r->res == HL_EXPORT_RETRY ? " (Retry-After: " : "",
	     ra[0] && r->res == HL_EXPORT_RETRY ? ra : "",
	     ra[0] && r->res == HL_EXPORT_RETRY ? ")" : "");
	if (text[0])
		msgcat(r->msg, sizeof(r->msg), ": %s", text);
}

/* ---- the exporter ------------------------------------------------------------------- */

const char *hl_otlp_http_describe(const void *state)
{
	return state ? ((const struct otlp_http *)state)->desc : "";
}

static void otlp_http_shutdown(void *state);

static void *otlp_http_init(const void *conf, char *err, size_t errlen)
{
	struct otlp_http *st = calloc(1, sizeof(*st));
	struct hl_http_conf hc;

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (hl_otlp_settings_load(&st->set, conf, err, errlen)) {
		free(st);
		return NULL;
	}
	hc = (struct hl_http_conf){.url = st->set.url,
				   .timeout_ns = st->set.timeout_ns,
				   .ca_file = st->set.ca_file,
				   .cert_file = st->set.cert_file,
				   .key_file = st->set.key_file,
				   .insecure = st->set.insecure,
				   .max_response = st->set.max_response};
	st->http = hl_http_open(&hc, err, errlen);
	if (!st->http) {
		otlp_http_shutdown(st);
		return NULL;
	}
	hl_otlp_settings_describe(&st->set, st->desc, sizeof(st->desc));
	hl_info(COMPONENT, "%s", st->desc);
	return st;
}

/* Where to start batch b split into n requests: after the recorded ones, or at 0. */
static size_t resume_take(struct otlp_http *st, const struct hl_batch *b, size_t n,
			  uint64_t *rejected, bool *delivered)
{
	struct resume *r = &st->resume;
	bool same = r->valid && r->start == b->start_unix_ns && r->prev == b->prev_unix_ns &&
		    r->time == b->time_unix_ns && r->n_metrics == b->n_metrics && r->n_bodies == n;

	r->valid = false;
	if (!same)
		return 0;
	*rejected = r->rejected;
	*delivered = r->delivered;
	return r->done;
}

/* Record that requests [0, done) of b split into n were answered. */
static void resume_keep(struct otlp_http *st, const struct hl_batch *b, size_t n, size_t done,
			uint64_t rejected, bool delivered)
{
	st->resume = (struct resume){.valid = true,
				     .start = b->start_unix_ns,
				     .prev = b->prev_unix_ns,
				     .time = b->time_unix_ns,
				     .n_metrics = b->n_metrics,
				     .n_bodies = n,
				     .done = done,
				     .rejected = rejected,
				     .delivered = delivered};
}

static enum hl_export_result otlp_http_export(void *state, const struct hl_batch *batch,
					      struct hl_export_status *status)
{
	struct otlp_http *st = state;
	struct hl_otlp_split sp;
	struct curl_slist *hdrs = NULL;
	struct post_result r;
	enum hl_export_result res = HL_EXPORT_OK;
	char first_drop[256] = "", first_note[256] = "";
	size_t start, n_dropped = 0;
	uint64_t rejected = 0;
	bool delivered = false;

	if (hl_otlp_encode_split(batch, st->set.delta, st->set.max_request, &sp)) {
		msgf(status->message, sizeof(status->message), "out of memory encoding a batch");
		return HL_EXPORT_RETRY;
	}
	start = resume_take(st, batch, sp.n, &rejected, &delivered);
	if (sp.n > start) {
		hl_otlp_headers_refresh(&st->set.headers);
		hdrs = hl_otlp_headers_lines(&st->set.headers, st->set.gzip);
		if (!hdrs) {
			hl_otlp_split_free(&sp);
			msgf(status->message, sizeof(status->message), "out of memory");
			return HL_EXPORT_RETRY;
		}
	}
	for (size_t i = start; i < sp.n; i++) {
		const struct hl_otlp_body *b = &sp.v[i];
		unsigned char *gz = NULL;
		size_t gz_len = 0;

		if (st->set.gzip && hl_http_gzip(b->json, b->len, &gz, &gz_len)) {
			msgf(r.msg, sizeof(r.msg), "gzip failed");
			r.res = HL_EXPORT_RETRY;
			r.retry_after_ns = 0;
		} else {
			post(st, hdrs, gz ? (const void *)gz : b->json, gz ? gz_len : b->len, &r);
			status->bytes += gz ? gz_len : b->len;
		}
		free(gz);
		if (r.res == HL_EXPORT_RETRY) {
			resume_keep(st, batch, sp.n, i, rejected, delivered);
			status->retry_after_ns = r.retry_after_ns;
			if (sp.n > 1)
				msgf(status->message, sizeof(status->message),
				     "request %zu of %zu: %s", i + 1, sp.n, r.msg);
			else
				msgf(status->message, sizeof(status->message), "%s", r.msg);
			res = HL_EXPORT_RETRY;
			goto out;
		}
		if (r.res == HL_EXPORT_OK) {
			delivered = true;
			rejected += r.rejected;
			if (r.msg[0] && !first_note[0])
				msgf(first_note, sizeof(first_note), "%s", r.msg);
		} else {
			n_dropped++;
			rejected += b->n_points;
			if (!first_drop[0])
				msgf(first_drop, sizeof(first_drop), "%s", r.msg);
		}
	}
	if (n_dropped && !delivered) {
		res = HL_EXPORT_DROP;
		if (sp.n > 1)
			msgf(status->message, sizeof(status->message), "%zu requests refused: %s",
			     n_dropped, first_drop);
		else
			msgf(status->message, sizeof(status->message), "%s", first_drop);
	} else if (n_dropped) {
		msgf(status->message, sizeof(status->message), "%zu of %zu requests refused: %s",
		     n_dropped, sp.n, first_drop);
	} else if (first_note[0]) {
		msgf(status->message, sizeof(status->message), "%s", first_note);
	}
	if (sp.oversize_points) {
		msgcat(status->message, sizeof(status->message),
		       "%s%llu point%s larger than max_request_bytes (%zu) dropped",
		       status->message[0] ? "; " : "", (unsigned long long)sp.oversize_points,
		       sp.oversize_points == 1 ? "" : "s", st->set.max_request);
		if (!sp.n)
			res = HL_EXPORT_DROP;
	}
	if (res == HL_EXPORT_OK)
		status->rejected_points = rejected + sp.oversize_points;
out:
	hl_otlp_redact(&st->set.headers, status->message);
	curl_slist_free_all(hdrs);
	hl_otlp_split_free(&sp);
	return res;
}

static void otlp_http_shutdown(void *state)
{
	struct otlp_http *st = state;

	if (!st)
		return;
	hl_http_close(st->http);
	hl_otlp_settings_free(&st->set);
	free(st);
	hl_otlp_memo_clear();
}

const struct hl_exporter_ops hl_otlp_http_exporter = {
	.abi_version = HL_EXPORTER_ABI_VERSION,
	.name = "otlp_http",
	.options = hl_otlp_http_options,
	.config_size = sizeof(struct hl_otlp_http_conf),
	.help = "OTLP/HTTP with JSON bodies to an OpenTelemetry collector or any OTLP receiver",
	.init = otlp_http_init,
	.export_batch = otlp_http_export,
	.shutdown = otlp_http_shutdown,
};
