/* SPDX-License-Identifier: MIT */
/* The agent's OpenTelemetry resource: built-ins, environment, config. */
#ifndef HOSTLAT_RESOURCE_H
#define HOSTLAT_RESOURCE_H

#include <stddef.h>

#include "config.h"
#include "hostlat_exporter.h"

#define HL_RESOURCE_MAX 48

struct hl_resource {
	struct hl_attr attrs[HL_RESOURCE_MAX]; /* keys and values owned */
	size_t n;
};

/*
 * From lowest to highest precedence: built-ins (service.name=hostlat,
 * service.version, host.name, service.instance.id), OTEL_RESOURCE_ATTRIBUTES,
 * the Kubernetes downward-API variables (K8S_NODE_NAME, K8S_POD_NAME,
 * K8S_POD_NAMESPACE, K8S_POD_UID), OTEL_SERVICE_NAME, then the config
 * file's resource.attributes.
 */
void hl_resource_build(struct hl_resource *r, const struct hl_kvlist *config_attrs);
/* Decode OTEL_RESOURCE_ATTRIBUTES text into r; -EINVAL (r untouched) on a bad encoding. */
int hl_resource_parse_env(struct hl_resource *r, const char *text);
void hl_resource_set(struct hl_resource *r, const char *key, const char *value);
const char *hl_resource_get(const struct hl_resource *r, const char *key);
void hl_resource_free(struct hl_resource *r);

#endif
