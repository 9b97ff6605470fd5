/* SPDX-License-Identifier: MIT */
/*
 * The otlp_http exporter's headers and secrets (otlp_headers.h). Header
 * values, the files they come from and the endpoint's password are
 * secrets: no message here names a value, only header names and paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"
#include "otlp_headers.h"

#define COMPONENT "otlp_http"
#define MAX_SECRET_FILE (64 * 1024)

/* ---- syntax ------------------------------------------------------------------------- */

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

/* Headers the exporter sets itself (hl_otlp_headers_lines), or curl does. */
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

static void free_entries(struct hl_otlp_header *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
		free(v[i].file);
	}
	free(v);
}

void hl_otlp_header_list_free(struct hl_otlp_header_list *h)
{
	if (!h)
		return;
	free_entries(h->v, h->n);
	memset(h, 0, sizeof(*h));
}

int hl_otlp_parse_header_list(const char *s, struct hl_otlp_header_list *out, char *err,
			      size_t errlen)
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

/* ---- the exporter's headers --------------------------------------------------------- */

/* What a file that is not a regular one is, for messages. */
static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	return "not a regular file";
}

/*
 * The content of a secret file, trailing blanks and newlines removed. It
 * must be a regular file: opened without blocking and looked at before
 * any read, so that a FIFO (or a device) there never stalls the agent.
 */
static int read_secret(const char *path, char **out, char *err, size_t errlen)
{
	char *buf = malloc(MAX_SECRET_FILE + 1);
	size_t len = 0;
	struct stat st;
	ssize_t n;
	int fd, e;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		e = -errno;
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(buf);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "cannot read '%s': not a regular file (%s)", path,
			 file_kind(st.st_mode));
		close(fd);
		free(buf);
		return -EINVAL;
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

/* Forget the headers (not the URL's secrets). */
static void drop_headers(struct hl_otlp_header_set *s)
{
	free_entries(s->v, s->n);
	s->v = NULL;
	s->n = 0;
}

/* Add name: value (both owned by s afterwards, or freed). */
static int add_header(struct hl_otlp_header_set *s, const char *name, char *value, char *file,
		      char *err, size_t errlen)
{
	struct hl_otlp_header *v;

	if (!valid_header_name(name) || reserved_header(name)) {
		snprintf(err, errlen, "header '%s': %s", name,
			 valid_header_name(name) ? "set by the exporter itself"
						 : "not a valid header name");
		free(value);
		free(file);
		return -EINVAL;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (!strcasecmp(s->v[i].name, name)) {
			snprintf(err, errlen, "header '%s' is given twice", name);
			free(value);
			free(file);
			return -EINVAL;
		}
	}
	v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v) {
		free(value);
		free(file);
		return -ENOMEM;
	}
	s->v = v;
	v[s->n] = (struct hl_otlp_header){.name = strdup(name), .value = value, .file = file};
	if (!v[s->n].name) {
		free(value);
		free(file);
		return -ENOMEM;
	}
	s->n++;
	return 0;
}

