/* SPDX-License-Identifier: MIT */
/*
 * The otlp_http exporter's settings (otlp_settings.h). Where each setting
 * comes from, first match wins:
 *
 *   1. the exporter's key in the config file;
 *   2. the metrics-specific variable OTEL_EXPORTER_OTLP_METRICS_<X>;
 *   3. the generic variable OTEL_EXPORTER_OTLP_<X>;
 *   4. the default.
 *
 *   key           <X>                  default
 *   endpoint      ENDPOINT             http://localhost:4318/v1/metrics
 *   headers       HEADERS              none
 *   compression   COMPRESSION          gzip
 *   timeout       TIMEOUT              10s
 *   ca_file       CERTIFICATE          the system's CA certificates
 *   cert_file     CLIENT_CERTIFICATE   none
 *   key_file      CLIENT_KEY           none
 *   temporality   TEMPORALITY_PREFERENCE (metrics-specific only)  cumulative
 *
 * - endpoint: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is used as is;
 *   OTEL_EXPORTER_OTLP_ENDPOINT is a base URL and gets /v1/metrics appended
 *   to its path. The config key takes either: a URL without a path (or just
 *   "/") gets /v1/metrics, a URL with a path is used as is.
 * - headers: the variables hold "name=value,name2=value2", percent-decoded.
 *   The config key is a mapping; a value "@file:PATH" is the content of
 *   PATH (trailing newline removed, re-read before each export so rotated
 *   tokens are picked up), "@env:VAR" is the variable VAR (read at start),
 *   "@@..." is the literal value "@..." (otlp_headers.c). A source replaces
 *   the next ones as a whole: headers from the config mean no headers from
 *   the variables.
 * - timeout: the variables are in milliseconds.
 * - temporality: cumulative, delta or lowmemory (delta for every metric
 *   hostlat exports: histograms and counters). Gauges have none.
 * - compression: gzip or none.
 * - "Unset" in the config means the key is absent or set to auto
 *   (compression, temporality); an empty variable counts as unset; a
 *   variable with an invalid value is ignored with a warning.
 * - insecure_skip_verify, max_request_bytes and max_response_bytes have no
 *   variable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "log.h"
#include "otlp_settings.h"

#define COMPONENT "otlp_http"
#define DEFAULT_ENDPOINT "http://localhost:4318/v1/metrics"
#define METRICS_PATH "v1/metrics"
#define DEFAULT_TIMEOUT_NS (10ULL * 1000000000ULL)
#define ENV_PREFIX "OTEL_EXPORTER_OTLP_"
#define ENV_METRICS_PREFIX "OTEL_EXPORTER_OTLP_METRICS_"

enum { COMP_AUTO, COMP_GZIP, COMP_NONE };

static const char *const compression_names[] = {"auto", "gzip", "none", NULL};
/* enum hl_temporality order */
static const char *const temporality_names[] = {"auto", "delta", "cumulative", NULL};

#define OFF(f) offsetof(struct hl_otlp_http_conf, f)
#define MIB (1024 * 1024)

static int check_endpoint(const char *url, char *why, size_t whylen);
static int check_tls_file(const char *path, char *why, size_t whylen);

