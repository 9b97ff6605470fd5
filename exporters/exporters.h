/* SPDX-License-Identifier: MIT */
/* Built-in exporters. */
#ifndef HOSTLAT_EXPORTERS_H
#define HOSTLAT_EXPORTERS_H

#include "hostlat_exporter.h"

enum hl_stdout_format { HL_STDOUT_PRETTY, HL_STDOUT_JSON };
enum hl_temporality { HL_TEMP_AUTO, HL_TEMP_DELTA, HL_TEMP_CUMULATIVE };

struct hl_stdout_conf {
	int format;	 /* enum hl_stdout_format */
	int temporality; /* enum hl_temporality; auto: pretty=delta, json=cumulative */
	char *output;	 /* "-" (stdout) or a file path, appended to */
};

extern const struct hl_exporter_ops hl_stdout_exporter;

#include "config.h" /* struct hl_kvlist */

/* otlp_http: unset keys (NULL, 0, auto) come from OTEL_EXPORTER_OTLP_* (otlp_settings.c). */
struct hl_otlp_http_conf {
	char *endpoint;		  /* URL; a URL without a path gets /v1/metrics */
	struct hl_kvlist headers; /* name -> value, "@file:PATH", "@env:VAR" or "@@literal" */
	int compression;	  /* 0 auto, 1 gzip, 2 none */
	uint64_t timeout_ns;	  /* whole request */
	int temporality;	  /* enum hl_temporality */
	char *ca_file, *cert_file, *key_file;
	bool insecure_skip_verify;
	uint32_t max_request_bytes;  /* JSON per request; larger batches are split */
	uint32_t max_response_bytes; /* response bytes read at most */
};

extern const struct hl_exporter_ops hl_otlp_http_exporter;
/* The otlp_http exporter's effective settings in one line (no secrets), for the log. */
const char *hl_otlp_http_describe(const void *state);

enum hl_statsd_tags { HL_STATSD_TAGS_NONE, HL_STATSD_TAGS_DOGSTATSD };
enum hl_statsd_hist { HL_STATSD_HIST_PERCENTILES, HL_STATSD_HIST_BUCKETS };

struct hl_statsd_conf {
	char *address;		   /* host:port, [v6]:port or host (port 8125) */
	char *prefix;		   /* replaces the metric names' "hostlat." */
	uint32_t max_packet_bytes; /* 64..65507 */
	int tags;		   /* enum hl_statsd_tags */
	int histogram_mode;	   /* enum hl_statsd_hist */
};

extern const struct hl_exporter_ops hl_statsd_exporter;
/*
 * The datagrams the statsd exporter sends for batch under c (address
 * unused), for the unit tests: emit is called once per datagram. Returns
 * the number of lines dropped (longer than max_packet_bytes, or a value
 * that is not finite), or -ENOMEM / -EINVAL.
 */
long hl_statsd_encode(const struct hl_statsd_conf *c, const struct hl_batch *b,
		      void (*emit)(void *arg, const char *dgram, size_t len), void *arg);

#endif
