/* SPDX-License-Identifier: MIT */
/*
 * The probe modules (core/probe.h), one per section under probes: in the
 * config, each named as its key: bpf/KEY.bpf.c, agent/probes/KEY.c,
 * hl_KEY_probe. agent/probes/registry.c lists them in start order.
 */
#ifndef HOSTLAT_PROBES_H
#define HOSTLAT_PROBES_H

#include "probe.h"

extern const struct hl_probe_ops hl_stack_latency_probe;
extern const struct hl_probe_ops hl_softirq_probe;
extern const struct hl_probe_ops hl_napi_probe;
extern const struct hl_probe_ops hl_function_latency_probe;
extern const struct hl_probe_ops hl_drops_probe;
extern const struct hl_probe_ops hl_runqueue_probe;
extern const struct hl_probe_ops hl_traffic_probe;
extern const struct hl_probe_ops hl_xdp_responder_probe;

#endif
