/* SPDX-License-Identifier: MIT */
/*
 * probes.xdp_responder's config (the tests read it;
 * bpf/responder_proto.h is the responder's wire format).
 */
#ifndef HOSTLAT_XDP_RESPONDER_H
#define HOSTLAT_XDP_RESPONDER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

enum hl_xdp_mode { HL_XDP_NATIVE, HL_XDP_GENERIC };

struct hl_xdp_responder_conf {
	bool enabled;
	char *interface;
	uint32_t port;
	struct hl_strlist allow; /* CIDRs, checked by hl_parse_cidr */
	uint32_t rate_limit;	 /* responses per second; 0: none */
	int mode;		 /* enum hl_xdp_mode */
};

#endif
