/* SPDX-License-Identifier: MIT */
/*
 * HTTP POSTs over one libcurl easy handle: the URL, TLS files, timeouts,
 * a bounded response body and its Retry-After header. A handle is used by
 * one thread at a time; curl_global_init is the core's (agent/core/main.c).
 * On a pipeline's thread a request is cancelled when the pipeline stops
 * (hl_pipeline_cancel_at, agent/core/pipeline.h).
 */
#ifndef HOSTLAT_HTTP_TRANSPORT_H
#define HOSTLAT_HTTP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct curl_slist;
struct hl_http;

struct hl_http_conf {
	const char *url;			    /* http:// or https:// */
	uint64_t timeout_ns;			    /* each request, connecting included */
	const char *ca_file, *cert_file, *key_file; /* PEM files; NULL: unset */
	bool insecure;				    /* no check of the server's certificate */
	size_t max_response;			    /* response body bytes read at most */
};

/* NULL with a message in err (nothing else is logged). */
struct hl_http *hl_http_open(const struct hl_http_conf *c, char *err, size_t errlen);
void hl_http_close(struct hl_http *h); /* NULL-safe */

/* What came back. */
struct hl_http_response {
	long status;
	const char *body; /* the first max_response bytes (NULL: none); valid until the next POST */
	size_t body_len;
	const char *retry_after; /* the Retry-After header's value, "" when absent */
};

/*
 * POST len bytes of body with the given header lines. 0 when a response
 * came (also one whose body was cut at max_response); else no response,
 * msg says why: -EAGAIN when trying again may help (connection refused,
 * timeout, cancelled...), -EINVAL when it cannot (a URL or protocol libcurl
 * refuses).
 */
int hl_http_post(struct hl_http *h, struct curl_slist *headers, const void *body, size_t len,
		 struct hl_http_response *resp, char *msg, size_t msglen);

/* body as gzip (Content-Encoding: gzip), malloc'ed. 0, -ENOMEM or -EIO. */
int hl_http_gzip(const char *in, size_t len, unsigned char **out, size_t *out_len);

/*
 * Retry-After: delay-seconds or an HTTP-date (relative to now), capped at
 * 24 h. 0 or -EINVAL.
 */
int hl_http_retry_after(const char *value, time_t now, uint64_t *ns);

#endif