const struct hl_option hl_otlp_http_options[] = {
	{.name = "endpoint",
	 .type = HL_OPT_STRING,
	 .offset = OFF(endpoint),
	 .help = "http:// or https:// URL to POST to; one without a path gets /v1/metrics; "
		 "unset: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT + "
		 "/v1/metrics, else http://localhost:4318/v1/metrics",
	 .check = check_endpoint},
	{.name = "headers",
	 .type = HL_OPT_KVMAP,
	 .offset = OFF(headers),
	 .def = "{}",
	 .max = 64,
	 .help = "extra HTTP headers, name: value; a value @file:PATH is read from PATH (before "
		 "each export), @env:VAR from the environment, @@x is the literal @x; empty: "
		 "OTEL_EXPORTER_OTLP[_METRICS]_HEADERS",
	 .check_map = hl_otlp_headers_check,
	 .check_system = hl_otlp_header_check_file},
	{.name = "compression",
	 .type = HL_OPT_ENUM,
	 .offset = OFF(compression),
	 .def = "auto",
	 .names = compression_names,
	 .help = "request body encoding; auto: OTEL_EXPORTER_OTLP[_METRICS]_COMPRESSION, else "
		 "gzip"},
	{.name = "timeout",
	 .type = HL_OPT_DURATION,
	 .offset = OFF(timeout_ns),
	 .min = 1000000,
	 .max = 600 * 1000000000LL,
	 .help = "time allowed for each request, connecting included; unset: "
		 "OTEL_EXPORTER_OTLP[_METRICS]_TIMEOUT (ms), else 10s"},
	{.name = "temporality",
	 .type = HL_OPT_ENUM,
	 .offset = OFF(temporality),
	 .def = "auto",
	 .names = temporality_names,
	 .help = "histogram and counter points; auto: "
		 "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (cumulative, delta, lowmemory "
		 "= "
		 "delta), else cumulative"},
	{.name = "ca_file",
	 .type = HL_OPT_STRING,
	 .offset = OFF(ca_file),
	 .help = "PEM CA certificates to verify the server with; unset: "
		 "OTEL_EXPORTER_OTLP[_METRICS]_CERTIFICATE, else the system's",
	 .check_system = check_tls_file},
	{.name = "cert_file",
	 .type = HL_OPT_STRING,
	 .offset = OFF(cert_file),
	 .help = "PEM client certificate (mutual TLS); unset: "
		 "OTEL_EXPORTER_OTLP[_METRICS]_CLIENT_CERTIFICATE",
	 .check_system = check_tls_file},
	{.name = "key_file",
	 .type = HL_OPT_STRING,
	 .offset = OFF(key_file),
	 .help = "PEM private key of cert_file; unset: OTEL_EXPORTER_OTLP[_METRICS]_CLIENT_KEY",
	 .check_system = check_tls_file},
	{.name = "insecure_skip_verify",
	 .type = HL_OPT_BOOL,
	 .offset = OFF(insecure_skip_verify),
	 .def = "false",
	 .help = "do not verify the server's certificate and name (testing only)"},
	{.name = "max_request_bytes",
	 .type = HL_OPT_UINT,
	 .offset = OFF(max_request_bytes),
	 .def = "4194304",
	 .min = 1024,
	 .max = 256 * MIB,
	 .help = "most bytes of JSON per request (before compression): larger batches are split "
		 "into several requests; a single point larger than this is dropped"},
	{.name = "max_response_bytes",
	 .type = HL_OPT_UINT,
	 .offset = OFF(max_response_bytes),
	 .def = "4194304",
	 .min = 256,
	 .max = 256 * MIB,
	 .help = "most bytes of a response body read; the rest is not read"},
	{0},
};

/* ---- the environment ---------------------------------------------------------------- */

/* An environment variable, NULL when unset or empty. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/*
 * OTEL_EXPORTER_OTLP_METRICS_<suffix>, else OTEL_EXPORTER_OTLP_<suffix>;
 * *name gets the variable's name.
 */
static const char *env2(const char *suffix, char *name, size_t len)
{
	const char *v;

	snprintf(name, len, ENV_METRICS_PREFIX "%s", suffix);
	v = env(name);
	if (v)
		return v;
	snprintf(name, len, ENV_PREFIX "%s", suffix);
	return env(name);
}

/* ---- endpoint ----------------------------------------------------------------------- */

/*
 * Parse url (http or https) into a CURLU; how: 0 as is, 1 append
 * /v1/metrics when the path is empty, 2 append v1/metrics to the path.
 */
static int make_url(const char *url, int how, char **out, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *path = NULL, *newpath = NULL;
	int e = -EINVAL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))) {
		snprintf(err, errlen, "invalid endpoint: expected an http:// or https:// URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	if ((how == 1 && (!*path || !strcmp(path, "/"))) || how == 2) {
		size_t n = strlen(path);

		newpath = malloc(n + sizeof(METRICS_PATH) + 2);
		if (!newpath) {
			e = -ENOMEM;
			goto out;
		}
		sprintf(newpath, "%s%s" METRICS_PATH, path, n && path[n - 1] == '/' ? "" : "/");
		if (curl_url_set(u, CURLUPART_PATH, newpath, 0) != CURLUE_OK)
			goto out;
	}
	if (curl_url_get(u, CURLUPART_URL, out, 0) != CURLUE_OK)
		goto out;
	e = 0;
out:
	free(newpath);
	curl_free(path);
	curl_free(scheme);
	curl_url_cleanup(u);
	return e;
}

/* The config's endpoint as hl_otlp_resolve_endpoint takes it (struct hl_option.check). */
static int check_endpoint(const char *url, char *why, size_t whylen)
{
	char *u = NULL;
	int e;

	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f) {
			snprintf(why, whylen,
				 "invalid endpoint: the URL holds a control character (a line "
				 "break?)");
			return -EINVAL;
		}
	}
	e = make_url(url, 1, &u, why, whylen);
	curl_free(u);
	if (e == -ENOMEM)
		snprintf(why, whylen, "out of memory");
	return e;
}

