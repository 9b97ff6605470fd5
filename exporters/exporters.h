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

#endif
