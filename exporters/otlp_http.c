/* SPDX-License-Identifier: MIT */
/*
 * The otlp_http exporter: OTLP/HTTP with JSON bodies. Each batch is one
 * ExportMetricsServiceRequest POSTed to the endpoint, or several when its
 * JSON would exceed max_request_bytes (split by metrics and data points).
 *
 * Where each setting comes from, first match wins:
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
 *   "@@..." is the literal value "@...". A source replaces the next ones as
 *   a whole: headers from the config mean no headers from the variables.
 * - timeout: the variables are in milliseconds.
 * - temporality: cumulative, delta or lowmemory (delta for every metric
 *   hostlat exports: histograms and counters). Gauges have none.
 * - compression: gzip or none.
 * - "Unset" in the config means the key is absent or set to auto
 *   (compression, temporality); an empty variable counts as unset; a
 *   variable with an invalid value is ignored with a warning.
 * - insecure_skip_verify, max_request_bytes and max_response_bytes have no
 *   variable.
 *
 * Results: 2xx is success (a partialSuccess in the body is logged and its
 * rejected points counted, never retried); 429, 502, 503, 504, connection
 * failures and timeouts are RETRY, with the Retry-After delay when given;
 * every other status is DROP. Header values never appear in messages.
 *
 * libcurl: one easy handle per exporter, used only by the exporter's
 * thread; curl_global_init is the core's (agent/core/main.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>

#include "config.h"
#include "exporters.h"
#include "log.h"
#include "otlp_json.h"

#define COMPONENT "otlp_http"
#define DEFAULT_ENDPOINT "http://localhost:4318/v1/metrics"
#define METRICS_PATH "v1/metrics"
#define DEFAULT_TIMEOUT_NS (10ULL * 1000000000ULL)
#define MAX_SECRET_FILE (64 * 1024)
#define MAX_RETRY_AFTER_S (24 * 3600)
#define ENV_PREFIX "OTEL_EXPORTER_OTLP_"
#define ENV_METRICS_PREFIX "OTEL_EXPORTER_OTLP_METRICS_"

enum { COMP_AUTO, COMP_GZIP, COMP_NONE };

static const char *const compression_names[] = {"auto", "gzip", "none", NULL};
/* enum hl_temporality order */
static const char *const temporality_names[] = {"auto", "delta", "cumulative", NULL};

#define OFF(f) offsetof(struct hl_otlp_http_conf, f)
#define MIB (1024 * 1024)

static const struct hl_option otlp_http_options[] = {
	{.name = "endpoint",
	 .type = HL_OPT_STRING,
	 .offset = OFF(endpoint),
	 .help = "http:// or https:// URL to POST to; one without a path gets /v1/metrics; "
		 "unset: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT + "
		 "/v1/metrics, else http://localhost:4318/v1/metrics"},
	{.name = "headers",
	 .type = HL_OPT_KVMAP,
	 .offset = OFF(headers),
	 .def = "{}",
	 .max = 64,
	 .help = "extra HTTP headers, name: value; a value @file:PATH is read from PATH (before "
		 "each export), @env:VAR from the environment, @@x is the literal @x; empty: "
		 "OTEL_EXPORTER_OTLP[_METRICS]_HEADERS"},
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
		 "OTEL_EXPORTER_OTLP[_METRICS]_CERTIFICATE, else the system's"},
	{.name = "cert_file",
	 .type = HL_OPT_STRING,
	 .offset = OFF(cert_file),
	 .help = "PEM client certificate (mutual TLS); unset: "
		 "OTEL_EXPORTER_OTLP[_METRICS]_CLIENT_CERTIFICATE"},
	{.name = "key_file",
	 .type = HL_OPT_STRING,
	 .offset = OFF(key_file),
	 .help = "PEM private key of cert_file; unset: OTEL_EXPORTER_OTLP[_METRICS]_CLIENT_KEY"},
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

struct header {
	char *name;
	char *value; /* secret: never logged */
	char *file;  /* @file: PATH, re-read before each export */
	bool warned; /* the last re-read failed and was reported */
};

