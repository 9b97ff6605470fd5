/* SPDX-License-Identifier: MIT */
/*
 * HTTP POSTs with libcurl (http_transport.h). Each request runs on a
 * multi handle polled at most CANCEL_POLL_MS at a time, so that a request
 * of a stopping pipeline is cancelled (hl_pipeline_cancel_at) whatever
 * the server does: no answer, or one byte a second.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <zlib.h>

#include "clock.h"
#include "config.h" /* hl_format_duration */
#include "http_transport.h"
#include "pipeline.h" /* hl_pipeline_cancel_at */

#define MAX_RETRY_AFTER_S (24 * 3600)
#define CANCEL_POLL_MS 100
/*
 * zlib's fastest level: less CPU per export for a somewhat larger request
 * (bench/agent-cost.sh prints both: CPU per interval, OTLP gzip bytes).
 */
#define HL_GZIP_LEVEL 1

struct hl_http {
	CURL *curl;
	CURLM *multi;
	size_t max_response;
	char timeout_s[32]; /* for messages */
	char errbuf[CURL_ERROR_SIZE];
	/* the response being read */
	char *resp;
	size_t resp_len, resp_cap;
	bool resp_truncated;
	char retry_after[64];
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hl_http *h = arg;
	size_t len = size * nmemb, take = len;

	if (take > h->max_response - h->resp_len) {
		take = h->max_response - h->resp_len;
		h->resp_truncated = true;
	}
	if (h->resp_len + take + 1 > h->resp_cap) {
		size_t cap = h->resp_cap ? h->resp_cap : 4096;
		char *p;

		while (cap < h->resp_len + take + 1)
			cap *= 2;
		if (cap > h->max_response + 1)
			cap = h->max_response + 1;
		p = realloc(h->resp, cap);
		if (!p)
			return 0;
		h->resp = p;
		h->resp_cap = cap;
	}
	memcpy(h->resp + h->resp_len, data, take);
	h->resp_len += take;
	h->resp[h->resp_len] = 0;
	return h->resp_truncated ? 0 : len; /* 0 stops the transfer */
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hl_http *h = arg;
	size_t len = size * nmemb, n;

	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		h->retry_after[0] = 0; /* a new response */
	} else if (len > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		data += 12;
		len -= 12;
		while (len && (*data == ' ' || *data == '\t')) {
			data++;
			len--;
		}
		while (len && strchr(" \t\r\n", data[len - 1]))
			len--;
		n = len < sizeof(h->retry_after) - 1 ? len : sizeof(h->retry_after) - 1;
		memcpy(h->retry_after, data, n);
		h->retry_after[n] = 0;
	}
	return size * nmemb;
}

struct hl_http *hl_http_open(const struct hl_http_conf *c, char *err, size_t errlen)
{
	struct hl_http *h = calloc(1, sizeof(*h));
	long timeout_ms = (long)(c->timeout_ns / 1000000);

	if (!h || !(h->curl = curl_easy_init()) || !(h->multi = curl_multi_init())) {
		if (h)
			curl_easy_cleanup(h->curl);
		free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->max_response = c->max_response;
	hl_format_duration(c->timeout_ns, h->timeout_s, sizeof(h->timeout_s));
	if (curl_easy_setopt(h->curl, CURLOPT_URL, c->url) ||
	    curl_easy_setopt(h->curl, CURLOPT_POST, 1L) ||
	    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "hostlat/" HOSTLAT_VERSION) ||
	    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms) ||
	    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) ||
	    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h) ||
	    curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header) ||
	    curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h) ||
	    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf) ||
	    curl_easy_setopt(h->curl, CURLOPT_ACCEPT_ENCODING, "") ||
	    curl_easy_setopt(h->curl, CURLOPT_TCP_KEEPALIVE, 1L) ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https") ||
#else
	    curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS,
			     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) ||
#endif
	    (c->ca_file && curl_easy_setopt(h->curl, CURLOPT_CAINFO, c->ca_file)) ||
	    (c->cert_file && curl_easy_setopt(h->curl, CURLOPT_SSLCERT, c->cert_file)) ||
	    (c->key_file && curl_easy_setopt(h->curl, CURLOPT_SSLKEY, c->key_file)) ||
	    (c->insecure && (curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 0L) ||
			     curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 0L)))) {
		snprintf(err, errlen,
			 "libcurl refused an option (TLS files need a TLS-enabled "
			 "libcurl)");
		hl_http_close(h);
		return NULL;
	}
	return h;
}

