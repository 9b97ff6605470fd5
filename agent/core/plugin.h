/* SPDX-License-Identifier: MIT */
/*
 * Exporter modules (`type: plugin`): a shared object exporting
 * HL_EXPORTER_MODULE_SYMBOL, loaded with dlopen and checked against the
 * exporter ABI this agent speaks (exporters/hostlat_exporter.h,
 * docs/plugins.md).
 */
#ifndef HOSTLAT_PLUGIN_H
#define HOSTLAT_PLUGIN_H

#include <stddef.h>

#include "config.h"
#include "hostlat_exporter.h"

/*
 * Load the module at path (dlopen RTLD_NOW | RTLD_LOCAL; a path without
 * '/' is searched for like a library) and check the ops its symbol
 * returns. On success returns 0 with *handle (for hl_plugin_unload) and
 * *ops (valid until then). On error returns a negative errno, sets both
 * to NULL, closes the module and writes one line to err, e.g.
 *   cannot load plugin '/x.so': <dlerror>
 *   plugin '/x.so' has no symbol hostlat_exporter_module
 *   plugin '/x.so' was built for exporter ABI 7; this hostlat speaks ABI 2
 */
int hl_plugin_load(const char *path, void **handle, const struct hl_exporter_ops **ops, char *err,
		   size_t errlen);
/* dlclose; call after the module's shutdown. NULL-safe. */
void hl_plugin_unload(void *handle);

/*
 * The module's init argument for an item's `config:` map: a view whose
 * keys and values point into kv (which must outlive it). 0 or -ENOMEM;
 * free with hl_plugin_params_free.
 */
int hl_plugin_params(const struct hl_kvlist *kv, struct hl_module_params *out);
void hl_plugin_params_free(struct hl_module_params *p); /* NULL-safe, idempotent */

#endif /* HOSTLAT_PLUGIN_H */