struct otlp_http {
	CURL *curl;
	char *url;
	bool gzip, delta;
	size_t max_request, max_response;
	struct header *hdrs;
	size_t n_hdrs;
	/* The endpoint's password, and user:password in Base64 as curl sends
	 * it (Basic): secrets like the headers' values, never logged. */
	char *url_secrets[2];
	char desc[768];
	char errbuf[CURL_ERROR_SIZE];
	char timeout_s[32];
	/* the response being read */
	char *resp;
	size_t resp_len, resp_cap;
	bool resp_truncated;
	char retry_after[64];
	/* a batch that got RETRY after some of its requests were answered */
	struct {
		bool valid;
		uint64_t start, prev, time;
		size_t n_metrics, n_bodies, done;
		uint64_t rejected;
		bool delivered;
	} resume;
};

/* ---- small helpers ------------------------------------------------------------------ */

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

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool valid_header_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

/* No CR, LF, NUL or other control characters but tab. */
static bool valid_header_value(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < ' ' && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* Headers the exporter sets itself. */
static bool reserved_header(const char *name)
{
	static const char *const names[] = {"content-type",   "content-encoding",
					    "content-length", "transfer-encoding",
					    "host",	      "expect"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(name, names[i]))
			return true;
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len) with blanks around it trimmed; NULL on a bad escape or ENOMEM. */
static char *pct_decode(const char *s, size_t len, bool *bad)
{
	char *out, *o;

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	out = malloc(len + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= len || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
			*bad = true;
			free(out);
			return NULL;
		}
		*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
		i += 2;
	}
	*o = 0;
	if (strlen(out) != (size_t)(o - out)) { /* a %00 */
		*bad = true;
		free(out);
		return NULL;
	}
	return out;
}

void hl_otlp_headers_free(struct hl_otlp_headers *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	memset(h, 0, sizeof(*h));
}

int hl_otlp_parse_header_list(const char *s, struct hl_otlp_headers *out, char *err, size_t errlen)
{
	size_t entry = 0;

	while (*s) {
		const char *end = strchr(s, ','), *eq;
		size_t len = end ? (size_t)(end - s) : strlen(s);
		struct hl_otlp_header h = {0}, *v;
		bool bad = false, blank = true;

		entry++;
		for (size_t i = 0; i < len; i++)
			blank &= s[i] == ' ' || s[i] == '\t';
		if (blank) { /* "a=b,,c=d" or a trailing comma */
			s += len + (end ? 1 : 0);
			continue;
		}
		eq = memchr(s, '=', len);
		if (!eq) {
			snprintf(err, errlen, "entry %zu has no '='", entry);
			return -EINVAL;
		}
		h.name = pct_decode(s, (size_t)(eq - s), &bad);
		h.value = h.name ? pct_decode(eq + 1, len - (size_t)(eq - s) - 1, &bad) : NULL;
		if (!h.name || !h.value) {
			free(h.name);
			free(h.value);
			if (!bad)
				return -ENOMEM;
			snprintf(err, errlen, "entry %zu has an invalid percent escape", entry);
			return -EINVAL;
		}
		if (!valid_header_name(h.name) || !valid_header_value(h.value, strlen(h.value))) {
			snprintf(err, errlen, "entry %zu: invalid header %s", entry,
				 valid_header_name(h.name) ? "value" : "name");
			free(h.name);
			free(h.value);
			return -EINVAL;
		}
		v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v) {
			free(h.name);
			free(h.value);
			return -ENOMEM;
		}
		out->v = v;
		out->v[out->n++] = h;
		s += len + (end ? 1 : 0);
	}
	return 0;
}

int hl_otlp_retry_after(const char *value, time_t now, uint64_t *ns)
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

/* ---- headers ------------------------------------------------------------------------ */