/* name with control characters as '?', for messages. */
static void printable(const char *name, char *buf, size_t len)
{
	size_t i = 0;

	for (; name[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)name[i] < ' ' || name[i] == 0x7f ? '?' : name[i];
	if (len)
		buf[i] = 0;
}

/*
 * One config header, the content of its @file: aside: a name that is a
 * token and not one the exporter sets, a value without control
 * characters, "@" forms well-formed, an @env: variable set. 0, or -EINVAL
 * with the reason in why and *at_key when the name is at fault.
 */
static int check_entry(const struct hl_kv *kv, bool *at_key, char *why, size_t whylen)
{
	const char *v = kv->value, *ev;
	char name[80];

	printable(kv->key, name, sizeof(name));
	*at_key = true;
	if (!valid_header_name(kv->key)) {
		snprintf(why, whylen,
			 "header '%s': not a valid header name (letters, digits and "
			 "!#$%%&'*+-.^_`|~ only)",
			 name);
		return -EINVAL;
	}
	if (reserved_header(kv->key)) {
		snprintf(why, whylen, "header '%s': set by the exporter itself", name);
		return -EINVAL;
	}
	*at_key = false;
	if (!strncmp(v, "@file:", 6)) {
		if (v[6])
			return 0;
		snprintf(why, whylen, "header '%s': @file: needs a path", name);
		return -EINVAL;
	}
	if (!strncmp(v, "@env:", 5)) {
		ev = v[5] ? getenv(v + 5) : NULL;
		if (!v[5])
			snprintf(why, whylen, "header '%s': @env: needs a variable name", name);
		else if (!ev)
			snprintf(why, whylen, "header '%s': environment variable '%s' is not set",
				 name, v + 5);
		else if (!valid_header_value(ev, strlen(ev)))
			snprintf(why, whylen,
				 "header '%s': environment variable '%s' holds control characters",
				 name, v + 5);
		else
			return 0;
		return -EINVAL;
	}
	if (v[0] == '@' && v[1] != '@') {
		snprintf(why, whylen,
			 "header '%s': a value starting with @ must be @file:PATH, @env:VAR or "
			 "@@ (a literal @)",
			 name);
		return -EINVAL;
	}
	if (!valid_header_value(v, strlen(v))) {
		snprintf(why, whylen,
			 "header '%s': the value holds control characters (a line break?)", name);
		return -EINVAL;
	}
	return 0;
}

int hl_otlp_headers_check(const struct hl_kvlist *m, size_t *bad, bool *at_key, char *why,
			  size_t whylen)
{
	for (size_t i = 0; i < m->n; i++) {
		*bad = i;
		if (check_entry(&m->v[i], at_key, why, whylen))
			return -EINVAL;
		for (size_t j = 0; j < i; j++) {
			if (strcasecmp(m->v[j].key, m->v[i].key))
				continue;
			*at_key = true;
			snprintf(why, whylen,
				 "header '%s' is given twice (also as '%s'; names ignore case)",
				 m->v[i].key, m->v[j].key);
			return -EINVAL;
		}
	}
	return 0;
}

int hl_otlp_header_check_file(const char *value, char *why, size_t whylen)
{
	char *secret = NULL;
	int e;

	if (strncmp(value, "@file:", 6) || !value[6])
		return 0;
	e = read_secret(value + 6, &secret, why, whylen);
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	return e;
}

/* One config header: literal, @file:PATH, @env:VAR or @@literal. */
static int config_header(struct hl_otlp_header_set *s, const struct hl_kv *kv, char *err,
			 size_t errlen)
{
	const char *v = kv->value;
	char *value = NULL, *file = NULL, msg[200];
	bool at_key;
	int e = check_entry(kv, &at_key, err, errlen);

	if (e)
		return e;
	if (!strncmp(v, "@file:", 6)) {
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
		const char *ev = getenv(v + 5); /* set: check_entry */

		value = ev ? strdup(ev) : NULL;
	} else {
		value = strdup(v[0] == '@' ? v + 1 : v);
	}
	if (!value) {
		free(file);
		return -ENOMEM;
	}
	return add_header(s, kv->key, value, file, err, errlen);
}

int hl_otlp_headers_from_config(struct hl_otlp_header_set *s, const struct hl_kvlist *conf,
				char *err, size_t errlen)
{
	int e = 0;

	for (size_t i = 0; i < conf->n && !e; i++)
		e = config_header(s, &conf->v[i], err, errlen);
	return e;
}

int hl_otlp_headers_from_env(struct hl_otlp_header_set *s, const char *text, const char *var)
{
	struct hl_otlp_header_list list = {0};
	char msg[128];
	int e;

	e = hl_otlp_parse_header_list(text, &list, msg, sizeof(msg));
	if (e == -EINVAL) {
		hl_warn(COMPONENT, "%s ignored: %s", var, msg);
		hl_otlp_header_list_free(&list);
		return 0;
	}
	for (size_t i = 0; i < list.n && !e; i++) {
		e = add_header(s, list.v[i].name, list.v[i].value, NULL, msg, sizeof(msg));
		list.v[i].value = NULL; /* owned by s or freed */
		if (e == -EINVAL) {
			hl_warn(COMPONENT, "%s ignored: %s", var, msg);
			drop_headers(s);
			e = 0;
			break;
		}
	}
	hl_otlp_header_list_free(&list);
	return e;
}

void hl_otlp_headers_refresh(struct hl_otlp_header_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct hl_otlp_header *h = &s->v[i];
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

struct curl_slist *hl_otlp_headers_lines(const struct hl_otlp_header_set *s, bool gzip)
{
	struct curl_slist *l = NULL, *n;
	char *line;

	n = curl_slist_append(l, "Content-Type: application/json");
	if (!n)
		return NULL;
	l = n;
	if (gzip) {
		n = curl_slist_append(l, "Content-Encoding: gzip");
		if (!n)
			goto fail;
		l = n;
	}
	n = curl_slist_append(l, "Expect:"); /* no 100-continue round trip for large bodies */
	if (!n)
		goto fail;
	l = n;
	for (size_t i = 0; i < s->n; i++) {
		const struct hl_otlp_header *h = &s->v[i];

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

/* ---- secrets ------------------------------------------------------------------------ */

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

void hl_otlp_redact(const struct hl_otlp_header_set *s, char *msg)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *v = s->v[i].value, *sp = v ? strrchr(v, ' ') : NULL;

		redact_one(msg, v);
		if (sp)
			redact_one(msg, sp + 1);
	}
	redact_one(msg, s->url_secrets[0]);
	redact_one(msg, s->url_secrets[1]);
}

/* Base64 (RFC 4648, padded) of n bytes of s, malloc'ed (basic auth: otlp_http, prometheus). */
char *hl_base64(const char *s, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1);
	size_t o = 0;

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

int hl_otlp_headers_add_url_secrets(struct hl_otlp_header_set *s, const char *url)
{
	CURLU *u = curl_url();
	char *user = NULL, *pass = NULL, *both = NULL;
	int e = 0;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, CURLU_URLDECODE) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE);
		s->url_secrets[0] = strdup(pass);
		if (asprintf(&both, "%s:%s", user ? user : "", pass) >= 0) {
			s->url_secrets[1] = hl_base64(both, strlen(both));
			explicit_bzero(both, strlen(both));
			free(both);
		}
		if (!s->url_secrets[0] || !s->url_secrets[1])
			e = -ENOMEM;
	}
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(u);
	return e;
}

void hl_otlp_header_set_free(struct hl_otlp_header_set *s)
{
	drop_headers(s);
	for (int i = 0; i < 2; i++) {
		free(s->url_secrets[i]);
		s->url_secrets[i] = NULL;
	}
}