int hl_otlp_resolve_endpoint(const char *config, const char *metrics_env, const char *base_env,
			     char **url, const char **source, char *err, size_t errlen)
{
	char *u = NULL;
	int e;

	if (config) {
		*source = "config";
		e = make_url(config, 1, &u, err, errlen);
	} else if (metrics_env) {
		*source = ENV_METRICS_PREFIX "ENDPOINT";
		e = make_url(metrics_env, 0, &u, err, errlen);
	} else if (base_env) {
		*source = ENV_PREFIX "ENDPOINT";
		e = make_url(base_env, 2, &u, err, errlen);
	} else {
		*source = "default";
		e = make_url(DEFAULT_ENDPOINT, 0, &u, err, errlen);
	}
	if (e)
		return e;
	*url = strdup(u);
	curl_free(u);
	return *url ? 0 : -ENOMEM;
}

/* url without user, password and query, for the log. */
static void public_url(const char *url, char *buf, size_t len)
{
	CURLU *u = curl_url();
	char *s = NULL, *q = NULL;

	snprintf(buf, len, "<invalid URL>");
	if (!u)
		return;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_QUERY, &q, 0);
		curl_url_set(u, CURLUPART_USER, NULL, 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		curl_url_set(u, CURLUPART_QUERY, NULL, 0);
		if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
			snprintf(buf, len, "%s%s", s, q ? "?<query hidden>" : "");
	}
	curl_free(q);
	curl_free(s);
	curl_url_cleanup(u);
}

/* ---- the other settings ------------------------------------------------------------- */

static void load_compression(struct hl_otlp_settings *s, const struct hl_otlp_http_conf *c)
{
	char name[64];
	const char *v;

	s->gzip = true;
	if (c->compression != COMP_AUTO) {
		s->gzip = c->compression == COMP_GZIP;
	} else if ((v = env2("COMPRESSION", name, sizeof(name)))) {
		if (!strcasecmp(v, "gzip") || !strcasecmp(v, "none"))
			s->gzip = !strcasecmp(v, "gzip");
		else
			hl_warn(COMPONENT, "%s ignored: expected gzip or none", name);
	}
}

static void load_timeout(struct hl_otlp_settings *s, const struct hl_otlp_http_conf *c)
{
	char name[64];
	const char *v;

	s->timeout_ns = DEFAULT_TIMEOUT_NS;
	s->timeout_source = "default";
	if (c->timeout_ns) {
		s->timeout_ns = c->timeout_ns;
		s->timeout_source = "config";
	} else if ((v = env2("TIMEOUT", name, sizeof(name)))) {
		char *end;
		unsigned long long ms;

		errno = 0;
		ms = strtoull(v, &end, 10);
		if (*v >= '0' && *v <= '9' && !*end && !errno && ms > 0 && ms <= 600000) {
			s->timeout_ns = ms * 1000000ULL;
			s->timeout_source = strstr(name, "METRICS") ? ENV_METRICS_PREFIX "TIMEOUT"
								    : ENV_PREFIX "TIMEOUT";
		} else {
			hl_warn(COMPONENT, "%s ignored: expected milliseconds, 1..600000", name);
		}
	}
}

static void load_temporality(struct hl_otlp_settings *s, const struct hl_otlp_http_conf *c)
{
	const char *v;

	if (c->temporality != HL_TEMP_AUTO) {
		s->delta = c->temporality == HL_TEMP_DELTA;
	} else if ((v = env(ENV_METRICS_PREFIX "TEMPORALITY_PREFERENCE"))) {
		if (!strcasecmp(v, "delta") || !strcasecmp(v, "lowmemory"))
			s->delta = true;
		else if (strcasecmp(v, "cumulative"))
			hl_warn(COMPONENT,
				ENV_METRICS_PREFIX "TEMPORALITY_PREFERENCE ignored: expected "
						   "cumulative, delta or lowmemory");
	}
}

/*
 * A TLS file libcurl reads when it connects: readable, and not a FIFO or a
 * socket, on which the exporter would wait for a writer for ever. 0, or
 * -EINVAL with the reason in why.
 */
static int tls_file_problem(const char *path, char *why, size_t whylen)
{
	struct stat st;

	if (access(path, R_OK) || stat(path, &st)) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -EINVAL;
	}
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "not a regular file (%s)",
			 S_ISFIFO(st.st_mode)	? "a FIFO"
			 : S_ISSOCK(st.st_mode) ? "a socket"
						: "a directory");
		return -EINVAL;
	}
	return 0;
}

/* The config's ca_file, cert_file and key_file (struct hl_option.check_system). */
static int check_tls_file(const char *path, char *why, size_t whylen)
{
	char msg[128];

	if (!tls_file_problem(path, msg, sizeof(msg)))
		return 0;
	snprintf(why, whylen, "cannot read '%s': %s", path, msg);
	return -EINVAL;
}