/* The content of a secret file, trailing blanks and newlines removed. */
static int read_secret(const char *path, char **out, char *err, size_t errlen)
{
	char *buf = malloc(MAX_SECRET_FILE + 1);
	size_t len = 0;
	ssize_t n;
	int fd, e;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = -errno;
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		free(buf);
		return e;
	}
	while (len <= MAX_SECRET_FILE &&
	       (n = read(fd, buf + len, MAX_SECRET_FILE + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = -errno;
			snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
			close(fd);
			free(buf);
			return e;
		}
		len += (size_t)n;
	}
	close(fd);
	if (len > MAX_SECRET_FILE) {
		snprintf(err, errlen, "'%s' is larger than %d bytes", path, MAX_SECRET_FILE);
		free(buf);
		return -EFBIG;
	}
	while (len && strchr(" \t\r\n", buf[len - 1]))
		len--;
	buf[len] = 0;
	if (!valid_header_value(buf, len)) {
		snprintf(err, errlen, "'%s' holds control characters or line breaks", path);
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	return 0;
}

static void free_headers(struct otlp_http *st)
{
	for (size_t i = 0; i < st->n_hdrs; i++) {
		free(st->hdrs[i].name);
		free(st->hdrs[i].value);
		free(st->hdrs[i].file);
	}
	free(st->hdrs);
	st->hdrs = NULL;
	st->n_hdrs = 0;
}

static int add_header(struct otlp_http *st, const char *name, char *value, char *file, char *err,
		      size_t errlen)
{
	struct header *v;

	if (!valid_header_name(name) || reserved_header(name)) {
		snprintf(err, errlen, "header '%s': %s", name,
			 valid_header_name(name) ? "set by the exporter itself"
						 : "not a valid header name");
		free(value);
		free(file);
		return -EINVAL;
	}
	for (size_t i = 0; i < st->n_hdrs; i++) {
		if (!strcasecmp(st->hdrs[i].name, name)) {
			snprintf(err, errlen, "header '%s' is given twice", name);
			free(value);
			free(file);
			return -EINVAL;
		}
	}
	v = realloc(st->hdrs, (st->n_hdrs + 1) * sizeof(*v));
	if (!v) {
		free(value);
		free(file);
		return -ENOMEM;
	}
	st->hdrs = v;
	v[st->n_hdrs] = (struct header){.name = strdup(name), .value = value, .file = file};
	if (!v[st->n_hdrs].name) {
		free(value);
		free(file);
		return -ENOMEM;
	}
	st->n_hdrs++;
	return 0;
}

/* One config header: literal, @file:PATH, @env:VAR or @@literal. */
static int config_header(struct otlp_http *st, const struct hl_kv *kv, char *err, size_t errlen)
{
	const char *v = kv->value;
	char *value = NULL, *file = NULL, msg[200];
	int e;

	if (!strncmp(v, "@file:", 6)) {
		if (!v[6]) {
			snprintf(err, errlen, "header '%s': @file: needs a path", kv->key);
			return -EINVAL;
		}
		e = read_secret(v + 6, &value, msg, sizeof(msg));
		if (e) {
			snprintf(err, errlen, "header '%s': %s", kv->key, msg);
			return e;
		}
		file = strdup(v + 6);
		if (!file) {
			free(value);
			return -ENOMEM;
		}
	} else if (!strncmp(v, "@env:", 5)) {
		const char *ev = getenv(v + 5);

		if (!ev) {
			snprintf(err, errlen, "header '%s': environment variable '%s' is not set",
				 kv->key, v + 5);
			return -EINVAL;
		}
		if (!valid_header_value(ev, strlen(ev))) {
			snprintf(err, errlen,
				 "header '%s': environment variable '%s' holds control characters",
				 kv->key, v + 5);
			return -EINVAL;
		}
		value = strdup(ev);
	} else if (v[0] == '@' && v[1] != '@') {
		snprintf(err, errlen,
			 "header '%s': a value starting with @ must be @file:PATH, @env:VAR or "
			 "@@ (a literal @)",
			 kv->key);
		return -EINVAL;
	} else {
		if (!valid_header_value(v, strlen(v))) {
			snprintf(err, errlen, "header '%s': the value holds control characters",
				 kv->key);
			return -EINVAL;
		}
		value = strdup(v[0] == '@' ? v + 1 : v);
	}
	if (!value)
		return -ENOMEM;
	return add_header(st, kv->key, value, file, err, errlen);
}

static int setup_headers(struct otlp_http *st, const struct hl_kvlist *conf, const char **source,
			 char *err, size_t errlen)
{
	struct hl_otlp_headers list = {0};
	char name[64], msg[128];
	const char *v;
	int e = 0;

	*source = NULL;
	if (conf->n) {
		*source = "config";
		for (size_t i = 0; i < conf->n && !e; i++)
			e = config_header(st, &conf->v[i], err, errlen);
		return e;
	}
	v = env2("HEADERS", name, sizeof(name));
	if (!v)
		return 0;
	e = hl_otlp_parse_header_list(v, &list, msg, sizeof(msg));
	if (e == -EINVAL) {
		hl_warn(COMPONENT, "%s ignored: %s", name, msg);
		hl_otlp_headers_free(&list);
		return 0;
	}
	for (size_t i = 0; i < list.n && !e; i++) {
		e = add_header(st, list.v[i].name, list.v[i].value, NULL, msg, sizeof(msg));
		list.v[i].value = NULL; /* owned by st or freed */
		if (e == -EINVAL) {
			hl_warn(COMPONENT, "%s ignored: %s", name, msg);
			free_headers(st);
			e = 0;
			break;
		}
	}
	hl_otlp_headers_free(&list);
	*source = st->n_hdrs ? (strstr(name, "METRICS") ? ENV_METRICS_PREFIX "HEADERS"
							: ENV_PREFIX "HEADERS")
			     : NULL;
	return e;
}

/* Re-read @file: headers; a failure keeps the previous value. */
static void refresh_headers(struct otlp_http *st)
{
	for (size_t i = 0; i < st->n_hdrs; i++) {
		struct header *h = &st->hdrs[i];
		char *value, msg[200];

		if (!h->file)
			continue;
		if (read_secret(h->file, &value, msg, sizeof(msg))) {
			if (!h->warned)
				hl_warn(COMPONENT, "header '%s': %s; keeping the previous value",
					h->name, msg);
			h->warned = true;
			continue;
		}
		h->warned = false;
		free(h->value);
		h->value = value;
	}
}

static struct curl_slist *build_slist(struct otlp_http *st)
{
	struct curl_slist *l = NULL, *n;
	char *line;

	n = curl_slist_append(l, "Content-Type: application/json");
	if (!n)
		return NULL;
	l = n;
	if (st->gzip) {
		n = curl_slist_append(l, "Content-Encoding: gzip");
		if (!n)
			goto fail;
		l = n;
	}
	n = curl_slist_append(l, "Expect:"); /* no 100-continue round trip for large bodies */
	if (!n)
		goto fail;
	l = n;
	for (size_t i = 0; i < st->n_hdrs; i++) {
		const struct header *h = &st->hdrs[i];

		/* "Name;" is how libcurl sends a header with an empty value */
		if (asprintf(&line, *h->value ? "%s: %s" : "%s;%s", h->name, h->value) < 0)
			goto fail;
		n = curl_slist_append(l, line);
		explicit_bzero(line, strlen(line));
		free(line);
		if (!n)
			goto fail;
		l = n;
	}
	return l;
fail:
	curl_slist_free_all(l);
	return NULL;
}

/* Replace every occurrence of v (when 4 bytes or more) in msg by "***". */
static void redact_one(char *msg, const char *v)
{
	size_t vl = v ? strlen(v) : 0;
	char *p;

	if (vl < 4)
		return;
	while ((p = strstr(msg, v))) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + vl, strlen(p + vl) + 1);
	}
}

