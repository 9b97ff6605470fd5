/* SPDX-License-Identifier: MIT */
/* The built-in exporters the config parser and the agent know by `type`. */
#include "config.h"
#include "exporters.h"
#include "prometheus.h"

const struct hl_exporter_ops *const hl_exporter_types[] = {
	&hl_stdout_exporter,
	&hl_otlp_http_exporter,
	&hl_statsd_exporter,
	&hl_prometheus_exporter,
	NULL,
};