void hl_http_close(struct hl_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	curl_multi_cleanup(h->multi);
	free(h->resp);
	free(h);
}

static bool permanent_curl_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return true;
	default:
		return false;
	}
}

/*
 * curl_easy_perform through the multi handle, given up (*cancelled) once
 * hl_pipeline_cancel_at has passed: checked before the request and at
 * least every CANCEL_POLL_MS while it runs.
 */
static CURLcode perform(struct hl_http *h, bool *cancelled)
{
	CURLcode rc = CURLE_GOT_NOTHING;
	int running = 1;

	*cancelled = false;
	if (curl_multi_add_handle(h->multi, h->curl) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	for (;;) {
		uint64_t at = hl_pipeline_cancel_at(), now = hl_mono_ns();
		int ms = CANCEL_POLL_MS, left;
		CURLMsg *m;

		if (now >= at) {
			*cancelled = true;
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		if (curl_multi_perform(h->multi, &running) != CURLM_OK) {
			rc = CURLE_OUT_OF_MEMORY;
			break;
		}
		if (!running) {
			while ((m = curl_multi_info_read(h->multi, &left)))
				if (m->msg == CURLMSG_DONE && m->easy_handle == h->curl)
					rc = m->data.result;
			break;
		}
		if (at - now < (uint64_t)ms * 1000000ULL)
			ms = (int)((at - now) / 1000000ULL) + 1;
		/* returns early on activity, or when a curl timer (timeout) is due */
		if (curl_multi_poll(h->multi, NULL, 0, ms, NULL) != CURLM_OK) {
			rc = CURLE_OUT_OF_MEMORY;
			break;
		}
	}
	curl_multi_remove_handle(h->multi, h->curl);
	return rc;
}

int hl_http_post(struct hl_http *h, struct curl_slist *headers, const void *body, size_t len,
		 struct hl_http_response *resp, char *msg, size_t msglen)
{
	bool cancelled;
	CURLcode rc;
	long code = 0;

	h->resp_len = 0;
	h->resp_truncated = false;
	h->retry_after[0] = 0;
	h->errbuf[0] = 0;
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = perform(h, &cancelled);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL); /* the caller frees headers */
	if (cancelled) {
		snprintf(msg, msglen, "request cancelled: the exporter is stopping");
		return -EAGAIN;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
	/* a body cut at max_response stops the transfer with a write error */
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && h->resp_truncated && code)) {
		const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);

		if (rc == CURLE_OPERATION_TIMEDOUT)
			snprintf(msg, msglen, "no response within %s (%s)", h->timeout_s, why);
		else
			snprintf(msg, msglen, "request failed: %s", why);
		return permanent_curl_error(rc) ? -EINVAL : -EAGAIN;
	}
	resp->status = code;
	resp->body = h->resp;
	resp->body_len = h->resp_len;
	resp->retry_after = h->retry_after;
	return 0;
}

int hl_http_gzip(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
	z_stream z = {0};
	unsigned char *buf;
	size_t cap;
	int rc;

	if (deflateInit2(&z, HL_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, (uLong)len);
	buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	*out_len = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

int hl_http_retry_after(const char *value, time_t now, uint64_t *ns)
{
	static const char *const formats[] = {
		"%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
		"%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
		"%a %b %d %H:%M:%S %Y",	     /* asctime */
	};
	const char *s = value;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s >= '0' && *s <= '9') {
		uint64_t secs = 0;

		for (; *s >= '0' && *s <= '9'; s++)
			if (secs < MAX_RETRY_AFTER_S)
				secs = secs * 10 + (uint64_t)(*s - '0');
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s)
			return -EINVAL;
		if (secs > MAX_RETRY_AFTER_S)
			secs = MAX_RETRY_AFTER_S;
		*ns = secs * 1000000000ULL;
		return 0;
	}
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tm tm = {0};
		const char *end = strptime(s, formats[i], &tm);
		time_t t;

		if (!end)
			continue;
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end)
			continue;
		t = timegm(&tm);
		if (t == (time_t)-1)
			return -EINVAL;
		if (t <= now)
			*ns = 0;
		else
			*ns = (uint64_t)(t - now > MAX_RETRY_AFTER_S ? MAX_RETRY_AFTER_S
								     : t - now) *
			      1000000000ULL;
		return 0;
	}
	return -EINVAL;
}