/*
 * Hide the secrets in msg (it only shrinks): every header value, the
 * credentials after a scheme ("Bearer TOKEN": TOKEN alone too, as a
 * receiver may quote it), the endpoint's password and its Basic form.
 */
static void redact(const struct otlp_http *st, char *msg)
{
	for (size_t i = 0; i < st->n_hdrs; i++) {
		const char *v = st->hdrs[i].value, *sp = v ? strrchr(v, ' ') : NULL;

		redact_one(msg, v);
		if (sp)
			redact_one(msg, sp + 1);
	}
	redact_one(msg, st->url_secrets[0]);
	redact_one(msg, st->url_secrets[1]);
}

/* Base64 (RFC 4648, padded) of s, malloc'ed. */
static char *base64(const char *s)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	char *out = malloc((n + 2) / 3 * 4 + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)(unsigned char)s[i] << 16;

		if (i + 1 < n)
			w |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			w |= (unsigned char)s[i + 2];
		out[o++] = tab[w >> 18 & 63];
		out[o++] = tab[w >> 12 & 63];
		out[o++] = i + 1 < n ? tab[w >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[w & 63] : '=';
	}
	out[o] = 0;
	return out;
}

/* The endpoint's credentials, to be redacted (none: nothing to do). */
static int url_secrets(struct otlp_http *st)
{
	CURLU *u = curl_url();
	char *user = NULL, *pass = NULL, *both = NULL;
	int e = 0;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, st->url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, CURLU_URLDECODE) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE);
		st->url_secrets[0] = strdup(pass);
		if (asprintf(&both, "%s:%s", user ? user : "", pass) >= 0) {
			st->url_secrets[1] = base64(both);
			explicit_bzero(both, strlen(both));
			free(both);
		}
		if (!st->url_secrets[0] || !st->url_secrets[1])
			e = -ENOMEM;
	}
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(u);
	return e;
}

