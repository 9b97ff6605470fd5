/* SPDX-License-Identifier: MIT */
/*
 * A module the loader must refuse. By default it claims exporter ABI 7;
 * HOSTLAT_TEST_MODULE selects another defect: null (the symbol returns
 * NULL), noname, noinit, noexport, noshutdown, options (options != NULL).
 */
#include <stdlib.h>
#include <string.h>

#include "hostlat_exporter.h"

static void *bad_init(const void *conf, char *err, size_t errlen)
{
	(void)conf;
	(void)err;
	(void)errlen;
	return NULL;
}

static enum hl_export_result bad_export(void *state, const struct hl_batch *batch,
					struct hl_export_status *status)
{
	(void)state;
	(void)batch;
	(void)status;
	return HL_EXPORT_DROP;
}

static void bad_shutdown(void *state)
{
	(void)state;
}

/* Any non-NULL pointer will do: the loader must not look into it. */
static const char fake_options;

static struct hl_exporter_ops bad_ops;

__attribute__((visibility("default"))) const struct hl_exporter_ops *hostlat_exporter_module(void)
{
	const char *defect = getenv("HOSTLAT_TEST_MODULE");

	bad_ops = (struct hl_exporter_ops){
		.abi_version = HL_EXPORTER_ABI_VERSION,
		.name = "bad",
		.init = bad_init,
		.export_batch = bad_export,
		.shutdown = bad_shutdown,
	};
	if (!defect || !*defect)
		bad_ops.abi_version = 7;
	else if (!strcmp(defect, "null"))
		return NULL;
	else if (!strcmp(defect, "noname"))
		bad_ops.name = NULL;
	else if (!strcmp(defect, "noinit"))
		bad_ops.init = NULL;
	else if (!strcmp(defect, "noexport"))
		bad_ops.export_batch = NULL;
	else if (!strcmp(defect, "noshutdown"))
		bad_ops.shutdown = NULL;
	else if (!strcmp(defect, "options"))
		bad_ops.options = (const struct hl_option *)(const void *)&fake_options;
	return &bad_ops;
}
