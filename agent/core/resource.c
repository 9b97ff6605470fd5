/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "resource.h"

void hl_resource_set(struct hl_resource *r, const char *key, const char *value)
{
	char *k, *v;

	for (size_t i = 0; i < r->n; i++) {
		if (!strcmp(r->attrs[i].key, key)) {
			v = strdup(value);
			if (v) {
				free((char *)r->attrs[i].value);
				r->attrs[i].value = v;
			}
			return;
		}
	}
	if (r->n == HL_RESOURCE_MAX) {
		hl_warn("resource", "more than %d resource attributes: '%s' ignored",
			HL_RESOURCE_MAX, key);
		return;
	}
	k = strdup(key);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return;
	}
	r->attrs[r->n++] = (struct hl_attr){k, v};
}

const char *hl_resource_get(const struct hl_resource *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->attrs[i].key, key))
			return r->attrs[i].value;
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode s[0..n) into out (size >= n + 1); -EINVAL on a bad escape. */
static int pct_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n)
			return -EINVAL;
		hi = hexval((unsigned char)s[i + 1]);
		lo = hexval((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = 0;
	return 0;
}

static void trim(char *s)
{
	size_t n = strlen(s), b = 0;

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	while (isspace((unsigned char)s[b]))
		b++;
	memmove(s, s + b, n - b + 1);
}

int hl_resource_parse_env(struct hl_resource *r, const char *text)
{
	struct hl_resource tmp = {0};
	const char *p = text;
	int err = 0;

	while (*p && !err) {
		const char *end = strchr(p, ','), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *k = NULL, *v = NULL;

		eq = memchr(p, '=', len);
		if (!eq) {
			if (len && strspn(p, " \t") < len)
				err = -EINVAL;
			goto next;
		}
		k = malloc(eq - p + 1);
		v = malloc(len - (eq - p) + 1);
		if (!k || !v) {
			err = -ENOMEM;
		} else if (pct_decode(p, eq - p, k) || pct_decode(eq + 1, len - (eq - p) - 1, v)) {
			err = -EINVAL;
		} else {
			trim(k);
			trim(v);
			if (!k[0])
				err = -EINVAL;
			else
				hl_resource_set(&tmp, k, v);
		}
		free(k);
		free(v);
next:
		p = end ? end + 1 : p + len;
	}
	if (!err)
		for (size_t i = 0; i < tmp.n; i++)
			hl_resource_set(r, tmp.attrs[i].key, tmp.attrs[i].value);
	hl_resource_free(&tmp);
	return err;
}

void hl_resource_build(struct hl_resource *r, const struct hl_kvlist *config_attrs)
{
	static const struct {
		const char *env, *key;
	} k8s[] = {
		{"K8S_NODE_NAME", "k8s.node.name"},
		{"K8S_POD_NAME", "k8s.pod.name"},
		{"K8S_POD_NAMESPACE", "k8s.namespace.name"},
		{"K8S_POD_UID", "k8s.pod.uid"},
	};
	char host[256] = "";
	const char *env;

	memset(r, 0, sizeof(*r));
	hl_resource_set(r, "service.name", "hostlat");
	hl_resource_set(r, "service.version", HOSTLAT_VERSION);
	if (gethostname(host, sizeof(host) - 1) == 0 && host[0]) {
		hl_resource_set(r, "host.name", host);
		hl_resource_set(r, "service.instance.id", host);
	}
	env = getenv("OTEL_RESOURCE_ATTRIBUTES");
	if (env && hl_resource_parse_env(r, env))
		hl_warn("resource", "OTEL_RESOURCE_ATTRIBUTES is not a valid percent-encoded "
				    "k=v,k2=v2 list: ignored as a whole");
	for (size_t i = 0; i < sizeof(k8s) / sizeof(k8s[0]); i++) {
		env = getenv(k8s[i].env);
		if (env && *env)
			hl_resource_set(r, k8s[i].key, env);
	}
	env = getenv("K8S_POD_UID");
	if (env && *env)
		hl_resource_set(r, "service.instance.id", env);
	env = getenv("OTEL_SERVICE_NAME");
	if (env && *env)
		hl_resource_set(r, "service.name", env);
	for (size_t i = 0; config_attrs && i < config_attrs->n; i++)
		hl_resource_set(r, config_attrs->v[i].key, config_attrs->v[i].value);
}

void hl_resource_free(struct hl_resource *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free((char *)r->attrs[i].key);
		free((char *)r->attrs[i].value);
	}
	r->n = 0;
}
