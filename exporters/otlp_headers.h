/* SPDX-License-Identifier: MIT */
/*
 * The otlp_http exporter's request headers: the ones it sets itself, the
 * configured ones (literal, @file:PATH re-read before each export,
 * @env:VAR, or an OTEL_EXPORTER_OTLP_HEADERS list), and the redaction of
 * their values and of the endpoint's password from messages.
 */
#ifndef HOSTLAT_OTLP_HEADERS_H
#define HOSTLAT_OTLP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h" /* struct hl_kvlist */

struct curl_slist;

struct hl_otlp_header {
	char *name;
	char *value; /* secret: never logged */
	char *file;  /* @file: PATH, re-read before each export; else NULL */
	bool warned; /* the last re-read failed and was reported */
};

/* A parsed OTEL_EXPORTER_OTLP_HEADERS list (file is NULL in each). */
struct hl_otlp_header_list {
	struct hl_otlp_header *v;
	size_t n;
};

/*
 * OTEL_EXPORTER_OTLP_HEADERS syntax: "k1=v1,k2=v2", keys and values
 * percent-decoded, blanks around them trimmed. Appends to out. 0, -EINVAL
 * (err says which entry, never its value) or -ENOMEM.
 */
int hl_otlp_parse_header_list(const char *s, struct hl_otlp_header_list *out, char *err,
			      size_t errlen);
void hl_otlp_header_list_free(struct hl_otlp_header_list *h); /* NULL-safe, idempotent */

/* The headers an exporter sends, and every secret to keep out of messages. */
struct hl_otlp_header_set {
	struct hl_otlp_header *v; /* distinct names (case-insensitive), none reserved */
	size_t n;
	/* The endpoint's password, and user:password in Base64 as curl sends
	 * it (Basic): secrets like the headers' values. */
	char *url_secrets[2];
};

/*
 * Add the config's headers: name -> literal, "@file:PATH", "@env:VAR" or
 * "@@literal". 0, -EINVAL (err says which header, never its value),
 * -ENOMEM, or the errno of reading a file.
 */
int hl_otlp_headers_from_config(struct hl_otlp_header_set *s, const struct hl_kvlist *conf,
				char *err, size_t errlen);
/*
 * The checks of hl_otlp_headers_from_config but reading files, for the
 * config parser (struct hl_option.check_map): 0, or -EINVAL with the
 * reason in why, the entry at fault in *bad, *at_key when its name is.
 */
int hl_otlp_headers_check(const struct hl_kvlist *m, size_t *bad, bool *at_key, char *why,
			  size_t whylen);
/*
 * A header value "@file:PATH": PATH is a regular file that reads as a
 * header value (struct hl_option.check_system, for --check); other values
 * pass. 0, or a negative errno with the reason in why.
 */
int hl_otlp_header_check_file(const char *value, char *why, size_t whylen);
/*
 * Add the headers of the list text (the variable var's value). An invalid
 * list or header is ignored as a whole with a warning: 0, or -ENOMEM.
 */
int hl_otlp_headers_from_env(struct hl_otlp_header_set *s, const char *text, const char *var);
/* Remember the password of url (if any), to be redacted. 0 or -ENOMEM. */
int hl_otlp_headers_add_url_secrets(struct hl_otlp_header_set *s, const char *url);
/* Re-read @file: headers; a failure keeps the previous value (warned once). */
void hl_otlp_headers_refresh(struct hl_otlp_header_set *s);

/* Base64 (RFC 4648, padded) of n bytes of s, malloc'ed; NULL when out of memory. */
char *hl_base64(const char *s, size_t n);
/*
 * The header lines of a JSON request (gzip: with Content-Encoding) and
 * then of s, for CURLOPT_HTTPHEADER; NULL on ENOMEM. The caller frees
 * it with curl_slist_free_all.
 */
struct curl_slist *hl_otlp_headers_lines(const struct hl_otlp_header_set *s, bool gzip);
/*
 * Hide the secrets of s in msg (it only shrinks): every header value, the
 * credentials after a scheme ("Bearer TOKEN": TOKEN alone too), the
 * endpoint's password and its Basic form.
 */
void hl_otlp_redact(const struct hl_otlp_header_set *s, char *msg);
void hl_otlp_header_set_free(struct hl_otlp_header_set *s); /* idempotent */

#endif
