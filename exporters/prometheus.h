/* SPDX-License-Identifier: MIT */
/*
 * The prometheus exporter: an HTTP endpoint (GET /metrics) a Prometheus
 * server scrapes, serving the latest batch with cumulative values in the
 * protobuf exposition format (native histograms) when the scraper asks for
 * it, in the text format (classic buckets) otherwise.
 *
 * Names follow the OpenTelemetry-to-Prometheus conventions: characters
 * outside [A-Za-z0-9_:] become '_' (runs of them one '_'), the unit is
 * appended as a word (s: seconds, By: bytes, By/s: bytes_per_second;
 * annotations in braces and the unit 1 are dropped) unless the name
 * already ends with it, counters end in _total. Attributes become labels
 * (names sanitised the same way, without ':'; a leading digit gets
 * "key_"; values are UTF-8 with invalid bytes replaced), the resource
 * becomes one target_info gauge (job from service.name, instance from
 * service.instance.id).
 */
#ifndef HOSTLAT_PROMETHEUS_H
#define HOSTLAT_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hostlat_exporter.h"

#define HL_PROM_DEFAULT_PORT 9464

struct hl_prometheus_conf {
	char *listen;		   /* ADDR:PORT, [ADDR6]:PORT, or an address alone (9464) */
	char *path;		   /* "/metrics" */
	uint32_t max_bytes;	   /* each encoded page (text, protobuf) at most */
	uint32_t max_connections;  /* connections served at once */
	uint64_t timeout_ns;	   /* a connection's whole request and answer */
	struct hl_strlist buckets; /* classic bucket bounds (text); empty: powers of 2 */
	char *username, *password; /* basic_auth; password literal, @file:, @env:, @@ */
	char *tls_cert_file, *tls_key_file, *tls_client_ca_file; /* tls: HTTPS when set */
};

extern const struct hl_exporter_ops hl_prometheus_exporter;

/* An encoded page, and what did not fit in it. */
struct hl_prom_buf {
	char *p;
	size_t len, cap;
	size_t max;	  /* len never exceeds it */
	bool failed;	  /* out of memory */
	uint64_t dropped; /* points left out: they would exceed max */
};

/*
 * Classic bucket bounds from a config list (strings, each a positive
 * finite number), sorted and deduplicated into *out (malloc'ed, *n).
 * 0, -EINVAL with the reason in why, or -ENOMEM.
 */
int hl_prom_parse_buckets(const struct hl_strlist *l, double **out, size_t *n, char *why,
			  size_t whylen);

/*
 * The batch's cumulative values in the text format (0.0.4) into b, with
 * classic buckets at bounds[0..n_bounds) (n_bounds 0: powers of 2 over
 * each histogram's buckets), or as delimited protobuf MetricFamily
 * messages with native histograms. A point that would take b past b->max
 * is left out and counted in b->dropped. 0, or -ENOMEM.
 */
int hl_prom_encode_text(struct hl_prom_buf *b, const struct hl_batch *batch, const double *bounds,
			size_t n_bounds);
int hl_prom_encode_proto(struct hl_prom_buf *b, const struct hl_batch *batch);
void hl_prom_buf_free(struct hl_prom_buf *b);

/* The Prometheus name of a metric (name, unit, kind) into out (always terminated). */
void hl_prom_metric_name(const char *name, const char *unit, enum hl_metric_kind kind, char *out,
			 size_t len);

/*
 * Which format an Accept header asks for: true for the delimited protobuf
 * (it must name proto=io.prometheus.client.MetricFamily and
 * encoding=delimited) when its q is at least that of any text type.
 */
bool hl_prom_wants_proto(const char *accept);

#endif
