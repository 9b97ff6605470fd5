/* SPDX-License-Identifier: MIT */
/* Names of the network-stack stages (enum hl_stage, bpf/hostlat.h). */
#ifndef HOSTLAT_STAGES_H
#define HOSTLAT_STAGES_H

/* In enum hl_stage order, NULL-terminated: config, attributes, the responder's replies. */
extern const char *const hl_stage_names[];

#endif
