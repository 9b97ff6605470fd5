/* SPDX-License-Identifier: MIT */
/*
 * The otlp_http exporter's settings: its config keys and, for the keys
 * left unset, the OTEL_EXPORTER_OTLP_* environment variables (the
 * precedence is described in otlp_settings.c).
 */
#ifndef HOSTLAT_OTLP_SETTINGS_H
#define HOSTLAT_OTLP_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exporters.h"
#include "otlp_headers.h"

/* The config keys of `type: otlp_http` (struct hl_otlp_http_conf). */
extern const struct hl_option hl_otlp_http_options[];

/* What the exporter runs with. */
struct hl_otlp_settings {
	char *url;		/* to POST to */
	const char *url_source; /* "config", "default" or a variable's name */
	bool gzip, delta;	/* compression; temporality of histograms and counters */
	uint64_t timeout_ns;
	const char *timeout_source;
	/* TLS files, NULL when unset: the config's strings or the environment's,
	 * valid while those are (the exporter uses them only in its init) */
	const char *ca_file, *cert_file, *key_file;
	bool insecure;
	size_t max_request, max_response;
	struct hl_otlp_header_set headers;
	const char *headers_source; /* "config", a variable's name, or NULL: no headers */
};

/*
 * Resolve c and the environment into s (zeroed first); an invalid
 * variable is ignored with a warning. 0, or an error with a message in
 * err (a negative errno; s is then freed).
 */
int hl_otlp_settings_load(struct hl_otlp_settings *s, const struct hl_otlp_http_conf *c, char *err,
			  size_t errlen);
void hl_otlp_settings_free(struct hl_otlp_settings *s); /* idempotent */
/* The settings in one line (no secrets: no header values, no user, password or query). */
void hl_otlp_settings_describe(const struct hl_otlp_settings *s, char *buf, size_t len);

/*
 * The URL to POST to: the config's endpoint (a URL without a path gets
 * /v1/metrics), else metrics_env as is, else base_env + /v1/metrics, else
 * http://localhost:4318/v1/metrics. *source names where it came from.
 * 0, -EINVAL (err says why) or -ENOMEM; caller frees *url.
 */
int hl_otlp_resolve_endpoint(const char *config, const char *metrics_env, const char *base_env,
			     char **url, const char **source, char *err, size_t errlen);

#endif