/* A TLS file: the config's, else the variables'; must be readable. */
static int tls_file(const char *conf, const char *suffix, const char *key, const char **out,
		    char *err, size_t errlen)
{
	char name[64], msg[128];
	const char *v = conf ? conf : env2(suffix, name, sizeof(name));

	*out = v;
	if (v && tls_file_problem(v, msg, sizeof(msg))) {
		snprintf(err, errlen, "%s '%s'%s%s: %s", key, v, conf ? "" : " from ",
			 conf ? "" : name, msg);
		return -EINVAL;
	}
	return 0;
}

/* The config's headers, else the variables' list. */
static int load_headers(struct hl_otlp_settings *s, const struct hl_otlp_http_conf *c, char *err,
			size_t errlen)
{
	char name[64];
	const char *v;
	int e;

	if (c->headers.n) {
		s->headers_source = "config";
		return hl_otlp_headers_from_config(&s->headers, &c->headers, err, errlen);
	}
	v = env2("HEADERS", name, sizeof(name));
	if (!v)
		return 0;
	e = hl_otlp_headers_from_env(&s->headers, v, name);
	if (s->headers.n)
		s->headers_source = strstr(name, "METRICS") ? ENV_METRICS_PREFIX "HEADERS"
							    : ENV_PREFIX "HEADERS";
	return e;
}

int hl_otlp_settings_load(struct hl_otlp_settings *s, const struct hl_otlp_http_conf *c, char *err,
			  size_t errlen)
{
	int e;

	memset(s, 0, sizeof(*s));
	if (errlen)
		err[0] = 0;
	s->max_request = c->max_request_bytes;
	s->max_response = c->max_response_bytes;
	s->insecure = c->insecure_skip_verify;

	e = hl_otlp_resolve_endpoint(c->endpoint, env(ENV_METRICS_PREFIX "ENDPOINT"),
				     env(ENV_PREFIX "ENDPOINT"), &s->url, &s->url_source, err,
				     errlen);
	if (e) {
		if (e == -EINVAL && !c->endpoint) {
			size_t n = strlen(err);

			snprintf(err + n, errlen - n, " in %s", s->url_source);
		}
		goto fail;
	}
	e = hl_otlp_headers_add_url_secrets(&s->headers, s->url);
	if (e)
		goto fail;
	load_compression(s, c);
	load_timeout(s, c);
	load_temporality(s, c);
	if ((e = tls_file(c->ca_file, "CERTIFICATE", "ca_file", &s->ca_file, err, errlen)) ||
	    (e = tls_file(c->cert_file, "CLIENT_CERTIFICATE", "cert_file", &s->cert_file, err,
			  errlen)) ||
	    (e = tls_file(c->key_file, "CLIENT_KEY", "key_file", &s->key_file, err, errlen)))
		goto fail;
	e = load_headers(s, c, err, errlen);
	if (e)
		goto fail;
	return 0;
fail:
	if (e == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	hl_otlp_settings_free(s);
	return e;
}

void hl_otlp_settings_free(struct hl_otlp_settings *s)
{
	hl_otlp_header_set_free(&s->headers);
	free(s->url);
	s->url = NULL;
}

void hl_otlp_settings_describe(const struct hl_otlp_settings *s, char *buf, size_t len)
{
	char url[512], timeout[32];
	size_t n;

	public_url(s->url, url, sizeof(url));
	hl_format_duration(s->timeout_ns, timeout, sizeof(timeout));
	n = (size_t)snprintf(buf, len,
			     "endpoint %s (%s), compression %s, temporality %s, timeout %s (%s)",
			     url, s->url_source, s->gzip ? "gzip" : "none",
			     s->delta ? "delta" : "cumulative", timeout, s->timeout_source);
	if (s->headers.n && n < len) {
		n += (size_t)snprintf(buf + n, len - n, ", headers from %s:", s->headers_source);
		for (size_t i = 0; i < s->headers.n && n < len; i++)
			n += (size_t)snprintf(buf + n, len - n, " %s%s", s->headers.v[i].name,
					      s->headers.v[i].file ? " (file)" : "");
	}
	if (s->ca_file && n < len)
		n += (size_t)snprintf(buf + n, len - n, ", CA file %s", s->ca_file);
	if (s->cert_file && n < len)
		n += (size_t)snprintf(buf + n, len - n, ", client certificate %s", s->cert_file);
	if (s->insecure && n < len)
		snprintf(buf + n, len - n, ", TLS VERIFICATION OFF");
}