/* ---- HTTP --------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct otlp_http *st = arg;
	size_t len = size * nmemb, take = len;

	if (take > st->max_response - st->resp_len) {
		take = st->max_response - st->resp_len;
		st->resp_truncated = true;
	}
	if (st->resp_len + take + 1 > st->resp_cap) {
		size_t cap = st->resp_cap ? st->resp_cap : 4096;
		char *p;

		while (cap < st->resp_len + take + 1)
			cap *= 2;
		if (cap > st->max_response + 1)
			cap = st->max_response + 1;
		p = realloc(st->resp, cap);
		if (!p)
			return 0;
		st->resp = p;
		st->resp_cap = cap;
	}
	memcpy(st->resp + st->resp_len, data, take);
	st->resp_len += take;
	st->resp[st->resp_len] = 0;
	return st->resp_truncated ? 0 : len; /* 0 stops the transfer */
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct otlp_http *st = arg;
	size_t len = size * nmemb, n;

	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		st->retry_after[0] = 0; /* a new response */
	} else if (len > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		data += 12;
		len -= 12;
		while (len && (*data == ' ' || *data == '\t')) {
			data++;
			len--;
		}
		while (len && strchr(" \t\r\n", data[len - 1]))
			len--;
		n = len < sizeof(st->retry_after) - 1 ? len : sizeof(st->retry_after) - 1;
		memcpy(st->retry_after, data, n);
		st->retry_after[n] = 0;
	}
	return size * nmemb;
}

