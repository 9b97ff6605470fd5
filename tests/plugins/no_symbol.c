/* SPDX-License-Identifier: MIT */
/* A shared object without HL_EXPORTER_MODULE_SYMBOL (its name misspelt). */
#include "hostlat_exporter.h"

static const struct hl_exporter_ops no_ops = {
	.abi_version = HL_EXPORTER_ABI_VERSION,
	.name = "no_symbol",
};

__attribute__((visibility("default"))) const struct hl_exporter_ops *hostlat_exporter_modul(void)
{
	return &no_ops;
}