static int gzip_body(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
	z_stream z = {0};
	unsigned char *buf;
	size_t cap;
	int rc;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
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

/* What one POST came to. */
struct post_result {
	enum hl_export_result res;
	uint64_t rejected;	 /* OK: partial success */
	uint64_t retry_after_ns; /* RETRY */
	char msg[256];
};

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

static void post(struct otlp_http *st, const void *body, size_t len, struct post_result *r)
{
	char text[256];
	CURLcode rc;
	long code = 0;

	memset(r, 0, sizeof(*r));
	st->resp_len = 0;
	st->resp_truncated = false;
	st->retry_after[0] = 0;
	st->errbuf[0] = 0;
	curl_easy_setopt(st->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(st->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(st->curl);
	curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && st->resp_truncated && code)) {
		const char *why = st->errbuf[0] ? st->errbuf : curl_easy_strerror(rc);

		r->res = permanent_curl_error(rc) ? HL_EXPORT_DROP : HL_EXPORT_RETRY;
		if (rc == CURLE_OPERATION_TIMEDOUT)
			msgf(r->msg, sizeof(r->msg), "no response within %s (%s)", st->timeout_s,
			     why);
		else
			msgf(r->msg, sizeof(r->msg), "request failed: %s", why);
		return;
	}
	if (code >= 200 && code < 300) {
		r->res = HL_EXPORT_OK;
		hl_otlp_parse_success(st->resp, st->resp_len, &r->rejected, text, sizeof(text));
		if (r->rejected || text[0])
			msgf(r->msg, sizeof(r->msg), "partial success: %llu point%s rejected%s%s",
			     (unsigned long long)r->rejected, r->rejected == 1 ? "" : "s",
			     text[0] ? ": " : "", text);
		return;
	}
	hl_otlp_error_text(st->resp, st->resp_len, text, sizeof(text));
	if (code == 429 || code == 502 || code == 503 || code == 504) {
		r->res = HL_EXPORT_RETRY;
		if (st->retry_after[0] &&
		    hl_otlp_retry_after(st->retry_after, time(NULL), &r->retry_after_ns))
			r->retry_after_ns = 0;
	} else {
		r->res = HL_EXPORT_DROP;
	}
	msgf(r->msg, sizeof(r->msg), "HTTP %ld%s%s%s", code,
	     st->retry_after[0] && r->res == HL_EXPORT_RETRY ? " (Retry-After: " : "",
	     st->retry_after[0] && r->res == HL_EXPORT_RETRY ? st->retry_after : "",
	     st->retry_after[0] && r->res == HL_EXPORT_RETRY ? ")" : "");
	if (text[0])
		msgcat(r->msg, sizeof(r->msg), ": %s", text);
}

/* ---- the exporter ------------------------------------------------------------------- */

static void describe(struct otlp_http *st, const char *url_source, const char *hdr_source,
		     uint64_t timeout_ns, const char *timeout_source, const char *ca,
		     const char *cert, bool insecure)
{
	char url[512];
	size_t n;

	public_url(st->url, url, sizeof(url));
	hl_format_duration(timeout_ns, st->timeout_s, sizeof(st->timeout_s));
	n = (size_t)snprintf(st->desc, sizeof(st->desc),
			     "endpoint %s (%s), compression %s, temporality %s, timeout %s (%s)",
			     url, url_source, st->gzip ? "gzip" : "none",
			     st->delta ? "delta" : "cumulative", st->timeout_s, timeout_source);
	if (st->n_hdrs && n < sizeof(st->desc)) {
		n += (size_t)snprintf(st->desc + n, sizeof(st->desc) - n,
				      ", headers from %s:", hdr_source);
		for (size_t i = 0; i < st->n_hdrs && n < sizeof(st->desc); i++)
			n += (size_t)snprintf(st->desc + n, sizeof(st->desc) - n, " %s%s",
					      st->hdrs[i].name, st->hdrs[i].file ? " (file)" : "");
	}
	if (ca && n < sizeof(st->desc))
		n += (size_t)snprintf(st->desc + n, sizeof(st->desc) - n, ", CA file %s", ca);
	if (cert && n < sizeof(st->desc))
		n += (size_t)snprintf(st->desc + n, sizeof(st->desc) - n, ", client certificate %s",
				      cert);
	if (insecure && n < sizeof(st->desc))
		snprintf(st->desc + n, sizeof(st->desc) - n, ", TLS VERIFICATION OFF");
}

const char *hl_otlp_http_describe(const void *state)
{
	return state ? ((const struct otlp_http *)state)->desc : "";
}

static void otlp_http_shutdown(void *state);

/* A TLS file: the config's, else the variables'; must be readable. */
static int tls_file(const char *conf, const char *suffix, const char *key, const char **out,
		    char *err, size_t errlen)
{
	char name[64];
	const char *v = conf ? conf : env2(suffix, name, sizeof(name));

	*out = v;
	if (v && access(v, R_OK)) {
		snprintf(err, errlen, "%s '%s'%s%s: %s", key, v, conf ? "" : " from ",
			 conf ? "" : name, strerror(errno));
		return -EINVAL;
	}
	return 0;
}

static void *otlp_http_init(const void *conf, char *err, size_t errlen)
{
	const struct hl_otlp_http_conf *c = conf;
	struct otlp_http *st;
	const char *url_source, *hdr_source, *timeout_source = "default", *ca, *cert, *key, *v;
	uint64_t timeout_ns = DEFAULT_TIMEOUT_NS;
	char name[64], metrics_ep[64];
	bool insecure = c->insecure_skip_verify;
	int e;

	st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->max_request = c->max_request_bytes;
	st->max_response = c->max_response_bytes;

	snprintf(metrics_ep, sizeof(metrics_ep), ENV_METRICS_PREFIX "ENDPOINT");
	e = hl_otlp_resolve_endpoint(c->endpoint, env(metrics_ep), env(ENV_PREFIX "ENDPOINT"),
				     &st->url, &url_source, err, errlen);
	if (e) {
		if (e == -EINVAL && !c->endpoint) {
			size_t n = strlen(err);

			snprintf(err + n, errlen - n, " in %s", url_source);
		}
		goto fail;
	}
	if (url_secrets(st)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	st->gzip = true;
	if (c->compression != COMP_AUTO) {
		st->gzip = c->compression == COMP_GZIP;
	} else if ((v = env2("COMPRESSION", name, sizeof(name)))) {
		if (!strcasecmp(v, "gzip") || !strcasecmp(v, "none"))
			st->gzip = !strcasecmp(v, "gzip");
		else
			hl_warn(COMPONENT, "%s ignored: expected gzip or none", name);
	}

	if (c->timeout_ns) {
		timeout_ns = c->timeout_ns;
		timeout_source = "config";
	} else if ((v = env2("TIMEOUT", name, sizeof(name)))) {
		char *end;
		unsigned long long ms;

		errno = 0;
		ms = strtoull(v, &end, 10);
		if (*v >= '0' && *v <= '9' && !*end && !errno && ms > 0 && ms <= 600000) {
			timeout_ns = ms * 1000000ULL;
			timeout_source = strstr(name, "METRICS") ? ENV_METRICS_PREFIX "TIMEOUT"
								 : ENV_PREFIX "TIMEOUT";
		} else {
			hl_warn(COMPONENT, "%s ignored: expected milliseconds, 1..600000", name);
		}
	}

	if (c->temporality != HL_TEMP_AUTO) {
		st->delta = c->temporality == HL_TEMP_DELTA;
	} else if ((v = env(ENV_METRICS_PREFIX "TEMPORALITY_PREFERENCE"))) {
		if (!strcasecmp(v, "delta") || !strcasecmp(v, "lowmemory"))
			st->delta = true;
		else if (strcasecmp(v, "cumulative"))
			hl_warn(COMPONENT,
				ENV_METRICS_PREFIX "TEMPORALITY_PREFERENCE ignored: expected "
						   "cumulative, delta or lowmemory");
	}

	if ((e = tls_file(c->ca_file, "CERTIFICATE", "ca_file", &ca, err, errlen)) ||
	    (e = tls_file(c->cert_file, "CLIENT_CERTIFICATE", "cert_file", &cert, err, errlen)) ||
	    (e = tls_file(c->key_file, "CLIENT_KEY", "key_file", &key, err, errlen)))
		goto fail;

	e = setup_headers(st, &c->headers, &hdr_source, err, errlen);
	if (e)
		goto fail;

	st->curl = curl_easy_init();
	if (!st->curl) {
		e = -ENOMEM;
		goto fail;
	}
	e = -EINVAL;
	if (curl_easy_setopt(st->curl, CURLOPT_URL, st->url) ||
	    curl_easy_setopt(st->curl, CURLOPT_POST, 1L) ||
	    curl_easy_setopt(st->curl, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(st->curl, CURLOPT_USERAGENT, "hostlat/" HOSTLAT_VERSION) ||
	    curl_easy_setopt(st->curl, CURLOPT_TIMEOUT_MS, (long)(timeout_ns / 1000000)) ||
	    curl_easy_setopt(st->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ns / 1000000)) ||
	    curl_easy_setopt(st->curl, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(st->curl, CURLOPT_WRITEDATA, st) ||
	    curl_easy_setopt(st->curl, CURLOPT_HEADERFUNCTION, on_header) ||
	    curl_easy_setopt(st->curl, CURLOPT_HEADERDATA, st) ||
	    curl_easy_setopt(st->curl, CURLOPT_ERRORBUFFER, st->errbuf) ||
	    curl_easy_setopt(st->curl, CURLOPT_ACCEPT_ENCODING, "") ||
	    curl_easy_setopt(st->curl, CURLOPT_TCP_KEEPALIVE, 1L) ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(st->curl, CURLOPT_PROTOCOLS_STR, "http,https") ||
#else
	    curl_easy_setopt(st->curl, CURLOPT_PROTOCOLS,
			     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) ||
#endif
	    (ca && curl_easy_setopt(st->curl, CURLOPT_CAINFO, ca)) ||
	    (cert && curl_easy_setopt(st->curl, CURLOPT_SSLCERT, cert)) ||
	    (key && curl_easy_setopt(st->curl, CURLOPT_SSLKEY, key)) ||
	    (insecure && (curl_easy_setopt(st->curl, CURLOPT_SSL_VERIFYPEER, 0L) ||
			  curl_easy_setopt(st->curl, CURLOPT_SSL_VERIFYHOST, 0L)))) {
		snprintf(err, errlen,
			 "libcurl refused an option (TLS files need a TLS-enabled "
			 "libcurl)");
		goto fail;
	}
	describe(st, url_source, hdr_source, timeout_ns, timeout_source, ca, cert, insecure);
	hl_info(COMPONENT, "%s", st->desc);
	return st;
fail:
	if (e == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	otlp_http_shutdown(st);
	return NULL;
}

static bool same_batch(const struct otlp_http *st, const struct hl_batch *b, size_t n_bodies)
{
	return st->resume.valid && st->resume.start == b->start_unix_ns &&
	       st->resume.prev == b->prev_unix_ns && st->resume.time == b->time_unix_ns &&
	       st->resume.n_metrics == b->n_metrics && st->resume.n_bodies == n_bodies;
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
	size_t start = 0, n_dropped = 0;
	uint64_t rejected = 0;
	bool delivered = false;

	if (hl_otlp_encode_split(batch, st->delta, st->max_request, &sp)) {
		msgf(status->message, sizeof(status->message), "out of memory encoding a batch");
		return HL_EXPORT_RETRY;
	}
	if (same_batch(st, batch, sp.n)) {
		start = st->resume.done;
		rejected = st->resume.rejected;
		delivered = st->resume.delivered;
	}
	st->resume.valid = false;
	if (sp.n > start) {
		refresh_headers(st);
		hdrs = build_slist(st);
		if (!hdrs) {
			hl_otlp_split_free(&sp);
			msgf(status->message, sizeof(status->message), "out of memory");
			return HL_EXPORT_RETRY;
		}
		curl_easy_setopt(st->curl, CURLOPT_HTTPHEADER, hdrs);
	}
	for (size_t i = start; i < sp.n; i++) {
		const struct hl_otlp_body *b = &sp.v[i];
		unsigned char *gz = NULL;
		size_t gz_len = 0;

		if (st->gzip && gzip_body(b->json, b->len, &gz, &gz_len)) {
			msgf(r.msg, sizeof(r.msg), "gzip failed");
			r.res = HL_EXPORT_RETRY;
			r.retry_after_ns = 0;
		} else {
			post(st, gz ? (const void *)gz : b->json, gz ? gz_len : b->len, &r);
			status->bytes += gz ? gz_len : b->len;
		}
		free(gz);
		if (r.res == HL_EXPORT_RETRY) {
			st->resume.valid = true;
			st->resume.start = batch->start_unix_ns;
			st->resume.prev = batch->prev_unix_ns;
			st->resume.time = batch->time_unix_ns;
			st->resume.n_metrics = batch->n_metrics;
			st->resume.n_bodies = sp.n;
			st->resume.done = i;
			st->resume.rejected = rejected;
			st->resume.delivered = delivered;
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
		       sp.oversize_points == 1 ? "" : "s", st->max_request);
		if (!sp.n)
			res = HL_EXPORT_DROP;
	}
	if (res == HL_EXPORT_OK)
		status->rejected_points = rejected + sp.oversize_points;
out:
	redact(st, status->message);
	if (hdrs) {
		curl_easy_setopt(st->curl, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(hdrs);
	}
	hl_otlp_split_free(&sp);
	return res;
}

static void otlp_http_shutdown(void *state)
{
	struct otlp_http *st = state;

	if (!st)
		return;
	if (st->curl)
		curl_easy_cleanup(st->curl);
	free_headers(st);
	free(st->url);
	for (int i = 0; i < 2; i++)
		free(st->url_secrets[i]);
	free(st->resp);
	free(st);
}

const struct hl_exporter_ops hl_otlp_http_exporter = {
	.abi_version = HL_EXPORTER_ABI_VERSION,
	.name = "otlp_http",
	.options = otlp_http_options,
	.config_size = sizeof(struct hl_otlp_http_conf),
	.help = "OTLP/HTTP with JSON bodies to an OpenTelemetry collector or any OTLP receiver",
	.init = otlp_http_init,
	.export_batch = otlp_http_export,
	.shutdown = otlp_http_shutdown,
};
